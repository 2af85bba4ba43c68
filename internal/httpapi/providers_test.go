package httpapi_test

import (
	"encoding/json"
	"regexp"
	"strings"
	"testing"

	"github.com/parley-dev/parley/internal/apptest"
	"github.com/parley-dev/parley/internal/assistant"
	"github.com/parley-dev/parley/internal/config"
	"github.com/parley-dev/parley/internal/llm/llmtest"
	"github.com/parley-dev/parley/internal/money"
)

// providerUsage is what every provider fake reports for every call: 1200
// input tokens of which 1024 cached, 70 output tokens of which 40
// reasoning, and the provider's own total (1271, one more than the sum, to
// show it is kept rather than recomputed).
var providerUsage = llmtest.ProviderUsage{Prompt: 1200, Completion: 70, Cached: 1024, Reasoning: 40, Total: 1271}

// workspacePrice is the row a test creates for a model the built-in table
// does not price: $0.80 input, $0.20 cached input, $2.40 output per Mtok.
var workspacePrice = map[string]any{"input_per_mtok": "0.80", "cached_input_per_mtok": "0.20", "output_per_mtok": "2.40"}

// TestProvidersEndToEnd is docs/MODELS.md's table run through the whole
// App: for every provider, a real App whose OpenAI-compatible client is
// configured with the provider's documented base URL and reaches its fake
// answers a reply, a streamed reply and an extraction through the API, and
// stores each one's usage exactly as the provider reported it and its cost
// exact to the nano-dollar. Cached and reasoning tokens count only where
// the provider reports them; the rest the provider does not (Parley
// records 0, not a guess). Costs are worked out by hand from that usage
// and the price row that applies: the built-in one where the table has
// the fake's model, else a workspace row created here.
func TestProvidersEndToEnd(t *testing.T) {
	cases := []struct {
		spec llmtest.Spec
		// builtin: the model has a built-in price; otherwise the test
		// creates workspacePrice for it.
		builtin bool
		// cost of each call (reply, stream, extraction), in USD.
		cost string
	}{
		// gpt-4o-mini, built in at $0.15 / $0.075 cached / $0.60:
		// 176×0.15 + 1024×0.075 + 70×0.60 = 26.4 + 76.8 + 42 = 145.2 µ$.
		{llmtest.OpenAI, true, "0.000145200"},
		// gpt-4o, built in at $2.50 / $1.25 / $10:
		// 176×2.50 + 1024×1.25 + 70×10 = 440 + 1280 + 700 = 2420 µ$.
		{llmtest.AzureClassic, true, "0.002420000"},
		{llmtest.AzureV1, true, "0.002420000"},
		// claude-sonnet-4-5, built in at $3 / $0.30 / $15, no cached
		// tokens reported: 1200×3 + 70×15 = 3600 + 1050 = 4650 µ$.
		{llmtest.Anthropic, true, "0.004650000"},
		// gemini-2.5-flash, built in at $0.30 / $0.30 / $2.50, no cached
		// tokens reported: 1200×0.30 + 70×2.50 = 360 + 175 = 535 µ$.
		{llmtest.Gemini, true, "0.000535000"},
		// Workspace row, no cached tokens reported:
		// 1200×0.80 + 70×2.40 = 960 + 168 = 1128 µ$.
		{llmtest.Mistral, false, "0.001128000"},
		// deepseek-chat, built in at its last price ($0.14 / $0.0028 /
		// $0.28): 176×0.14 + 1024×0.0028 + 70×0.28 = 24.64 + 2.8672 +
		// 19.6 = 47.1072 µ$, rounded once to 47.107 µ$.
		{llmtest.DeepSeek, true, "0.000047107"},
		// Workspace row, cached tokens reported:
		// 176×0.80 + 1024×0.20 + 70×2.40 = 140.8 + 204.8 + 168 = 513.6 µ$.
		{llmtest.Groq, false, "0.000513600"},
		{llmtest.OpenRouter, false, "0.000513600"},
		{llmtest.Together, false, "0.001128000"},
		{llmtest.Ollama, false, "0.001128000"},
		{llmtest.VLLM, false, "0.000513600"},
		{llmtest.LlamaCpp, false, "0.000513600"},
		{llmtest.LMStudio, false, "0.001128000"},
	}
	if len(cases) != len(llmtest.Specs) {
		t.Fatalf("%d cases for %d providers in docs/MODELS.md", len(cases), len(llmtest.Specs))
	}
	for i, c := range cases {
		spec := c.spec
		if spec.Name != llmtest.Specs[i].Name {
			t.Fatalf("case %d is %s, want %s", i, spec.Name, llmtest.Specs[i].Name)
		}
		t.Run(spec.Name, func(t *testing.T) {
			p := llmtest.NewProvider(t, spec)
			u := providerUsage
			if spec.Cost {
				u.Cost = "0.00051" // OpenRouter's own charge, kept beside Parley's
			}
			p.Usage = &u
			s := apptest.StartWith(t, testDB(t), apptest.Hooks{LLMHTTPClient: p.Client()}, func(cfg *config.Config) {
				cfg.LLMBaseURL, cfg.LLMAPIKey = spec.BaseURL, p.Key
			})

			// The built-in table prices the model, or has no row for it.
			if builtin := assistant.FindPrice(spec.Model, spec.Model, s.App.Now(), nil) != nil; builtin != c.builtin {
				t.Fatalf("built-in price for %s: %v, want %v", spec.Model, builtin, c.builtin)
			}
			if !c.builtin {
				row := map[string]any{"model_pattern": regexp.QuoteMeta(spec.Model)}
				for k, v := range workspacePrice {
					row[k] = v
				}
				s.Do("POST", "/api/v1/model-prices", s.Key, row).Want(201)
			}
			asst := s.Do("POST", "/api/v1/assistants", s.Key, map[string]any{
				"name": spec.Name, "model": spec.Model, "system_prompt": "Be brief.", "max_output_tokens": 64,
				"skip_default_variables": true, "variables": []map[string]any{
					{"name": "plan", "type": "enum", "values": []string{"free", "pro"}, "description": "Chosen plan"},
					{"name": "amount", "type": "number", "description": "Monthly amount"},
					{"name": "renewal", "type": "date", "description": "Renewal date"},
					{"name": "newsletter", "type": "boolean", "description": "Wants the newsletter"},
				}}).Want(201).Str("id")
			conv := newConversation(t, s, s.Key, map[string]any{"assistant_id": asst})
			path := "/api/v1/conversations/" + conv

			// A reply, as JSON.
			r := s.Do("POST", path+"/messages", s.Key, map[string]any{"content": "When do you open on Monday?"}).Want(201)
			reply, _ := r.Get("reply").(map[string]any)
			checkCall(t, "reply", spec, reply, c.cost)
			if reply["content"] != "Echo: When do you open on Monday?" || reply["finish_reason"] != "stop" || reply["model"] != spec.Model {
				t.Errorf("reply: %s", r.Body)
			}

			// A streamed reply: the deltas add up to the stored reply.
			r = s.Do("POST", path+"/messages", s.Key, map[string]any{"content": "And on Sunday?"}, "Accept", "text/event-stream").Want(200)
			deltas, done := readSSE(t, r.Body)
			reply, _ = done["reply"].(map[string]any)
			checkCall(t, "stream", spec, reply, c.cost)
			if reply["content"] != "Echo: And on Sunday?" || strings.Join(deltas, "") != reply["content"] || len(deltas) < 3 {
				t.Errorf("stream: deltas %q, done %v", deltas, done)
			}

			// An extraction, in whatever structured mode the provider
			// honours, with its usage and cost on the transcript.
			p.Values = map[string]any{"plan": "Pro", "amount": "42.50", "renewal": "2026-03-01T00:00:00Z", "newsletter": "yes"}
			r = s.Do("POST", path+"/extract", s.Key, nil).Want(200)
			for name, want := range map[string]any{"plan": "pro", "amount": 42.5, "renewal": "2026-03-01", "newsletter": true} {
				if got := r.Get("variables." + name + ".value"); got != want || r.Str("variables."+name+".source") != "extracted" {
					t.Errorf("extracted %s = %#v, want %#v: %s", name, got, want, r.Body)
				}
			}
			g := s.Do("GET", path, s.Key, nil).Want(200)
			msgs, _ := g.Get("messages").([]any)
			if len(msgs) != 5 { // two questions, two replies, the extraction
				t.Fatalf("transcript: %s", g.Body)
			}
			note, _ := msgs[4].(map[string]any)
			if note["role"] != "system" || note["status"] == "failed" {
				t.Errorf("extraction note: %v", note)
			}
			checkCall(t, "extraction", spec, note, c.cost)

			// One request each: nothing was refused and retried.
			if n := len(p.Requests()); n != 3 {
				t.Errorf("%d requests to the provider, want 3", n)
			}

			// The conversation adds the three up exactly.
			want := wantUsage(spec)
			for field, per := range want {
				if got := g.Get("usage." + field); got != float64(3*per) {
					t.Errorf("conversation usage.%s = %v, want %d", field, got, 3*per)
				}
			}
			if g.Str("total_cost") != times3(t, c.cost) || g.Get("cost_complete") != true {
				t.Errorf("conversation total_cost %s (complete %v), want %s", g.Str("total_cost"), g.Get("cost_complete"), times3(t, c.cost))
			}
		})
	}
}

