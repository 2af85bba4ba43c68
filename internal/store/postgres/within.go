package postgres

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// txKey finds this store's transaction in a context; the store's own
// address keeps two stores of one process apart.
type txKey struct{ db *DB }

// txState is a transaction opened by Within and the hooks to run once it
// has committed.
type txState struct {
	tx    pgx.Tx
	hooks []func()
}

// Within implements store.Store: fn runs in one transaction. Every store
// call made with the context fn is given — reads included, so they see the
// transaction's own writes — joins that transaction, as do the jobs and
// events recorded with it. It commits when fn returns nil and rolls
// everything back otherwise; hooks registered with AfterCommit run after
// the commit, in order, and never after a rollback. A Within inside
// another joins the outer transaction.
func (db *DB) Within(ctx context.Context, fn func(ctx context.Context) error) error {
	if _, ok := ctx.Value(txKey{db}).(*txState); ok {
		return fn(ctx)
	}
	tx, err := db.pool.Begin(ctx)
	if err != nil {
		return fmt.Errorf("begin: %w", db.classify(err))
	}
	st := &txState{tx: tx}
	if err := fn(context.WithValue(ctx, txKey{db}, st)); err != nil {
		_ = tx.Rollback(context.WithoutCancel(ctx))
		return db.classify(err)
	}
	if err := tx.Commit(ctx); err != nil {
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
func (db *DB) tx(ctx context.Context, fn func(pgx.Tx) error) error {
	if st, ok := ctx.Value(txKey{db}).(*txState); ok {
		return fn(st.tx)
	}
	return db.Within(ctx, func(ctx context.Context) error {
		return fn(ctx.Value(txKey{db}).(*txState).tx)
	})
}

// executor is what the pool and a transaction both offer.
type executor interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// conn is where a statement runs: the transaction of ctx, so a read
// inside Within sees what the transaction wrote, or else the pool.
func (db *DB) conn(ctx context.Context) executor {
	if st, ok := ctx.Value(txKey{db}).(*txState); ok {
		return st.tx
	}
	return db.pool
}
