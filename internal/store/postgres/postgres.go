// Package postgres is Parley's store for running many stateless nodes on
// one PostgreSQL database: pgx's pool, tsvector + GIN for search, row
// locks for concurrent writers and an advisory lock for migrations.
package postgres

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/puddle/v2"

	"github.com/parley-dev/parley/internal/fault"
	"github.com/parley-dev/parley/internal/store"
	"github.com/parley-dev/parley/internal/store/migration"
)

//go:embed migrations/*.sql
var migrations embed.FS

// DB is a Parley store on PostgreSQL.
type DB struct {
	pool *conns
	errs *store.Errors
	opts store.Options // with defaults filled in
	// heavy gates heavy reads (store.Options.HeavyReads).
	heavy *store.Gate

	// bytewise is whether the database sorts text bytewise
	// (sortsBytewise), asked when it is opened.
	bytewise bool
	// notify sends the notifications of committed transactions.
	notify notifier
}

// conns is the pool as the store's queries use it: every error it hands
// out has been through classify, so an outage reads as a fault with
// CodeUnavailable wherever it strikes, and each failed query is counted.
// Transactions are classified as a whole by tx.
type conns struct {
	*pgxpool.Pool
	classify func(error) error
}

// Exec runs a statement on a pooled connection.
func (c *conns) Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error) {
	tag, err := c.Pool.Exec(ctx, sql, args...)
	return tag, c.classify(err)
}

// Query runs a query on a pooled connection.
func (c *conns) Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error) {
	rows, err := c.Pool.Query(ctx, sql, args...)
	if err != nil {
		return rows, c.classify(err)
	}
	return &classifiedRows{Rows: rows, classify: c.classify}, nil
}

// QueryRow runs a query for one row on a pooled connection.
func (c *conns) QueryRow(ctx context.Context, sql string, args ...any) pgx.Row {
	return classifiedRow{row: c.Pool.QueryRow(ctx, sql, args...), classify: c.classify}
}

type classifiedRows struct {
	pgx.Rows
	classify func(error) error
}

func (r *classifiedRows) Err() error { return r.classify(r.Rows.Err()) }

type classifiedRow struct {
	row      pgx.Row
	classify func(error) error
}

func (r classifiedRow) Scan(dest ...any) error { return r.classify(r.row.Scan(dest...)) }

// classify counts a failed query by kind and turns an outage into a
// fault with CodeUnavailable. "No rows" is an answer, not a failure.
func (db *DB) classify(err error) error {
	if err == nil || errors.Is(err, pgx.ErrNoRows) {
		return err
	}
	return db.errs.Record(err, errorKind(err))
}

// errorKind sorts a pgx error into the store's kinds.
func errorKind(err error) string {
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		return store.KindTimeout
	case errors.Is(err, context.Canceled):
		return store.KindCanceled
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		switch {
		// 08: connection exception; 53: insufficient resources (too many
		// connections, disk full); 57P01-57P03: the server is shutting
		// down, crashed or starting.
		case strings.HasPrefix(pe.Code, "08"), strings.HasPrefix(pe.Code, "53"),
			pe.Code == "57P01", pe.Code == "57P02", pe.Code == "57P03":
			return store.KindUnavailable
		case pe.Code == "57014": // statement timeout
			return store.KindTimeout
		case strings.HasPrefix(pe.Code, "23"):
			return store.KindConstraint
		}
		return store.KindOther
	}
	var (
		ce *pgconn.ConnectError
		ne *net.OpError
	)
	switch {
	case errors.As(err, &ce), errors.As(err, &ne), errors.Is(err, puddle.ErrClosedPool),
		errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF), errors.Is(err, syscall.ECONNREFUSED),
		errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE),
		// Failed before anything reached the server: a closed or broken
		// connection (context errors are sorted out above).
		pgconn.SafeToRetry(err):
		return store.KindUnavailable
	}
	return store.KindOther
}

// Open connects to the database at url with the default options. It does
// not migrate.
func Open(ctx context.Context, url string) (*DB, error) { return OpenWith(ctx, url, store.Options{}) }

// OpenWith is Open with the read budget of opts; the pool's size comes
// from the URL (pool_max_conns), so opts.Readers is not used.
func OpenWith(ctx context.Context, url string, opts store.Options) (*DB, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("postgres: parse URL: %w", err)
	}
	cfg.ConnConfig.RuntimeParams["timezone"] = "UTC"
	// pgx prepares and caches every statement; after five executions
	// PostgreSQL may switch a cached statement to a generic plan, made
	// without the parameter values. For search and counts that plan is
	// chosen for an average word, so after a few rare-word searches a
	// common word (or the reverse) runs the wrong plan for the life of the
	// connection: 62–113 ms instead of 5–17 ms at 100k. Planning the small
	// statements of this store each time costs tens of microseconds.
	cfg.ConnConfig.RuntimeParams["plan_cache_mode"] = "force_custom_plan"
	// JIT compilation pays off for long analytic queries; for these short
	// ones it only adds its compile time when the planner's row estimate
	// (large for a common word) crosses jit_above_cost.
	cfg.ConnConfig.RuntimeParams["jit"] = "off"
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("postgres: connect: %w", err)
	}
	pctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := pool.Ping(pctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("postgres: connect: %w", err)
	}
	bytewise, err := checkBytewise(pctx, pool)
	if err != nil {
		pool.Close()
		return nil, fmt.Errorf("postgres: %w", err)
	}
	opts = opts.WithDefaults()
	db := &DB{errs: store.NewErrors("postgres"), opts: opts, heavy: store.NewGate(opts.HeavyReads), bytewise: bytewise}
	db.pool = &conns{Pool: pool, classify: db.classify}
	return db, nil
}

