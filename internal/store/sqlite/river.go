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
	"github.com/parley-dev/parley/internal/store"
)

// FetchPoll is how often an idle SQLite node looks for new jobs. River
// wakes a node without a listener only for jobs inserted outside a
// transaction, and ours are all inserted inside the change's transaction,
// so on SQLite the poll is the pickup latency (with River's 1 s default,
// p95 ≈ 930 ms). An empty fetch is one indexed query on the writer
// connection: 20 a second cost about 2 % of a core more than River's 1 s
// poll on an idle node (docs/PERFORMANCE.md).
const FetchPoll = 50 * time.Millisecond

// Jobs implements store.Store: a River client over the single writer
// connection, so River's fetches and completions queue behind the writes
// like any other, and a job inserted in a Within commits with it.
func (db *DB) Jobs(workers *river.Workers, cfg jobs.Config) (jobs.Engine, error) {
	if cfg.FetchPoll <= 0 {
		cfg.FetchPoll = FetchPoll
	}
	client, err := river.NewClient(riversqlite.New(db.write.DB), jobs.RiverConfig(workers, cfg))
	if err != nil {
		return nil, fmt.Errorf("sqlite: river client: %w", err)
	}
	// The jobs of a group-commit batch are inserted together at its
	// commit: River's insert of one job costs about twice its share of
	// an insert of eight (docs/PERFORMANCE.md).
	insert := &store.OnCommit[*sql.Tx, river.InsertManyParams]{
		Write: func(ctx context.Context, tx *sql.Tx, params []river.InsertManyParams) error {
			_, err := client.InsertManyTx(ctx, tx, params)
			return err
		},
	}
	return &jobs.Client[*sql.Tx]{
		River:    client,
		Tx:       func(ctx context.Context) (*sql.Tx, bool) { return store.TxFrom[*sql.Tx](ctx, db) },
		Within:   db.Within,
		Complete: db.completeJob,
		Count:    db.jobBacklog,
		Defer: func(ctx context.Context, params []river.InsertManyParams) bool {
			return store.Defer(ctx, db, insert, params...)
		},
	}, nil
}

// completeJob marks the running job done in tx, as River's JobCompleteTx
// does (state completed, finalized now; we record no job output, so there
// is no metadata to merge) in one short statement. River's SQLite
// statement for it is a long generic one that modernc parses anew at each
// call: with River's own follow-up completion of the same job, it was a
// third of the CPU of draining extractions (docs/PERFORMANCE.md).
func (db *DB) completeJob(ctx context.Context, tx *sql.Tx, job *rivertype.JobRow) error {
	if job.State != rivertype.JobStateRunning {
		return fmt.Errorf("job is %s, not running", job.State)
	}
	// River's SQLite time format: other formats store but do not compare.
	now := time.Now().UTC().Round(time.Millisecond).Format("2006-01-02 15:04:05.000")
	res, err := tx.ExecContext(ctx, `UPDATE river_job SET state = 'completed', finalized_at = ?
		WHERE id = ? AND state = 'running'`, now, job.ID)
	if err != nil {
		return db.classify(err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return err
	} else if n == 0 {
		return rivertype.ErrNotFound // rescued and finished elsewhere, or deleted
	}
	return nil
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
