package storetest

import (
	"context"
	"errors"
	"testing"

	"github.com/parley-dev/parley/internal/conversation"
	"github.com/parley-dev/parley/internal/fault"
	"github.com/parley-dev/parley/internal/ids"
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
	})

	t.Run("hook outside a transaction", func(t *testing.T) {
		ran := false
		s.AfterCommit(ctx, func() { ran = true })
		if !ran {
			t.Error("AfterCommit without a transaction did not run at once")
		}
	})
}
