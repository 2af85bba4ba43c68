package httpapi_test

import (
	"context"
	"strings"
	"testing"

	"github.com/parley-dev/parley/internal/account"
	"github.com/parley-dev/parley/internal/apptest"
)

// TestUsersAPI: keys manage users with the owner's rights; the last owner
// stays; another workspace's users are not found.
func TestUsersAPI(t *testing.T) {
	s := apptest.Start(t, testDB(t))
	stranger, err := s.App.Accounts.CreateUser(context.Background(), s.OtherWorkspace, "stranger@example.com", "stranger password", account.RoleOwner)
	if err != nil {
		t.Fatal(err)
	}

	list := s.Do("GET", "/api/v1/users", s.Key, nil).Want(200)
	data := list.Get("data").([]any)
	if len(data) != 1 || data[0].(map[string]any)["role"] != "owner" || strings.Contains(string(list.Body), "password") {
		t.Fatalf("users: %s", list.Body)
	}
	ownerID := data[0].(map[string]any)["id"].(string)

	gen := s.Do("POST", "/api/v1/users", s.Key, map[string]any{"email": "Agent@Example.com", "role": "agent"}).Want(201)
	if len(gen.Str("password")) != 20 || gen.Str("email") != "agent@example.com" || gen.Str("role") != "agent" {
		t.Fatalf("created with a generated password: %s", gen.Body)
	}
	if _, _, err := s.App.Accounts.Login(context.Background(), "agent@example.com", gen.Str("password"), "127.0.0.1"); err != nil {
		t.Errorf("the generated password does not sign in: %v", err)
	}
	given := s.Do("POST", "/api/v1/users", s.Key, map[string]any{"email": "owner2@example.com", "password": "a long password", "role": "owner"}).Want(201)
	if given.Get("password") != nil {
		t.Errorf("a given password is echoed: %s", given.Body)
	}
	agentID := gen.Str("id")

	runScenarios(t, s, []scenario{
		{name: "short password", method: "POST", path: "/api/v1/users", key: "own", body: map[string]any{"email": "x@example.com", "password": "short", "role": "agent"}, status: 422, code: "validation_failed", field: "password"},
		{name: "bad email", method: "POST", path: "/api/v1/users", key: "own", body: map[string]any{"email": "nope", "role": "agent"}, status: 422, code: "validation_failed", field: "email"},
		{name: "bad role", method: "PATCH", path: "/api/v1/users/" + agentID, key: "own", body: map[string]any{"role": "king"}, status: 422, code: "validation_failed", field: "role"},
		{name: "taken email", method: "POST", path: "/api/v1/users", key: "own", body: map[string]any{"email": "agent@example.com", "role": "agent"}, status: 409, code: "conflict"},
		{name: "other workspace's user", method: "PATCH", path: "/api/v1/users/" + stranger.ID, key: "own", body: map[string]any{"role": "agent"}, status: 404, code: "not_found"},
		{name: "other workspace's user removed", method: "DELETE", path: "/api/v1/users/" + stranger.ID, key: "own", status: 404, code: "not_found"},
		{name: "other workspace lists its own", method: "GET", path: "/api/v1/users", key: "other", status: 200, contains: []string{"stranger@example.com"}},
		{name: "not an id", method: "DELETE", path: "/api/v1/users/nope", key: "own", status: 404, code: "not_found"},
		{name: "no key", method: "GET", path: "/api/v1/users", status: 401, code: "unauthorized"},
	})
	if n := len(s.Do("GET", "/api/v1/users", s.Key, nil).Want(200).Get("data").([]any)); n != 3 {
		t.Errorf("refused requests changed the users: %d", n)
	}

	promoted := s.Do("PATCH", "/api/v1/users/"+agentID, s.Key, map[string]any{"role": "admin"}).Want(200)
	if promoted.Str("role") != "admin" {
		t.Errorf("patched: %s", promoted.Body)
	}
	s.Do("DELETE", "/api/v1/users/"+given.Str("id"), s.Key, nil).Want(204)
	// Now ownerID is the last owner.
	s.Do("PATCH", "/api/v1/users/"+ownerID, s.Key, map[string]any{"role": "agent"}).Want(409)
	s.Do("DELETE", "/api/v1/users/"+ownerID, s.Key, nil).Want(409)
	s.Do("DELETE", "/api/v1/users/"+agentID, s.Key, nil).Want(204)
	list = s.Do("GET", "/api/v1/users", s.Key, nil).Want(200)
	if d := list.Get("data").([]any); len(d) != 1 || d[0].(map[string]any)["role"] != "owner" {
		t.Errorf("after removals: %s", list.Body)
	}
}
