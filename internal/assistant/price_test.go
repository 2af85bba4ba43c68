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

// The built-in table prices each model as its provider lists it, at the
// time of the reply: dated snapshots that cost more than their family,
// older snapshots, price changes, and the current models.
func TestBuiltinPrices(t *testing.T) {
	day := func(s string) time.Time {
		d, err := time.Parse(time.DateOnly, s)
		if err != nil {
			t.Fatal(err)
		}
		return d
	}
	now := day("2026-11-25")
	cases := []struct {
		requested, reported string
		at                  time.Time
		in, cached, out     string // "" for no price
	}{
		// gpt-4o-2024-05-13 kept its launch price and has no cache discount.
		{"gpt-4o-2024-05-13", "", now, "5", "5", "15"},
		{"gpt-4o", "gpt-4o-2024-05-13", now, "5", "5", "15"},
		{"gpt-4o", "gpt-4o-2024-08-06", now, "2.50", "1.25", "10"},
		{"gpt-4o-2024-11-20", "", now, "2.50", "1.25", "10"},
		{"chatgpt-4o-latest", "", day("2025-01-10"), "5", "5", "15"},
		{"gpt-4o-mini", "gpt-4o-mini-2024-07-18", now, "0.15", "0.075", "0.60"},
		// gpt-3.5-turbo snapshots differ from one another.
		{"gpt-3.5-turbo", "gpt-3.5-turbo-0125", now, "0.50", "0.50", "1.50"},
		{"gpt-3.5-turbo-1106", "", now, "1", "1", "2"},
		{"gpt-3.5-turbo-0613", "", day("2024-01-10"), "1.50", "1.50", "2"},
		// o3 before and after its June 2025 price cut; nothing before launch.
		{"o3", "o3-2025-04-16", day("2025-05-01"), "10", "2.50", "40"},
		{"o3", "o3-2025-04-16", day("2025-06-10"), "2", "0.50", "8"},
		{"o3", "", day("2025-01-01"), "", "", ""},
		{"o3-mini", "o3-mini-2025-01-31", now, "1.10", "0.55", "4.40"},
		{"o4-mini", "", now, "1.10", "0.275", "4.40"},
		{"o1", "o1-2024-12-17", now, "15", "7.50", "60"},
		{"gpt-4.1-nano", "gpt-4.1-nano-2025-04-14", now, "0.10", "0.025", "0.40"},
		{"gpt-5", "gpt-5-2025-08-07", now, "1.25", "0.125", "10"},
		{"gpt-5-nano", "", now, "0.05", "0.005", "0.40"},
		{"gpt-5-chat-latest", "", now, "1.25", "0.125", "10"},
		{"gpt-5.1", "gpt-5.1-2025-11-13", now, "1.25", "0.125", "10"},
		{"gpt-5.2", "gpt-5.2-2025-12-11", now, "1.75", "0.175", "14"},
		{"gpt-5.2-chat-latest", "", now, "1.75", "0.175", "14"},
		{"gpt-5.4-mini", "", now, "0.75", "0.075", "4.50"},
		{"gpt-5.5", "", now, "5", "0.50", "30"},
		// Anthropic, Gemini and DeepSeek through their OpenAI-compatible endpoints.
		{"claude-sonnet-4-5", "claude-sonnet-4-5-20250929", now, "3", "0.30", "15"},
		{"claude-haiku-4-5", "", now, "1", "0.10", "5"},
		{"claude-opus-4-5-20251101", "", now, "5", "0.50", "25"},
		{"claude-opus-4-1", "", now, "15", "1.50", "75"},
		{"gemini-2.5-flash", "", now, "0.30", "0.30", "2.50"},
		{"gemini-2.5-pro", "", now, "1.25", "1.25", "10"},
		{"deepseek-chat", "", day("2025-09-10"), "0.56", "0.07", "1.68"},
		{"deepseek-reasoner", "", day("2025-10-01"), "0.28", "0.028", "0.42"},
		{"deepseek-chat", "", day("2026-04-25"), "0.14", "0.028", "0.28"},
		{"deepseek-chat", "", day("2026-05-01"), "0.14", "0.0028", "0.28"},
		// Time-of-day prices cannot be one row: left out.
		{"deepseek-chat", "", day("2025-03-01"), "", "", ""},
	}
	for _, c := range cases {
		p := FindPrice(c.requested, c.reported, c.at, nil)
		name := c.requested + "/" + c.reported + "@" + c.at.Format(time.DateOnly)
		if c.in == "" {
			if p != nil {
				t.Errorf("%s: priced %+v, want no price", name, p)
			}
			continue
		}
		if p == nil {
			t.Errorf("%s: no price", name)
			continue
		}
		if p.Input != mustMoney(t, c.in) || p.CachedInput != mustMoney(t, c.cached) || p.Output != mustMoney(t, c.out) {
			t.Errorf("%s (%s): %s/%s/%s, want %s/%s/%s", name, p.ModelPattern, p.Input, p.CachedInput, p.Output, c.in, c.cached, c.out)
		}
	}
}

// Every built-in row is one a workspace could have created: a valid
// pattern, prices that are not negative, and no two rows with the same
// pattern and effective_from.
func TestBuiltinTableIsValid(t *testing.T) {
	seen := map[string]bool{}
	rows := BuiltinPrices()
	if len(rows) < 30 {
		t.Errorf("%d built-in rows", len(rows))
	}
	for i, p := range rows {
		q := *p
		if err := q.Validate(); err != nil {
			t.Errorf("%s: %v", p.ModelPattern, err)
		}
		key := p.ModelPattern + " " + p.EffectiveFrom.String()
		if seen[key] {
			t.Errorf("duplicate row %s", key)
		}
		seen[key] = true
		if p.Input == 0 || p.Output == 0 || p.CachedInput > p.Input || !p.Builtin || p.EffectiveFrom.IsZero() {
			t.Errorf("row %s: %+v", key, p)
		}
		if i > 0 && (rows[i-1].ModelPattern > p.ModelPattern ||
			rows[i-1].ModelPattern == p.ModelPattern && !rows[i-1].EffectiveFrom.Before(p.EffectiveFrom)) {
			t.Errorf("not sorted by pattern, then effective_from: %s before %s", rows[i-1].ModelPattern, key)
		}
	}
}
