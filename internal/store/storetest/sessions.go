package storetest

import (
	"context"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/parley-dev/parley/internal/account"
	"github.com/parley-dev/parley/internal/fault"
	"github.com/parley-dev/parley/internal/ids"
	"github.com/parley-dev/parley/internal/store"
)

// testSessions: sessions round-trip with their user, slide, end, expire;
// sign-in failures count per email and address within the window; a
// workspace can be renamed.
func testSessions(t *testing.T, s store.Store) {
	ctx := context.Background()
	ws := newWorkspace(t, s, "One")
	u := &account.User{ID: ids.NewAt(ids.User, base), WorkspaceID: ws, Email: "ada@example.com", PasswordHash: "h", Role: account.RoleAdmin, CreatedAt: base}
	must(t, s.CreateUser(ctx, u))

	sess := &account.Session{ID: ids.NewAt(ids.Session, base), TokenHash: account.HashSessionToken("tok"), UserID: u.ID,
		WorkspaceID: ws, CSRFToken: "csrf", CreatedAt: base, ExpiresAt: at(60), LastSeenAt: base}
	must(t, s.CreateSession(ctx, sess))
	got, err := s.GetSessionByHash(ctx, account.HashSessionToken("tok"))
	must(t, err)
	want := *sess
	want.User = u
	if diff := cmp.Diff(&want, got); diff != "" {
		t.Errorf("session (-want +got):\n%s", diff)
	}
	if got.ExpiresAt.Location() != time.UTC {
		t.Errorf("expiry not in UTC: %v", got.ExpiresAt)
	}
	_, err = s.GetSessionByHash(ctx, account.HashSessionToken("other"))
	wantCode(t, err, fault.CodeNotFound)

	must(t, s.TouchSession(ctx, sess.ID, at(30), at(90)))
	got, err = s.GetSessionByHash(ctx, sess.TokenHash)
	must(t, err)
	if !got.LastSeenAt.Equal(at(30)) || !got.ExpiresAt.Equal(at(90)) {
		t.Errorf("after touch: seen %v expires %v", got.LastSeenAt, got.ExpiresAt)
	}

	old := &account.Session{ID: ids.NewAt(ids.Session, base), TokenHash: account.HashSessionToken("old"), UserID: u.ID,
		WorkspaceID: ws, CSRFToken: "c2", CreatedAt: base, ExpiresAt: at(10), LastSeenAt: base}
	must(t, s.CreateSession(ctx, old))
	n, err := s.DeleteExpiredSessions(ctx, at(20))
	must(t, err)
	if n != 1 {
		t.Errorf("DeleteExpiredSessions = %d, want 1", n)
	}
	_, err = s.GetSessionByHash(ctx, old.TokenHash)
	wantCode(t, err, fault.CodeNotFound)
	must(t, s.DeleteSession(ctx, sess.ID))
	_, err = s.GetSessionByHash(ctx, sess.TokenHash)
	wantCode(t, err, fault.CodeNotFound)
	must(t, s.DeleteSession(ctx, sess.ID)) // twice is fine

	for i, ip := range []string{"1.1.1.1", "1.1.1.1", "2.2.2.2", "1.1.1.1"} {
		must(t, s.RecordLoginFailure(ctx, "ada@example.com", ip, at(i)))
	}
	must(t, s.RecordLoginFailure(ctx, "bob@example.com", "1.1.1.1", at(1)))
	total, fromIP, err := s.LoginFailures(ctx, "ada@example.com", "1.1.1.1", at(1))
	must(t, err)
	if total != 3 || fromIP != 2 {
		t.Errorf("LoginFailures since 1 = %d, %d; want 3, 2", total, fromIP)
	}
	total, fromIP, err = s.LoginFailures(ctx, "carol@example.com", "1.1.1.1", at(0))
	must(t, err)
	if total != 0 || fromIP != 0 {
		t.Errorf("LoginFailures of nobody = %d, %d", total, fromIP)
	}
	must(t, s.ClearLoginFailures(ctx, "ada@example.com"))
	total, _, err = s.LoginFailures(ctx, "ada@example.com", "1.1.1.1", at(0))
	must(t, err)
	if total != 0 {
		t.Errorf("after clear: %d failures", total)
	}
	total, _, err = s.LoginFailures(ctx, "bob@example.com", "1.1.1.1", at(0))
	must(t, err)
	if total != 1 {
		t.Errorf("clear of ada removed bob's failures: %d", total)
	}

	must(t, s.RenameWorkspace(ctx, ws, "Renamed"))
	w, err := s.GetWorkspace(ctx, ws)
	must(t, err)
	if w.Name != "Renamed" {
		t.Errorf("name %q after rename", w.Name)
	}
	wantCode(t, s.RenameWorkspace(ctx, "ws_missing", "x"), fault.CodeNotFound)
}
