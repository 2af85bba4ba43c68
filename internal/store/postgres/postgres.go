// Package postgres is Parley's store for running many stateless nodes on
// one PostgreSQL database: pgx's pool, tsvector + GIN for search, row
// locks for concurrent writers and an advisory lock for migrations.
package postgres

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"math"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/parley-dev/parley/internal/fault"
	"github.com/parley-dev/parley/internal/store/migration"
)

//go:embed migrations/*.sql
var migrations embed.FS

// DB is a Parley store on PostgreSQL.
type DB struct {
	pool *pgxpool.Pool
}

// Open connects to the database at url. It does not migrate.
func Open(ctx context.Context, url string) (*DB, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("postgres: parse URL: %w", err)
	}
	cfg.ConnConfig.RuntimeParams["timezone"] = "UTC"
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
	return &DB{pool: pool}, nil
}

// Driver implements store.Store.
func (db *DB) Driver() string { return "postgres" }

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

func (db *DB) tx(ctx context.Context, fn func(pgx.Tx) error) error {
	return pgx.BeginFunc(ctx, db.pool, fn)
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

// args collects query arguments and hands out their $n placeholders.
type args []any

func (a *args) add(v any) string {
	*a = append(*a, v)
	return "$" + strconv.Itoa(len(*a))
}
