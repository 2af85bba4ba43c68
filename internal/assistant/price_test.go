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
		p := FindPrice(c.model, c.model, c.at, ws)
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
	if p := FindPrice("gpt-4o-mini", "", jun, nil); p.Input != mustMoney(t, "0.15") {
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
	if c := FindPrice("offline", "offline", time.Now(), nil).Cost(llm.Usage{InputTokens: 100, OutputTokens: 100}); c != 0 {
		t.Errorf("offline cost = %s", c)
	}
}

func TestRender(t *testing.T) {
	got := Render("Hi {{ name }}, your plan is {{plan}}{{missing}}.", map[string]string{"name": "Ada", "plan": "pro"})
	if got != "Hi Ada, your plan is pro." {
		t.Errorf("Render = %q", got)
	}
}

func TestFindPriceSpecificity(t *testing.T) {
	jan := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	jun := time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)
	// Listed as the stores list them, by pattern: alphabetical order must
	// not decide.
	ws := []*Price{
		{ID: "any", ModelPattern: "acme-.*", EffectiveFrom: jan},
		{ID: "large-newer", ModelPattern: "acme-large-.*", EffectiveFrom: jun},
		{ID: "large", ModelPattern: "acme-large-.*", EffectiveFrom: jan},
		{ID: "lit", ModelPattern: `acme\-huge`, EffectiveFrom: jan},
		{ID: "any-late", ModelPattern: "acme-.*", EffectiveFrom: jun, CreatedAt: jun},
		{ID: "alt", ModelPattern: "acme-x1|acme-x2", EffectiveFrom: jan},
		{ID: "fold", ModelPattern: "(?i)acme-xl", EffectiveFrom: jan},
	}
	cases := []struct {
		model string
		at    time.Time
		want  string
	}{
		{"acme-large-v2", jan, "large"},       // longer literal prefix beats acme-.*
		{"acme-large-v2", jun, "large-newer"}, // then the newer effective_from
		{"acme-small", jan, "any"},
		{"acme-small", jun, "any-late"},
		{"acme-huge", jun, "lit"},    // a fully literal expression counts as an exact name
		{"acme-x2", jun, "alt"},      // common prefix of the alternatives: acme-x
		{"ACME-XL", jun, "fold"},     // case-folded text has no literal prefix ...
		{"acme-xl", jun, "any-late"}, // ... so acme-.* (prefix acme-) beats it
	}
	for _, c := range cases {
		p := FindPrice(c.model, "", c.at, ws)
		if p == nil || p.ID != c.want {
			t.Errorf("FindPrice(%q, %s) = %+v, want %s", c.model, c.at.Format(time.DateOnly), p, c.want)
		}
	}
	for pattern, want := range map[string]specificity{
		"gpt-4o":                      {exact: true, prefix: 6},
		`gpt-4o(-\d{4}-\d{2}-\d{2})?`: {prefix: 6},
		`gpt-4\.1-mini.*`:             {prefix: 12},
		`^gpt-5$`:                     {exact: true, prefix: 5},
		`.*-preview`:                  {},
		`(?i)gpt`:                     {},
	} {
		if got := specificityOf(pattern); got != want {
			t.Errorf("specificityOf(%q) = %+v, want %+v", pattern, got, want)
		}
	}
}

// The requested model is looked up before the reported one, a workspace's
// rows before the built-in table, an exact name before a pattern.
func TestFindPriceRequestedAndReported(t *testing.T) {
	jan := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	snap := "gpt-4o-2024-08-06"
	row := func(id, pattern string) *Price { return &Price{ID: id, ModelPattern: pattern, EffectiveFrom: jan} }
	cases := []struct {
		name string
		ws   []*Price
		want string
	}{
		{"exact requested beats exact reported", []*Price{row("snap", snap), row("alias", "gpt-4o")}, "alias"},
		{"exact reported beats a pattern of the requested", []*Price{row("all", "gpt-.*"), row("snap", snap)}, "snap"},
		{"pattern of the requested beats pattern of the reported", []*Price{row("dated", `gpt-4o-2024-.*`), row("family", "gpt-4o.*")}, "family"},
		{"pattern of the reported beats built-ins", []*Price{row("dated", `gpt-4o-2024-.*`)}, "dated"},
		{"built-in when the workspace has nothing", []*Price{row("mini", "gpt-4o-mini")}, "builtin"},
		{"future rows do not count", []*Price{{ID: "later", ModelPattern: "gpt-4o", EffectiveFrom: jan.AddDate(1, 0, 0)}}, "builtin"},
	}
	for _, c := range cases {
		p := FindPrice("gpt-4o", snap, jan, c.ws)
		got := ""
		if p != nil {
			got = p.ID
			if p.Builtin {
				got = "builtin"
			}
		}
		if got != c.want {
			t.Errorf("%s: got %q, want %q", c.name, got, c.want)
		}
	}
	// A name only the provider reports is priced by it.
	if p := FindPrice("my-azure-deployment", snap, jan, nil); p == nil || p.Input != mustMoney(t, "2.50") {
		t.Errorf("reported-only: %+v", p)
	}
	if p := FindPrice("unknown", "also-unknown", jan, nil); p != nil {
		t.Errorf("unknown models priced: %+v", p)
	}
}
