package sqlite

import (
	"context"
	"database/sql"

	"github.com/parley-dev/parley/internal/store"
)

// Within implements store.Store: fn runs in one transaction on the single
// writer connection. Every store call made with the context fn is given —
// reads included, so they see the transaction's own writes — joins that
// transaction, as do the jobs and events recorded with it. It commits when
// fn returns nil and rolls everything back otherwise; hooks registered
// with AfterCommit run after the commit, in order, and never after a
// rollback. A Within inside another joins the outer transaction.
func (db *DB) Within(ctx context.Context, fn func(ctx context.Context) error) error {
	return db.classify(store.Within(ctx, db,
		func() (*sql.Tx, error) { return db.write.BeginTx(ctx, nil) },
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
