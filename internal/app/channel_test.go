package app_test

import (
	"context"
	"errors"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/parley-dev/parley/internal/apptest"
	"github.com/parley-dev/parley/internal/conversation"
	"github.com/parley-dev/parley/internal/fault"
	"github.com/parley-dev/parley/internal/page"
	"github.com/parley-dev/parley/internal/store/pgtest"
)

// fakeChannel records what it is asked to deliver and refuses what it is
// told to, as a real channel (WhatsApp's window) does.
type fakeChannel struct {
	mu         sync.Mutex
	closed     bool  // Accept refuses free-form messages
	failing    error // Deliver fails
	background bool
	delivered  []string // contents, in order
}

func (f *fakeChannel) Accept(_ context.Context, _ *conversation.Conversation, _ *conversation.Message) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.closed {
		return fault.New(fault.CodeWindowClosed, "the customer's 24-hour window is closed")
	}
	return nil
}

func (f *fakeChannel) Deliver(_ context.Context, _ *conversation.Conversation, m *conversation.Message) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.failing != nil {
		return f.failing
	}
	f.delivered = append(f.delivered, m.Role+": "+m.Content)
	return nil
}

func (f *fakeChannel) RepliesInBackground() bool { return f.background }

func (f *fakeChannel) sent() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.delivered...)
}

// TestChannelPort drives the channel port through the service: outgoing
// messages are refused before anything is stored when the channel cannot
// carry them, delivered with the change that stores them (and not at all
// when the change rolls back), and AI replies on a background channel run
// as an idempotent job on the same engine path.
func TestChannelPort(t *testing.T) {
	t.Run("SQLite", func(t *testing.T) { testChannelPort(t, filepath.Join(t.TempDir(), "parley.db")) })
	t.Run("PostgreSQL", func(t *testing.T) { testChannelPort(t, pgtest.SchemaURL(t)) })
}

func testChannelPort(t *testing.T, db string) {
	s := apptest.Start(t, db)
	ctx := context.Background()
	svc := s.App.Conversations
	ch := &fakeChannel{}
	svc.Channels = map[string]conversation.Channel{conversation.TypeWidget: ch}
	c, greeting, err := svc.Create(ctx, s.Workspace, conversation.CreateInput{AssistantID: s.DemoAssistant, Type: conversation.TypeWidget})
	if err != nil {
		t.Fatal(err)
	}
	count := func() int64 {
		t.Helper()
		got, err := svc.Get(ctx, s.Workspace, c.ID)
		if err != nil {
			t.Fatal(err)
		}
		return got.MessageCount
	}
	if len(greeting) != 1 || count() != 1 {
		t.Fatalf("greeting: %d messages", count())
	}

	// Refused before anything is stored.
	ch.closed = true
	_, err = svc.PostMessage(ctx, s.Workspace, c.ID, conversation.PostInput{Role: conversation.RoleOperator, Content: "Hello from a human"}, nil)
	if !fault.Is(err, fault.CodeWindowClosed) || count() != 1 || len(ch.sent()) != 0 {
		t.Fatalf("closed channel: err %v, %d messages, sent %v", err, count(), ch.sent())
	}
	// Delivered with the change.
	ch.closed = false
	if _, err := svc.PostMessage(ctx, s.Workspace, c.ID, conversation.PostInput{Role: conversation.RoleOperator, Content: "Hello from a human"}, nil); err != nil {
		t.Fatal(err)
	}
	if got := ch.sent(); len(got) != 1 || got[0] != "operator: Hello from a human" || count() != 2 {
		t.Fatalf("operator message: sent %v, %d messages", got, count())
	}
	// A delivery that fails rolls the message back.
	ch.failing = errors.New("send queue down")
	if _, err := svc.PostMessage(ctx, s.Workspace, c.ID, conversation.PostInput{Role: conversation.RoleOperator, Content: "lost?"}, nil); err == nil || count() != 2 {
		t.Fatalf("failed delivery: err %v, %d messages", err, count())
	}
	ch.failing = nil

	// Background replies: the request stores the customer's message only;
	// the reply job answers and the answer goes out on the channel.
	ch.background = true
	posted, err := svc.PostMessage(ctx, s.Workspace, c.ID, conversation.PostInput{Role: conversation.RoleUser, Content: "What are your opening hours?"}, nil)
	if err != nil || posted.Reply != nil {
		t.Fatalf("background post: %v, reply %v", err, posted.Reply)
	}
	deadline := time.Now().Add(10 * time.Second)
	for count() < 4 {
		if time.Now().After(deadline) {
			t.Fatalf("the background reply never came: %d messages", count())
		}
		time.Sleep(20 * time.Millisecond)
	}
	if got := ch.sent(); len(got) != 2 || got[1][:len("assistant: ")] != "assistant: " {
		t.Fatalf("background reply not delivered: %v", got)
	}
	// Running the job again (a retry after a crash) answers nothing twice.
	if err := svc.ReplyJob(ctx, conversation.ReplyArgs{WorkspaceID: s.Workspace, ConversationID: c.ID, MessageID: posted.Message.ID}); err != nil {
		t.Fatal(err)
	}
	if count() != 4 || len(ch.sent()) != 2 {
		t.Errorf("a repeated reply job answered again: %d messages, sent %v", count(), ch.sent())
	}
	msgs, err := s.App.Store.ListMessages(ctx, s.Workspace, c.ID, page.Request{Limit: 10})
	if err != nil {
		t.Fatal(err)
	}
	if last := msgs[len(msgs)-1]; last.Role != conversation.RoleAssistant || last.Model != "offline" {
		t.Errorf("last message: %+v", last)
	}
}
