package httpapi_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/parley-dev/parley/internal/apptest"
)

// eventsOf pages through GET /api/v1/events with query q and returns the
// events, oldest first.
func eventsOf(t *testing.T, s *apptest.Server, key, q string) []map[string]any {
	t.Helper()
	var out []map[string]any
	after := ""
	for range 100 {
		path := "/api/v1/events?per_page=2" + q
		if after != "" {
			path += "&after=" + after
		}
		r := s.Do("GET", path, key, nil).Want(http.StatusOK)
		data, _ := r.Get("data").([]any)
		if len(data) == 0 {
			if r.Get("next_cursor") != nil {
				t.Errorf("empty page with next_cursor %v", r.Get("next_cursor"))
			}
			return out
		}
		for _, d := range data {
			out = append(out, d.(map[string]any))
		}
		after = r.Str("next_cursor")
		if after != out[len(out)-1]["id"] {
			t.Fatalf("next_cursor %q is not the last event's id", after)
		}
	}
	t.Fatal("too many pages")
	return nil
}

func typesOf(evs []map[string]any) []string {
	out := make([]string, len(evs))
	for i, e := range evs {
		out[i], _ = e["type"].(string)
	}
	return out
}

func TestEventsList(t *testing.T) {
	s := apptest.Start(t, testDB(t))
	conv := newConversation(t, s, s.Key, nil)
	s.Do("POST", "/api/v1/conversations/"+conv+"/messages", s.Key, map[string]any{"content": "hello"}).Want(http.StatusCreated)
	s.Do("PATCH", "/api/v1/conversations/"+conv, s.Key, map[string]any{"ai_enabled": false}).Want(http.StatusOK)
	other := newConversation(t, s, s.OtherKey, map[string]any{"assistant_id": s.Do("POST", "/api/v1/assistants", s.OtherKey, map[string]any{"name": "x"}).Want(201).Str("id")})

	evs := eventsOf(t, s, s.Key, "")
	got := strings.Join(typesOf(evs), " ")
	// The demo assistant greets: its greeting is the first message.
	if got != "conversation.created message.created message.created message.created conversation.updated" {
		t.Fatalf("events: %s", got)
	}
	for i, e := range evs {
		if e["conversation_id"] != conv {
			t.Errorf("event %d of another conversation: %v", i, e)
		}
		if i > 0 && e["id"].(string) <= evs[i-1]["id"].(string) {
			t.Errorf("ids out of order: %v", evs)
		}
	}
	if evs[1]["message_id"] == nil || evs[0]["message_id"] != nil {
		t.Errorf("message ids: %v", evs)
	}

	// Filters.
	if got := typesOf(eventsOf(t, s, s.Key, "&type=conversation.created&type=conversation.updated&type=conversation.ended")); strings.Join(got, " ") != "conversation.created conversation.updated" {
		t.Errorf("by type: %v", got)
	}
	if got := eventsOf(t, s, s.Key, "&conversation_id="+other); len(got) != 0 {
		t.Errorf("another workspace's conversation: %v", got)
	}
	// Resume after an event.
	r := s.Do("GET", "/api/v1/events?after="+evs[1]["id"].(string), s.Key, nil).Want(http.StatusOK)
	if data := r.Get("data").([]any); len(data) != 3 || data[0].(map[string]any)["id"] != evs[2]["id"] {
		t.Errorf("after the second: %s", r.Body)
	}

	// The other workspace sees its own events only, from any resume
	// point, forged ones included.
	theirs := eventsOf(t, s, s.OtherKey, "")
	if len(theirs) == 0 || theirs[0]["conversation_id"] != other {
		t.Errorf("other workspace: %v", theirs)
	}
	for _, after := range []string{"evt_0000000000000000", evs[0]["id"].(string)} {
		r := s.Do("GET", "/api/v1/events?after="+after, s.OtherKey, nil).Want(http.StatusOK)
		for _, d := range r.Get("data").([]any) {
			if d.(map[string]any)["conversation_id"] != other {
				t.Errorf("after=%s showed %v", after, d)
			}
		}
	}

	// Bad input.
	for _, q := range []string{"after=nope", "after=evt_1", "type=message.sent", "per_page=0", "per_page=101"} {
		r := s.Do("GET", "/api/v1/events?"+q, s.Key, nil).Want(http.StatusUnprocessableEntity)
		if r.Str("code") != "validation_failed" {
			t.Errorf("%s: %s", q, r.Body)
		}
	}
	if r := s.Do("GET", "/api/v1/events", s.Key, nil, "Last-Event-ID", "evt_x").Want(http.StatusUnprocessableEntity); !strings.Contains(string(r.Body), `"field":"Last-Event-ID"`) {
		t.Errorf("bad Last-Event-ID: %s", r.Body)
	}
	s.Do("GET", "/api/v1/events", "", nil).Want(http.StatusUnauthorized)
}

