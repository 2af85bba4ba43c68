-- Every message adds to today's analytics_days row of its assistant and
-- conversation type, and a row update holds the row until its transaction
-- commits: concurrent writes for one assistant queued behind each other
-- there, one WAL flush at a time (most of the waits of a busy webhook).
-- Each row is now split into shards that are summed when read; a
-- connection writes to the shard of its backend (pg_backend_pid() % 16),
-- so concurrent transactions rarely share one.
ALTER TABLE analytics_days ADD COLUMN shard smallint NOT NULL DEFAULT 0;
ALTER TABLE analytics_days DROP CONSTRAINT analytics_days_pkey;
ALTER TABLE analytics_days ADD PRIMARY KEY (workspace_id, day, assistant_id, type, shard);
