package httpapi_test

import (
	"net/url"
	"strings"
	"testing"

	"github.com/parley-dev/parley/internal/apptest"
)

func TestAPIKeysAPI(t *testing.T) {
	s := apptest.Start(t, testDB(t))
	created := s.Do("POST", "/api/v1/api-keys", s.Key, map[string]any{"name": "ci"}).Want(201)
	secret, id := created.Str("secret"), created.Str("id")
	if !strings.HasPrefix(secret, "pk_") || !strings.HasPrefix(id, "key_") || !strings.HasPrefix(secret, created.Str("prefix")) ||
		created.Str("name") != "ci" || created.Get("last_used_at") != nil || created.Str("created_at") == "" {
		t.Fatalf("created key: %s", created.Body)
	}

	// The list shows every key of the workspace but never a secret; the
	// key that asked has just been used.
	list := s.Do("GET", "/api/v1/api-keys", s.Key, nil).Want(200)
	data := list.Get("data").([]any)
	if len(data) != 2 || strings.Contains(string(list.Body), secret) || strings.Contains(string(list.Body), s.Key) ||
		strings.Contains(string(list.Body), `"secret"`) {
		t.Fatalf("list: %s", list.Body)
	}
	first, second := data[0].(map[string]any), data[1].(map[string]any)
	if first["name"] != "test" || first["last_used_at"] == nil || second["id"] != id || second["last_used_at"] != nil {
		t.Errorf("list: %s", list.Body)
	}

	// The new key works at once, and records its use.
	s.Do("GET", "/api/v1/assistants", secret, nil).Want(200)
	list = s.Do("GET", "/api/v1/api-keys?per_page=1", s.Key, nil).Want(200)
	next := list.Str("next_cursor")
	if next == "" || len(list.Get("data").([]any)) != 1 {
		t.Fatalf("page 1: %s", list.Body)
	}
	page2 := s.Do("GET", "/api/v1/api-keys?per_page=1&cursor="+url.QueryEscape(next), s.Key, nil).Want(200)
	if page2.Get("data").([]any)[0].(map[string]any)["last_used_at"] == nil {
		t.Errorf("use of the new key not recorded: %s", page2.Body)
	}

	runScenarios(t, s, []scenario{
		{name: "other workspace lists its own", method: "GET", path: "/api/v1/api-keys", key: "other", status: 200, contains: []string{`"name":"other"`}},
		{name: "other workspace cannot revoke", method: "DELETE", path: "/api/v1/api-keys/" + id, key: "other", status: 404, code: "not_found"},
		{name: "no name", method: "POST", path: "/api/v1/api-keys", key: "own", body: map[string]any{"name": " "}, status: 422, code: "validation_failed", field: "name"},
		{name: "unknown field", method: "POST", path: "/api/v1/api-keys", key: "own", body: `{"name":"x","secret":"pk_mine"}`, status: 400, code: "malformed_request"},
		{name: "not an id", method: "DELETE", path: "/api/v1/api-keys/nope", key: "own", status: 404, code: "not_found"},
		{name: "no key", method: "GET", path: "/api/v1/api-keys", status: 401, code: "unauthorized"},
	})
	if n := len(s.Do("GET", "/api/v1/api-keys", s.Key, nil).Want(200).Get("data").([]any)); n != 2 {
		t.Errorf("refused requests made keys: %d", n)
	}

	// Revoking: the key is refused on its very next request.
	s.Do("DELETE", "/api/v1/api-keys/"+id, s.Key, nil).Want(204)
	s.Do("GET", "/api/v1/assistants", secret, nil).Want(401)
	s.Do("DELETE", "/api/v1/api-keys/"+id, s.Key, nil).Want(404)
	s.Do("GET", "/api/v1/assistants", s.OtherKey, nil).Want(200)

	// A key may revoke itself.
	self := s.Do("POST", "/api/v1/api-keys", s.Key, map[string]any{"name": "one-off"}).Want(201)
	s.Do("DELETE", "/api/v1/api-keys/"+self.Str("id"), self.Str("secret"), nil).Want(204)
	s.Do("GET", "/api/v1/assistants", self.Str("secret"), nil).Want(401)
	s.Do("GET", "/api/v1/assistants", s.Key, nil).Want(200)
}
