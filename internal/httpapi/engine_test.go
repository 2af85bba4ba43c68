package httpapi_test

import (
	"bufio"
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/parley-dev/parley/internal/apptest"
	"github.com/parley-dev/parley/internal/config"
	"github.com/parley-dev/parley/internal/llm/llmtest"
)

func startWithProvider(t *testing.T) (*apptest.Server, *llmtest.Server) {
	fake := llmtest.New(t)
	s := apptest.Start(t, testDB(t), func(c *config.Config) {
		c.LLMBaseURL, c.LLMAPIKey = fake.BaseURL(), "sk-test"
	})
	return s, fake
}

func TestProviderReplyIsPricedExactly(t *testing.T) {
	s, fake := startWithProvider(t)
	fake.Usage = func(llmtest.Request, string) llmtest.Usage {
		return llmtest.Usage{Prompt: 1234, Completion: 321, Cached: 1000}
	}
	fake.Model = "gpt-4o-mini-2024-07-18"
	asst := s.Do("POST", "/api/v1/assistants", s.Key, map[string]any{
		"name": "Remote", "model": "gpt-4o-mini", "system_prompt": "You help {{name}}.", "max_output_tokens": 300,
	}).Want(201).Str("id")
	conv := newConversation(t, s, s.Key, map[string]any{"assistant_id": asst, "variables": map[string]any{"name": "Ada"}})
	r := s.Do("POST", "/api/v1/conversations/"+conv+"/messages", s.Key, map[string]any{"content": "hello there"}).Want(201)
	// gpt-4o-mini: input $0.15, cached $0.075, output $0.60 per Mtok.
	// 234*0.15 + 1000*0.075 + 321*0.60 = 35.1 + 75 + 192.6 = 302.7 USD/M → $0.0003027.
	if r.Str("reply.cost") != "0.000302700" || r.Str("reply.model") != "gpt-4o-mini-2024-07-18" {
		t.Errorf("reply: %s", r.Body)
	}
	if r.Get("reply.usage.cached_input_tokens") != float64(1000) || r.Get("reply.usage.total_tokens") != float64(1555) {
		t.Errorf("usage: %s", r.Body)
	}
	req := fake.Requests()[0]
	if req.Messages[0].Content != "You help Ada." || req.MaxCompletionTokens != 300 || req.Model != "gpt-4o-mini" {
		t.Errorf("provider saw %+v", req)
	}
	g := s.Do("GET", "/api/v1/conversations/"+conv, s.Key, nil).Want(200)
	if g.Str("total_cost") != "0.000302700" || g.Get("cost_complete") != true || g.Get("usage.input_tokens") != float64(1234) {
		t.Errorf("conversation: %s", g.Body)
	}
}

func TestUnpricedModel(t *testing.T) {
	s, _ := startWithProvider(t)
	asst := s.Do("POST", "/api/v1/assistants", s.Key, map[string]any{"name": "Local", "model": "llama3.1:8b"}).Want(201).Str("id")
	conv := newConversation(t, s, s.Key, map[string]any{"assistant_id": asst})
	r := s.Do("POST", "/api/v1/conversations/"+conv+"/messages", s.Key, map[string]any{"content": "hi"}).Want(201)
	if !strings.Contains(string(r.Body), `"cost":null`) {
		t.Errorf("unpriced reply: %s", r.Body)
	}
	g := s.Do("GET", "/api/v1/conversations/"+conv, s.Key, nil).Want(200)
	if g.Get("cost_complete") != false || g.Str("total_cost") != "0.000000000" {
		t.Errorf("conversation: %s", g.Body)
	}
	// A workspace price makes later replies priced (earlier ones stay unknown).
	s.Do("POST", "/api/v1/model-prices", s.Key, map[string]any{
		"model_pattern": `llama3\.1:.*`, "input_per_mtok": "1", "output_per_mtok": "2"}).Want(201)
	r = s.Do("POST", "/api/v1/conversations/"+conv+"/messages", s.Key, map[string]any{"content": "again"}).Want(201)
	if r.Str("reply.cost") == "" {
		t.Errorf("priced reply: %s", r.Body)
	}
	m := s.Do("GET", "/metrics", "", nil)
	if !strings.Contains(string(m.Body), `parley_llm_unpriced_replies_total{model="llama3.1:8b"} 1`) {
		t.Errorf("unpriced metric missing")
	}
}