// Driver implements store.Store.
func (db *DB) Driver() string { return "postgres" }

// Errors implements store.Store.
func (db *DB) Errors() *store.Errors { return db.errs }

// Pools implements store.Store.
func (db *DB) Pools() []store.PoolStats {
	st := db.pool.Stat()
	return []store.PoolStats{{
		Pool: "main", Max: int(st.MaxConns()), Open: int(st.TotalConns()),
		InUse: int(st.AcquiredConns()), Idle: int(st.IdleConns()),
		Waits: st.EmptyAcquireCount(), WaitTime: st.EmptyAcquireWaitTime(),
	}}
}

// Close closes the pool.
func (db *DB) Close() error {
	db.pool.Close()
	return nil
}

// migrationLock is the advisory lock key that serialises migrations
// across nodes.
const migrationLock = 0x7061726c6579 // "parley"

func loadMigrations() ([]migration.Migration, error) {
	return migration.Load(migrations, "migrations")
}

// Migrate applies pending migrations, each in its own transaction, holding
// an advisory lock so nodes starting together migrate once.
func (db *DB) Migrate(ctx context.Context) error { return db.migrate(ctx, math.MaxInt) }

// migrate applies pending migrations up to version last (tests stop
// early to build a database as an older release left it).
func (db *DB) migrate(ctx context.Context, last int) error {
	// River's tables come first: migration 0006 moves jobs into them.
	if err := db.migrateRiver(ctx); err != nil {
		return err
	}
	ms, err := loadMigrations()
	if err != nil {
		return err
	}
	for _, m := range ms {
		if m.Version > last {
			break
		}
		err := db.tx(ctx, func(tx pgx.Tx) error {
			if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, migrationLock); err != nil {
				return err
			}
			if _, err := tx.Exec(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
				version integer PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())`); err != nil {
				return err
			}
			var done bool
			if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM schema_migrations WHERE version = $1)`, m.Version).Scan(&done); err != nil {
				return err
			}
			if done {
				return nil
			}
			if _, err := tx.Exec(ctx, m.SQL); err != nil {
				return err
			}
			if step := migrationSteps[m.Version]; step != nil {
				if err := step(ctx, tx); err != nil {
					return err
				}
			}
			_, err := tx.Exec(ctx, `INSERT INTO schema_migrations (version) VALUES ($1)`, m.Version)
			return err
		})
		if err != nil {
			return fmt.Errorf("postgres: migration %s: %w", m.Name, err)
		}
	}
	return nil
}

// Ready reports whether the database answers and is fully migrated.
func (db *DB) Ready(ctx context.Context) error {
	ms, err := loadMigrations()
	if err != nil {
		return err
	}
	var applied int
	if err := db.pool.QueryRow(ctx, `SELECT count(*) FROM schema_migrations`).Scan(&applied); err != nil {
		return fmt.Errorf("postgres: %w", err)
	}
	if applied < len(ms) {
		return fmt.Errorf("postgres: %d of %d migrations applied; run `parley migrate`", applied, len(ms))
	}
	return nil
}

func isUnique(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && pe.Code == "23505"
}

func notFound(err error, kind string) error {
	if errors.Is(err, pgx.ErrNoRows) {
		return fault.NotFound(kind)
	}
	return err
}

func utc(t time.Time) time.Time { return t.UTC() }

// ts is a time as stored: UTC, truncated to the millisecond like the
// SQLite store's unix milliseconds, so that keyset cursors (which carry
// milliseconds) compare equal to the stored values.
func ts(t time.Time) time.Time { return t.UTC().Truncate(time.Millisecond) }

// optTime is ts of an optional time.
func optTime(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := ts(*t)
	return &u
}

// null turns "" into SQL NULL.
func null(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func str(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

// execer is what the pool and a transaction both offer for writes.
type execer interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
}

// args collects query arguments and hands out their $n placeholders.
type args []any

func (a *args) add(v any) string {
	*a = append(*a, v)
	return "$" + strconv.Itoa(len(*a))
}

// Analyze gathers planner statistics for every table now and marks the
// pages all-visible, for after a bulk import (parley-bench seed); in
// service autovacuum keeps both. Without the visibility map a fresh
// import's index-only scans (the counts with a word read
// conversation_terms that way) visit the table for every entry: at 100k,
// counts with a common word took 35–63 ms instead of 3–19.
func (db *DB) Analyze(ctx context.Context) error {
	// The store's own tables only (its schema), not the whole database's.
	var tables []string
	rows, err := db.pool.Query(ctx, `SELECT quote_ident(schemaname) || '.' || quote_ident(tablename)
		FROM pg_tables WHERE schemaname = current_schema() ORDER BY tablename`)
	if err == nil {
		tables, err = pgx.CollectRows(rows, pgx.RowTo[string])
	}
	if err != nil {
		return fmt.Errorf("postgres: analyze: %w", err)
	}
	if len(tables) == 0 {
		return nil
	}
	if _, err := db.pool.Exec(ctx, `VACUUM (ANALYZE) `+strings.Join(tables, ", ")); err != nil {
		return fmt.Errorf("postgres: analyze: %w", err)
	}
	return nil
}
