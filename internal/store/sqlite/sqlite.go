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
	"io/fs"
	"math"
	"net/url"
	"os"
	"strings"
	"sync"
	"time"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/parley-dev/parley/internal/fault"
	"github.com/parley-dev/parley/internal/store"
	"github.com/parley-dev/parley/internal/store/migration"
)

//go:embed migrations/*.sql
var migrations embed.FS

// DB is a Parley store on one SQLite file.
type DB struct {
	write *conns // exactly one connection: SQLite has one writer anyway
	read  *conns
	// wsSeqs remembers workspace ids' integer keys (workspaceSeq).
	wsSeqs sync.Map
	group  *store.Group[*sql.Tx]
	heavy  *store.Gate // heavy reads (store.Options.HeavyReads)
	errs   *store.Errors
	opts   store.Options // with defaults filled in
	// checkpointer runs the WAL checkpoints (checkpoint).
	checkpointer *sql.DB
	checkpoints  checkpointStats
	// stop ends the background Optimize and checkpoint loops (every),
	// which close done and checkpointed when they have.
	stop, done, checkpointed chan struct{}
	closeOnce                sync.Once
}

// conns is a pool as the store's queries use it: the errors of its Exec
// and Query have been through classify, so an outage reads as a fault
// with CodeUnavailable and each failed query is counted. Single-row reads
// are classified where they end (notFound), transactions as a whole (tx).
type conns struct {
	*sql.DB
	classify func(error) error
}

// ExecContext runs a statement on a pooled connection.
func (c *conns) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	res, err := c.DB.ExecContext(ctx, query, args...)
	return res, c.classify(err)
}

// QueryContext runs a query on a pooled connection.
func (c *conns) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	rows, err := c.DB.QueryContext(ctx, query, args...)
	return rows, c.classify(err)
}

// classify counts a failed query by kind and turns an outage into a
// fault with CodeUnavailable. "No rows" is an answer, not a failure.
func (db *DB) classify(err error) error {
	if err == nil || errors.Is(err, sql.ErrNoRows) {
		return err
	}
	return db.errs.Record(err, errorKind(err))
}

// errorKind sorts an SQLite or database/sql error into the store's kinds.
func errorKind(err error) string {
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		return store.KindTimeout
	case errors.Is(err, context.Canceled):
		return store.KindCanceled
	}
	var se *sqlite.Error
	if errors.As(err, &se) {
		switch se.Code() & 0xff { // the primary result code
		// Locked past busy_timeout, disk I/O errors, a full disk, a file
		// that cannot be opened or has become read-only: the database
		// cannot work until an operator (or the other writer) is done.
		case sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED, sqlite3.SQLITE_IOERR, sqlite3.SQLITE_FULL,
			sqlite3.SQLITE_CANTOPEN, sqlite3.SQLITE_READONLY:
			return store.KindUnavailable
		case sqlite3.SQLITE_CONSTRAINT:
			return store.KindConstraint
		}
		return store.KindOther
	}
	// database/sql's own "database is closed" is not exported.
	if errors.Is(err, sql.ErrConnDone) || strings.HasSuffix(err.Error(), "sql: database is closed") {
		return store.KindUnavailable
	}
	return store.KindOther
}

// Open opens (creating if needed) the database file at path with the
// default options. It does not migrate; call Migrate.
func Open(ctx context.Context, file string) (*DB, error) {
	return OpenWith(ctx, file, store.Options{})
}

