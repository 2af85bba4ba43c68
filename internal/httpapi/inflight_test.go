package httpapi_test

import (
	"bufio"
	"context"
	"encoding/json"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/parley-dev/parley/internal/apptest"
	"github.com/parley-dev/parley/internal/config"
	"github.com/parley-dev/parley/internal/llm/llmtest"
)

// sseEvent is one server-sent event of a reply stream.
type sseEvent struct {
	name string
	data map[string]any
}

// stream is a reply stream read in the background, so a test can wait for
// its events with a deadline instead of hanging on a stream that stalls.
type stream struct {
	t      *testing.T
	events chan sseEvent
}

// openStream posts a message with Accept: text/event-stream and reads the
// answer's events as they come.
func openStream(t *testing.T, s *apptest.Server, key, conv, content string) *stream {
	t.Helper()
	body, _ := json.Marshal(map[string]string{"content": content})
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	req, _ := http.NewRequestWithContext(ctx, "POST", s.URL+"/api/v1/conversations/"+conv+"/messages", strings.NewReader(string(body)))
	req.Header.Set("Authorization", "Bearer "+key)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "text/event-stream")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close() }) // also closed by the reader below, once the stream ends
	if resp.StatusCode != http.StatusCreated && resp.StatusCode != http.StatusOK {
		t.Fatalf("stream answered %d", resp.StatusCode)
	}
	st := &stream{t: t, events: make(chan sseEvent, 100)}
	go func() {
		defer resp.Body.Close()
		defer close(st.events)
		sc := bufio.NewScanner(resp.Body)
		name := ""
		for sc.Scan() {
			line := sc.Text()
			if e, ok := strings.CutPrefix(line, "event: "); ok {
				name = e
			} else if d, ok := strings.CutPrefix(line, "data: "); ok {
				var v map[string]any
				_ = json.Unmarshal([]byte(d), &v)
				st.events <- sseEvent{name, v}
			}
		}
	}()
	return st
}

// next returns the next event other than a delta when skipDeltas is set,
// failing the test when none comes within 10 s or the stream ends first.
func (st *stream) next(skipDeltas bool) sseEvent {
	st.t.Helper()
	timeout := time.After(10 * time.Second)
	for {
		select {
		case e, ok := <-st.events:
			if !ok {
				st.t.Fatal("the stream ended without another event")
			}
			if skipDeltas && e.name == "delta" {
				continue
			}
			return e
		case <-timeout:
			st.t.Fatal("no event within 10 s: the stream stalled")
		}
	}
}

// replyOf returns the stored reply a "done" event carries, whether the event
// is the reply itself or {"message", "reply"}.
func replyOf(e sseEvent) map[string]any {
	if r, ok := e.data["reply"].(map[string]any); ok {
		return r
	}
	return e.data
}

// isExtraction tells the fake's extraction calls from its replies.
func isExtraction(r llmtest.Request) bool {
	return len(r.Messages) > 0 && strings.HasPrefix(r.Messages[0].Content, "Extract the requested values")
}

// endAsync ends a conversation in the background; the answer's status
// arrives on the channel (0 when the request failed).
func endAsync(s *apptest.Server, key, conv string) <-chan int {
	out := make(chan int, 1)
	go func() {
		req, _ := http.NewRequest("POST", s.URL+"/api/v1/conversations/"+conv+"/end", nil)
		req.Header.Set("Authorization", "Bearer "+key)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			out <- 0
			return
		}
		resp.Body.Close()
		out <- resp.StatusCode
	}()
	return out
}

func parseTime(t *testing.T, v any) time.Time {
	t.Helper()
	s, _ := v.(string)
	tm, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		t.Fatalf("time %v: %v", v, err)
	}
	return tm
}

// TestEndWaitsForStreamingReply: a reply that finishes while end waits is
// stored before ended_at and is part of what the extraction reads.
func TestEndWaitsForStreamingReply(t *testing.T) {
	s, fake := startWithProvider(t)
	s.App.Conversations.EndWait = 10 * time.Second
	fake.Reply = func(r llmtest.Request) string {
		if isExtraction(r) {
			if strings.Contains(r.Messages[1].Content, "assistant: Your refund is on its way") {
				return `{"summary":"Refund promised.","status":"resolved"}`
			}
			return `{"summary":"No answer seen.","status":"unresolved"}`
		}
		return "Your refund is on its way"
	}
	fake.Hold(2)
	t.Cleanup(fake.Release)
	asst := s.Do("POST", "/api/v1/assistants", s.Key, map[string]any{"name": "Remote", "model": "gpt-4o"}).Want(201).Str("id")
	conv := newConversation(t, s, s.Key, map[string]any{"assistant_id": asst})

	st := openStream(t, s, s.Key, conv, "refund please")
	if e := st.next(false); e.name != "delta" {
		t.Fatalf("first event %q, want a delta", e.name)
	}
	ended := endAsync(s, s.Key, conv)
	time.Sleep(300 * time.Millisecond) // end is now waiting for the reply
	select {
	case code := <-ended:
		t.Fatalf("end answered %d while a reply was still streaming", code)
	default:
	}
	fake.Release()
	done := st.next(true)
	if done.name != "done" || replyOf(done)["content"] != "Your refund is on its way" {
		t.Fatalf("stream ended with %q %v", done.name, done.data)
	}
	if code := <-ended; code != http.StatusOK {
		t.Fatalf("end answered %d", code)
	}
	r := waitFor(t, s, conv, func(r *apptest.Response) bool { return r.Get("variables.summary") != nil })
	if r.Str("variables.summary.value") != "Refund promised." {
		t.Errorf("the extraction did not see the reply: %s", r.Body)
	}
	endedAt := parseTime(t, r.Get("ended_at"))
	msgs := r.Get("messages").([]any)
	reply := msgs[1].(map[string]any)
	if reply["role"] != "assistant" || parseTime(t, reply["created_at"]).After(endedAt) {
		t.Errorf("reply %v stored after ended_at %v", reply, endedAt)
	}
}

