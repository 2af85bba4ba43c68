package events

import (
	"context"
	"fmt"
)

// Committer runs hooks after the transaction of a context commits (the
// store's AfterCommit).
type Committer interface {
	AfterCommit(ctx context.Context, fn func())
}

// Recorder records events in the outbox: in the transaction of the
// context it is given (from the store's Within), so they commit or roll
// back with the change, and wakes this node's hub once that transaction
// has committed — never after a rollback. Record events after the
// change's other writes: from its first event until it ends, a
// transaction holds the store's events lock (see Store.InsertEvents), and
// one that then waited for a row another transaction holds while that one
// waits to record its own events would deadlock.
type Recorder struct {
	Store     Store
	Committer Committer
	// Hub, if not nil, is woken after each commit that recorded events.
	Hub *Hub
}

// Record implements conversation.EventRecorder.
func (r *Recorder) Record(ctx context.Context, evs ...Event) error {
	if len(evs) == 0 {
		return nil
	}
	ptrs := make([]*Event, len(evs))
	for i := range evs {
		ptrs[i] = &evs[i]
	}
	if err := r.Store.InsertEvents(ctx, ptrs); err != nil {
		return fmt.Errorf("insert events: %w", err)
	}
	if r.Hub != nil {
		r.Committer.AfterCommit(ctx, r.Hub.Wake)
	}
	return nil
}
