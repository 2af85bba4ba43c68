-- The events outbox (see internal/events): written in the transaction of
-- the change it records. The single writer commits in order, so the
-- AUTOINCREMENT sequence orders events as they commit, and it never
-- reuses the number of a pruned event.
CREATE TABLE events (
    seq             INTEGER PRIMARY KEY AUTOINCREMENT,
    workspace_id    TEXT NOT NULL,
    type            TEXT NOT NULL,
    conversation_id TEXT NOT NULL,
    message_id      TEXT,
    created_at      INTEGER NOT NULL
);
CREATE INDEX events_workspace ON events (workspace_id, seq);
CREATE INDEX events_created ON events (created_at);

-- The newest position pruning has deleted (one row).
CREATE TABLE event_horizon (
    id  INTEGER PRIMARY KEY CHECK (id = 1),
    seq INTEGER NOT NULL
);
