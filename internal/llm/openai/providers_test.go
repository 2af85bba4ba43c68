package openai

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/parley-dev/parley/internal/llm"
	"github.com/parley-dev/parley/internal/llm/llmtest"
)

// client returns a client for a provider fake at its documented base URL,
// with the profile detected from that URL (no Compat forced).
func client(p *llmtest.Provider, o Options) *Client {
	o.HTTPClient = p.Client()
	return New(p.BaseURL(), "sk-test", o)
}

func ask(model string, maxTokens int) llm.Request {
	temp := 0.7 // the assistant default
	return llm.Request{Model: model, System: "Be brief.", Knowledge: "We open at nine.", Temperature: &temp,
		MaxOutputTokens: maxTokens, Messages: []llm.Message{{Role: llm.RoleUser, Content: "When do you open on Monday?"}}}
}

func stream(t *testing.T, c *Client, req llm.Request) (llm.Response, []string, error) {
	t.Helper()
	var deltas []string
	resp, err := c.Generate(context.Background(), req, func(s string) error { deltas = append(deltas, s); return nil })
	return resp, deltas, err
}

// wantUsage is what a provider's fake reports, as Parley must record it:
// cached and reasoning tokens only where the provider reports them.
func wantUsage(s llmtest.Spec, u llmtest.ProviderUsage) llm.Usage {
	w := llm.Usage{InputTokens: u.Prompt, OutputTokens: u.Completion, TotalTokens: u.Total}
	if s.Usage != llmtest.UsagePlain {
		w.CachedInputTokens = u.Cached
	}
	if s.Reasoning {
		w.ReasoningTokens = u.Reasoning
	}
	return w
}

// TestProviders is the evidence behind docs/MODELS.md: every provider's
// fake, reached at its documented base URL, answers a reply, a stream,
// usage, cached and reasoning tokens, and an extraction, in one request
// each (nothing refused and retried), with the assistant's default
// temperature and an output limit the server enforces.
func TestProviders(t *testing.T) {
	for _, spec := range llmtest.Specs {
		t.Run(spec.Name, func(t *testing.T) {
			p := llmtest.NewProvider(t, spec)
			c := client(p, Options{})
			u := llmtest.ProviderUsage{Prompt: 1200, Completion: 70, Cached: 1024, Reasoning: 40, Total: 1271}
			p.Usage = &u

			// replies
			resp, err := c.Generate(context.Background(), ask(spec.Model, 64), nil)
			if err != nil {
				t.Fatalf("reply: %v", err)
			}
			if resp.Content != "Echo: When do you open on Monday?" || resp.FinishReason != llm.FinishStop || resp.UsageEstimated {
				t.Errorf("reply %+v", resp)
			}
			if got := len(p.Requests()); got != 1 {
				t.Errorf("reply took %d requests, want 1", got)
			}
			// usage, cached, reasoning, and the provider's own total
			if want := wantUsage(spec, u); resp.Usage != want {
				t.Errorf("usage %+v, want %+v", resp.Usage, want)
			}

			// the output limit is one the server reads
			resp, err = c.Generate(context.Background(), ask(spec.Model, 3), nil)
			if err != nil || resp.Content != "Echo: When do " || resp.FinishReason != llm.FinishLength {
				t.Errorf("limited reply %q %q %v", resp.Content, resp.FinishReason, err)
			}

			// streaming, with exact usage
			resp, deltas, err := stream(t, c, ask(spec.Model, 64))
			if err != nil {
				t.Fatalf("stream: %v", err)
			}
			if strings.Join(deltas, "") != resp.Content || len(deltas) < 3 || resp.Content != "Echo: When do you open on Monday?" {
				t.Errorf("stream deltas %q content %q", deltas, resp.Content)
			}
			if want := wantUsage(spec, u); resp.Usage != want || resp.UsageEstimated {
				t.Errorf("stream usage %+v (estimated %v), want %+v", resp.Usage, resp.UsageEstimated, want)
			}
			if got := len(p.Requests()); got != 3 {
				t.Errorf("%d requests after three calls", got)
			}

			// extraction, whatever structured output the server allows
			p.Values = map[string]any{"plan": "Pro", "amount": "42.50", "renewal": "2026-03-01T00:00:00Z", "newsletter": "yes"}
			ex, err := c.Extract(context.Background(), llm.ExtractRequest{Model: spec.Model, Fields: fields(),
				Transcript: []llm.Message{{Role: llm.RoleUser, Content: "I'm on Pro, 42.50 a month, renewing March 1st. Newsletter yes."}}})
			if err != nil {
				t.Fatalf("extract: %v", err)
			}
			want := map[string]any{"plan": "pro", "amount": 42.5, "renewal": "2026-03-01", "newsletter": true}
			for k, v := range want {
				if ex.Values[k] != v {
					t.Errorf("extracted %s = %#v, want %#v", k, ex.Values[k], v)
				}
			}
			if ex.Attempts != 1 || ex.Usage != wantUsage(spec, u) {
				t.Errorf("extraction attempts %d usage %+v", ex.Attempts, ex.Usage)
			}

			// a provider error: its own message, classified, not retried
			p.FailNext(401)
			_, err = c.Generate(context.Background(), ask(spec.Model, 64), nil)
			var pe *llm.ProviderError
			if !errors.As(err, &pe) || pe.Status != 401 || pe.Code != llm.CodeProviderAuth || pe.Message != "Incorrect API key provided." {
				t.Errorf("401: %#v", err)
			}
			if got := len(p.Requests()); got != 5 {
				t.Errorf("%d requests: a 401 was retried", got)
			}
		})
	}
}

func fields() []llm.Field {
	return []llm.Field{
		{Name: "plan", Type: llm.FieldEnum, Values: []string{"free", "pro"}},
		{Name: "amount", Type: llm.FieldNumber},
		{Name: "renewal", Type: llm.FieldDate},
		{Name: "newsletter", Type: llm.FieldBoolean},
	}
}
