package storetest

import (
	"context"
	"sync"
	"testing"

	"github.com/parley-dev/parley/internal/account"
	"github.com/parley-dev/parley/internal/fault"
	"github.com/parley-dev/parley/internal/ids"
	"github.com/parley-dev/parley/internal/store"
)

// testUsers: users are listed, read, re-roled and deleted only within
// their workspace; the last owner is kept; deleting a user ends their
// sessions; two owners demoting each other at once leave one owner.
func testUsers(t *testing.T, s store.Store) {
	ctx := context.Background()
	ws, other := newWorkspace(t, s, "One"), newWorkspace(t, s, "Two")
	mk := func(ws, email, role string, sec int) *account.User {
		u := &account.User{ID: ids.NewAt(ids.User, at(sec)), WorkspaceID: ws, Email: email, PasswordHash: "h", Role: role, CreatedAt: at(sec)}
		must(t, s.CreateUser(ctx, u))
		return u
	}
	owner := mk(ws, "owner@example.com", account.RoleOwner, 1)
	agent := mk(ws, "agent@example.com", account.RoleAgent, 2)
	stranger := mk(other, "owner@two.example.com", account.RoleOwner, 3)

	list, err := s.ListUsers(ctx, ws)
	must(t, err)
	if len(list) != 2 || list[0].ID != owner.ID || list[1].ID != agent.ID || !list[0].CreatedAt.Equal(at(1)) {
		t.Fatalf("ListUsers = %+v, want owner then agent", list)
	}
	got, err := s.GetUser(ctx, ws, agent.ID)
	must(t, err)
	if got.Email != agent.Email || got.Role != account.RoleAgent || got.WorkspaceID != ws {
		t.Errorf("GetUser = %+v", got)
	}

	// Another workspace's user is not found, and is left alone.
	_, err = s.GetUser(ctx, ws, stranger.ID)
	wantCode(t, err, fault.CodeNotFound)
	wantCode(t, s.SetUserRole(ctx, ws, stranger.ID, account.RoleAgent), fault.CodeNotFound)
	wantCode(t, s.DeleteUser(ctx, ws, stranger.ID), fault.CodeNotFound)
	if got, err := s.GetUser(ctx, other, stranger.ID); err != nil || got.Role != account.RoleOwner {
		t.Fatalf("stranger after cross-workspace writes = %+v, %v", got, err)
	}

	// The last owner is neither demoted nor deleted.
	wantCode(t, s.SetUserRole(ctx, ws, owner.ID, account.RoleAdmin), fault.CodeConflict)
	wantCode(t, s.DeleteUser(ctx, ws, owner.ID), fault.CodeConflict)
	if got, _ := s.GetUser(ctx, ws, owner.ID); got == nil || got.Role != account.RoleOwner {
		t.Fatalf("last owner changed: %+v", got)
	}
	// Keeping the owner role is no loss.
	must(t, s.SetUserRole(ctx, ws, owner.ID, account.RoleOwner))

	// With a second owner, one may go.
	must(t, s.SetUserRole(ctx, ws, agent.ID, account.RoleOwner))
	must(t, s.SetUserRole(ctx, ws, owner.ID, account.RoleAdmin))
	if got, _ := s.GetUser(ctx, ws, owner.ID); got == nil || got.Role != account.RoleAdmin {
		t.Fatalf("demoted owner = %+v", got)
	}

	// Deleting a user ends their sessions.
	sess := &account.Session{ID: ids.NewAt(ids.Session, base), TokenHash: account.HashSessionToken("u-tok"), UserID: owner.ID,
		WorkspaceID: ws, CSRFToken: "c", CreatedAt: base, ExpiresAt: at(600), LastSeenAt: base}
	must(t, s.CreateSession(ctx, sess))
	must(t, s.DeleteUser(ctx, ws, owner.ID))
	_, err = s.GetUser(ctx, ws, owner.ID)
	wantCode(t, err, fault.CodeNotFound)
	_, err = s.GetSessionByHash(ctx, sess.TokenHash)
	wantCode(t, err, fault.CodeNotFound)
	wantCode(t, s.DeleteUser(ctx, ws, owner.ID), fault.CodeNotFound)

	// Two owners demoting each other at once: one wins, one owner stays.
	a := mk(ws, "a@example.com", account.RoleOwner, 10)
	var wg sync.WaitGroup
	errs := make([]error, 2)
	for i, id := range []string{a.ID, agent.ID} {
		wg.Go(func() { errs[i] = s.SetUserRole(ctx, ws, id, account.RoleAgent) })
	}
	wg.Wait()
	list, err = s.ListUsers(ctx, ws)
	must(t, err)
	owners := 0
	for _, u := range list {
		if u.Role == account.RoleOwner {
			owners++
		}
	}
	if owners != 1 {
		t.Errorf("after concurrent demotions: %d owners (errors %v), want 1", owners, errs)
	}
	for _, err := range errs {
		if err != nil && !fault.Is(err, fault.CodeConflict) {
			t.Errorf("concurrent demotion error = %v, want conflict or nil", err)
		}
	}
}