// TestEventsPruned: a resume point before the pruned events answers 410
// cursor_expired, on the list and on the stream; without one, the list
// starts at the oldest event kept.
func TestEventsPruned(t *testing.T) {
	s := apptest.Start(t, testDB(t))
	first := newConversation(t, s, s.Key, nil)
	evs := eventsOf(t, s, s.Key, "")
	n, err := s.App.Store.PruneEvents(context.Background(), time.Now().Add(time.Hour))
	if err != nil || n != len(evs) {
		t.Fatalf("prune: %d, %v", n, err)
	}
	second := newConversation(t, s, s.Key, nil)
	for _, h := range [][]string{nil, {"Accept", "text/event-stream"}} {
		r := s.Do("GET", "/api/v1/events?after="+evs[0]["id"].(string), s.Key, nil, h...).Want(http.StatusGone)
		if r.Str("code") != "cursor_expired" {
			t.Errorf("expired resume point: %s", r.Body)
		}
	}
	// The newest pruned event is a fine resume point: nothing after it
	// is missing.
	last := evs[len(evs)-1]["id"].(string)
	r := s.Do("GET", "/api/v1/events?after="+last, s.Key, nil).Want(http.StatusOK)
	data := r.Get("data").([]any)
	if len(data) == 0 || data[0].(map[string]any)["conversation_id"] != second {
		t.Errorf("after the newest pruned: %s", r.Body)
	}
	if got := eventsOf(t, s, s.Key, ""); len(got) != len(data) || got[0]["conversation_id"] == first {
		t.Errorf("from the start: %v", got)
	}
}

// eventStream is a live GET /api/v1/events stream.
type eventStream struct {
	t      *testing.T
	events chan map[string]any
	cancel func()
	raw    *bytes.Buffer
	done   chan struct{}
	req    *http.Request
	header http.Header
}

func openEvents(t *testing.T, s *apptest.Server, key string, header ...string) *eventStream {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, "GET", s.URL+"/api/v1/events", nil)
	req.Header.Set("Authorization", "Bearer "+key)
	req.Header.Set("Accept", "text/event-stream")
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close() }) // also closed by the reader below
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") {
		resp.Body.Close()
		cancel()
		t.Fatalf("stream answered %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	st := &eventStream{t: t, events: make(chan map[string]any, 1000), cancel: cancel, raw: &bytes.Buffer{},
		done: make(chan struct{}), req: req, header: resp.Header}
	go func() {
		defer close(st.done)
		defer resp.Body.Close()
		sc := bufio.NewScanner(resp.Body)
		id, name := "", ""
		for sc.Scan() {
			line := sc.Text()
			st.raw.WriteString(line + "\n")
			switch {
			case strings.HasPrefix(line, "id: "):
				id = strings.TrimPrefix(line, "id: ")
			case strings.HasPrefix(line, "event: "):
				name = strings.TrimPrefix(line, "event: ")
			case strings.HasPrefix(line, "data: "):
				var v map[string]any
				_ = json.Unmarshal([]byte(strings.TrimPrefix(line, "data: ")), &v)
				if v["id"] != id || v["type"] != name {
					t.Errorf("event id %q / %q, type %q / %q", id, v["id"], name, v["type"])
				}
				st.events <- v
			}
		}
	}()
	t.Cleanup(st.close)
	return st
}

