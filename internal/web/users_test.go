package web_test

import (
	"context"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/parley-dev/parley/internal/account"
)

// userID finds the id of email's row in the settings page.
var userRow = regexp.MustCompile(`action="/settings/users/(usr_[A-Za-z0-9]+)/role"[^§]*?<label class="sr-only" for="role-[^"]+">Role of ([^<]+)</label>`)

func userIDs(t *testing.T, body string) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, m := range userRow.FindAllStringSubmatch(body, -1) {
		out[m[2]] = m[1]
	}
	return out
}

func roleOf(t *testing.T, s interface {
	ListUsers(context.Context, *account.User) ([]*account.User, error)
}, actor *account.User, email string) string {
	t.Helper()
	us, err := s.ListUsers(context.Background(), actor)
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range us {
		if u.Email == email {
			return u.Role
		}
	}
	return ""
}

func TestUsersSettings(t *testing.T) {
	s := start(t)
	ctx := context.Background()
	acc := s.App.Accounts
	if _, err := acc.CreateUser(ctx, s.Workspace, "boss@example.com", "boss password", account.RoleAdmin); err != nil {
		t.Fatal(err)
	}
	owner := &account.User{WorkspaceID: s.Workspace, Role: account.RoleOwner}

	// An admin adds an agent with a generated password, shown once, that
	// signs in.
	ad := newClient(t, s)
	ad.login("boss@example.com", "boss password")
	r := ad.post("/settings/users", url.Values{"email": {"new.agent@example.com"}, "role": {"agent"}})
	want(t, r, 200, `data-testid="new-user"`, "new.agent@example.com added as agent")
	pw := regexp.MustCompile(`<code class="secret" data-copy>([A-Za-z0-9]{20})</code>`).FindStringSubmatch(r.body)
	if pw == nil {
		t.Fatalf("no generated password shown: %.2000s", r.body)
	}
	if strings.Contains(ad.do("GET", "/settings", nil).body, pw[1]) {
		t.Error("the generated password is shown again")
	}
	ag := newClient(t, s)
	ag.login("new.agent@example.com", pw[1])

	// Bad input is refused field by field and adds nobody.
	r = ad.post("/settings/users", url.Values{"email": {"not-an-email"}, "password": {"short"}, "role": {"agent"}})
	want(t, r, 422, "must be an email address", "must be 12 to 72 bytes long")
	want(t, ad.post("/settings/users", url.Values{"email": {"new.agent@example.com"}, "role": {"agent"}}), 409, "already exists")
	// An admin may not make owners.
	want(t, ad.post("/settings/users", url.Values{"email": {"o2@example.com"}, "password": {"a long password"}, "role": {"owner"}}), 403)
	if roleOf(t, acc, owner, "o2@example.com") != "" {
		t.Error("an admin added an owner")
	}

	page := ad.do("GET", "/settings", nil)
	want(t, page, 200, "new.agent@example.com", "boss@example.com", ownerEmail)
	idOf := userIDs(t, page.body)
	agentID, ownerID := idOf["new.agent@example.com"], idOf[ownerEmail]
	if agentID == "" || ownerID == "" {
		t.Fatalf("user ids not found on the page: %v", idOf)
	}

	// An admin cannot touch the owner.
	want(t, ad.post("/settings/users/"+ownerID+"/role", url.Values{"role": {"agent"}}), 403)
	want(t, ad.post("/settings/users/"+ownerID+"/remove", nil), 403)

	// The agent sees the users but manages nothing: refused, nothing changed.
	set := ag.do("GET", "/settings", nil)
	want(t, set, 200, "boss@example.com")
	if strings.Contains(set.body, `action="/settings/users"`) || strings.Contains(set.body, "/remove") {
		t.Error("an agent sees the user forms")
	}
	want(t, ag.post("/settings/users", url.Values{"email": {"sneaky@example.com"}, "role": {"admin"}}), 403)
	want(t, ag.post("/settings/users/"+agentID+"/role", url.Values{"role": {"admin"}}), 403)
	want(t, ag.post("/settings/users/"+ownerID+"/remove", nil), 403)
	if roleOf(t, acc, owner, "sneaky@example.com") != "" || roleOf(t, acc, owner, "new.agent@example.com") != account.RoleAgent ||
		roleOf(t, acc, owner, ownerEmail) != account.RoleOwner {
		t.Error("an agent changed users")
	}

	// The last owner can be neither demoted nor removed, even by themselves.
	ow := newClient(t, s)
	ow.login(ownerEmail, ownerPassword)
	want(t, ow.post("/settings/users/"+ownerID+"/role", url.Values{"role": {"admin"}}), 409, "at least one owner")
	want(t, ow.post("/settings/users/"+ownerID+"/remove", nil), 409, "at least one owner")
	if roleOf(t, acc, owner, ownerEmail) != account.RoleOwner {
		t.Error("the last owner lost the role")
	}
	want(t, ow.post("/settings/users/"+ownerID+"/role", url.Values{"role": {"boss"}}), 422)

	// Another workspace's user is not found, and left alone.
	other, err := acc.CreateWorkspace(ctx, "Elsewhere")
	if err != nil {
		t.Fatal(err)
	}
	stranger, err := acc.CreateUser(ctx, other.ID, "stranger@example.com", "stranger password", account.RoleOwner)
	if err != nil {
		t.Fatal(err)
	}
	want(t, ow.post("/settings/users/"+stranger.ID+"/role", url.Values{"role": {"agent"}}), 404)
	want(t, ow.post("/settings/users/"+stranger.ID+"/remove", nil), 404)
	if roleOf(t, acc, &account.User{WorkspaceID: other.ID, Role: account.RoleOwner}, "stranger@example.com") != account.RoleOwner {
		t.Error("another workspace's user changed")
	}
	if strings.Contains(ow.do("GET", "/settings", nil).body, "stranger@example.com") {
		t.Error("another workspace's user is listed")
	}

	// The admin promotes the agent to admin; the owner removes them and
	// their session ends at once.
	want(t, ad.post("/settings/users/"+agentID+"/role", url.Values{"role": {"admin"}}), 303)
	if roleOf(t, acc, owner, "new.agent@example.com") != account.RoleAdmin {
		t.Error("role not changed")
	}
	want(t, ow.post("/settings/users/"+agentID+"/remove", nil, "HX-Request", "true"), 204)
	if roleOf(t, acc, owner, "new.agent@example.com") != "" {
		t.Error("user not removed")
	}
	if r := ag.do("GET", "/settings", nil); r.status == 200 {
		t.Errorf("the removed user's session still works: %d", r.status)
	}
	// With a second owner, the first may step down.
	want(t, ow.post("/settings/users", url.Values{"email": {"heir@example.com"}, "password": {"a long password"}, "role": {"owner"}}), 200)
	want(t, ow.post("/settings/users/"+ownerID+"/role", url.Values{"role": {"admin"}}), 303)
	if roleOf(t, acc, owner, ownerEmail) != account.RoleAdmin {
		t.Error("the owner could not step down with another owner present")
	}
}
