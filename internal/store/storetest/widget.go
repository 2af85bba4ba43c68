package storetest

import (
	"context"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/parley-dev/parley/internal/conversation"
	"github.com/parley-dev/parley/internal/store"
)

// testWidget: an assistant's sealed identity secret is kept apart from
// its settings and round-trips; visitor keys point at one conversation
// each, a relink replaces it, and every lookup is scoped by workspace and
// assistant.
func testWidget(t *testing.T, s store.Store) {
	ctx := context.Background()
	f := newFixture(t, s)
	a := f.asst
	a.SealedIdentitySecret = "v1:sealed"
	a.Widget.IdentitySecretSet = true
	a.Widget.IdleTimeoutMinutes = 45
	a.UpdatedAt = at(5)
	must(t, s.UpdateAssistant(ctx, a))
	got, err := s.GetAssistant(ctx, f.ws, a.ID)
	must(t, err)
	if diff := cmp.Diff(a, got); diff != "" {
		t.Errorf("assistant after update (-want +got):\n%s", diff)
	}
	byKey, err := s.GetAssistantByPublicKey(ctx, a.PublicKey)
	must(t, err)
	if byKey.SealedIdentitySecret != "v1:sealed" {
		t.Errorf("by public key: sealed secret %q", byKey.SealedIdentitySecret)
	}
	second := newAssistant(t, s, f.ws, "Second")
	if second.SealedIdentitySecret != "" {
		t.Fatal("fixture has a secret")
	}
	got, err = s.GetAssistant(ctx, f.ws, second.ID)
	must(t, err)
	if got.SealedIdentitySecret != "" {
		t.Errorf("a new assistant has sealed secret %q", got.SealedIdentitySecret)
	}

	c1 := f.conv(t, func(c *conversation.Conversation) { c.Type = conversation.TypeWidget })
	c2 := f.conv(t, func(c *conversation.Conversation) { c.Type = conversation.TypeWidget })
	key := conversation.VisitorKey("abc")
	id, err := s.VisitorConversation(ctx, f.ws, a.ID, key)
	must(t, err)
	if id != "" {
		t.Errorf("unknown key points at %q", id)
	}
	must(t, s.LinkVisitor(ctx, f.ws, a.ID, key, c1.ID, at(10)))
	must(t, s.LinkVisitor(ctx, f.ws, a.ID, conversation.UserKey("abc"), c2.ID, at(10)))
	for _, tc := range []struct {
		name, ws, asst, key, want string
	}{
		{"visitor", f.ws, a.ID, key, c1.ID},
		{"user key of the same text", f.ws, a.ID, conversation.UserKey("abc"), c2.ID},
		{"other assistant", f.ws, second.ID, key, ""},
		{"other workspace", newWorkspace(t, s, "Other"), a.ID, key, ""},
	} {
		id, err := s.VisitorConversation(ctx, tc.ws, tc.asst, tc.key)
		must(t, err)
		if id != tc.want {
			t.Errorf("%s: points at %q, want %q", tc.name, id, tc.want)
		}
	}
	// Relinking (a new conversation after the first ended) replaces.
	must(t, s.Within(ctx, func(ctx context.Context) error {
		return s.LinkVisitor(ctx, f.ws, a.ID, key, c2.ID, at(20))
	}))
	id, err = s.VisitorConversation(ctx, f.ws, a.ID, key)
	must(t, err)
	if id != c2.ID {
		t.Errorf("after relink points at %q, want %q", id, c2.ID)
	}
}