// close ends the stream and checks what it carried against the API's
// OpenAPI document.
func (st *eventStream) close() {
	st.cancel()
	<-st.done
	raw := st.raw.Bytes()
	if i := bytes.LastIndex(raw, []byte("\n\n")); i >= 0 {
		raw = raw[:i+2]
	} else {
		raw = nil
	}
	st.raw.Reset()
	if raw == nil {
		return
	}
	contract, err := apptest.APIContract()
	if err != nil {
		st.t.Fatal(err)
	}
	if err := contract.Check(st.req, nil, http.StatusOK, st.header, raw); err != nil {
		st.t.Errorf("event stream: %v", err)
	}
}

// next returns the next event, failing when none comes within wait.
func (st *eventStream) next(wait time.Duration) map[string]any {
	st.t.Helper()
	select {
	case e := <-st.events:
		return e
	case <-time.After(wait):
		st.t.Fatalf("no event within %s", wait)
		return nil
	}
}

// quiet fails if an event arrives within d.
func (st *eventStream) quiet(d time.Duration) {
	st.t.Helper()
	select {
	case e := <-st.events:
		st.t.Errorf("unexpected event %v", e)
	case <-time.After(d):
	}
}

// TestEventsStreamAcrossNodes: on PostgreSQL, a message posted through
// node A reaches an SSE client of node B within a second; a client that
// reconnects with Last-Event-ID after missing events gets them all, once,
// in order, and then live ones. (On SQLite, one node: its single writer
// is one process.)
func TestEventsStreamAcrossNodes(t *testing.T) {
	db := testDB(t)
	a := apptest.Start(t, db)
	b := a
	if db != "" {
		b = apptest.Start(t, db)
	} else {
		t.Log("SQLite: both clients on one node")
	}
	conv := newConversation(t, a, a.Key, nil)
	st := openEvents(t, b, b.Key)
	other := openEvents(t, b, b.OtherKey)

	a.Do("POST", "/api/v1/conversations/"+conv+"/messages", a.Key, map[string]any{"content": "hello"}).Want(http.StatusCreated)
	// Without a resume point the stream starts with what happens next.
	var seen []map[string]any
	for range 2 {
		e := st.next(time.Second)
		if e["type"] != "message.created" || e["conversation_id"] != conv {
			t.Fatalf("live event: %v", e)
		}
		seen = append(seen, e)
	}
	st.quiet(50 * time.Millisecond)
	st.close()

	// Missed while disconnected: two updates, another conversation.
	a.Do("PATCH", "/api/v1/conversations/"+conv, a.Key, map[string]any{"ai_enabled": false}).Want(http.StatusOK)
	a.Do("PATCH", "/api/v1/conversations/"+conv, a.Key, map[string]any{"ai_enabled": true}).Want(http.StatusOK)
	conv2 := newConversation(t, a, a.Key, nil)

	again := openEvents(t, b, b.Key, "Last-Event-ID", seen[1]["id"].(string))
	var caught []string
	for range 4 {
		caught = append(caught, again.next(time.Second)["type"].(string))
	}
	if strings.Join(caught, " ") != "conversation.updated conversation.updated conversation.created message.created" {
		t.Errorf("caught up: %v", caught)
	}
	again.quiet(100 * time.Millisecond)
	a.Do("DELETE", "/api/v1/conversations/"+conv2, a.Key, nil).Want(http.StatusNoContent)
	if e := again.next(time.Second); e["type"] != "conversation.deleted" || e["conversation_id"] != conv2 {
		t.Errorf("live after catching up: %v", e)
	}
	again.quiet(100 * time.Millisecond)

	// The other workspace heard none of it.
	other.quiet(50 * time.Millisecond)
}
