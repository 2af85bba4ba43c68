package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riversqlite"
	"github.com/riverqueue/river/rivermigrate"
	"github.com/riverqueue/river/rivertype"

	"github.com/parley-dev/parley/internal/jobs"
)

// FetchPoll is how often an idle SQLite node looks for new jobs. River
// wakes a node without a listener only for jobs inserted outside a
// transaction, and ours are all inserted inside the change's transaction,
// so on SQLite the poll is the pickup latency (with River's 1 s default,
// p95 ≈ 930 ms). An empty fetch is one indexed query on the writer
// connection: 20 a second cost under 1 % of a core (docs/PERFORMANCE.md).
const FetchPoll = 50 * time.Millisecond

// Jobs implements store.Store: a River client over the single writer
// connection, so River's fetches and completions queue behind the writes
// like any other, and a job inserted in a Within commits with it.
func (db *DB) Jobs(workers *river.Workers, cfg jobs.Config) (jobs.Engine, error) {
	if cfg.FetchPoll <= 0 {
		cfg.FetchPoll = FetchPoll
	}
	if cfg.FetchCooldown <= 0 || cfg.FetchCooldown > cfg.FetchPoll {
		cfg.FetchCooldown = min(cfg.FetchPoll, 10*time.Millisecond)
	}
	client, err := river.NewClient(riversqlite.New(db.write.DB), jobs.RiverConfig(workers, cfg))
	if err != nil {
		return nil, fmt.Errorf("sqlite: river client: %w", err)
	}
	return &jobs.Client[*sql.Tx]{
		River: client,
		Tx: func(ctx context.Context) (*sql.Tx, bool) {
			if st, ok := ctx.Value(txKey{db}).(*txState); ok {
				return st.tx, true
			}
			return nil, false
		},
		Within: db.Within,
		Complete: func(ctx context.Context, tx *sql.Tx, job *rivertype.JobRow) error {
			return jobs.Complete[*riversqlite.Driver](ctx, tx, job)
		},
		Count: db.jobBacklog,
	}, nil
}

// jobBacklog counts the jobs not finished yet, by kind and state.
func (db *DB) jobBacklog(ctx context.Context) ([]jobs.Count, error) {
	rows, err := db.read.QueryContext(ctx, `SELECT kind, state, count(*) FROM river_job
		WHERE state IN ('available', 'pending', 'retryable', 'running', 'scheduled') GROUP BY kind, state`)
	if err != nil {
		return nil, fmt.Errorf("sqlite: job backlog: %w", db.classify(err))
	}
	defer rows.Close()
	var out []jobs.Count
	for rows.Next() {
		var c jobs.Count
		if err := rows.Scan(&c.Kind, &c.State, &c.N); err != nil {
			return nil, fmt.Errorf("sqlite: job backlog: %w", err)
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// migrateRiver applies River's own migrations. The single writer
// connection is the migration lock on SQLite.
func (db *DB) migrateRiver(ctx context.Context) error {
	m, err := rivermigrate.New(riversqlite.New(db.write.DB), nil)
	if err != nil {
		return fmt.Errorf("sqlite: river migrations: %w", err)
	}
	if _, err := m.Migrate(ctx, rivermigrate.DirectionUp, nil); err != nil {
		return fmt.Errorf("sqlite: river migrations: %w", err)
	}
	return nil
}
