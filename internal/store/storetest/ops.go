package storetest

import (
	"context"
	"testing"

	"github.com/parley-dev/parley/internal/account"
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
	u := &account.User{ID: ids.New(ids.User), WorkspaceID: ws, Email: "ada@example.com", PasswordHash: "h", Role: account.RoleOwner, CreatedAt: base}
	must(t, s.CreateUser(ctx, u))
	dup := *u
	dup.ID = ids.New(ids.User)
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
	wantCode(t, s.CreateWorkspace(ctx, &account.Workspace{ID: ids.New(ids.Workspace), Name: "Two", CreatedAt: base}), fault.CodeUnavailable)
	if got := s.Errors().Counts()[store.KindUnavailable]; got != 4 {
		t.Errorf("%d unavailable errors counted, want 4", got)
	}
}
