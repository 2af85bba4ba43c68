package httpapi_test

import (
	"encoding/base64"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/parley-dev/parley/internal/apptest"
)

// TestForgedCursors attacks every list with cursors it did not issue:
// hand-made ones, another workspace's, another list's, another filter's
// and another ordering's. Each is a 422 invalid_cursor, and walking every
// list to its end through its own cursors never shows a row of another
// workspace.
func TestForgedCursors(t *testing.T) {
	s := apptest.Start(t, testDB(t))

	// Two workspaces with conversations, messages and prices each.
	otherAsst := s.Do("POST", "/api/v1/assistants", s.OtherKey, map[string]any{"name": "Theirs"}).Want(201).Str("id")
	mine := map[string]bool{}
	var ownConv, ownConv2 string
	for i := 0; i < 3; i++ {
		id := newConversation(t, s, s.Key, map[string]any{"customer": map[string]any{"phone": "+15550001111"}})
		mine[id] = true
		s.Do("POST", "/api/v1/conversations/"+id+"/messages", s.Key, map[string]any{"content": "Do you ship abroad?"}).Want(201)
		s.Do("POST", "/api/v1/conversations/"+id+"/messages", s.Key, map[string]any{"content": "And the opening hours?"}).Want(201)
		if i == 0 {
			ownConv = id
		} else {
			ownConv2 = id
		}
		theirs := newConversation(t, s, s.OtherKey, map[string]any{"assistant_id": otherAsst})
		s.Do("POST", "/api/v1/conversations/"+theirs+"/messages", s.OtherKey, map[string]any{"content": "their secret ship"}).Want(201)
	}
	for i, pattern := range []string{"own-a", "own-b", "own-c"} {
		s.Do("POST", "/api/v1/model-prices", s.Key, map[string]any{"model_pattern": pattern, "input_per_mtok": "1", "output_per_mtok": "2"}).Want(201)
		s.Do("POST", "/api/v1/model-prices", s.OtherKey, map[string]any{"model_pattern": "their-" + string(rune('a'+i)), "input_per_mtok": "1", "output_per_mtok": "2"}).Want(201)
	}
	s.Do("POST", "/api/v1/assistants", s.Key, map[string]any{"name": "Second"}).Want(201)
	s.Do("POST", "/api/v1/assistants", s.OtherKey, map[string]any{"name": "Their second"}).Want(201)
	s.Do("POST", "/api/v1/api-keys", s.Key, map[string]any{"name": "own second"}).Want(201)
	s.Do("POST", "/api/v1/api-keys", s.OtherKey, map[string]any{"name": "their second"}).Want(201)

	lists := []string{
		"/api/v1/assistants",
		"/api/v1/api-keys",
		"/api/v1/model-prices",
		"/api/v1/model-prices/defaults",
		"/api/v1/conversations",
		"/api/v1/conversations?sort=total_cost",
		"/api/v1/conversations?sort=message_count&order=asc",
		"/api/v1/conversations?sort=updated_at",
		"/api/v1/conversations?q=ship",
		"/api/v1/conversations?status=active",
		"/api/v1/conversations/" + ownConv + "/messages",
	}
	// with is a page of one row of list, after cursor ("" for the first).
	with := func(list, cursor string) string {
		sep := "?"
		if strings.Contains(list, "?") {
			sep = "&"
		}
		if cursor == "" {
			return list + sep + "per_page=1"
		}
		return list + sep + "per_page=1&cursor=" + url.QueryEscape(cursor)
	}
	refused := func(t *testing.T, path, key string) {
		t.Helper()
		r := s.Do("GET", path, key, nil)
		if r.Status != http.StatusUnprocessableEntity || r.Str("code") != "invalid_cursor" {
			t.Errorf("GET %s: status %d, want 422 invalid_cursor; body %s", path, r.Status, r.Body)
		}
	}

	// Hand-made cursors: the old unsigned format and signed-looking ones.
	b64 := func(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }
	forged := []string{
		b64(`{"k":"x","q":1}`),
		b64(`{"k":"x","q":1,"b":true}`),
		b64(`{"k":"x","q":9223372036854775807}`),
		b64(`{"s":"created_at:desc","v":0,"k":"conv_x","q":1}`) + "." + b64("0123456789abcdef"),
		"zzz", ".", "a.b", strings.Repeat("A", 5000),
	}
	// Real cursors of the other workspace, for the same lists.
	theirCursors := map[string]string{}
	for _, list := range lists {
		if strings.Contains(list, ownConv) {
			continue
		}
		r := s.Do("GET", with(list, ""), s.OtherKey, nil).Want(200)
		if c := r.Str("next_cursor"); c != "" {
			theirCursors[list] = c
		}
	}
	if len(theirCursors) < 5 {
		t.Fatalf("the other workspace gave only %d cursors", len(theirCursors))
	}
	// A real cursor of each of our own lists.
	ownCursors := map[string]string{}
	for _, list := range lists {
		r := s.Do("GET", with(list, ""), s.Key, nil).Want(200)
		ownCursors[list] = r.Str("next_cursor")
		if ownCursors[list] == "" {
			t.Fatalf("%s: no next cursor on a page of 1: %s", list, r.Body)
		}
	}

	for _, list := range lists {
		for _, c := range forged {
			refused(t, with(list, c), s.Key)
		}
		for _, c := range theirCursors {
			refused(t, with(list, c), s.Key)
		}
		for from, c := range ownCursors {
			if from != list {
				refused(t, with(list, c), s.Key) // another list, filter or ordering
			}
		}
		// Our own cursor in the other workspace's hands.
		if !strings.Contains(list, ownConv) {
			refused(t, with(list, ownCursors[list]), s.OtherKey)
		}
	}
	// A messages cursor of one conversation on another of the same workspace.
	refused(t, with("/api/v1/conversations/"+ownConv2+"/messages", ownCursors["/api/v1/conversations/"+ownConv+"/messages"]), s.Key)
	// A cursor edited by one character.
	c := ownCursors["/api/v1/conversations"]
	flip := byte('A')
	if c[5] == 'A' {
		flip = 'B'
	}
	edited := c[:5] + string(flip) + c[6:]
	refused(t, with("/api/v1/conversations", edited), s.Key)

	// Walking every list forwards then back shows only our own rows.
	for _, list := range lists {
		seen := 0
		cursor := ""
		for page := 0; ; page++ {
			if page > 50 {
				t.Fatalf("%s: more pages than rows", list)
			}
			r := s.Do("GET", with(list, cursor), s.Key, nil).Want(200)
			for _, row := range r.Get("data").([]any) {
				m := row.(map[string]any)
				seen++
				id, _ := m["id"].(string)
				switch {
				case strings.HasPrefix(id, "conv_") && !mine[id]:
					t.Errorf("%s: another workspace's conversation %s", list, id)
				case strings.Contains(list, "/messages") && m["conversation_id"] != ownConv:
					t.Errorf("%s: a message of %v", list, m["conversation_id"])
				case strings.HasPrefix(id, "asst_") && id == otherAsst:
					t.Errorf("%s: another workspace's assistant", list)
				}
				if name, _ := m["name"].(string); strings.HasPrefix(strings.ToLower(name), "their") || name == "other" {
					t.Errorf("%s: another workspace's %s", list, name)
				}
				if p, _ := m["model_pattern"].(string); strings.HasPrefix(p, "their-") {
					t.Errorf("%s: another workspace's price %s", list, p)
				}
			}
			cursor = r.Str("next_cursor")
			if cursor == "" {
				break
			}
			if prev := r.Str("prev_cursor"); prev != "" {
				s.Do("GET", with(list, prev), s.Key, nil).Want(200)
			}
		}
		if seen == 0 {
			t.Errorf("%s: walked no rows", list)
		}
	}
}

