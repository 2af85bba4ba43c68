package storetest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/riverqueue/river"

	"github.com/parley-dev/parley/internal/conversation"
	"github.com/parley-dev/parley/internal/events"
	"github.com/parley-dev/parley/internal/fault"
	"github.com/parley-dev/parley/internal/ids"
	"github.com/parley-dev/parley/internal/jobs"
	"github.com/parley-dev/parley/internal/page"
	"github.com/parley-dev/parley/internal/store"
)

// testWithin holds the write seam to its promise: everything done with a
// Within's context commits together or not at all, reads inside see the
// transaction's own writes, nested Withins join, and after-commit hooks
// run only after a commit, in order.
func testWithin(t *testing.T, s store.Store) {
	ctx := context.Background()
	f := newFixture(t, s)
	newConv := func() *conversation.Conversation {
		now := at(500)
		return &conversation.Conversation{ID: ids.NewAt(ids.Conversation, now), WorkspaceID: f.ws, Type: conversation.TypeAPI,
			Status: conversation.StatusActive, AssistantID: f.asst.ID, AIEnabled: true,
			Variables: map[string]conversation.Variable{}, CostComplete: true, CreatedAt: now, UpdatedAt: now}
	}

	t.Run("commit", func(t *testing.T) {
		c := newConv()
		var hooks []string
		err := s.Within(ctx, func(ctx context.Context) error {
			must(t, s.CreateConversation(ctx, c, nil))
			must(t, s.AddCounts(ctx, f.ws, conversation.CountChange([]*conversation.Conversation{c}, nil)))
			s.AfterCommit(ctx, func() { hooks = append(hooks, "first") })
			after, err := s.AppendMessages(ctx, f.ws, c.ID, []*conversation.Message{msg(conversation.RoleUser, "inside", 501)})
			must(t, err)
			// A read inside sees the transaction's own writes.
			got, err := s.GetConversation(ctx, f.ws, c.ID)
			must(t, err)
			if got.MessageCount != 1 || after.MessageCount != 1 {
				t.Errorf("inside the transaction: %d messages", got.MessageCount)
			}
			msgs, err := s.RecentMessages(ctx, f.ws, c.ID, 5)
			must(t, err)
			if len(msgs) != 1 {
				t.Errorf("inside the transaction: %d recent messages", len(msgs))
			}
			// Search inside sees them too, however the store indexes.
			if found := search(t, ctx, s, f.ws, "inside"); len(found) != 1 || found[0] != c.ID {
				t.Errorf("search inside the transaction: %v, want [%s]", found, c.ID)
			}
			// A nested Within joins.
			must(t, s.Within(ctx, func(ctx context.Context) error {
				s.AfterCommit(ctx, func() { hooks = append(hooks, "nested") })
				return nil
			}))
			if len(hooks) != 0 {
				t.Errorf("hooks ran before the commit: %v", hooks)
			}
			return nil
		})
		must(t, err)
		if len(hooks) != 2 || hooks[0] != "first" || hooks[1] != "nested" {
			t.Errorf("hooks after commit: %v", hooks)
		}
		got, err := s.GetConversation(ctx, f.ws, c.ID)
		must(t, err)
		if got.MessageCount != 1 {
			t.Errorf("after commit: %d messages", got.MessageCount)
		}
		if found := search(t, ctx, s, f.ws, "inside"); len(found) != 1 || found[0] != c.ID {
			t.Errorf("search after commit: %v, want [%s]", found, c.ID)
		}
	})

	t.Run("rollback", func(t *testing.T) {
		c := newConv()
		ran := false
		boom := errors.New("changed my mind")
		err := s.Within(ctx, func(ctx context.Context) error {
			must(t, s.CreateConversation(ctx, c, []*conversation.Message{msg(conversation.RoleUser, "gone", 502)}))
			must(t, s.AddCounts(ctx, f.ws, conversation.CountChange([]*conversation.Conversation{c}, nil)))
			s.AfterCommit(ctx, func() { ran = true })
			return s.Within(ctx, func(ctx context.Context) error { return boom })
		})
		if !errors.Is(err, boom) {
			t.Fatalf("err = %v, want the fn's error", err)
		}
		if ran {
			t.Error("a hook ran after a rollback")
		}
		_, err = s.GetConversation(ctx, f.ws, c.ID)
		wantCode(t, err, fault.CodeNotFound)
		counts, err := s.CountConversations(ctx, f.ws, conversation.Filter{})
		must(t, err)
		if counts.Total != 1 {
			t.Errorf("a rolled-back conversation was counted: %d", counts.Total)
		}
		if found := search(t, ctx, s, f.ws, "gone"); len(found) != 0 {
			t.Errorf("a rolled-back message is found by search: %v", found)
		}
	})

	t.Run("hook outside a transaction", func(t *testing.T) {
		ran := false
		s.AfterCommit(ctx, func() { ran = true })
		if !ran {
			t.Error("AfterCommit without a transaction did not run at once")
		}
	})
}

