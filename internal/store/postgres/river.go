package postgres

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/rivermigrate"
	"github.com/riverqueue/river/rivertype"

	"github.com/parley-dev/parley/internal/jobs"
	"github.com/parley-dev/parley/internal/store"
)

// Jobs implements store.Store: a River client on the store's pool; every
// node's client shares the database's jobs, and an insert wakes them all
// (River's LISTEN/NOTIFY).
func (db *DB) Jobs(workers *river.Workers, cfg jobs.Config) (jobs.Engine, error) {
	client, err := river.NewClient(riverpgxv5.New(db.pool.Pool), jobs.RiverConfig(workers, cfg))
	if err != nil {
		return nil, fmt.Errorf("postgres: river client: %w", err)
	}
	return &jobs.Client[pgx.Tx]{
		River:  client,
		Tx:     func(ctx context.Context) (pgx.Tx, bool) { return store.TxFrom[pgx.Tx](ctx, db) },
		Within: db.Within,
		Complete: func(ctx context.Context, tx pgx.Tx, job *rivertype.JobRow) error {
			return jobs.Complete[*riverpgxv5.Driver](ctx, tx, job)
		},
		Count: db.jobBacklog,
		Wake:  db.wakeRiver,
	}, nil
}

// insertPayload is River's insert notification for the one queue we use.
var insertPayload = fmt.Sprintf(`{"queue": %q}`, river.QueueDefault)

// wakeRiver sends River's insert notification once tx has committed
// (see notifier), through River's own driver, so the channel name is
// River's. River sends it too, but at most once per fetch cooldown per
// client: a job ended right after another was fetched waited for the 1 s
// fetch poll (p95 pickup ≈ 930 ms).
func (db *DB) wakeRiver(ctx context.Context, _ pgx.Tx) error {
	db.notify.after(ctx, db, "river_insert", func(ctx context.Context) error {
		return riverpgxv5.New(db.pool.Pool).GetExecutor().NotifyMany(ctx, &riverdriver.NotifyManyParams{
			Payload: []string{insertPayload},
			Topic:   "river_insert", // River's notifier.NotificationTopicInsert (internal)
		})
	})
	return nil
}

// jobBacklog counts the jobs not finished yet, by kind and state.
func (db *DB) jobBacklog(ctx context.Context) ([]jobs.Count, error) {
	rows, err := db.pool.Query(ctx, `SELECT kind, state::text, count(*) FROM river_job
		WHERE state IN ('available', 'pending', 'retryable', 'running', 'scheduled') GROUP BY kind, state`)
	if err != nil {
		return nil, fmt.Errorf("postgres: job backlog: %w", err)
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (jobs.Count, error) {
		var c jobs.Count
		err := r.Scan(&c.Kind, &c.State, &c.N)
		return c, err
	})
}

// migrateRiver applies River's own migrations, holding the migration lock
// on a connection of its own so nodes starting together migrate once.
func (db *DB) migrateRiver(ctx context.Context) error {
	conn, err := db.pool.Acquire(ctx)
	if err != nil {
		return fmt.Errorf("postgres: river migrations: %w", err)
	}
	defer conn.Release()
	if _, err := conn.Exec(ctx, `SELECT pg_advisory_lock($1)`, migrationLock); err != nil {
		return fmt.Errorf("postgres: river migrations: lock: %w", err)
	}
	defer func() {
		_, _ = conn.Exec(context.WithoutCancel(ctx), `SELECT pg_advisory_unlock($1)`, migrationLock)
	}()
	m, err := rivermigrate.New(riverpgxv5.New(db.pool.Pool), nil)
	if err != nil {
		return fmt.Errorf("postgres: river migrations: %w", err)
	}
	if _, err := m.Migrate(ctx, rivermigrate.DirectionUp, nil); err != nil {
		return fmt.Errorf("postgres: river migrations: %w", err)
	}
	return nil
}
