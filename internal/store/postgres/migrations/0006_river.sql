-- Background jobs move to River (river_job, made by River's own
-- migrations, which run first). Jobs the old runner had not finished —
-- only extractions were ever queued there, and their payload is already
-- River's args — are carried over, so no pending extraction is lost; the
-- old table goes.
INSERT INTO river_job (args, kind, max_attempts, state, scheduled_at, created_at)
SELECT payload, kind, 8, 'available', run_at, created_at
FROM jobs WHERE status IN ('queued', 'running');
DROP TABLE jobs;