// OpenWith is Open with the reader pool size and read budget of opts.
func OpenWith(ctx context.Context, file string, opts store.Options) (*DB, error) {
	opts = opts.WithDefaults()
	if file == "" {
		return nil, errors.New("sqlite: empty database path")
	}
	if err := createPrivate(file); err != nil {
		return nil, err
	}
	pragmas := []string{
		"journal_mode(WAL)", "synchronous(NORMAL)", "busy_timeout(10000)", "foreign_keys(ON)",
		"temp_store(MEMORY)",
	}
	q := url.Values{}
	for _, p := range pragmas {
		q.Add("_pragma", p)
	}
	dsn := func(extra string) string { return "file:" + file + "?" + q.Encode() + extra }
	wc, err := newCachingConnector(dsn(fmt.Sprintf("&_txlock=immediate&_pragma=cache_size(-%d)&_pragma=wal_autocheckpoint(%d)&_pragma=journal_size_limit(%d)",
		opts.CacheMB*1024, walBackstopPages, walSizeLimit)), stagedTableSQL)
	if err != nil {
		return nil, fmt.Errorf("sqlite: open %s: %w", file, err)
	}
	w := sql.OpenDB(wc)
	w.SetMaxOpenConns(1)
	w.SetMaxIdleConns(1)
	w.SetConnMaxLifetime(0)
	if err := w.PingContext(ctx); err != nil {
		_ = w.Close()
		return nil, fmt.Errorf("sqlite: open %s: %w", file, err)
	}
	// The first connection made the WAL and shared-memory files with
	// SQLite's default mode; they hold recent writes, so they get the
	// database's own mode. They live as long as a connection is open, and
	// the writer's stays open.
	if err := sameMode(file, file+"-wal", file+"-shm"); err != nil {
		_ = w.Close()
		return nil, err
	}
	// Readers cache their prepared statements too: parsing a lookup's
	// text (a conversation by id, its recent messages) took longer than
	// running it.
	rc, err := newCachingConnector(dsn("&_pragma=query_only(1)&_pragma=cache_size(-32000)"))
	if err != nil {
		_ = w.Close()
		return nil, fmt.Errorf("sqlite: open %s: %w", file, err)
	}
	r := sql.OpenDB(rc)
	r.SetMaxOpenConns(opts.Readers)
	r.SetMaxIdleConns(opts.Readers)
	r.SetConnMaxIdleTime(5 * time.Minute)
	ck, err := sql.Open("sqlite", dsn(""))
	if err != nil {
		_ = w.Close()
		_ = r.Close()
		return nil, fmt.Errorf("sqlite: open %s: %w", file, err)
	}
	ck.SetMaxOpenConns(1)
	ck.SetMaxIdleConns(1)
	ck.SetConnMaxLifetime(0)
	db := &DB{errs: store.NewErrors("sqlite"), opts: opts, checkpointer: ck, heavy: store.NewGate(opts.HeavyReads),
		stop: make(chan struct{}), done: make(chan struct{}), checkpointed: make(chan struct{})}
	db.write = &conns{DB: w, classify: db.classify}
	db.read = &conns{DB: r, classify: db.classify}
	db.group = db.newGroup()
	go every(optimizeEvery, db.stop, db.done, func(ctx context.Context) { _ = db.Optimize(ctx) })
	go every(checkpointEvery, db.stop, db.checkpointed, func(ctx context.Context) { db.checkpoint(ctx, ck) })
	return db, nil
}

// createPrivate creates the database file, if it does not exist yet, with
// mode 0600: it holds API key hashes, the generated secret key and every
// transcript. An existing file keeps the mode its owner gave it.
func createPrivate(file string) error {
	f, err := os.OpenFile(file, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("sqlite: create %s: %w", file, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("sqlite: create %s: %w", file, err)
	}
	// Set the mode outright, so it does not depend on the umask at all.
	if err := os.Chmod(file, 0o600); err != nil {
		return fmt.Errorf("sqlite: restrict %s to its owner: %w", file, err)
	}
	return nil
}

// sameMode gives the files that exist the permissions of file.
func sameMode(file string, files ...string) error {
	st, err := os.Stat(file)
	if err != nil {
		return fmt.Errorf("sqlite: %w", err)
	}
	for _, f := range files {
		if err := os.Chmod(f, st.Mode().Perm()); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("sqlite: set the mode of %s: %w", f, err)
		}
	}
	return nil
}

// Driver implements store.Store.
func (db *DB) Driver() string { return "sqlite" }

// Errors implements store.Store.
func (db *DB) Errors() *store.Errors { return db.errs }

// Pools implements store.Store.
func (db *DB) Pools() []store.PoolStats {
	stats := func(name string, c *conns) store.PoolStats {
		st := c.Stats()
		return store.PoolStats{Pool: name, Max: st.MaxOpenConnections, Open: st.OpenConnections,
			InUse: st.InUse, Idle: st.Idle, Waits: st.WaitCount, WaitTime: st.WaitDuration}
	}
	return []store.PoolStats{stats("write", db.write), stats("read", db.read)}
}

// Close closes the pools; the WAL is checkpointed by SQLite when the
// last connection closes.
func (db *DB) Close() error {
	db.closeOnce.Do(func() { close(db.stop) })
	<-db.done
	<-db.checkpointed
	return errors.Join(db.checkpointer.Close(), db.read.Close(), db.write.Close())
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
	// A database that has never been analysed (or has grown tenfold since)
	// gets statistics before it serves.
	if err := db.Optimize(ctx); err != nil {
		return err
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
	err = db.read.QueryRowContext(ctx, `SELECT count(*) FROM schema_migrations`).Scan(&applied)
	if err != nil {
		return fmt.Errorf("sqlite: %w", db.classify(err))
	}
	if applied < len(ms) {
		return fmt.Errorf("sqlite: %d of %d migrations applied; run `parley migrate`", applied, len(ms))
	}
	return nil
}

// execer is what the writer and a transaction both offer for writes.
type execer interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
}

// isUnique reports whether err is a UNIQUE constraint violation.
func isUnique(err error) bool {
	var se *sqlite.Error
	return errors.As(err, &se) && (se.Code() == sqlite3.SQLITE_CONSTRAINT_UNIQUE || se.Code() == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY)
}

// notFound maps sql.ErrNoRows to a not-found fault for the named kind.
// Single-row reads end here, so it classifies their other errors.
func (db *DB) notFound(err error, kind string) error {
	if errors.Is(err, sql.ErrNoRows) {
		return fault.NotFound(kind)
	}
	return db.classify(err)
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