// wantUsage is the usage Parley must store for providerUsage from a
// provider: cached and reasoning tokens where the provider reports them,
// and the provider's own total.
func wantUsage(spec llmtest.Spec) map[string]int64 {
	u := map[string]int64{"input_tokens": providerUsage.Prompt, "output_tokens": providerUsage.Completion,
		"cached_input_tokens": 0, "reasoning_tokens": 0, "total_tokens": providerUsage.Total}
	if spec.Usage != llmtest.UsagePlain {
		u["cached_input_tokens"] = providerUsage.Cached
	}
	if spec.Reasoning {
		u["reasoning_tokens"] = providerUsage.Reasoning
	}
	return u
}

// checkCall checks one stored model call: its usage exactly as the
// provider reported it (not estimated), its cost, and for OpenRouter the
// provider's own charge beside it.
func checkCall(t *testing.T, what string, spec llmtest.Spec, msg map[string]any, cost string) {
	t.Helper()
	if msg == nil {
		t.Fatalf("%s: no stored message", what)
	}
	usage, _ := msg["usage"].(map[string]any)
	for field, want := range wantUsage(spec) {
		if usage[field] != float64(want) {
			t.Errorf("%s: usage.%s = %v, want %d", what, field, usage[field], want)
		}
	}
	if msg["usage_estimated"] == true {
		t.Errorf("%s: usage estimated, but the provider reported it", what)
	}
	if msg["cost"] != cost {
		t.Errorf("%s: cost %v, want %s", what, msg["cost"], cost)
	}
	if spec.Cost && msg["provider_cost"] != "0.000510000" {
		t.Errorf("%s: provider_cost %v, want 0.000510000", what, msg["provider_cost"])
	}
}

// readSSE returns a stream's deltas and its done event's data.
func readSSE(t *testing.T, body []byte) (deltas []string, done map[string]any) {
	t.Helper()
	event := ""
	for _, line := range strings.Split(string(body), "\n") {
		if e, ok := strings.CutPrefix(line, "event: "); ok {
			event = e
			continue
		}
		d, ok := strings.CutPrefix(line, "data: ")
		if !ok {
			continue
		}
		var v map[string]any
		if err := json.Unmarshal([]byte(d), &v); err != nil {
			t.Fatalf("event %s: %v", event, err)
		}
		switch event {
		case "delta":
			s, _ := v["content"].(string)
			deltas = append(deltas, s)
		case "done":
			done = v
		case "error":
			t.Fatalf("stream error: %v", v)
		}
	}
	if done == nil {
		t.Fatalf("no done event in %s", body)
	}
	return deltas, done
}

// times3 is three times a USD amount, exactly.
func times3(t *testing.T, usd string) string {
	t.Helper()
	m, err := money.Parse(usd)
	if err != nil {
		t.Fatal(err)
	}
	return (3 * m).String()
}
