package httpapi_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/parley-dev/parley/internal/llm/llmtest"
)

// TestReplyOutcomesAreStored checks that what a provider reports beyond
// input and output tokens — reasoning tokens, why the reply ended, the cost
// it charged itself — is stored and read back, on the message and in the
// conversation's totals.
func TestReplyOutcomesAreStored(t *testing.T) {
	s, fake := startWithProvider(t)
	fake.Usage = func(llmtest.Request, string) llmtest.Usage {
		return llmtest.Usage{Prompt: 100, Completion: 60, Reasoning: 40, Cost: "0.0001234"}
	}
	fake.FinishReason = "length"
	asst := s.Do("POST", "/api/v1/assistants", s.Key, map[string]any{"name": "Remote", "model": "gpt-4o-mini"}).Want(201).Str("id")
	conv := newConversation(t, s, s.Key, map[string]any{"assistant_id": asst})
	posted := s.Do("POST", "/api/v1/conversations/"+conv+"/messages", s.Key, map[string]any{"content": "hello"}).Want(201)
	if posted.Get("reply.usage.reasoning_tokens") != float64(40) || posted.Str("reply.finish_reason") != "length" ||
		posted.Str("reply.provider_cost") != "0.000123400" {
		t.Errorf("posted reply: %s", posted.Body)
	}
	got := s.Do("GET", "/api/v1/conversations/"+conv+"/messages", s.Key, nil).Want(200)
	msgs := got.Get("data").([]any)
	reply := msgs[len(msgs)-1].(map[string]any)
	usage, _ := reply["usage"].(map[string]any)
	if usage["reasoning_tokens"] != float64(40) || reply["finish_reason"] != "length" || reply["provider_cost"] != "0.000123400" {
		t.Errorf("stored reply: %v", reply)
	}
	c := s.Do("GET", "/api/v1/conversations/"+conv, s.Key, nil).Want(200)
	if c.Get("usage.reasoning_tokens") != float64(40) || c.Get("usage.output_tokens") != float64(60) {
		t.Errorf("conversation usage: %s", c.Body)
	}
}

// TestProviderFailuresAreExplained checks that each kind of provider
// failure reaches the client with its own code, that "try again" is only
// said where it can help, and that a prompt too long for the model is
// retried once with a shorter history.
func TestProviderFailuresAreExplained(t *testing.T) {
	s, fake := startWithProvider(t)
	asst := s.Do("POST", "/api/v1/assistants", s.Key, map[string]any{"name": "Remote", "model": "gpt-4o-mini"}).Want(201).Str("id")
	conv := newConversation(t, s, s.Key, map[string]any{"assistant_id": asst})
	post := func(content string) *struct {
		status int
		code   string
		detail string
	} {
		r := s.Do("POST", "/api/v1/conversations/"+conv+"/messages", s.Key, map[string]any{"content": content})
		return &struct {
			status int
			code   string
			detail string
		}{r.Status, r.Str("code"), r.Str("detail")}
	}
	for i := 0; i < 3; i++ {
		if r := post("earlier question"); r.status != http.StatusCreated {
			t.Fatalf("warm-up post: %+v", r)
		}
	}
	cases := []struct {
		name    string
		fail    llmtest.Failure
		status  int
		code    string
		tryLast bool // whether the detail may say "try again"
	}{
		{"quota", llmtest.Failure{Status: 402, Message: "Insufficient credits"}, 503, "provider_quota", false},
		{"key", llmtest.Failure{Status: 401, Message: "Incorrect API key provided", Code: "invalid_api_key"}, 503, "provider_auth", false},
		{"bad request", llmtest.Failure{Status: 400, Message: "Invalid value for 'messages'"}, 502, "model_failed", false},
	}
	for _, tc := range cases {
		fake.FailNext(tc.fail)
		r := post("a question for " + tc.name)
		if r.status != tc.status || r.code != tc.code {
			t.Errorf("%s: %+v, want %d %s", tc.name, r, tc.status, tc.code)
		}
		if strings.Contains(r.detail, "try again") != tc.tryLast {
			t.Errorf("%s: detail %q", tc.name, r.detail)
		}
	}

	// Too long once: retried with a shorter history, and answered.
	before := len(fake.Requests())
	ctxErr := llmtest.Failure{Status: 400, Code: "context_length_exceeded",
		Message: "This model's maximum context length is 8192 tokens. However, your messages resulted in 9000 tokens."}
	fake.FailNext(ctxErr)
	if r := post("one more question"); r.status != http.StatusCreated {
		t.Fatalf("after one context error: %+v", r)
	}
	reqs := fake.Requests()[before:]
	if len(reqs) != 2 || len(reqs[1].Messages) >= len(reqs[0].Messages) || reqs[1].Messages[len(reqs[1].Messages)-1].Content != "one more question" {
		t.Errorf("retry after a context error: %d requests, %v", len(reqs), reqs)
	}
	// Too long even then: a 422 that does not promise anything.
	fake.FailNext(ctxErr, ctxErr)
	if r := post("and another"); r.status != 422 || r.code != "context_length_exceeded" || strings.Contains(r.detail, "try again") {
		t.Errorf("persistent context error: %+v", r)
	}

	// A reply the content filter withheld is not stored as an answer,
	// but the tokens the provider billed are recorded on the failure note.
	fake.FinishReason = "content_filter"
	fake.Reply = func(llmtest.Request) string { return "" }
	if r := post("something filtered"); r.status != 422 || r.code != "content_filtered" {
		t.Errorf("content filter: %+v", r)
	}
	got := s.Do("GET", "/api/v1/conversations/"+conv+"/messages?per_page=100", s.Key, nil).Want(200)
	msgs := got.Get("data").([]any)
	note := msgs[len(msgs)-1].(map[string]any)
	if note["role"] != "system" || note["finish_reason"] != "content_filter" || note["usage"] == nil || note["usage_estimated"] == true {
		t.Errorf("content-filter note: %v", note)
	}
}

// TestModelTextWithNULIsStored checks that a reply carrying a NUL (which a
// model may produce and PostgreSQL cannot store) is stored without it on
// both stores, instead of failing.
func TestModelTextWithNULIsStored(t *testing.T) {
	s, fake := startWithProvider(t)
	fake.Reply = func(llmtest.Request) string { return "bad\x00byte" }
	asst := s.Do("POST", "/api/v1/assistants", s.Key, map[string]any{"name": "Remote", "model": "gpt-4o-mini"}).Want(201).Str("id")
	conv := newConversation(t, s, s.Key, map[string]any{"assistant_id": asst})
	r := s.Do("POST", "/api/v1/conversations/"+conv+"/messages", s.Key, map[string]any{"content": "hello"}).Want(201)
	if r.Str("reply.content") != "badbyte" {
		t.Errorf("reply: %s", r.Body)
	}
}
