package httpapi_test

import (
	"testing"
	"time"

	"github.com/parley-dev/parley/internal/apptest"
	"github.com/parley-dev/parley/internal/ids"
)

// TestOneClock sets the App's clock to 2030 and checks that every id and
// every stored time of a conversation and its messages comes from it,
// not from the wall clock.
func TestOneClock(t *testing.T) {
	s := apptest.Start(t, testDB(t))
	at := time.Date(2030, 6, 1, 12, 0, 0, 0, time.UTC)
	s.App.Now = func() time.Time { return at }
	in2030 := func(what string, tm time.Time) {
		t.Helper()
		if !tm.Equal(at) {
			t.Errorf("%s = %v, want the clock's %v", what, tm, at)
		}
	}
	idTime := func(what, id string) {
		t.Helper()
		tm, err := ids.Time(id)
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		in2030(what+" id "+id, tm)
	}
	stamp := func(what string, v any) {
		t.Helper()
		str, _ := v.(string)
		tm, err := time.Parse(time.RFC3339Nano, str)
		if err != nil {
			t.Fatalf("%s = %v: %v", what, v, err)
		}
		in2030(what, tm)
	}

	c := s.Do("POST", "/api/v1/conversations", s.Key, map[string]any{"assistant_id": s.DemoAssistant, "type": "api"}).Want(201)
	id := c.Str("id")
	s.Do("POST", "/api/v1/conversations/"+id+"/messages", s.Key, map[string]any{"content": "When are you open?"}).Want(201)
	s.Do("PATCH", "/api/v1/conversations/"+id, s.Key, map[string]any{"variables": map[string]any{"plan": "pro"}}).Want(200)
	s.Do("POST", "/api/v1/conversations/"+id+"/end", s.Key, nil).Want(200)
	g := s.Do("GET", "/api/v1/conversations/"+id, s.Key, nil).Want(200)

	idTime("conversation", id)
	stamp("created_at", g.Get("created_at"))
	stamp("updated_at", g.Get("updated_at"))
	stamp("ended_at", g.Get("ended_at"))
	stamp("last_message.created_at", g.Get("last_message.created_at"))
	msgs := g.Get("messages").([]any)
	if len(msgs) < 3 {
		t.Fatalf("want the greeting, the question and the reply: %s", g.Body)
	}
	for _, m := range msgs {
		m := m.(map[string]any)
		idTime("message", m["id"].(string))
		stamp("message created_at", m["created_at"])
	}
	k := s.Do("POST", "/api/v1/assistants", s.Key, map[string]any{"name": "Clocked", "model": "offline"}).Want(201)
	idTime("assistant", k.Str("id"))
	stamp("assistant created_at", k.Get("created_at"))
}
