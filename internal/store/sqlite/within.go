package sqlite

import (
	"context"
	"database/sql"

	"github.com/parley-dev/parley/internal/store"
)

// Within implements store.Store: fn runs in a transaction on the single
// writer connection, shared with the Within calls that run at the same
// time (group commit, see store.Group): each call's writes are in a
// savepoint of their own, so a call that fails takes back only its own,
// and every call returns only once the transaction holding its writes has
// committed. Every store call made with the context fn is given — reads
// included, so they see the transaction's own writes — joins that
// transaction, as do the jobs and events recorded with it. Hooks
// registered with AfterCommit run after the commit, in order, and never
// after a rollback. A Within inside another joins the outer transaction.
func (db *DB) Within(ctx context.Context, fn func(ctx context.Context) error) error {
	return db.classify(db.group.Within(ctx, fn))
}

// The statements of a caller's savepoint in a shared transaction.
const (
	savepointSQL  = `SAVEPOINT parley_write`
	releaseSQL    = `RELEASE parley_write`
	rollbackToSQL = `ROLLBACK TO parley_write`
)

// newGroup is the write seam of db: transactions on the writer, begun
// IMMEDIATE (the DSN's _txlock) and with a context of their own, since
// they outlive the caller that begins them.
func (db *DB) newGroup() *store.Group[*sql.Tx] {
	exec := func(q string) func(tx *sql.Tx) error {
		return func(tx *sql.Tx) error {
			ctx := context.Background()
			_, err := tx.ExecContext(ctx, q)
			return err
		}
	}
	savepoint, release, rollbackTo := exec(savepointSQL), exec(releaseSQL), exec(rollbackToSQL)
	return &store.Group[*sql.Tx]{
		Owner: db,
		Begin: func() (*sql.Tx, error) { return db.write.BeginTx(context.Background(), nil) },
		Commit: func(tx *sql.Tx) error {
			if err := flushSearch(context.Background(), tx); err != nil {
				_ = tx.Rollback()
				return err
			}
			return tx.Commit()
		},
		Rollback:  func(tx *sql.Tx) { _ = tx.Rollback() },
		Savepoint: savepoint,
		Release:   release,
		RollbackTo: func(tx *sql.Tx) error {
			// ROLLBACK TO undoes the caller's writes but keeps the
			// savepoint open; RELEASE then ends it.
			if err := rollbackTo(tx); err != nil {
				return err
			}
			return release(tx)
		},
	}
}

// Snapshot implements store.Store: a deferred transaction on a read
// connection (query_only) — in WAL mode its snapshot is taken at its first
// read and held to the end — so every read in fn sees the same state.
func (db *DB) Snapshot(ctx context.Context, fn func(ctx context.Context) error) error {
	return db.classify(store.Within(ctx, db,
		func() (*sql.Tx, error) { return db.read.BeginTx(ctx, nil) },
		func(tx *sql.Tx) error { return tx.Commit() },
		func(tx *sql.Tx) { _ = tx.Rollback() },
		fn))
}

// AfterCommit implements store.Store: fn runs once the transaction in ctx
// has committed, or at once when ctx holds none.
func (db *DB) AfterCommit(ctx context.Context, fn func()) { store.AfterCommit(ctx, db, fn) }

// tx runs fn in the transaction of ctx, or in one of its own.
func (db *DB) tx(ctx context.Context, fn func(*sql.Tx) error) error {
	if tx, ok := store.TxFrom[*sql.Tx](ctx, db); ok {
		return fn(tx)
	}
	return db.Within(ctx, func(ctx context.Context) error {
		tx, _ := store.TxFrom[*sql.Tx](ctx, db)
		return fn(tx)
	})
}

// querier is what the pools and a transaction all offer.
type querier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// reader is where a read runs: the transaction of ctx, so a read inside
// Within sees what the transaction wrote, or else the read pool.
func (db *DB) reader(ctx context.Context) querier {
	if tx, ok := store.TxFrom[*sql.Tx](ctx, db); ok {
		return tx
	}
	return db.read
}

// writer is where a single write runs: the transaction of ctx, or the
// writer connection.
func (db *DB) writer(ctx context.Context) querier {
	if tx, ok := store.TxFrom[*sql.Tx](ctx, db); ok {
		return tx
	}
	return db.write
}
