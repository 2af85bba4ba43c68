package storetest

import (
	"context"
	"fmt"
	"testing"

	"github.com/parley-dev/parley/internal/conversation"
	"github.com/parley-dev/parley/internal/page"
	"github.com/parley-dev/parley/internal/store"
)

// testSnapshot: the reads of a Snapshot all see one committed state — a
// message another writer commits meanwhile shows in neither the
// conversation's roll-up nor its transcript until the snapshot ends — a
// write inside a snapshot fails, and a snapshot inside Within joins it
// (it sees the transaction's own writes).
func testSnapshot(t *testing.T, s store.Store) {
	ctx := context.Background()
	f := newFixture(t, s)
	c := f.conv(t, nil, msg(conversation.RoleUser, "first", 10))
	count := func(ctx context.Context) (int64, int, error) {
		got, err := s.GetConversation(ctx, f.ws, c.ID)
		if err != nil {
			return 0, 0, err
		}
		rows, err := s.ListMessages(ctx, f.ws, c.ID, page.Request{Limit: 10})
		return got.MessageCount, len(rows), err
	}
	err := s.Snapshot(ctx, func(ctx context.Context) error {
		rollup, rows, err := count(ctx)
		if err != nil {
			return err
		}
		// Another writer, outside the snapshot, commits a message.
		if _, err := s.AppendMessages(context.Background(), f.ws, c.ID,
			[]*conversation.Message{msg(conversation.RoleAssistant, "second", 11)}); err != nil {
			return err
		}
		rollup2, rows2, err := count(ctx)
		if err != nil {
			return err
		}
		if rollup != 1 || rows != 1 || rollup2 != 1 || rows2 != 1 {
			return fmt.Errorf("in the snapshot: message_count %d then %d, messages %d then %d; want 1 each", rollup, rollup2, rows, rows2)
		}
		return nil
	})
	must(t, err)
	if rollup, rows, err := count(ctx); err != nil || rollup != 2 || rows != 2 {
		t.Errorf("after the snapshot: message_count %d, messages %d (%v); want 2", rollup, rows, err)
	}
	// A write in a snapshot fails and leaves nothing.
	err = s.Snapshot(ctx, func(ctx context.Context) error {
		_, err := s.AppendMessages(ctx, f.ws, c.ID, []*conversation.Message{msg(conversation.RoleUser, "third", 12)})
		return err
	})
	if err == nil {
		t.Error("a write inside a snapshot succeeded")
	}
	if rollup, rows, _ := count(ctx); rollup != 2 || rows != 2 {
		t.Errorf("the refused write left message_count %d, messages %d", rollup, rows)
	}
	// Inside Within, a snapshot reads the transaction's own writes.
	must(t, s.Within(ctx, func(ctx context.Context) error {
		if _, err := s.AppendMessages(ctx, f.ws, c.ID, []*conversation.Message{msg(conversation.RoleUser, "fourth", 13)}); err != nil {
			return err
		}
		return s.Snapshot(ctx, func(ctx context.Context) error {
			rollup, rows, err := count(ctx)
			if err != nil {
				return err
			}
			if rollup != 3 || rows != 3 {
				return fmt.Errorf("snapshot in Within: message_count %d, messages %d; want 3", rollup, rows)
			}
			return nil
		})
	}))
}
