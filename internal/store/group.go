package store

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"
)

// Group is the write seam of a store with a single writer (SQLite): it
// commits the transactions of concurrent Within calls together. Each
// caller's fn runs in turn, on the caller's goroutine, in one shared
// transaction — the first caller directly, each later one inside a
// savepoint of its own; the transaction commits once no caller is
// waiting for the writer (or the batch is full or old enough), and only
// then does each caller's Within return. So a request is acknowledged
// only after the commit that holds its writes, while the commit — the
// WAL append of every page the batch touched, its busy work on one
// connection — is paid once per batch rather than once per request.
//
// A caller whose fn fails has its own writes (jobs and events included)
// taken back and the others' kept — its savepoint is rolled back, or,
// for the first caller, the transaction, which holds nothing else yet —
// and gets fn's error. Should the rollback to the savepoint itself fail (SQLite rolls a
// whole transaction back after some errors, such as a full disk), the
// batch is lost: it is rolled back and every caller of it gets an error,
// none of them having been acknowledged. Hooks registered with
// AfterCommit run on each caller's goroutine after the shared commit, in
// the order that caller registered them, and never after a rollback. The
// writes callers deferred (Defer) are made once for the whole batch just
// before its commit; should one fail, the batch is lost as above. A
// Within inside another joins the outer transaction, as with Within.
//
// Once a caller's fn has begun it runs to its end whatever the caller's
// context says (its context keeps its values but loses its cancellation
// and deadline): on SQLite an interrupted write statement rolls the whole
// transaction back, which would fail every other caller of the batch. A
// caller whose context ends while it waits for its turn is not run.
type Group[T any] struct {
	// Owner tells this store's transactions apart from another's in a
	// context, as Within's owner does.
	Owner any
	// Begin opens the shared transaction; it must not depend on any one
	// caller's context.
	Begin    func() (T, error)
	Commit   func(T) error
	Rollback func(T)
	// Savepoint opens a savepoint for one caller; Release ends it, keeping
	// its writes; RollbackTo undoes its writes and ends it.
	Savepoint, Release, RollbackTo func(T) error
	// MaxBatch caps the callers of one transaction, MaxAge how long after
	// its begin a transaction takes new callers: both bound how long the
	// first caller of a batch waits for the others. Zero: 64 and 4 ms.
	MaxBatch int
	MaxAge   time.Duration

	mu      sync.Mutex // held while a caller's fn runs, and while committing
	waiting atomic.Int64
	open    *batch[T] // the transaction taking callers, if any; under mu
}

// batch is one shared transaction.
type batch[T any] struct {
	tx       T
	deferred deferred // what its callers deferred to the commit (Defer)
	callers  int
	began    time.Time
	done     chan struct{} // closed once committed or rolled back
	err      error         // why the batch did not commit; set before done closes
}

// ErrBatchLost wraps the error that made a shared transaction roll back
// after the caller's own writes succeeded: they are not stored, and the
// caller may try again.
var ErrBatchLost = errors.New("the transaction shared with other writes was rolled back")

// Within runs fn in the group's shared transaction, as described on Group.
func (g *Group[T]) Within(ctx context.Context, fn func(ctx context.Context) error) error {
	if _, ok := ctx.Value(txKey{g.Owner}).(*txState); ok {
		return fn(ctx)
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	g.waiting.Add(1)
	g.mu.Lock()
	g.waiting.Add(-1)
	b, st, err := g.run(ctx, fn)
	if b == nil {
		g.mu.Unlock()
		return err
	}
	if b.err != nil || g.waiting.Load() == 0 || b.callers >= g.maxBatch() || time.Since(b.began) >= g.maxAge() {
		g.finish(b)
	}
	g.mu.Unlock()
	<-b.done
	switch {
	case err != nil:
		return err
	case b.err != nil:
		return b.err
	}
	for _, h := range st.hooks {
		h()
	}
	return nil
}

// run runs fn in a savepoint of the open transaction, beginning one if
// none is open, and returns the batch it joined (nil when none could be
// begun) and fn's own error. It is called with mu held.
func (g *Group[T]) run(ctx context.Context, fn func(ctx context.Context) error) (*batch[T], *txState, error) {
	b := g.open
	if b == nil {
		tx, err := g.Begin()
		if err != nil {
			return nil, nil, fmt.Errorf("begin: %w", err)
		}
		b = &batch[T]{tx: tx, began: time.Now(), done: make(chan struct{})}
		g.open = b
	}
	if err := ctx.Err(); err != nil {
		return b, nil, err // gone while waiting for its turn: not run
	}
	// The first caller of a transaction has it to itself: should it fail,
	// the whole transaction is rolled back, so it needs no savepoint —
	// and a savepoint is not free: SQLite copies every page the caller
	// changes into its journal, which for a large write (a bulk import's
	// batch) is most of the work.
	first := b.callers == 0
	if !first {
		if err := g.Savepoint(b.tx); err != nil {
			b.err = fmt.Errorf("%w: savepoint: %w", ErrBatchLost, err)
			return b, nil, b.err
		}
	}
	b.callers++
	st := &txState{tx: b.tx, grouped: true}
	err := fn(context.WithValue(context.WithoutCancel(ctx), txKey{g.Owner}, st))
	if first {
		if err != nil {
			g.open = nil
			g.Rollback(b.tx)
			close(b.done)
			return nil, st, err
		}
		b.deferred.merge(st.deferred)
		return b, st, nil
	}
	if err != nil {
		if rerr := g.RollbackTo(b.tx); rerr != nil {
			b.err = fmt.Errorf("%w: %w (after %w)", ErrBatchLost, rerr, err)
		}
		return b, st, err
	}
	if err := g.Release(b.tx); err != nil {
		b.err = fmt.Errorf("%w: release savepoint: %w", ErrBatchLost, err)
		return b, st, b.err
	}
	b.deferred.merge(st.deferred)
	return b, st, nil
}

// finish commits b (or rolls it back, when it is lost) and lets its
// callers return. It is called with mu held.
func (g *Group[T]) finish(b *batch[T]) {
	g.open = nil
	if b.err == nil {
		if err := b.deferred.flush(context.Background(), b.tx); err != nil {
			b.err = fmt.Errorf("%w: %w", ErrBatchLost, err)
		}
	}
	if b.err != nil {
		g.Rollback(b.tx)
	} else if err := g.Commit(b.tx); err != nil {
		b.err = fmt.Errorf("commit: %w", err)
	}
	close(b.done)
}

func (g *Group[T]) maxBatch() int {
	if g.MaxBatch <= 0 {
		return 64
	}
	return g.MaxBatch
}

func (g *Group[T]) maxAge() time.Duration {
	if g.MaxAge <= 0 {
		return 4 * time.Millisecond
	}
	return g.MaxAge
}
