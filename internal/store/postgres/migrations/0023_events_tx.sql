-- Events were ordered by taking one lock from a transaction's first event
-- until it committed, so sequence order was commit order; but that lock
-- made every event-writing transaction wait for the WAL flush of the one
-- before it. Events now carry the id of the transaction that wrote them
-- (tx) and are read in (tx, seq) order, only from transactions older than
-- every transaction still running: one still to commit can only add
-- events after what a reader has seen. Events from before have tx 0, so
-- they come first, and the ids consumers hold for them still resume.
ALTER TABLE events ADD COLUMN tx xid8 NOT NULL DEFAULT '0';
ALTER TABLE events ALTER COLUMN tx SET DEFAULT pg_current_xact_id();
DROP INDEX events_workspace;
CREATE INDEX events_order ON events (tx, seq);
CREATE INDEX events_workspace ON events (workspace_id, tx, seq);

ALTER TABLE event_horizon ADD COLUMN tx xid8 NOT NULL DEFAULT '0';
