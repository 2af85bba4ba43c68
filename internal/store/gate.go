package store

import (
	"context"

	"github.com/parley-dev/parley/internal/conversation"
)

// Gate lets at most a fixed number of callers in at once; the others
// wait their turn, or until their context ends. The stores pass heavy
// reads through one (Options.HeavyReads).
type Gate struct{ slots chan struct{} }

// NewGate returns a gate for n callers at once (at least one).
func NewGate(n int) *Gate { return &Gate{slots: make(chan struct{}, max(1, n))} }

// Enter waits for a turn and returns the function that ends it, or the
// context's error if it ends first (with a read's time budget, that
// becomes a query_timeout problem like a query that ran too long).
func (g *Gate) Enter(ctx context.Context) (leave func(), err error) {
	select {
	case g.slots <- struct{}{}:
		return func() { <-g.slots }, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// noLeave ends the turn of a read that took none.
func noLeave() {}

// Read is Enter for a list or count with filter f when it is a heavy read
// (one with a text query: a search, or a count of one); any other read
// passes at once.
func (g *Gate) Read(ctx context.Context, f conversation.Filter) (leave func(), err error) {
	if f.Query == "" {
		return noLeave, nil
	}
	return g.Enter(ctx)
}
