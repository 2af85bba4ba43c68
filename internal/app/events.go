package app

import (
	"context"
	"log/slog"
	"sync"
	"time"
)

// listener is a store that hears other nodes' events (PostgreSQL's
// LISTEN); SQLite has one writer, whose commits wake the hub directly.
type listener interface {
	ListenEvents(ctx context.Context, wake func(), log *slog.Logger)
}

// RunEvents runs the event machinery of this node until ctx ends: the
// hub that feeds live subscribers, the listener that wakes it for events
// committed on other nodes, and the loop that prunes events older than
// the retention. Pruning is safe on every node at once.
func (a *App) RunEvents(ctx context.Context) {
	var wg sync.WaitGroup
	run := func(fn func()) {
		wg.Add(1)
		go func() { defer wg.Done(); fn() }()
	}
	run(func() { a.Events.Run(ctx) })
	if l, ok := a.Store.(listener); ok {
		run(func() { l.ListenEvents(ctx, a.Events.Wake, a.Log) })
	}
	run(func() { a.pruneEvents(ctx) })
	wg.Wait()
	a.Events.CloseAll()
}

// pruneEvents deletes expired events now and then at an interval of a
// quarter of the retention, at most ten minutes, until ctx ends.
func (a *App) pruneEvents(ctx context.Context) {
	keep := a.Config.EventRetentionPeriod()
	every := min(keep/4, 10*time.Minute)
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		n, err := a.Store.PruneEvents(ctx, a.now().Add(-keep))
		switch {
		case err != nil && ctx.Err() == nil:
			a.Log.Warn("events: pruning failed", "err", err)
		case n > 0:
			a.Log.Info("events: pruned expired events", "count", n)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
