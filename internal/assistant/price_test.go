package assistant

import (
	"testing"
	"time"

	"github.com/parley-dev/parley/internal/llm"
	"github.com/parley-dev/parley/internal/money"
)

func mustMoney(t *testing.T, s string) money.Money {
	t.Helper()
	m, err := money.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestFindPrice(t *testing.T) {
	jan := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	jun := time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)
	ws := []*Price{
		{ID: "old", ModelPattern: "acme-.*", Input: mustMoney(t, "1"), EffectiveFrom: jan},
		{ID: "new", ModelPattern: "acme-.*", Input: mustMoney(t, "2"), EffectiveFrom: jun},
		{ID: "exact", ModelPattern: "acme-large", Input: mustMoney(t, "9"), EffectiveFrom: jan},
		{ID: "gpt", ModelPattern: "gpt-4o", Input: mustMoney(t, "5"), EffectiveFrom: jan},
	}
	cases := []struct {
		model string
		at    time.Time
		want  string // ID, "builtin", or "" for none
	}{
		{"acme-small", jan.AddDate(0, 1, 0), "old"},
		{"acme-small", jun.AddDate(0, 1, 0), "new"},
		{"acme-small", jan.AddDate(0, 0, -1), ""},
		{"acme-large", jun.AddDate(0, 1, 0), "exact"},
		{"gpt-4o", jun, "gpt"},
		{"gpt-4o-2024-08-06", jun, "builtin"},
		{"gpt-4o-mini", jun, "builtin"},
		{"unknown-model", jun, ""},
		{"offline", jun, "builtin"},
	}
	for _, c := range cases {
		p := FindPrice(c.model, c.at, ws)
		got := ""
		if p != nil {
			got = p.ID
			if p.Builtin {
				got = "builtin"
			}
		}
		if got != c.want {
			t.Errorf("FindPrice(%q, %s) = %q, want %q", c.model, c.at.Format(time.DateOnly), got, c.want)
		}
	}
	// The built-in mini row must not be shadowed by the gpt-4o pattern.
	if p := FindPrice("gpt-4o-mini", jun, nil); p.Input != mustMoney(t, "0.15") {
		t.Errorf("gpt-4o-mini input = %s", p.Input)
	}
}

func TestPriceCost(t *testing.T) {
	p := &Price{Input: mustMoney(t, "2.50"), CachedInput: mustMoney(t, "1.25"), Output: mustMoney(t, "10")}
	// 1000 input of which 400 cached, 500 output:
	// 600*2.5 + 400*1.25 + 500*10 = 1500 + 500 + 5000 = 7000 USD/M → $0.007.
	got := p.Cost(llm.Usage{InputTokens: 1000, CachedInputTokens: 400, OutputTokens: 500})
	if got.String() != "0.007000000" {
		t.Errorf("cost = %s", got)
	}
	if c := FindPrice("offline", time.Now(), nil).Cost(llm.Usage{InputTokens: 100, OutputTokens: 100}); c != 0 {
		t.Errorf("offline cost = %s", c)
	}
}

func TestRender(t *testing.T) {
	got := Render("Hi {{ name }}, your plan is {{plan}}{{missing}}.", map[string]string{"name": "Ada", "plan": "pro"})
	if got != "Hi Ada, your plan is pro." {
		t.Errorf("Render = %q", got)
	}
}
