-- The events outbox (see internal/events): written in the transaction of
-- the change it records. Concurrent transactions could take sequence
-- numbers in one order and commit in another, and a reader resuming after
-- the later number would never see the earlier one: so a transaction
-- takes a lock (see InsertEvents) before its first event and keeps it
-- until it ends, which makes sequence order commit order.
CREATE TABLE events (
    seq             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    workspace_id    text NOT NULL,
    type            text NOT NULL,
    conversation_id text NOT NULL,
    message_id      text,
    created_at      timestamptz NOT NULL
);
CREATE INDEX events_workspace ON events (workspace_id, seq);
CREATE INDEX events_created ON events (created_at);

-- The newest position pruning has deleted (one row).
CREATE TABLE event_horizon (
    id  integer PRIMARY KEY CHECK (id = 1),
    seq bigint NOT NULL
);