// TestEndCancelsSlowReply: a reply still running when end stops waiting is
// cut, its client told, and recorded as failed with the tokens it spent,
// before the conversation ends.
func TestEndCancelsSlowReply(t *testing.T) {
	s, fake := startWithProvider(t)
	s.App.Conversations.EndWait = 200 * time.Millisecond
	fake.Reply = func(r llmtest.Request) string {
		if isExtraction(r) {
			return `{"summary":"Cut short.","status":"unresolved"}`
		}
		return "one two three four five six"
	}
	fake.Hold(2)
	t.Cleanup(fake.Release)
	asst := s.Do("POST", "/api/v1/assistants", s.Key, map[string]any{"name": "Remote", "model": "gpt-4o"}).Want(201).Str("id")
	conv := newConversation(t, s, s.Key, map[string]any{"assistant_id": asst})

	st := openStream(t, s, s.Key, conv, "count to six")
	st.next(false)
	end := s.Do("POST", "/api/v1/conversations/"+conv+"/end", s.Key, nil).Want(200)
	if end.Str("status") != "ended" {
		t.Errorf("end: %s", end.Body)
	}
	e := st.next(true)
	if e.name != "error" || e.data["code"] != "conversation_ended" {
		t.Fatalf("stream ended with %q %v, want an error event", e.name, e.data)
	}
	r := waitFor(t, s, conv, func(r *apptest.Response) bool { return r.Get("variables.summary") != nil })
	msgs := r.Get("messages").([]any)
	if len(msgs) != 3 {
		t.Fatalf("want the user message, the failure note and the extraction note: %s", r.Body)
	}
	note := msgs[1].(map[string]any)
	if note["role"] != "system" || note["status"] != "failed" || note["error"].(map[string]any)["code"] != "reply_interrupted" {
		t.Fatalf("failure note: %v", note)
	}
	u, _ := note["usage"].(map[string]any)
	if u == nil || u["input_tokens"].(float64) == 0 || u["output_tokens"].(float64) == 0 ||
		note["usage_estimated"] != true || note["cost"] == nil || note["model"] != "gpt-4o" {
		t.Errorf("the note does not carry the spent tokens and their cost: %v", note)
	}
	if parseTime(t, note["created_at"]).After(parseTime(t, r.Get("ended_at"))) {
		t.Errorf("note %v recorded after ended_at %v", note["created_at"], r.Get("ended_at"))
	}
	if r.Get("usage.input_tokens").(float64) < u["input_tokens"].(float64) || r.Str("total_cost") == "0.000000000" {
		t.Errorf("the spent tokens are not in the conversation's totals: %s", r.Body)
	}
}

// TestReplyAfterEndOnAnotherNode: node A ends a conversation while node B
// is still streaming its reply; the reply B stores afterwards is extracted
// again rather than silently missed.
func TestReplyAfterEndOnAnotherNode(t *testing.T) {
	fake := llmtest.New(t)
	fake.Reply = func(r llmtest.Request) string {
		if isExtraction(r) {
			if strings.Contains(r.Messages[1].Content, "assistant: Your refund is on its way") {
				return `{"summary":"Refund promised.","status":"resolved"}`
			}
			return `{"summary":"No answer seen.","status":"unresolved"}`
		}
		return "Your refund is on its way"
	}
	db := testDB(t)
	if db == "" {
		db = filepath.Join(t.TempDir(), "parley.db")
	}
	withFake := func(c *config.Config) { c.LLMBaseURL, c.LLMAPIKey = fake.BaseURL(), "sk-test" }
	a := apptest.Start(t, db, withFake)
	b := apptest.Start(t, db, withFake)
	fake.Hold(2)
	t.Cleanup(fake.Release)
	asst := a.Do("POST", "/api/v1/assistants", a.Key, map[string]any{"name": "Remote", "model": "gpt-4o"}).Want(201).Str("id")
	conv := newConversation(t, a, a.Key, map[string]any{"assistant_id": asst})

	st := openStream(t, b, b.Key, conv, "refund please")
	st.next(false)
	a.Do("POST", "/api/v1/conversations/"+conv+"/end", a.Key, nil).Want(200)
	waitFor(t, a, conv, func(r *apptest.Response) bool { return r.Str("variables.summary.value") == "No answer seen." })
	fake.Release()
	if done := st.next(true); done.name != "done" {
		t.Fatalf("stream ended with %q %v", done.name, done.data)
	}
	r := waitFor(t, a, conv, func(r *apptest.Response) bool { return r.Str("variables.summary.value") == "Refund promised." })
	if r.Str("status") != "ended" {
		t.Errorf("conversation: %s", r.Body)
	}
}
