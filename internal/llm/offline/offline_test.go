package offline

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/parley-dev/parley/internal/llm"
	"github.com/parley-dev/parley/internal/llm/tokens"
)

func ask(t *testing.T, m *Model, q, knowledge string) llm.Response {
	t.Helper()
	resp, err := m.Generate(context.Background(), llm.Request{
		Model: Name, System: "Be brief.", Knowledge: knowledge,
		Messages: []llm.Message{{Role: llm.RoleUser, Content: q}},
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	return resp
}

func TestAnswersFromKnowledge(t *testing.T) {
	m := New()
	cases := []struct{ q, want string }{
		{"When are you open on Saturday?", "Saturday and Sunday from 9:00"},
		{"Do you ship abroad?", "ship abroad"},
		{"How much does shipping cost?", "flat 4.90 EUR"},
		{"Can I return an opened bag?", "Opened bags"},
		{"How do I cancel my subscription?", "pause, skip or cancel"},
		{"Do you have decaf?", "Swiss Water"},
		{"wholesale price list for my office", "5 kg per month"},
		{"What is your phone number?", "+1 555 0100"},
		// The passage that matches the question's content words wins.
		{"Do you deliver to Europe?", "ship abroad to most of Europe"},
	}
	for _, c := range cases {
		got := ask(t, m, c.q, DemoKnowledge).Content
		if !strings.Contains(got, c.want) {
			t.Errorf("%q → %q, want it to contain %q", c.q, got, c.want)
		}
		if strings.Contains(got, "#") {
			t.Errorf("%q → %q shows a markdown heading", c.q, got)
		}
	}
}

func TestFixedReplies(t *testing.T) {
	m := New()
	cases := []struct{ q, knowledge, want string }{
		{"Hello!", DemoKnowledge, ReplyGreeting},
		{"hi there", "", ReplyGreeting},
		{"thanks a lot", DemoKnowledge, ReplyThanks},
		{"bye", DemoKnowledge, ReplyGoodbye},
		{"What is the airspeed of an unladen swallow?", DemoKnowledge, ReplyUnknown},
		// One common word shared by chance is not an answer.
		{"Write me a poem about the sea", DemoKnowledge, ReplyUnknown},
		{"Do you deliver to Germany?", DemoKnowledge, ReplyUnknown},
		{"Do you deliver coffee to Germany?", DemoKnowledge, ReplyUnknown},
		{"Write me a poem about coffee", DemoKnowledge, ReplyUnknown},
		{"When are you open?", "", ReplyNoKnowledge},
	}
	for _, c := range cases {
		if got := ask(t, m, c.q, c.knowledge).Content; got != c.want {
			t.Errorf("%q → %q, want %q", c.q, got, c.want)
		}
	}
}

func TestDeterministicAndCounted(t *testing.T) {
	a := ask(t, New(), "Do you ship abroad?", DemoKnowledge)
	b := ask(t, New(), "Do you ship abroad?", DemoKnowledge)
	if a.Content != b.Content || a.Usage != b.Usage {
		t.Errorf("not deterministic: %+v vs %+v", a, b)
	}
	msgs := []llm.Message{{Role: llm.RoleUser, Content: "Do you ship abroad?"}}
	if a.Usage.InputTokens != int64(tokens.CountChat("Be brief.", msgs)) ||
		a.Usage.OutputTokens != int64(tokens.Count(a.Content)) ||
		a.Usage.TotalTokens != a.Usage.InputTokens+a.Usage.OutputTokens || a.Usage.OutputTokens == 0 {
		t.Errorf("usage %+v", a.Usage)
	}
	if a.Model != Name || a.UsageEstimated {
		t.Errorf("model %q estimated %v", a.Model, a.UsageEstimated)
	}
}

func TestStreaming(t *testing.T) {
	var got strings.Builder
	n := 0
	resp, err := New().Generate(context.Background(), llm.Request{Knowledge: DemoKnowledge,
		Messages: []llm.Message{{Role: llm.RoleUser, Content: "Tell me about subscriptions"}}},
		func(c string) error { got.WriteString(c); n++; return nil })
	if err != nil {
		t.Fatal(err)
	}
	if got.String() != resp.Content || n < 5 {
		t.Errorf("%d chunks %q, content %q", n, got.String(), resp.Content)
	}
	// A listener that leaves does not cost the reply.
	calls := 0
	resp2, err := New().Generate(context.Background(), llm.Request{Knowledge: DemoKnowledge,
		Messages: []llm.Message{{Role: llm.RoleUser, Content: "Tell me about subscriptions"}}},
		func(string) error { calls++; return errors.New("gone") })
	if err != nil || resp2.Content != resp.Content || calls != 1 {
		t.Errorf("after listener error: %v, %d calls, %q", err, calls, resp2.Content)
	}
}

func TestMaxOutputTokens(t *testing.T) {
	resp, err := New().Generate(context.Background(), llm.Request{Knowledge: DemoKnowledge, MaxOutputTokens: 5,
		Messages: []llm.Message{{Role: llm.RoleUser, Content: "Do you ship abroad?"}}}, nil)
	if err != nil || resp.Usage.OutputTokens > 5 || resp.Content == "" {
		t.Errorf("%v %+v", err, resp)
	}
}

func TestCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := New().Generate(ctx, llm.Request{}, nil); !errors.Is(err, context.Canceled) {
		t.Errorf("err = %v", err)
	}
}

func BenchmarkGenerate(b *testing.B) {
	m := New()
	req := llm.Request{Knowledge: DemoKnowledge, System: "Be brief.",
		Messages: []llm.Message{{Role: llm.RoleUser, Content: "How much does shipping abroad cost?"}}}
	_, _ = m.Generate(context.Background(), req, nil)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		_, _ = m.Generate(context.Background(), req, nil)
	}
}

func BenchmarkIndex(b *testing.B) {
	for i := 0; i < b.N; i++ {
		buildIndex(DemoKnowledge)
	}
}
