package openai

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/parley-dev/parley/internal/llm"
	"github.com/parley-dev/parley/internal/llm/llmtest"
	"github.com/parley-dev/parley/internal/llm/tokens"
)

func request() llm.Request {
	temp := 0.2
	return llm.Request{Model: "gpt-4o-mini", System: "Be brief.", Knowledge: "We open at nine.", Temperature: &temp,
		MaxOutputTokens: 64, Messages: []llm.Message{
			{Role: llm.RoleUser, Content: "hi"}, {Role: llm.RoleAssistant, Content: "Hello!"},
			{Role: llm.RoleUser, Content: "When do you open?"}}}
}

func TestGenerate(t *testing.T) {
	fake := llmtest.New(t)
	fake.Usage = func(llmtest.Request, string) llmtest.Usage {
		return llmtest.Usage{Prompt: 1200, Completion: 7, Cached: 1024}
	}
	fake.Model = "gpt-4o-mini-2024-07-18"
	c := New(fake.BaseURL(), "sk-test", Options{})
	resp, err := c.Generate(context.Background(), request(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if resp.Content != "Echo: When do you open?" || resp.Model != "gpt-4o-mini-2024-07-18" {
		t.Errorf("resp %+v", resp)
	}
	want := llm.Usage{InputTokens: 1200, OutputTokens: 7, CachedInputTokens: 1024, TotalTokens: 1207}
	if resp.Usage != want || resp.UsageEstimated {
		t.Errorf("usage %+v estimated %v", resp.Usage, resp.UsageEstimated)
	}
	got := fake.Requests()[0]
	if got.Authorization != "Bearer sk-test" || got.Model != "gpt-4o-mini" || got.MaxCompletionTokens != 64 ||
		got.Temperature == nil || *got.Temperature != 0.2 || len(got.Messages) != 4 ||
		got.Messages[0].Role != "system" || !strings.Contains(got.Messages[0].Content, "We open at nine.") ||
		got.Messages[2].Role != "assistant" {
		t.Errorf("request %+v", got)
	}
}

func TestStream(t *testing.T) {
	fake := llmtest.New(t)
	fake.Usage = func(llmtest.Request, string) llmtest.Usage {
		return llmtest.Usage{Prompt: 50, Completion: 5, Cached: 0}
	}
	c := New(fake.BaseURL(), "sk-test", Options{})
	var deltas []string
	resp, err := c.Generate(context.Background(), request(), func(s string) error { deltas = append(deltas, s); return nil })
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(deltas, "") != resp.Content || len(deltas) < 3 || resp.Content != "Echo: When do you open?" {
		t.Errorf("deltas %q content %q", deltas, resp.Content)
	}
	if resp.Usage.InputTokens != 50 || resp.Usage.OutputTokens != 5 || resp.UsageEstimated {
		t.Errorf("usage %+v", resp.Usage)
	}
	if r := fake.Requests()[0]; !r.Stream || r.StreamOptions == nil || !r.StreamOptions.IncludeUsage {
		t.Errorf("stream request %+v", r)
	}
	// A listener that leaves still gets the whole reply back.
	resp2, err := c.Generate(context.Background(), request(), func(string) error { return errors.New("gone") })
	if err != nil || resp2.Content != resp.Content {
		t.Errorf("after listener error: %v %q", err, resp2.Content)
	}
}

func TestNoUsageIsEstimated(t *testing.T) {
	fake := llmtest.New(t)
	fake.OmitUsage = true
	c := New(fake.BaseURL(), "k", Options{})
	for _, stream := range []bool{false, true} {
		var fn llm.DeltaFunc
		if stream {
			fn = func(string) error { return nil }
		}
		resp, err := c.Generate(context.Background(), request(), fn)
		if err != nil {
			t.Fatal(err)
		}
		if !resp.UsageEstimated || resp.Usage.InputTokens == 0 || resp.Usage.OutputTokens == 0 {
			t.Errorf("stream=%v: usage %+v estimated %v", stream, resp.Usage, resp.UsageEstimated)
		}
	}
}

func TestRetries(t *testing.T) {
	fake := llmtest.New(t)
	fake.FailNext(llmtest.Failure{Status: 429, RetryAfter: "0"}, llmtest.Failure{Status: 503})
	c := New(fake.BaseURL(), "k", Options{MaxRetries: 2})
	resp, err := c.Generate(context.Background(), request(), nil)
	if err != nil || resp.Content == "" || len(fake.Requests()) != 3 {
		t.Fatalf("err %v, %d requests", err, len(fake.Requests()))
	}
}

func TestFailures(t *testing.T) {
	fake := llmtest.New(t)
	fake.FailNext(llmtest.Failure{Status: 500}, llmtest.Failure{Status: 500}, llmtest.Failure{Status: 500})
	c := New(fake.BaseURL(), "k", Options{MaxRetries: 2})
	_, err := c.Generate(context.Background(), request(), nil)
	var pe *llm.ProviderError
	if !errors.As(err, &pe) || pe.Status != 500 || !strings.Contains(pe.Message, "scripted failure") {
		t.Errorf("err = %v", err)
	}
	fake.FailNext(llmtest.Failure{Status: 401})
	_, err = c.Generate(context.Background(), request(), func(string) error { return nil })
	if !errors.As(err, &pe) || pe.Status != 401 {
		t.Errorf("stream err = %v", err)
	}
	// Timeouts surface as deadline errors.
	fake.Delay = 2 * time.Second
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	_, err = New(fake.BaseURL(), "k", Options{MaxRetries: -1}).Generate(ctx, request(), nil)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("timeout err = %v", err)
	}
}

// Estimated usage counts everything sent: the system prompt with the
// knowledge folded in, every message, and an extraction's schema.
func TestEstimateCountsEverythingSent(t *testing.T) {
	fake := llmtest.New(t)
	fake.OmitUsage = true
	c := New(fake.BaseURL(), "k", Options{})
	req := request()
	req.Knowledge = strings.Repeat("Our shop sells coffee beans from many farms. ", 50)
	resp, err := c.Generate(context.Background(), req, func(string) error { return nil })
	if err != nil {
		t.Fatal(err)
	}
	transcriptOnly := int64(tokens.CountChat(req.System, req.Messages))
	sent := []llm.Message{{Role: "system", Content: "Be brief.\n\nReference information you may answer from:\n" + req.Knowledge}}
	sent = append(sent, req.Messages...)
	if want := int64(tokens.CountChat("", sent)); !resp.UsageEstimated || resp.Usage.InputTokens != want || want < transcriptOnly+400 {
		t.Errorf("estimated input %d, want %d (transcript alone %d)", resp.Usage.InputTokens, want, transcriptOnly)
	}
	fake.Reply = func(llmtest.Request) string { return `{"plan": "pro"}` }
	ex, err := c.Extract(context.Background(), llm.ExtractRequest{Model: "m", Fields: []llm.Field{{Name: "plan", Type: llm.FieldEnum, Values: []string{"free", "pro"}}},
		Transcript: []llm.Message{{Role: llm.RoleUser, Content: "pro please"}}})
	if err != nil || !ex.UsageEstimated {
		t.Fatal(err, ex)
	}
	r := fake.Requests()[len(fake.Requests())-1]
	var msgs []llm.Message
	for _, m := range r.Messages {
		msgs = append(msgs, llm.Message{Role: m.Role, Content: m.Content})
	}
	if ex.Usage.InputTokens <= int64(tokens.CountChat("", msgs)) {
		t.Errorf("extraction estimate %d leaves out the schema (messages alone %d)", ex.Usage.InputTokens, tokens.CountChat("", msgs))
	}
}
