package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/parley-dev/parley/internal/jobs"
)

const jobCols = `id, workspace_id, kind, payload, status, attempts, max_attempts, run_at, locked_until, last_error, created_at, updated_at`

func scanJob(row pgx.Row) (*jobs.Job, error) {
	var j jobs.Job
	var lastErr *string
	if err := row.Scan(&j.ID, &j.WorkspaceID, &j.Kind, &j.Payload, &j.Status, &j.Attempts, &j.MaxAttempts,
		&j.RunAt, &j.LockedUntil, &lastErr, &j.CreatedAt, &j.UpdatedAt); err != nil {
		return nil, err
	}
	j.LastError = str(lastErr)
	j.RunAt, j.LockedUntil, j.CreatedAt, j.UpdatedAt = utc(j.RunAt), optTime(j.LockedUntil), utc(j.CreatedAt), utc(j.UpdatedAt)
	return &j, nil
}

func enqueueJobs(ctx context.Context, tx pgx.Tx, js []*jobs.Job) error {
	for _, j := range js {
		_, err := tx.Exec(ctx, `INSERT INTO jobs (id, workspace_id, kind, payload, status, attempts, max_attempts,
			run_at, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, 0, $6, $7, $8, $9)`,
			j.ID, j.WorkspaceID, j.Kind, []byte(j.Payload), jobs.StatusQueued, j.MaxAttempts, ts(j.RunAt), ts(j.CreatedAt), ts(j.UpdatedAt))
		if err != nil {
			return fmt.Errorf("enqueue job: %w", err)
		}
	}
	return nil
}

// EnqueueJobs implements jobs.Store.
func (db *DB) EnqueueJobs(ctx context.Context, js []*jobs.Job) error {
	return db.tx(ctx, func(tx pgx.Tx) error { return enqueueJobs(ctx, tx, js) })
}

// ClaimJobs implements jobs.Store. SKIP LOCKED lets every node claim
// different jobs without waiting on each other.
func (db *DB) ClaimJobs(ctx context.Context, now time.Time, lease time.Duration, n int) ([]*jobs.Job, error) {
	rows, err := db.conn(ctx).Query(ctx, `UPDATE jobs SET status = 'running', locked_until = $1, attempts = attempts + 1, updated_at = $2
		WHERE id IN (SELECT id FROM jobs WHERE (status = 'queued' AND run_at <= $2) OR (status = 'running' AND locked_until < $2)
			ORDER BY run_at LIMIT $3 FOR UPDATE SKIP LOCKED)
		RETURNING `+jobCols, ts(now.Add(lease)), ts(now), n)
	if err != nil {
		return nil, fmt.Errorf("claim jobs: %w", err)
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (*jobs.Job, error) { return scanJob(r) })
}

// FinishJob implements jobs.Store.
func (db *DB) FinishJob(ctx context.Context, id, errMsg string, retryAt *time.Time, now time.Time) error {
	status := jobs.StatusDone
	switch {
	case errMsg != "" && retryAt != nil:
		status = jobs.StatusQueued
	case errMsg != "":
		status = jobs.StatusFailed
	}
	_, err := db.conn(ctx).Exec(ctx, `UPDATE jobs SET status = $1, run_at = coalesce($2, run_at), locked_until = NULL,
		last_error = $3, updated_at = $4 WHERE id = $5`, status, optTime(retryAt), null(errMsg), ts(now), id)
	if err != nil {
		return fmt.Errorf("finish job: %w", err)
	}
	return nil
}

// GetJob implements jobs.Store.
func (db *DB) GetJob(ctx context.Context, id string) (*jobs.Job, error) {
	j, err := scanJob(db.conn(ctx).QueryRow(ctx, `SELECT `+jobCols+` FROM jobs WHERE id = $1`, id))
	return j, notFound(err, "job")
}
