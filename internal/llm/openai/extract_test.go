package openai

import (
	"context"
	"errors"
	"testing"

	"github.com/parley-dev/parley/internal/llm"
	"github.com/parley-dev/parley/internal/llm/llmtest"
)

func extractReq(model string) llm.ExtractRequest {
	return llm.ExtractRequest{Model: model, Fields: fields(),
		Transcript: []llm.Message{{Role: llm.RoleUser, Content: "Pro plan please, 42.50, from 2026-03-01."}}}
}

// A server that refuses json_schema is asked again in JSON mode, and the
// client remembers: the next extraction starts there.
func TestExtractFallsBackAndRemembers(t *testing.T) {
	spec := llmtest.DeepSeek // json_object only, at a host Parley does not know
	spec.Name, spec.BaseURL = "json_object only", "https://llm.internal.example/v1"
	p := llmtest.NewProvider(t, spec)
	p.Values = map[string]any{"plan": "pro", "amount": 42.5}
	p.Usage = &llmtest.ProviderUsage{Prompt: 300, Completion: 20, Total: 320}
	c := client(p, Options{})
	ex, err := c.Extract(context.Background(), extractReq("m"))
	if err != nil || ex.Values["plan"] != "pro" || ex.Attempts != 2 {
		t.Fatalf("extract: %v %+v", err, ex)
	}
	// The refused attempt was not billed; the answered one is counted.
	if ex.Usage != (llm.Usage{InputTokens: 300, OutputTokens: 20, TotalTokens: 320}) {
		t.Errorf("usage %+v", ex.Usage)
	}
	reqs := p.Requests()
	if f := reqs[1].Body["response_format"].(map[string]any)["type"]; f != "json_object" {
		t.Errorf("second attempt format %v", f)
	}
	if _, err := c.Extract(context.Background(), extractReq("m")); err != nil || len(p.Requests()) != 3 {
		t.Errorf("second extraction: %v, %d requests (want it to start in JSON mode)", err, len(p.Requests()))
	}
}

// Every answered attempt is billed by the provider, so every one is
// counted, also when the extraction fails in the end.
func TestExtractCountsEveryAttempt(t *testing.T) {
	spec := llmtest.Together
	spec.Name, spec.BaseURL = "Prose", "https://llm.internal.example/v1"
	p := llmtest.NewProvider(t, spec)
	p.Reply = "I could not find any of those values."
	p.Usage = &llmtest.ProviderUsage{Prompt: 100, Completion: 8}
	ex, err := client(p, Options{}).Extract(context.Background(), extractReq("m"))
	var pe *llm.ProviderError
	if !errors.As(err, &pe) || pe.Status != 502 || ex.Attempts != 3 || len(p.Requests()) != 3 {
		t.Fatalf("err %v, %d attempts", err, ex.Attempts)
	}
	if ex.Usage != (llm.Usage{InputTokens: 300, OutputTokens: 24, TotalTokens: 324}) {
		t.Errorf("usage of three attempts: %+v", ex.Usage)
	}
	if _, ok := p.Requests()[2].Body["response_format"]; ok {
		t.Errorf("last attempt should ask in the prompt only")
	}
}

// A refusal that will not change is not sent again.
func TestExtractDoesNotRetryPermanentErrors(t *testing.T) {
	for _, status := range []int{401, 402} {
		p := llmtest.NewProvider(t, llmtest.OpenRouter)
		p.FailNext(status)
		ex, err := client(p, Options{}).Extract(context.Background(), extractReq(p.Spec.Model))
		if err == nil || len(p.Requests()) != 1 || ex.Attempts != 1 || !ex.Usage.IsZero() {
			t.Errorf("%d: %v after %d requests", status, err, len(p.Requests()))
		}
	}
}

// Anthropic's endpoint ignores response_format: the prompt asks for JSON
// and the fenced answer is read.
func TestExtractPromptOnly(t *testing.T) {
	p := llmtest.NewProvider(t, llmtest.Anthropic)
	p.Values = map[string]any{"plan": "Pro"}
	ex, err := client(p, Options{}).Extract(context.Background(), extractReq("claude-sonnet-4-5"))
	if err != nil || ex.Values["plan"] != "pro" || p.Requests()[0].Has("response_format") {
		t.Errorf("%v %+v %v", err, ex.Values, p.Requests()[0].Body)
	}
}
