// Package sqlite is Parley's embedded store: one SQLite file in WAL mode,
// written through a single connection and read through a small pool, with
// FTS5 for search. It needs no cgo (modernc.org/sqlite).
package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"math"
	"net/url"
	"sync"
	"time"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/parley-dev/parley/internal/fault"
	"github.com/parley-dev/parley/internal/store/migration"
)

//go:embed migrations/*.sql
var migrations embed.FS

// DB is a Parley store on one SQLite file.
type DB struct {
	write *sql.DB // exactly one connection: SQLite has one writer anyway
	read  *sql.DB
	stmts sync.Map // SQL text → *sql.Stmt prepared on write
}

// stmt returns a statement of the write path bound to tx: prepared once
// by Migrate when it is one of hotStatements (parsing SQL costs more than
// running these small statements), else prepared inside tx. It never
// prepares on the write pool itself: tx holds its only connection.
func (db *DB) stmt(ctx context.Context, tx *sql.Tx, query string) (*sql.Stmt, error) {
	if st, ok := db.stmts.Load(query); ok {
		return tx.StmtContext(ctx, st.(*sql.Stmt)), nil
	}
	return tx.PrepareContext(ctx, query)
}

// prepareHot prepares the statements of the message path on the writer.
func (db *DB) prepareHot(ctx context.Context) error {
	for _, q := range hotStatements {
		if _, ok := db.stmts.Load(q); ok {
			continue
		}
		st, err := db.write.PrepareContext(ctx, q)
		if err != nil {
			return fmt.Errorf("prepare: %w", err)
		}
		db.stmts.Store(q, st)
	}
	return nil
}

// Open opens (creating if needed) the database file at path. It does not
// migrate; call Migrate.
func Open(ctx context.Context, file string) (*DB, error) {
	if file == "" {
		return nil, errors.New("sqlite: empty database path")
	}
	pragmas := []string{
		"journal_mode(WAL)", "synchronous(NORMAL)", "busy_timeout(10000)", "foreign_keys(ON)",
		"temp_store(MEMORY)", "cache_size(-32000)",
	}
	q := url.Values{}
	for _, p := range pragmas {
		q.Add("_pragma", p)
	}
	dsn := func(extra string) string { return "file:" + file + "?" + q.Encode() + extra }
	w, err := sql.Open("sqlite", dsn("&_txlock=immediate"))
	if err != nil {
		return nil, fmt.Errorf("sqlite: open %s: %w", file, err)
	}
	w.SetMaxOpenConns(1)
	w.SetMaxIdleConns(1)
	w.SetConnMaxLifetime(0)
	if err := w.PingContext(ctx); err != nil {
		_ = w.Close()
		return nil, fmt.Errorf("sqlite: open %s: %w", file, err)
	}
	r, err := sql.Open("sqlite", dsn("&_pragma=query_only(1)"))
	if err != nil {
		_ = w.Close()
		return nil, fmt.Errorf("sqlite: open %s: %w", file, err)
	}
	r.SetMaxOpenConns(4)
	r.SetMaxIdleConns(4)
	r.SetConnMaxIdleTime(5 * time.Minute)
	return &DB{write: w, read: r}, nil
}

// Driver implements store.Store.
func (db *DB) Driver() string { return "sqlite" }

// Close closes both pools; the WAL is checkpointed by SQLite on close.
func (db *DB) Close() error {
	db.stmts.Range(func(_, v any) bool { v.(*sql.Stmt).Close(); return true })
	return errors.Join(db.read.Close(), db.write.Close())
}

func loadMigrations() ([]migration.Migration, error) {
	return migration.Load(migrations, "migrations")
}

// Migrate applies pending migrations, each in its own transaction.
func (db *DB) Migrate(ctx context.Context) error { return db.migrate(ctx, math.MaxInt) }

// migrate applies pending migrations up to version last (tests stop
// early to build a database as an older release left it).
func (db *DB) migrate(ctx context.Context, last int) error {
	if _, err := db.write.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL)`); err != nil {
		return fmt.Errorf("sqlite: create schema_migrations: %w", err)
	}
	ms, err := loadMigrations()
	if err != nil {
		return err
	}
	for _, m := range ms {
		if m.Version > last {
			break
		}
		err := db.tx(ctx, func(tx *sql.Tx) error {
			var n int
			if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM schema_migrations WHERE version = ?`, m.Version).Scan(&n); err != nil {
				return err
			}
			if n > 0 {
				return nil
			}
			if _, err := tx.ExecContext(ctx, m.SQL); err != nil {
				return err
			}
			_, err := tx.ExecContext(ctx, `INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)`, m.Version, time.Now().UnixMilli())
			return err
		})
		if err != nil {
			return fmt.Errorf("sqlite: migration %s: %w", m.Name, err)
		}
	}
	return db.prepareHot(ctx)
}

// Ready reports whether the database answers and is fully migrated.
func (db *DB) Ready(ctx context.Context) error {
	ms, err := loadMigrations()
	if err != nil {
		return err
	}
	var applied int
	err = db.read.QueryRowContext(ctx, `SELECT count(*) FROM schema_migrations`).Scan(&applied)
	if err != nil {
		return fmt.Errorf("sqlite: %w", err)
	}
	if applied < len(ms) {
		return fmt.Errorf("sqlite: %d of %d migrations applied; run `parley migrate`", applied, len(ms))
	}
	return nil
}

// tx runs fn in a write transaction (BEGIN IMMEDIATE), committing when it
// returns nil.
func (db *DB) tx(ctx context.Context, fn func(*sql.Tx) error) error {
	tx, err := db.write.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	if err := fn(tx); err != nil {
		_ = tx.Rollback()
		return err
	}
	return tx.Commit()
}

// isUnique reports whether err is a UNIQUE constraint violation.
func isUnique(err error) bool {
	var se *sqlite.Error
	return errors.As(err, &se) && (se.Code() == sqlite3.SQLITE_CONSTRAINT_UNIQUE || se.Code() == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY)
}

// notFound maps sql.ErrNoRows to a not-found fault for the named kind.
func notFound(err error, kind string) error {
	if errors.Is(err, sql.ErrNoRows) {
		return fault.NotFound(kind)
	}
	return err
}

func ms(t time.Time) int64 { return t.UnixMilli() }

func fromMS(v int64) time.Time { return time.UnixMilli(v).UTC() }

func optMS(t *time.Time) any {
	if t == nil {
		return nil
	}
	return t.UnixMilli()
}

func fromOptMS(v sql.NullInt64) *time.Time {
	if !v.Valid {
		return nil
	}
	t := fromMS(v.Int64)
	return &t
}

// null turns "" into SQL NULL.
func null(s string) any {
	if s == "" {
		return nil
	}
	return s
}

func nowMS() int64 { return time.Now().UnixMilli() }
