package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/parley-dev/parley/internal/jobs"
)

const jobCols = `id, workspace_id, kind, payload, status, attempts, max_attempts, run_at, locked_until, last_error, created_at, updated_at`

func scanJob(row interface{ Scan(...any) error }) (*jobs.Job, error) {
	var j jobs.Job
	var payload string
	var runAt, created, updated int64
	var locked sql.NullInt64
	var lastErr sql.NullString
	if err := row.Scan(&j.ID, &j.WorkspaceID, &j.Kind, &payload, &j.Status, &j.Attempts, &j.MaxAttempts,
		&runAt, &locked, &lastErr, &created, &updated); err != nil {
		return nil, err
	}
	j.Payload = []byte(payload)
	j.RunAt, j.LockedUntil, j.LastError = fromMS(runAt), fromOptMS(locked), lastErr.String
	j.CreatedAt, j.UpdatedAt = fromMS(created), fromMS(updated)
	return &j, nil
}

func enqueueJobs(ctx context.Context, q querier, js []*jobs.Job) error {
	for _, j := range js {
		_, err := q.ExecContext(ctx, `INSERT INTO jobs (id, workspace_id, kind, payload, status, attempts, max_attempts,
			run_at, created_at, updated_at) VALUES (?, ?, ?, ?, ?, 0, ?, ?, ?, ?)`,
			j.ID, j.WorkspaceID, j.Kind, string(j.Payload), jobs.StatusQueued, j.MaxAttempts, ms(j.RunAt), ms(j.CreatedAt), ms(j.UpdatedAt))
		if err != nil {
			return fmt.Errorf("enqueue job: %w", err)
		}
	}
	return nil
}

// EnqueueJobs implements jobs.Store.
func (db *DB) EnqueueJobs(ctx context.Context, js []*jobs.Job) error {
	return db.tx(ctx, func(tx *sql.Tx) error { return enqueueJobs(ctx, tx, js) })
}

// ClaimJobs implements jobs.Store.
func (db *DB) ClaimJobs(ctx context.Context, now time.Time, lease time.Duration, n int) ([]*jobs.Job, error) {
	var out []*jobs.Job
	err := db.tx(ctx, func(tx *sql.Tx) error {
		rows, err := tx.QueryContext(ctx, `UPDATE jobs SET status = ?, locked_until = ?, attempts = attempts + 1, updated_at = ?
			WHERE id IN (SELECT id FROM jobs WHERE status = ? AND run_at <= ?
				UNION ALL SELECT id FROM jobs WHERE status = ? AND locked_until < ? LIMIT ?)
			RETURNING `+jobCols,
			jobs.StatusRunning, ms(now.Add(lease)), ms(now), jobs.StatusQueued, ms(now), jobs.StatusRunning, ms(now), n)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			j, err := scanJob(rows)
			if err != nil {
				return err
			}
			out = append(out, j)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, fmt.Errorf("claim jobs: %w", err)
	}
	return out, nil
}

// FinishJob implements jobs.Store.
func (db *DB) FinishJob(ctx context.Context, id, errMsg string, retryAt *time.Time, now time.Time) error {
	status, runAt := jobs.StatusDone, any(nil)
	switch {
	case errMsg != "" && retryAt != nil:
		status, runAt = jobs.StatusQueued, ms(*retryAt)
	case errMsg != "":
		status = jobs.StatusFailed
	}
	_, err := db.writer(ctx).ExecContext(ctx, `UPDATE jobs SET status = ?, run_at = coalesce(?, run_at), locked_until = NULL,
		last_error = ?, updated_at = ? WHERE id = ?`, status, runAt, null(errMsg), ms(now), id)
	if err != nil {
		return fmt.Errorf("finish job: %w", err)
	}
	return nil
}

// GetJob implements jobs.Store.
func (db *DB) GetJob(ctx context.Context, id string) (*jobs.Job, error) {
	j, err := scanJob(db.reader(ctx).QueryRowContext(ctx, `SELECT `+jobCols+` FROM jobs WHERE id = ?`, id))
	return j, db.notFound(err, "job")
}
