package sqlite_test

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/parley-dev/parley/internal/account"
	"github.com/parley-dev/parley/internal/conversation"
	"github.com/parley-dev/parley/internal/store/sqlite"
)

// TestDeferTerms writes the same conversations into two databases, one
// as every write does and one under DeferTerms (a bulk import), and
// holds the deferred index's conversation_terms to the other's, row for
// row: messages in several scripts, customer fields, a conversation
// ended and one whose customer changed during the import, and one that
// existed before it and got messages during it (kept as usual).
func TestDeferTerms(t *testing.T) {
	ctx := context.Background()
	// Passes of three conversations: several, each cut mid-run of the
	// import's conversations.
	defer sqlite.SetIndexTermsStep(3)()
	now := time.Date(2026, 3, 14, 10, 0, 0, 0, time.UTC)
	run := func(deferred bool) (*sqlite.DB, string) {
		t.Helper()
		db, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "parley.db"))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = db.Close() })
		must(t, db.Migrate(ctx))
		w := &account.Workspace{ID: "ws_defer", Name: "W", CreatedAt: now}
		must(t, db.CreateWorkspace(ctx, w))
		at := now
		conv := func(i int, typ, phone, ext string) *conversation.Conversation {
			at = at.Add(time.Hour)
			c := &conversation.Conversation{ID: fmt.Sprintf("conv_%03d", i), WorkspaceID: w.ID, Type: typ,
				Status: conversation.StatusActive, AssistantID: fmt.Sprintf("asst_%d", i%3), AIEnabled: true,
				Variables: map[string]conversation.Variable{}, Customer: conversation.Customer{Phone: phone},
				ExternalIdentifier: ext, CostComplete: true, CreatedAt: at, UpdatedAt: at}
			if typ == conversation.TypeWhatsApp {
				c.SenderID, c.SenderPhone = "wa_1", "+15550000000"
			}
			return c
		}
		msg := func(i int, text string) *conversation.Message {
			at = at.Add(time.Minute)
			return &conversation.Message{ID: fmt.Sprintf("msg_%04d", i), Role: conversation.RoleUser, Content: text, CreatedAt: at}
		}
		texts := []string{"Where is my order ORD-1234?", "Le café est fermé à Noël", "配送はいつですか", "हिन्दी में जवाब दें",
			"Ελληνικά κείμενα", "refund ref8842 please", "order order order"}
		before := conv(0, conversation.TypeAPI, "+15551230000", "ext-0")
		must(t, db.CreateConversation(ctx, before, []*conversation.Message{msg(0, texts[0])}))

		ictx, index := ctx, func(context.Context) error { return nil }
		if deferred {
			ictx, index, err = db.DeferTerms(ctx)
			must(t, err)
		}
		types := conversation.Types
		for i := 1; i <= 20; i++ {
			c := conv(i, types[i%len(types)], fmt.Sprintf("+1555123%04d", i%7), fmt.Sprintf("ext-%d", i))
			must(t, db.CreateConversation(ictx, c, []*conversation.Message{msg(i*10, texts[i%len(texts)]),
				msg(i*10+1, texts[(i+3)%len(texts)])}))
			if i%5 == 0 {
				_, err := db.AppendMessages(ictx, w.ID, c.ID, []*conversation.Message{msg(i*10+2, fmt.Sprintf("later word%d", i))})
				must(t, err)
			}
			if i%4 == 0 {
				ended := conversation.StatusEnded
				_, _, err := db.UpdateConversation(ictx, w.ID, c.ID, conversation.Update{Status: &ended, UpdatedAt: at})
				must(t, err)
			}
			if i%6 == 0 {
				_, _, err := db.UpdateConversation(ictx, w.ID, c.ID, conversation.Update{
					Customer: &conversation.Customer{Name: "Renée Müller", Phone: "+4930123456"}, UpdatedAt: at})
				must(t, err)
			}
		}
		_, err = db.AppendMessages(ictx, w.ID, before.ID, []*conversation.Message{msg(9999, "message during the import")})
		must(t, err)
		if deferred {
			got, err := db.ConversationTerms(ctx)
			must(t, err)
			if len(got) >= 40 {
				t.Fatalf("%d term rows before the deferred index: the import's writes recorded terms", len(got))
			}
		}
		must(t, index(ctx))
		return db, w.ID
	}
	kept, _ := run(false)
	imported, ws := run(true)
	want, err := kept.ConversationTerms(ctx)
	must(t, err)
	got, err := imported.ConversationTerms(ctx)
	must(t, err)
	if len(want) < 100 {
		t.Fatalf("only %d term rows: too thin a test", len(want))
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("conversation terms (-kept by the writes +indexed after the import):\n%s", diff)
	}
	n, err := imported.CountConversations(ctx, ws, conversation.Filter{Query: "café"})
	must(t, err)
	if n.Total == 0 {
		t.Error("count of café after the import's index: 0")
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
