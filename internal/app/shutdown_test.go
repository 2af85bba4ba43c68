package app_test

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/parley-dev/parley/internal/app"
	"github.com/parley-dev/parley/internal/config"
	"github.com/parley-dev/parley/internal/conversation"
	"github.com/parley-dev/parley/internal/llm/llmtest"
	"github.com/parley-dev/parley/internal/llm/tokens"
	"github.com/parley-dev/parley/internal/store/pgtest"
)

// TestShutdownCutsRepliesInFlight: when Serve is asked to stop, a reply
// that finishes within the deadline is delivered and stored as usual, and
// one still streaming near the deadline is cut: its client gets an
// "event: error" and the transcript a failure note with the tokens spent,
// written before the store closes.
func TestShutdownCutsRepliesInFlight(t *testing.T) {
	t.Run("SQLite", func(t *testing.T) { testShutdownCutsReplies(t, filepath.Join(t.TempDir(), "parley.db")) })
	t.Run("PostgreSQL", func(t *testing.T) { testShutdownCutsReplies(t, pgtest.SchemaURL(t)) })
}

func testShutdownCutsReplies(t *testing.T, dbURL string) {
	fake := llmtest.New(t)
	fake.Reply = func(r llmtest.Request) string {
		if last := r.Messages[len(r.Messages)-1].Content; last == "quick" {
			return "done quickly"
		}
		return "one two three four five six"
	}
	fake.ChunkDelay = 100 * time.Millisecond
	fake.Hold(3) // the long reply stalls after three words; the quick one has two
	t.Cleanup(fake.Release)
	// The tokenizer loads on first use (half a second, seconds under
	// -race); load it now so the margin below measures the shutdown alone.
	tokens.Count("warm up")

	cfg := &config.Config{
		Addr: "127.0.0.1:0", DatabaseURL: dbURL, AdminEmail: "admin@example.com",
		AdminPassword: "correct horse battery", LogFormat: "text",
		LLMBaseURL: fake.BaseURL(), LLMAPIKey: "sk-test",
	}
	bg := context.Background()
	a, err := app.New(bg, cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	a.ShutdownTimeout = 9 * time.Second // replies are cut at 7.5 s, leaving 1.5 s to record them and drain
	ctx, stop := context.WithCancel(bg)
	defer stop()
	addrc, served := make(chan string, 1), make(chan error, 1)
	go func() { served <- a.Serve(ctx, func(addr string) { addrc <- addr }) }()
	var base string
	select {
	case addr := <-addrc:
		base = "http://" + addr
	case err := <-served:
		t.Fatalf("serve: %v", err)
	}
	ws, err := a.Accounts.DefaultWorkspace(bg)
	if err != nil {
		t.Fatal(err)
	}
	key, _, err := a.Accounts.CreateAPIKey(bg, ws, "test")
	if err != nil {
		t.Fatal(err)
	}
	call := func(path string, body string) map[string]any {
		req, _ := http.NewRequest("POST", base+path, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+key)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var v map[string]any
		_ = json.NewDecoder(resp.Body).Decode(&v)
		if resp.StatusCode != http.StatusCreated {
			t.Fatalf("POST %s: %d %v", path, resp.StatusCode, v)
		}
		return v
	}
	asst := call("/api/v1/assistants", `{"name":"Remote","model":"gpt-4o"}`)["id"].(string)
	long := call("/api/v1/conversations", `{"assistant_id":"`+asst+`"}`)["id"].(string)
	quick := call("/api/v1/conversations", `{"assistant_id":"`+asst+`"}`)["id"].(string)

	longEvents := streamReply(t, base, key, long, "count to six")
	if e := <-longEvents; e.name != "delta" {
		t.Fatalf("first event %q", e.name)
	}
	quickEvents := streamReply(t, base, key, quick, "quick")
	if e := <-quickEvents; e.name != "delta" {
		t.Fatalf("first event %q", e.name)
	}
	stop()

	if e := lastEvent(t, quickEvents); e.name != "done" {
		t.Errorf("the reply that finished in time ended with %q %v", e.name, e.data)
	}
	e := lastEvent(t, longEvents)
	if e.name != "error" || e.data["code"] != "service_unavailable" || !strings.Contains(e.data["detail"].(string), "shutting down") {
		t.Errorf("the cut reply ended with %q %v, want an error event", e.name, e.data)
	}
	select {
	case err := <-served:
		if err != nil {
			t.Errorf("serve: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("serve did not return")
	}

	msgs, err := a.Conversations.Transcript(bg, ws, long)
	if err != nil {
		t.Fatal(err)
	}
	if len(msgs) != 2 {
		t.Fatalf("want the user message and a failure note, got %d messages", len(msgs))
	}
	note := msgs[1]
	if note.Role != conversation.RoleSystem || note.Error == nil || note.Error.Code != "reply_interrupted" {
		t.Fatalf("failure note %+v", note)
	}
	if note.Usage == nil || note.Usage.InputTokens == 0 || note.Usage.OutputTokens == 0 || !note.UsageEstimated || note.Cost == nil {
		t.Errorf("the note does not carry the tokens spent and their cost: %+v", note)
	}
	msgs, err = a.Conversations.Transcript(bg, ws, quick)
	if err != nil {
		t.Fatal(err)
	}
	if len(msgs) != 2 || msgs[1].Role != conversation.RoleAssistant || msgs[1].Content != "done quickly" {
		t.Errorf("the quick reply was not stored: %+v", msgs)
	}
}

type event struct {
	name string
	data map[string]any
}

// streamReply posts a message asking for a streamed reply and sends its
// events down the channel, which closes when the stream ends.
func streamReply(t *testing.T, base, key, conv, content string) <-chan event {
	t.Helper()
	body, _ := json.Marshal(map[string]string{"content": content})
	req, _ := http.NewRequest("POST", base+"/api/v1/conversations/"+conv+"/messages", strings.NewReader(string(body)))
	req.Header.Set("Authorization", "Bearer "+key)
	req.Header.Set("Accept", "text/event-stream")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close() }) // also closed by the reader below, once the stream ends
	out := make(chan event, 100)
	go func() {
		defer resp.Body.Close()
		defer close(out)
		sc := bufio.NewScanner(resp.Body)
		name := ""
		for sc.Scan() {
			if e, ok := strings.CutPrefix(sc.Text(), "event: "); ok {
				name = e
			} else if d, ok := strings.CutPrefix(sc.Text(), "data: "); ok {
				var v map[string]any
				_ = json.Unmarshal([]byte(d), &v)
				out <- event{name, v}
			}
		}
	}()
	return out
}

// lastEvent returns the last event before the stream ends, or fails the
// test when the stream does not end within 10 s.
func lastEvent(t *testing.T, events <-chan event) event {
	t.Helper()
	var last event
	timeout := time.After(10 * time.Second)
	for {
		select {
		case e, ok := <-events:
			if !ok {
				return last
			}
			last = e
		case <-timeout:
			t.Fatalf("the stream did not end within 10 s (last event %q)", last.name)
		}
	}
}
