-- The events outbox (see internal/events): written in the transaction of
-- the change it records. Concurrent transactions take sequence numbers in
-- one order and commit in another, so an event's position is (tx, seq):
-- tx is the writing transaction's id, and readers only return events of
-- transactions older than every transaction still running — once an
-- event at a position is readable, no event before it can still appear.
CREATE TABLE events (
    tx              bigint NOT NULL DEFAULT (pg_current_xact_id()::text::bigint),
    seq             bigint GENERATED ALWAYS AS IDENTITY,
    workspace_id    text NOT NULL,
    type            text NOT NULL,
    conversation_id text NOT NULL,
    message_id      text,
    created_at      timestamptz NOT NULL,
    PRIMARY KEY (tx, seq)
);
CREATE INDEX events_workspace ON events (workspace_id, tx, seq);
CREATE INDEX events_created ON events (created_at);

-- The newest position pruning has deleted (one row).
CREATE TABLE event_horizon (
    id  integer PRIMARY KEY CHECK (id = 1),
    tx  bigint NOT NULL,
    seq bigint NOT NULL
);
