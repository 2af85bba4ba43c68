-- Durable background jobs (see internal/jobs).
CREATE TABLE jobs (
    id           text PRIMARY KEY,
    workspace_id text NOT NULL,
    kind         text NOT NULL,
    payload      jsonb NOT NULL,
    status       text NOT NULL,
    attempts     integer NOT NULL DEFAULT 0,
    max_attempts integer NOT NULL,
    run_at       timestamptz NOT NULL,
    locked_until timestamptz,
    last_error   text,
    created_at   timestamptz NOT NULL,
    updated_at   timestamptz NOT NULL
);
CREATE INDEX jobs_due ON jobs (status, run_at);
CREATE INDEX jobs_lease ON jobs (status, locked_until);
