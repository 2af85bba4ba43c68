package sqlite

import (
	"context"
	"database/sql"
	"fmt"
)

// txKey finds this store's transaction in a context; the store's own
// address keeps two stores of one process apart.
type txKey struct{ db *DB }

// txState is a transaction opened by Within and the hooks to run once it
// has committed.
type txState struct {
	tx    *sql.Tx
	hooks []func()
}

// Within implements store.Store: fn runs in one transaction on the single
// writer connection. Every store call made with the context fn is given —
// reads included, so they see the transaction's own writes — joins that
// transaction, as do the jobs and events recorded with it. It commits when
// fn returns nil and rolls everything back otherwise; hooks registered
// with AfterCommit run after the commit, in order, and never after a
// rollback. A Within inside another joins the outer transaction.
func (db *DB) Within(ctx context.Context, fn func(ctx context.Context) error) error {
	if _, ok := ctx.Value(txKey{db}).(*txState); ok {
		return fn(ctx)
	}
	tx, err := db.write.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin: %w", db.classify(err))
	}
	st := &txState{tx: tx}
	if err := fn(context.WithValue(ctx, txKey{db}, st)); err != nil {
		_ = tx.Rollback()
		return db.classify(err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit: %w", db.classify(err))
	}
	for _, h := range st.hooks {
		h()
	}
	return nil
}

// AfterCommit implements store.Store: fn runs once the transaction in ctx
// has committed, or at once when ctx holds none.
func (db *DB) AfterCommit(ctx context.Context, fn func()) {
	if st, ok := ctx.Value(txKey{db}).(*txState); ok {
		st.hooks = append(st.hooks, fn)
		return
	}
	fn()
}

// tx runs fn in the transaction of ctx, or in one of its own.
func (db *DB) tx(ctx context.Context, fn func(*sql.Tx) error) error {
	if st, ok := ctx.Value(txKey{db}).(*txState); ok {
		return fn(st.tx)
	}
	return db.Within(ctx, func(ctx context.Context) error {
		return fn(ctx.Value(txKey{db}).(*txState).tx)
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
	if st, ok := ctx.Value(txKey{db}).(*txState); ok {
		return st.tx
	}
	return db.read
}

// writer is where a single write runs: the transaction of ctx, or the
// writer connection.
func (db *DB) writer(ctx context.Context) querier {
	if st, ok := ctx.Value(txKey{db}).(*txState); ok {
		return st.tx
	}
	return db.write
}
