package store

import (
	"context"
	"fmt"
)

// The write seam's logic, shared by the adapters: a transaction travels in
// the context of the change, so every store call made with that context
// joins it, and hooks wait for its commit. Each adapter supplies only how
// to begin, commit and roll back its own kind of transaction.

// txKey finds one store's transaction in a context; the store's own
// address (owner) keeps two stores of one process apart.
type txKey struct{ owner any }

// txState is a transaction opened by Within and the hooks to run once it
// has committed; in a Group's transaction (grouped), also the writes its
// caller deferred to the commit (Defer).
type txState struct {
	tx       any
	hooks    []func()
	grouped  bool
	deferred *deferred
}

// TxFrom returns owner's transaction in ctx, if ctx holds one.
func TxFrom[T any](ctx context.Context, owner any) (T, bool) {
	st, ok := ctx.Value(txKey{owner}).(*txState)
	if !ok {
		var zero T
		return zero, false
	}
	return st.tx.(T), true
}

// Within runs fn in one transaction of owner's: begun with begin, then
// committed when fn returns nil, or rolled back. fn's context carries the
// transaction (see TxFrom); a Within inside another joins the outer one.
// Hooks registered with AfterCommit run after the commit, in order, and
// never after a rollback. Errors of begin and commit say which failed; fn's
// are returned as they are.
func Within[T any](ctx context.Context, owner any, begin func() (T, error), commit func(T) error, rollback func(T),
	fn func(ctx context.Context) error) error {
	if _, ok := ctx.Value(txKey{owner}).(*txState); ok {
		return fn(ctx)
	}
	tx, err := begin()
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	// A panic in fn takes the transaction back (and gives its connection
	// back to the pool) before it goes on up.
	defer func() {
		if p := recover(); p != nil {
			rollback(tx)
			panic(p)
		}
	}()
	st := &txState{tx: tx}
	if err := fn(context.WithValue(ctx, txKey{owner}, st)); err != nil {
		rollback(tx)
		return err
	}
	if err := commit(tx); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	for _, h := range st.hooks {
		h()
	}
	return nil
}

// AfterCommit runs fn once owner's transaction in ctx has committed, or at
// once when ctx holds none.
func AfterCommit(ctx context.Context, owner any, fn func()) {
	if st, ok := ctx.Value(txKey{owner}).(*txState); ok {
		st.hooks = append(st.hooks, fn)
		return
	}
	fn()
}
