package postgres

import (
	"context"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/parley-dev/parley/internal/store"
)

// Within implements store.Store: fn runs in one transaction. Every store
// call made with the context fn is given — reads included, so they see the
// transaction's own writes — joins that transaction, as do the jobs and
// events recorded with it. It commits when fn returns nil and rolls
// everything back otherwise; hooks registered with AfterCommit run after
// the commit, in order, and never after a rollback. A Within inside
// another joins the outer transaction.
func (db *DB) Within(ctx context.Context, fn func(ctx context.Context) error) error {
	return db.classify(store.Within(ctx, db,
		func() (pgx.Tx, error) { return db.pool.Begin(ctx) },
		func(tx pgx.Tx) error { return tx.Commit(ctx) },
		func(tx pgx.Tx) { _ = tx.Rollback(context.WithoutCancel(ctx)) },
		fn))
}

// Snapshot implements store.Store: a read-only REPEATABLE READ
// transaction, so every read in fn sees the snapshot of its first.
func (db *DB) Snapshot(ctx context.Context, fn func(ctx context.Context) error) error {
	return db.classify(store.Within(ctx, db,
		func() (pgx.Tx, error) {
			return db.pool.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly})
		},
		func(tx pgx.Tx) error { return tx.Commit(ctx) },
		func(tx pgx.Tx) { _ = tx.Rollback(context.WithoutCancel(ctx)) },
		fn))
}

// AfterCommit implements store.Store: fn runs once the transaction in ctx
// has committed, or at once when ctx holds none.
func (db *DB) AfterCommit(ctx context.Context, fn func()) { store.AfterCommit(ctx, db, fn) }

// tx runs fn in the transaction of ctx, or in one of its own.
func (db *DB) tx(ctx context.Context, fn func(pgx.Tx) error) error {
	if tx, ok := store.TxFrom[pgx.Tx](ctx, db); ok {
		return fn(tx)
	}
	return db.Within(ctx, func(ctx context.Context) error {
		tx, _ := store.TxFrom[pgx.Tx](ctx, db)
		return fn(tx)
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
	if tx, ok := store.TxFrom[pgx.Tx](ctx, db); ok {
		return tx
	}
	return db.pool
}