func TestProviderFailureLosesNothing(t *testing.T) {
	s, fake := startWithProvider(t)
	asst := s.Do("POST", "/api/v1/assistants", s.Key, map[string]any{"name": "Remote", "model": "gpt-4o"}).Want(201).Str("id")
	conv := newConversation(t, s, s.Key, map[string]any{"assistant_id": asst})
	fake.FailNext(llmtest.Failure{Status: 500}, llmtest.Failure{Status: 500}, llmtest.Failure{Status: 500})
	r := s.Do("POST", "/api/v1/conversations/"+conv+"/messages", s.Key, map[string]any{"content": "are you there?"})
	r.Want(502)
	if r.Str("code") != "model_failed" {
		t.Errorf("problem: %s", r.Body)
	}
	g := s.Do("GET", "/api/v1/conversations/"+conv, s.Key, nil).Want(200)
	msgs := g.Get("messages").([]any)
	if len(msgs) != 2 {
		t.Fatalf("messages after failure: %s", g.Body)
	}
	user, note := msgs[0].(map[string]any), msgs[1].(map[string]any)
	if user["content"] != "are you there?" || note["role"] != "system" || note["status"] != "failed" ||
		note["error"].(map[string]any)["code"] != "model_failed" {
		t.Errorf("stored: %s", g.Body)
	}
	// Retrying answers the same user message.
	rr := s.Do("POST", "/api/v1/conversations/"+conv+"/reply", s.Key, nil).Want(200)
	if rr.Str("reply.content") != "Echo: are you there?" {
		t.Errorf("retry: %s", rr.Body)
	}
	s.Do("POST", "/api/v1/conversations/"+conv+"/reply", s.Key, nil).Want(409)

	// A refused key is a configuration problem: 503.
	fake.FailNext(llmtest.Failure{Status: 401})
	r = s.Do("POST", "/api/v1/conversations/"+conv+"/messages", s.Key, map[string]any{"content": "x"}).Want(503)
	if r.Str("code") != "provider_auth" || !strings.Contains(r.Str("detail"), "API key") {
		t.Errorf("401: %s", r.Body)
	}
}

func TestNoProviderConfigured(t *testing.T) {
	s := apptest.Start(t, testDB(t))
	asst := s.Do("POST", "/api/v1/assistants", s.Key, map[string]any{"name": "Remote", "model": "gpt-4o"}).Want(201).Str("id")
	conv := newConversation(t, s, s.Key, map[string]any{"assistant_id": asst})
	r := s.Do("POST", "/api/v1/conversations/"+conv+"/messages", s.Key, map[string]any{"content": "hi"}).Want(503)
	if r.Str("code") != "model_unavailable" || !strings.Contains(r.Str("detail"), "PARLEY_LLM_BASE_URL") {
		t.Errorf("problem: %s", r.Body)
	}
}

func TestProviderStreaming(t *testing.T) {
	s, fake := startWithProvider(t)
	fake.Reply = func(llmtest.Request) string { return "one two three four" }
	asst := s.Do("POST", "/api/v1/assistants", s.Key, map[string]any{"name": "Remote", "model": "gpt-4o"}).Want(201).Str("id")
	conv := newConversation(t, s, s.Key, map[string]any{"assistant_id": asst})
	req, _ := http.NewRequest("POST", s.URL+"/api/v1/conversations/"+conv+"/messages", strings.NewReader(`{"content":"count"}`))
	req.Header.Set("Authorization", "Bearer "+s.Key)
	req.Header.Set("Accept", "text/event-stream")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var deltas []string
	var done map[string]any
	event := ""
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		line := sc.Text()
		if e, ok := strings.CutPrefix(line, "event: "); ok {
			event = e
		} else if d, ok := strings.CutPrefix(line, "data: "); ok {
			var v map[string]any
			_ = json.Unmarshal([]byte(d), &v)
			switch event {
			case "delta":
				deltas = append(deltas, v["content"].(string))
			case "done":
				done = v
			}
		}
	}
	reply, _ := done["reply"].(map[string]any)
	if strings.Join(deltas, "") != "one two three four" || len(deltas) != 4 || reply == nil || reply["content"] != "one two three four" {
		t.Fatalf("deltas %q done %v", deltas, done)
	}
	if u := reply["usage"].(map[string]any); u["input_tokens"].(float64) == 0 || reply["cost"] == nil {
		t.Errorf("streamed usage %v cost %v", u, reply["cost"])
	}
}

func TestStreamDisconnectKeepsReply(t *testing.T) {
	s, fake := startWithProvider(t)
	fake.Reply = func(llmtest.Request) string { return "a b c d e f g h i j" }
	fake.ChunkDelay = 30 * time.Millisecond
	asst := s.Do("POST", "/api/v1/assistants", s.Key, map[string]any{"name": "Remote", "model": "gpt-4o"}).Want(201).Str("id")
	conv := newConversation(t, s, s.Key, map[string]any{"assistant_id": asst})
	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, "POST", s.URL+"/api/v1/conversations/"+conv+"/messages", strings.NewReader(`{"content":"go"}`))
	req.Header.Set("Authorization", "Bearer "+s.Key)
	req.Header.Set("Accept", "text/event-stream")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	// Read the first delta, then hang up.
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() && !strings.HasPrefix(sc.Text(), "data: ") {
	}
	cancel()
	resp.Body.Close()
	deadline := time.Now().Add(10 * time.Second)
	for {
		g := s.Do("GET", "/api/v1/conversations/"+conv, s.Key, nil).Want(200)
		if g.Get("message_count") == float64(2) {
			msgs := g.Get("messages").([]any)
			if last := msgs[1].(map[string]any); last["content"] != "a b c d e f g h i j" {
				t.Errorf("stored reply %v", last)
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("reply not stored after disconnect: %s", g.Body)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
