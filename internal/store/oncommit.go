package store

import (
	"context"
	"fmt"
)

// OnCommit is a write that a store with group commit (Group) makes once
// for a whole shared transaction, just before committing it, with the
// items every caller of that transaction gave it (Defer), in the order
// they gave them. Many callers' one-row inserts of one kind — jobs,
// events — so become one statement, where each would otherwise pay its
// own statement on the single writer.
//
// What a write defers is invisible to reads inside the transaction
// (including the caller's own) until the commit; use it only for rows the
// transaction does not read back.
type OnCommit[T, I any] struct {
	Write func(ctx context.Context, tx T, items []I) error
}

// Defer gives items to w for the transaction of ctx and reports true when
// ctx holds a transaction of owner's that defers writes (a Group's); the
// items are then written just before that transaction commits — or
// dropped with the caller's other writes, should its fn fail. It reports
// false, and keeps nothing, otherwise: the caller writes the items itself.
func Defer[T, I any](ctx context.Context, owner any, w *OnCommit[T, I], items ...I) bool {
	st, ok := ctx.Value(txKey{owner}).(*txState)
	if !ok || !st.grouped {
		return false
	}
	if st.deferred == nil {
		st.deferred = &deferred{}
	}
	xs := make([]any, len(items))
	for i, it := range items {
		xs[i] = it
	}
	st.deferred.add(w, func(ctx context.Context, tx any, xs []any) error {
		typed := make([]I, len(xs))
		for i, x := range xs {
			typed[i] = x.(I)
		}
		return w.Write(ctx, tx.(T), typed)
	}, xs)
	return true
}

// deferred is what the callers of a transaction gave OnCommit writes:
// each write's items, the writes in the order they were first used.
type deferred struct {
	writes []*deferredWrite
	byKey  map[any]*deferredWrite
}

type deferredWrite struct {
	key   any
	write func(ctx context.Context, tx any, items []any) error
	items []any
}

func (d *deferred) add(key any, write func(ctx context.Context, tx any, items []any) error, items []any) {
	if d.byKey == nil {
		d.byKey = map[any]*deferredWrite{}
	}
	w, ok := d.byKey[key]
	if !ok {
		w = &deferredWrite{key: key, write: write}
		d.byKey[key] = w
		d.writes = append(d.writes, w)
	}
	w.items = append(w.items, items...)
}

// merge appends what from holds, as if its items had been given to d.
func (d *deferred) merge(from *deferred) {
	if from == nil {
		return
	}
	for _, w := range from.writes {
		d.add(w.key, w.write, w.items)
	}
}

// flush makes each write with its items, in order.
func (d *deferred) flush(ctx context.Context, tx any) error {
	for _, w := range d.writes {
		if len(w.items) == 0 {
			continue
		}
		if err := w.write(ctx, tx, w.items); err != nil {
			return fmt.Errorf("write deferred rows: %w", err)
		}
	}
	return nil
}
