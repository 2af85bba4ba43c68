package storetest

import (
	"context"
	"testing"

	"github.com/parley-dev/parley/internal/account"
	"github.com/parley-dev/parley/internal/assistant"
	"github.com/parley-dev/parley/internal/fault"
	"github.com/parley-dev/parley/internal/ids"
	"github.com/parley-dev/parley/internal/store"
)

// testErrors: failed queries are counted once each, by kind, and a store
// that can no longer reach its database answers with CodeUnavailable (the
// API's 503), whichever kind of call meets the outage.
func testErrors(t *testing.T, s store.Store) {
	ctx := context.Background()
	ws := newWorkspace(t, s, "One")
	u := &account.User{ID: ids.NewAt(ids.User, base), WorkspaceID: ws, Email: "ada@example.com", PasswordHash: "h", Role: account.RoleOwner, CreatedAt: base}
	must(t, s.CreateUser(ctx, u))
	dup := *u
	dup.ID = ids.NewAt(ids.User, base)
	wantCode(t, s.CreateUser(ctx, &dup), fault.CodeConflict)
	_, err := s.GetWorkspace(ctx, "ws_missing") // an answer, not a failure
	wantCode(t, err, fault.CodeNotFound)
	if got := s.Errors().Counts(); got[store.KindConstraint] != 1 || len(got) != 1 {
		t.Errorf("error counts after one duplicate: %v", got)
	}
	if len(s.Pools()) == 0 {
		t.Error("no connection pools reported")
	}

	// The database is gone from under the store.
	must(t, s.Close())
	_, err = s.GetAPIKeyByHash(ctx, account.HashKey("pk_secret")) // a single-row read
	wantCode(t, err, fault.CodeUnavailable)
	_, err = s.ListWorkspaces(ctx) // a query
	wantCode(t, err, fault.CodeUnavailable)
	_, err = s.EnsureSetting(ctx, "k", "v") // a transaction
	wantCode(t, err, fault.CodeUnavailable)
	wantCode(t, s.CreateWorkspace(ctx, &account.Workspace{ID: ids.NewAt(ids.Workspace, base), Name: "Two", CreatedAt: base}), fault.CodeUnavailable)
	if got := s.Errors().Counts()[store.KindUnavailable]; got != 4 {
		t.Errorf("%d unavailable errors counted, want 4", got)
	}
}

// testBootstrap: the first start's workspace, owner and assistant are
// stored together or not at all, and only into an empty database.
func testBootstrap(t *testing.T, s store.Store) {
	ctx := context.Background()
	first := func(email string) store.FirstStart {
		ws := &account.Workspace{ID: ids.NewAt(ids.Workspace, base), Name: "Default", CreatedAt: base}
		return store.FirstStart{
			Workspace: ws,
			Owner:     &account.User{ID: ids.NewAt(ids.User, base), WorkspaceID: ws.ID, Email: email, PasswordHash: "h", Role: account.RoleOwner, CreatedAt: base},
			Assistant: &assistant.Assistant{ID: ids.NewAt(ids.Assistant, base), WorkspaceID: ws.ID, PublicKey: ids.NewAt(ids.PublicKey, base),
				Settings: assistant.Settings{Name: "Demo Assistant", Model: "offline"}, CreatedAt: base, UpdatedAt: base},
		}
	}
	// The last of the three rows fails: the other two must not stay.
	broken := first("ada@example.com")
	broken.Assistant.WorkspaceID = "ws_missing"
	if created, err := s.Bootstrap(ctx, broken); err == nil || created {
		t.Fatalf("Bootstrap with a bad assistant = %v, %v", created, err)
	}
	if all, err := s.ListWorkspaces(ctx); err != nil || len(all) != 0 {
		t.Fatalf("after a failed first start: workspaces %v, %v", all, err)
	}
	_, err := s.GetUserByEmail(ctx, "ada@example.com")
	wantCode(t, err, fault.CodeNotFound)

	fs := first("ada@example.com")
	created, err := s.Bootstrap(ctx, fs)
	if err != nil || !created {
		t.Fatalf("Bootstrap = %v, %v", created, err)
	}
	u, err := s.GetUserByEmail(ctx, "ada@example.com")
	must(t, err)
	a, err := s.GetAssistant(ctx, fs.Workspace.ID, fs.Assistant.ID)
	must(t, err)
	if u.WorkspaceID != fs.Workspace.ID || u.Role != account.RoleOwner || a.Name != "Demo Assistant" {
		t.Errorf("owner %+v, assistant %+v", u, a)
	}
	// A database with a workspace is left alone.
	created, err = s.Bootstrap(ctx, first("bob@example.com"))
	if err != nil || created {
		t.Errorf("second Bootstrap = %v, %v", created, err)
	}
	if all, err := s.ListWorkspaces(ctx); err != nil || len(all) != 1 {
		t.Errorf("after a second first start: workspaces %v, %v", all, err)
	}
}