// testConcurrentWithin holds the write seam to its promise under
// concurrency, where a single-writer store commits many callers'
// transactions together (group commit): of many Withins started at once,
// some failing — by their own choice after writing, or because one of
// their own writes fails — exactly the successful ones' conversations,
// counts, events and jobs are stored; each caller gets its own outcome;
// hooks run only for the successful ones, once their writes can be read
// from outside; and each caller's events are recorded together, in order.
func testConcurrentWithin(t *testing.T, s store.Store) {
	ctx := context.Background()
	f := newFixture(t, s)
	taken := f.conv(t, nil) // its id makes a later create fail
	workers := river.NewWorkers()
	river.AddWorker(workers, &echoWorker{s: s, got: make(chan int, 1)})
	e, err := s.Jobs(workers, jobs.Config{})
	must(t, err)
	rec := &events.Recorder{Store: s, Committer: s, Hub: &events.Hub{}}

	const callers = 48
	const (
		succeeds = iota
		givesUp  // returns an error of its own after writing everything
		failsOwn // a write of its own fails (a duplicate id)
	)
	kind := func(i int) int { return []int{succeeds, givesUp, succeeds, failsOwn}[i%4] }
	boom := errors.New("changed my mind")
	type outcome struct {
		conv          string
		err           error
		hooks         int
		visibleInHook bool
	}
	out := make([]outcome, callers)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range callers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			now := at(1000 + i)
			c := &conversation.Conversation{ID: ids.NewAt(ids.Conversation, now), WorkspaceID: f.ws, Type: conversation.TypeAPI,
				Status: conversation.StatusActive, AssistantID: f.asst.ID, AIEnabled: true,
				Variables: map[string]conversation.Variable{}, CostComplete: true, CreatedAt: now, UpdatedAt: now}
			o := &out[i]
			o.conv = c.ID
			o.err = s.Within(ctx, func(ctx context.Context) error {
				m := msg(conversation.RoleUser, fmt.Sprintf("caller %d", i), 1000+i)
				if err := s.CreateConversation(ctx, c, []*conversation.Message{m}); err != nil {
					return err
				}
				if err := s.AddCounts(ctx, f.ws, conversation.CountChange([]*conversation.Conversation{c}, nil)); err != nil {
					return err
				}
				if err := e.Enqueue(ctx, echoArgs{N: i}); err != nil {
					return err
				}
				s.AfterCommit(ctx, func() {
					o.hooks++
					_, err := s.GetConversation(context.Background(), f.ws, c.ID)
					o.visibleInHook = err == nil
				})
				switch kind(i) {
				case givesUp:
					return boom
				case failsOwn:
					dup := *c
					dup.ID = taken.ID
					if err := s.CreateConversation(ctx, &dup, nil); err == nil {
						return errors.New("a duplicate id was stored")
					} else {
						return err
					}
				}
				// Last, as the services do.
				return rec.Record(ctx, ev(f.ws, events.ConversationCreated, c.ID, "", 1000+i),
					ev(f.ws, events.MessageCreated, c.ID, m.ID, 1000+i))
			})
		}()
	}
	close(start)
	wg.Wait()

	ok := map[string]bool{}
	for i, o := range out {
		_, getErr := s.GetConversation(ctx, f.ws, o.conv)
		switch kind(i) {
		case succeeds:
			ok[o.conv] = true
			if o.err != nil {
				t.Errorf("caller %d: %v", i, o.err)
			}
			if getErr != nil {
				t.Errorf("caller %d succeeded but its conversation is not stored: %v", i, getErr)
			}
			if o.hooks != 1 || !o.visibleInHook {
				t.Errorf("caller %d: %d hooks, its writes visible from outside in the hook: %v", i, o.hooks, o.visibleInHook)
			}
		default:
			if o.err == nil {
				t.Errorf("caller %d should have failed", i)
			} else if kind(i) == givesUp && !errors.Is(o.err, boom) {
				t.Errorf("caller %d: got %v, want its own error", i, o.err)
			}
			if errors.Is(o.err, store.ErrBatchLost) {
				t.Errorf("caller %d: its own failure was taken for the batch's: %v", i, o.err)
			}
			if !fault.Is(getErr, fault.CodeNotFound) {
				t.Errorf("caller %d failed but its conversation is stored (%v)", i, getErr)
			}
			if o.hooks != 0 {
				t.Errorf("caller %d failed but its hook ran", i)
			}
		}
	}
	counts, err := s.CountConversations(ctx, f.ws, conversation.Filter{})
	must(t, err)
	if counts.Total != int64(1+len(ok)) {
		t.Errorf("counted %d conversations, want %d", counts.Total, 1+len(ok))
	}
	// Search finds exactly the successful callers' messages, whose
	// conversations a shared transaction wrote in no particular order.
	found := search(t, ctx, s, f.ws, "caller")
	if len(found) != len(ok) {
		t.Errorf("search found %d conversations, want %d", len(found), len(ok))
	}
	for _, id := range found {
		if !ok[id] {
			t.Errorf("search found %s, which a failed caller wrote", id)
		}
	}
	evs, err := s.Events(ctx, events.Query{WorkspaceID: f.ws, Limit: 10 * callers})
	must(t, err)
	if len(evs) != 2*len(ok) {
		t.Errorf("%d events, want %d", len(evs), 2*len(ok))
	}
	for i := 0; i+1 < len(evs); i += 2 {
		a, b := evs[i], evs[i+1]
		if !ok[a.ConversationID] || a.Type != events.ConversationCreated || b.Type != events.MessageCreated || b.ConversationID != a.ConversationID {
			t.Errorf("events %d–%d: %s %s, %s %s: not one successful caller's pair in order", i, i+1, a.Type, a.ConversationID, b.Type, b.ConversationID)
		}
	}
	backlog, err := e.Backlog(ctx)
	must(t, err)
	if diff := cmp.Diff([]jobs.Count{{Kind: "storetest.echo", State: "available", N: int64(len(ok))}}, backlog); diff != "" {
		t.Errorf("jobs after concurrent Withins (-want +got):\n%s", diff)
	}
}

// search returns the ids of the conversations of ws that match q, newest
// first (up to 200).
func search(t *testing.T, ctx context.Context, s store.Store, ws, q string) []string {
	t.Helper()
	cs, err := s.ListConversations(ctx, ws, conversation.Filter{Query: q},
		conversation.Order{Sort: conversation.SortCreatedAt, Desc: true}, page.Request{Limit: 200})
	must(t, err)
	return idsOf(cs)
}