// TestPerPageOnEveryList checks that per_page is honoured, and out-of-range
// values refused, on every list.
func TestPerPageOnEveryList(t *testing.T) {
	s := apptest.Start(t, testDB(t))
	newConversation(t, s, s.Key, nil)
	conv := newConversation(t, s, s.Key, nil)
	s.Do("POST", "/api/v1/conversations/"+conv+"/messages", s.Key, map[string]any{"content": "hello"}).Want(201)
	s.Do("POST", "/api/v1/assistants", s.Key, map[string]any{"name": "Second"}).Want(201)
	for _, p := range []string{"a-1", "a-2"} {
		s.Do("POST", "/api/v1/model-prices", s.Key, map[string]any{"model_pattern": p, "input_per_mtok": "1", "output_per_mtok": "2"}).Want(201)
	}
	s.Do("POST", "/api/v1/api-keys", s.Key, map[string]any{"name": "second"}).Want(201)
	for _, list := range []string{
		"/api/v1/assistants", "/api/v1/api-keys", "/api/v1/model-prices", "/api/v1/model-prices/defaults",
		"/api/v1/conversations", "/api/v1/conversations/" + conv + "/messages",
	} {
		r := s.Do("GET", list+"?per_page=1", s.Key, nil).Want(200)
		if n := len(r.Get("data").([]any)); n != 1 || r.Str("next_cursor") == "" {
			t.Errorf("%s?per_page=1: %d rows, next %q", list, n, r.Str("next_cursor"))
		}
		for _, bad := range []string{"0", "-1", "101", "x", "1.5", ""} {
			r := s.Do("GET", list+"?per_page="+bad, s.Key, nil)
			if r.Status != 422 || r.Str("code") != "validation_failed" {
				t.Errorf("%s?per_page=%s: status %d %s", list, bad, r.Status, r.Body)
			}
		}
	}
}
