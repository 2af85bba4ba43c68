package httpapi_test

import (
	"strings"
	"testing"
	"time"

	"github.com/parley-dev/parley/internal/apptest"
	"github.com/parley-dev/parley/internal/llm/llmtest"
)

// waitFor polls a conversation until cond holds or 10 s pass.
func waitFor(t *testing.T, s *apptest.Server, id string, cond func(*apptest.Response) bool) *apptest.Response {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		r := s.Do("GET", "/api/v1/conversations/"+id, s.Key, nil).Want(200)
		if cond(r) {
			return r
		}
		if time.Now().After(deadline) {
			t.Fatalf("condition not met: %s", r.Body)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestEndExtractsOffline(t *testing.T) {
	s := apptest.Start(t, testDB(t))
	id := newConversation(t, s, s.Key, nil)
	for _, m := range []string{"Hi, my email is ada@example.com", "Yes, I want a subscription please", "thanks, that was helpful"} {
		s.Do("POST", "/api/v1/conversations/"+id+"/messages", s.Key, map[string]any{"content": m}).Want(201)
	}
	before := s.Do("GET", "/api/v1/conversations/"+id, s.Key, nil).Want(200)
	s.Do("POST", "/api/v1/conversations/"+id+"/end", s.Key, nil).Want(200)
	r := waitFor(t, s, id, func(r *apptest.Response) bool { return r.Get("variables.summary") != nil })
	if r.Get("variables.email.value") != "ada@example.com" || r.Str("variables.email.source") != "extracted" {
		t.Errorf("email: %s", r.Body)
	}
	if r.Get("variables.wants_subscription.value") != true || r.Str("variables.wants_subscription.type") != "boolean" {
		t.Errorf("boolean: %s", r.Body)
	}
	if r.Str("variables.status.value") != "resolved" || !strings.Contains(r.Str("variables.summary.value"), "ada@example.com") {
		t.Errorf("defaults: %s", r.Body)
	}
	// The extraction call is on the transcript, and its tokens in the totals.
	msgs := r.Get("messages").([]any)
	note := msgs[len(msgs)-1].(map[string]any)
	if note["role"] != "system" || !strings.HasPrefix(note["content"].(string), "Extracted 4 variable(s)") || note["usage"] == nil {
		t.Errorf("note: %v", note)
	}
	added := note["usage"].(map[string]any)["total_tokens"].(float64)
	if r.Get("usage.total_tokens").(float64) != before.Get("usage.total_tokens").(float64)+added || added == 0 {
		t.Errorf("usage %v + %v != %v", before.Get("usage.total_tokens"), added, r.Get("usage.total_tokens"))
	}
}

func TestExtractWithProvider(t *testing.T) {
	s, fake := startWithProvider(t)
	fake.Reply = func(r llmtest.Request) string {
		if strings.HasPrefix(r.Messages[0].Content, "Extract the requested values") {
			return `{"plan":"pro","seats":"three","renewal":"2027-01-31","summary":"Wants pro.","status":"unsure"}`
		}
		return "Sure."
	}
	fake.Usage = func(llmtest.Request, string) llmtest.Usage { return llmtest.Usage{Prompt: 1000, Completion: 100} }
	asst := s.Do("POST", "/api/v1/assistants", s.Key, map[string]any{
		"name": "Sales", "model": "gpt-4o", "variables": []map[string]any{
			{"name": "plan", "type": "enum", "values": []string{"free", "pro"}, "description": "Chosen plan"},
			{"name": "seats", "type": "number", "description": "How many seats"},
			{"name": "renewal", "type": "date", "description": "Renewal date"},
		}}).Want(201).Str("id")
	id := newConversation(t, s, s.Key, map[string]any{"assistant_id": asst})
	s.Do("POST", "/api/v1/conversations/"+id+"/messages", s.Key, map[string]any{"content": "pro for three people"}).Want(201)
	r := s.Do("POST", "/api/v1/conversations/"+id+"/extract", s.Key, nil).Want(200)
	if r.Str("variables.plan.value") != "pro" || r.Str("variables.renewal.value") != "2027-01-31" || r.Str("variables.summary.value") != "Wants pro." {
		t.Errorf("valid values: %s", r.Body)
	}
	// Wrong types are dropped, never stored.
	if r.Get("variables.seats") != nil || r.Get("variables.status") != nil {
		t.Errorf("invalid values stored: %s", r.Body)
	}
	// gpt-4o: two calls of 1000 in / 100 out at $2.50 / $10 per Mtok = $0.0035 each.
	if r.Str("total_cost") != "0.007000000" || r.Get("usage.total_tokens") != float64(2200) {
		t.Errorf("cost: %s", r.Body)
	}
	last := fake.Requests()[len(fake.Requests())-1]
	if !strings.Contains(last.Messages[1].Content, "user: pro for three people") {
		t.Errorf("transcript sent: %+v", last.Messages)
	}
	rf := last.ResponseFormat
	if rf == nil || rf.Type != "json_schema" || !rf.JSONSchema.Strict {
		t.Fatalf("response_format: %+v", rf)
	}
	props := rf.JSONSchema.Schema["properties"].(map[string]any)
	if len(props) != 5 || props["plan"].(map[string]any)["enum"] == nil {
		t.Errorf("schema properties: %v", props)
	}
}

// TestFailedExtractionIsRecorded checks that an extraction the provider
// answered (and billed) but that gave no values still records its tokens
// and cost on the conversation, as a failed note.
func TestFailedExtractionIsRecorded(t *testing.T) {
	s, fake := startWithProvider(t)
	fake.Reply = func(r llmtest.Request) string {
		if strings.HasPrefix(r.Messages[0].Content, "Extract the requested values") {
			return "I would rather not say."
		}
		return "Sure."
	}
	fake.Usage = func(llmtest.Request, string) llmtest.Usage { return llmtest.Usage{Prompt: 1000, Completion: 100} }
	asst := s.Do("POST", "/api/v1/assistants", s.Key, map[string]any{"name": "Sales", "model": "gpt-4o"}).Want(201).Str("id")
	id := newConversation(t, s, s.Key, map[string]any{"assistant_id": asst})
	s.Do("POST", "/api/v1/conversations/"+id+"/messages", s.Key, map[string]any{"content": "pro for three people"}).Want(201)
	before := len(fake.Requests())
	r := s.Do("POST", "/api/v1/conversations/"+id+"/extract", s.Key, nil)
	if r.Status != 502 || r.Str("code") != "model_failed" {
		t.Fatalf("extract: %d %s", r.Status, r.Body)
	}
	attempts := int64(len(fake.Requests()) - before)
	if attempts < 1 || attempts > 3 {
		t.Errorf("%d extraction requests", attempts)
	}
	c := s.Do("GET", "/api/v1/conversations/"+id, s.Key, nil).Want(200)
	// The reply (1100 tokens) plus every billed extraction attempt.
	if want := float64(1100 * (1 + attempts)); c.Get("usage.total_tokens") != want {
		t.Errorf("total_tokens %v, want %v: %s", c.Get("usage.total_tokens"), want, c.Body)
	}
	msgs := c.Get("messages").([]any)
	note := msgs[len(msgs)-1].(map[string]any)
	if note["status"] != "failed" || !strings.HasPrefix(note["content"].(string), "Variable extraction failed") || note["cost"] == nil {
		t.Errorf("note: %v", note)
	}
}
