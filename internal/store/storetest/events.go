package storetest

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/parley-dev/parley/internal/events"
	"github.com/parley-dev/parley/internal/store"
)

// committer counts the announcements a Recorder schedules, through the
// store's own AfterCommit, so a test sees whether they ran.
type committer struct {
	s     store.Store
	woken int
}

func (c *committer) AfterCommit(ctx context.Context, fn func()) {
	c.s.AfterCommit(ctx, func() { c.woken++; fn() })
}

func ev(ws, typ, conv, msg string, sec int) events.Event {
	return events.Event{WorkspaceID: ws, Type: typ, ConversationID: conv, MessageID: msg, CreatedAt: at(sec)}
}

func eventIDs(evs []events.Event) []string {
	out := make([]string, len(evs))
	for i, e := range evs {
		out[i] = e.ID
	}
	return out
}

// testEvents holds the outbox to its promise: events recorded in a
// transaction commit, and are announced, with it or not at all; they read
// back oldest first, per workspace, filtered, and resume after an id.
func testEvents(t *testing.T, s store.Store) {
	ctx := context.Background()
	c := &committer{s: s}
	rec := &events.Recorder{Store: s, Committer: c, Hub: &events.Hub{}}
	wsA, wsB := newWorkspace(t, s, "A"), newWorkspace(t, s, "B")

	// Rolled back: no event, no announcement.
	boom := errors.New("boom")
	err := s.Within(ctx, func(ctx context.Context) error {
		must(t, rec.Record(ctx, ev(wsA, events.ConversationCreated, "conv_x", "", 1)))
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("Within = %v", err)
	}
	got, err := s.Events(ctx, events.Query{Limit: 10})
	must(t, err)
	if len(got) != 0 || c.woken != 0 {
		t.Fatalf("after a rollback: %d events, %d announcements", len(got), c.woken)
	}
	if p, err := s.LastEventPos(ctx); err != nil || p != (events.Pos{}) {
		t.Fatalf("LastEventPos of none = %v, %v", p, err)
	}

	// Committed: readable, announced once, after the commit.
	err = s.Within(ctx, func(ctx context.Context) error {
		must(t, rec.Record(ctx, ev(wsA, events.ConversationCreated, "conv_1", "", 2), ev(wsA, events.MessageCreated, "conv_1", "msg_1", 2)))
		must(t, rec.Record(ctx, ev(wsB, events.ConversationCreated, "conv_2", "", 3)))
		if c.woken != 0 {
			t.Error("announced before the commit")
		}
		return nil
	})
	must(t, err)
	if c.woken != 2 {
		t.Errorf("announcements after the commit: %d", c.woken)
	}
	// Without a transaction, it commits at once.
	must(t, rec.Record(ctx, ev(wsA, events.ConversationEnded, "conv_1", "", 4)))

	all, err := s.Events(ctx, events.Query{Limit: 10})
	must(t, err)
	if len(all) != 4 {
		t.Fatalf("events: %+v", all)
	}
	for i, e := range all {
		p, ok := events.ParseID(e.ID)
		if !ok || p != e.Pos || (i > 0 && !all[i-1].Pos.Less(e.Pos)) {
			t.Errorf("event %d: id %q pos %+v out of order", i, e.ID, e.Pos)
		}
	}
	want := events.Event{ID: all[1].ID, Pos: all[1].Pos, WorkspaceID: wsA, Type: events.MessageCreated,
		ConversationID: "conv_1", MessageID: "msg_1", CreatedAt: at(2)}
	if all[1] != want {
		t.Errorf("event = %+v, want %+v", all[1], want)
	}
	if p, err := s.LastEventPos(ctx); err != nil || p != all[3].Pos {
		t.Errorf("LastEventPos = %v, %v; want %v", p, err, all[3].Pos)
	}

	a, err := s.Events(ctx, events.Query{WorkspaceID: wsA, Limit: 10})
	must(t, err)
	if len(a) != 3 || a[0].ID != all[0].ID || a[2].ID != all[3].ID {
		t.Errorf("workspace A: %v", eventIDs(a))
	}
	a, err = s.Events(ctx, events.Query{WorkspaceID: wsA, After: all[0].Pos, Limit: 1})
	must(t, err)
	if len(a) != 1 || a[0].ID != all[1].ID {
		t.Errorf("after the first, one: %v", eventIDs(a))
	}
	a, err = s.Events(ctx, events.Query{WorkspaceID: wsA, Types: []string{events.ConversationCreated, events.ConversationEnded}, Limit: 10})
	must(t, err)
	if len(a) != 2 || a[0].ID != all[0].ID || a[1].ID != all[3].ID {
		t.Errorf("by type: %v", eventIDs(a))
	}
	a, err = s.Events(ctx, events.Query{WorkspaceID: wsB, ConversationID: "conv_1", Limit: 10})
	must(t, err)
	if len(a) != 0 {
		t.Errorf("another workspace's conversation: %v", eventIDs(a))
	}
	a, err = s.Events(ctx, events.Query{WorkspaceID: wsA, After: all[3].Pos, Limit: 10})
	must(t, err)
	if len(a) != 0 {
		t.Errorf("after the last: %v", eventIDs(a))
	}

	// Once its transaction has committed, each event a caller inserted
	// carries the position it is stored at, alone or with others.
	e5, e6, e7 := ev(wsA, events.MessageCreated, "conv_1", "msg_5", 5), ev(wsB, events.MessageCreated, "conv_2", "msg_6", 6),
		ev(wsA, events.ConversationEnded, "conv_1", "", 7)
	must(t, s.InsertEvents(ctx, []*events.Event{&e5}))
	must(t, s.Within(ctx, func(ctx context.Context) error { return s.InsertEvents(ctx, []*events.Event{&e6, &e7}) }))
	a, err = s.Events(ctx, events.Query{After: all[3].Pos, Limit: 10})
	must(t, err)
	if len(a) != 3 || a[0].ID != e5.ID || a[0].Pos != e5.Pos || a[1].ID != e6.ID || a[2].ID != e7.ID || a[2].Pos != e7.Pos {
		t.Errorf("stored %v; the inserted events say %v", eventIDs(a), []string{e5.ID, e6.ID, e7.ID})
	}
}

// testEventOrder is the outbox ordering pitfall: of two concurrent
// transactions, the one that recorded its event first must not commit
// last, or a consumer reading in between would be shown the later event,
// resume after it, and miss the earlier one for ever. So the second
// waits until the first ends; a consumer polling meanwhile sees neither,
// and once both have committed it gets both, once, in order.
func testEventOrder(t *testing.T, s store.Store) {
	ctx := context.Background()
	ws := newWorkspace(t, s, "A")
	rec := &events.Recorder{Store: s, Committer: s}
	recorded, release := make(chan struct{}), make(chan struct{})
	firstDone, secondDone := make(chan error, 1), make(chan error, 1)
	var releaseOnce sync.Once
	letGo := func() { releaseOnce.Do(func() { close(release) }) }
	// A failure must not leave the first transaction holding its
	// connection, or closing the store would wait for ever.
	t.Cleanup(letGo)
	go func() {
		firstDone <- s.Within(ctx, func(ctx context.Context) error {
			if err := rec.Record(ctx, ev(ws, events.MessageCreated, "conv_1", "msg_first", 1)); err != nil {
				return err
			}
			close(recorded)
			<-release
			return nil
		})
	}()
	select {
	case <-recorded:
	case err := <-firstDone:
		t.Fatalf("first transaction: %v", err)
	}
	go func() {
		secondDone <- rec.Record(ctx, ev(ws, events.MessageCreated, "conv_1", "msg_second", 2))
	}()

	var seen []events.Event
	var after events.Pos
	poll := func() {
		got, err := s.Events(ctx, events.Query{WorkspaceID: ws, After: after, Limit: 10})
		must(t, err)
		for _, e := range got {
			seen = append(seen, e)
			after = e.Pos
		}
	}
	time.Sleep(100 * time.Millisecond) // time for the second to commit, were it not held
	poll()
	if len(seen) != 0 {
		t.Fatalf("read %v while the first transaction was still running", eventIDs(seen))
	}
	select {
	case err := <-secondDone:
		t.Fatalf("the second transaction committed before the first ended: %v", err)
	default:
	}
	letGo()
	must(t, <-firstDone)
	must(t, <-secondDone)
	poll()
	poll()
	if len(seen) != 2 || seen[0].MessageID != "msg_first" || seen[1].MessageID != "msg_second" {
		t.Fatalf("after both committed: %+v", seen)
	}
}

// testEventPrune: pruning deletes what is older than the cutoff and moves
// the horizon, which tells a reader resuming before it that it missed
// events.
func testEventPrune(t *testing.T, s store.Store) {
	ctx := context.Background()
	ws := newWorkspace(t, s, "A")
	rec := &events.Recorder{Store: s, Committer: s}
	for i := range 4 {
		must(t, rec.Record(ctx, ev(ws, events.ConversationUpdated, "conv_1", "", i*10)))
	}
	all, err := s.Events(ctx, events.Query{Limit: 10})
	must(t, err)
	if h, err := s.EventHorizon(ctx); err != nil || h != (events.Pos{}) {
		t.Fatalf("horizon before pruning = %v, %v", h, err)
	}
	n, err := s.PruneEvents(ctx, at(15))
	must(t, err)
	if n != 2 {
		t.Errorf("pruned %d, want 2", n)
	}
	left, err := s.Events(ctx, events.Query{Limit: 10})
	must(t, err)
	if len(left) != 2 || left[0].ID != all[2].ID {
		t.Errorf("left: %v", eventIDs(left))
	}
	if h, err := s.EventHorizon(ctx); err != nil || h != all[1].Pos {
		t.Errorf("horizon = %v, %v; want %v", h, err, all[1].Pos)
	}
	// Nothing to prune leaves the horizon where it is.
	n, err = s.PruneEvents(ctx, at(15).Add(-time.Hour))
	must(t, err)
	if h, _ := s.EventHorizon(ctx); n != 0 || h != all[1].Pos {
		t.Errorf("second prune: %d, horizon %v", n, h)
	}
	// New events keep counting up from the pruned ones.
	must(t, rec.Record(ctx, ev(ws, events.ConversationUpdated, "conv_1", "", 50)))
	if p, _ := s.LastEventPos(ctx); !all[3].Pos.Less(p) {
		t.Errorf("new event at %v, not after %v", p, all[3].Pos)
	}
}
