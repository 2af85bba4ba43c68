package assistant

import (
	"fmt"
	"regexp"
	"regexp/syntax"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/parley-dev/parley/internal/fault"
	"github.com/parley-dev/parley/internal/llm"
	"github.com/parley-dev/parley/internal/money"
)

// Price is what a model costs per million tokens from a point in time on.
// ModelPattern is an exact model name or, when it contains regular
// expression syntax, a regular expression that must match the whole name.
type Price struct {
	ID            string
	WorkspaceID   string
	ModelPattern  string
	Input         money.PerMillion
	Output        money.PerMillion
	CachedInput   money.PerMillion
	EffectiveFrom time.Time
	CreatedAt     time.Time
	Builtin       bool
}

// Validate checks a price row.
func (p *Price) Validate() error {
	var v fault.Validation
	p.ModelPattern = strings.TrimSpace(p.ModelPattern)
	if p.ModelPattern == "" || len(p.ModelPattern) > 200 {
		v.Add("model_pattern", "must be a model name or regular expression of 1 to 200 characters")
	} else if _, err := compilePattern(p.ModelPattern); err != nil {
		v.Add("model_pattern", "is not a valid regular expression: %v", err)
	}
	for _, c := range []struct {
		field string
		m     money.Money
	}{{"input_per_mtok", p.Input}, {"output_per_mtok", p.Output}, {"cached_input_per_mtok", p.CachedInput}} {
		if c.m < 0 {
			v.Add(c.field, "must not be negative")
		}
	}
	return v.Err()
}

// PriceConflict is the error a store returns when a workspace already has
// a row with p's pattern and effective_from: two such rows would make the
// price of a reply arbitrary.
func PriceConflict(p *Price) error {
	msg := fmt.Sprintf("a price for model_pattern %q from %s already exists: change that row, or give this one another effective_from",
		p.ModelPattern, p.EffectiveFrom.UTC().Format("2006-01-02T15:04:05.000Z"))
	return &fault.Error{Code: fault.CodeConflict, Message: msg, Fields: []fault.FieldError{
		{Field: "model_pattern", Message: "already has a price with this effective_from"},
		{Field: "effective_from", Message: "already has a price for this model_pattern"},
	}}
}

var patternCache sync.Map // pattern → *regexp.Regexp or nil (exact name)

func isExact(p string) bool { return regexp.QuoteMeta(p) == p }

func compilePattern(p string) (*regexp.Regexp, error) {
	if isExact(p) {
		return nil, nil
	}
	if re, ok := patternCache.Load(p); ok {
		return re.(*regexp.Regexp), nil
	}
	re, err := regexp.Compile(`^(?:` + p + `)$`)
	if err != nil {
		return nil, err
	}
	patternCache.Store(p, re)
	return re, nil
}

// Matches reports whether the price applies to the model name.
func (p *Price) Matches(model string) bool {
	if p.ModelPattern == model {
		return true
	}
	re, err := compilePattern(p.ModelPattern)
	return err == nil && re != nil && re.MatchString(model)
}

// Cost prices one model call. Cached input tokens are part of the input
// count as providers report it, and are billed at their own price.
func (p *Price) Cost(u llm.Usage) money.Money {
	cached := min(u.CachedInputTokens, u.InputTokens)
	return money.Cost(
		money.TokenPrice{Tokens: u.InputTokens - cached, Price: p.Input},
		money.TokenPrice{Tokens: cached, Price: p.CachedInput},
		money.TokenPrice{Tokens: u.OutputTokens, Price: p.Output},
	)
}

// FindPrice picks the price of a model call at a time. requested is the
// model the assistant asked for, reported the one the provider says
// answered (OpenAI answers `gpt-4o` with a dated snapshot such as
// `gpt-4o-2024-08-06`); either may be empty. Only rows that took effect at
// or before t count, and the first of these steps that finds one wins:
//
//  1. a workspace row naming the requested model exactly,
//  2. a workspace row naming the reported model exactly,
//  3. the most specific workspace pattern matching the requested model,
//  4. the most specific workspace pattern matching the reported model,
//  5. then the same over the built-in table.
//
// A workspace's rows always beat the built-in table, since they are its
// owner's own prices. An exact name is a deliberate choice for one model
// and beats any pattern, which prices a family. The requested name comes
// first because it is the name people configure (and, behind an alias or
// a deployment name, the one they know). Within a step the pattern with
// the longer literal prefix wins, then the newer effective_from, then the
// row created last. It returns nil when no row applies.
func FindPrice(requested, reported string, at time.Time, workspace []*Price) *Price {
	if requested == llm.OfflineModel || (requested == "" && reported == llm.OfflineModel) {
		return offlinePrice
	}
	var names []string
	for _, n := range []string{requested, reported} {
		if n != "" && (len(names) == 0 || names[0] != n) {
			names = append(names, n)
		}
	}
	for _, rows := range [][]*Price{workspace, builtinPrices} {
		for _, exact := range []bool{true, false} {
			for _, name := range names {
				if p := pick(rows, name, at, exact); p != nil {
					return p
				}
			}
		}
	}
	return nil
}

// pick returns the best row among those of one kind (exact names or
// patterns) that match model and are in effect at t.
func pick(rows []*Price, model string, at time.Time, exact bool) *Price {
	var best *Price
	var bestSpec specificity
	for _, p := range rows {
		if p.EffectiveFrom.After(at) {
			continue
		}
		spec := specificityOf(p.ModelPattern)
		if spec.exact != exact || !p.Matches(model) {
			continue
		}
		if best == nil || better(p, spec, best, bestSpec) {
			best, bestSpec = p, spec
		}
	}
	return best
}

// better reports whether p (of specificity ps) beats q (of qs).
func better(p *Price, ps specificity, q *Price, qs specificity) bool {
	if ps.prefix != qs.prefix {
		return ps.prefix > qs.prefix
	}
	if !p.EffectiveFrom.Equal(q.EffectiveFrom) {
		return p.EffectiveFrom.After(q.EffectiveFrom)
	}
	if !p.CreatedAt.Equal(q.CreatedAt) {
		return p.CreatedAt.After(q.CreatedAt)
	}
	return p.ID > q.ID
}

// specificity is how narrowly a pattern names models. An exact name (or a
// regular expression that can only match one literal name) names one
// model; otherwise the longer the literal text every match starts with,
// the narrower the family: `gpt-4o-mini.*` is narrower than `gpt-.*`.
type specificity struct {
	exact  bool
	prefix int // bytes of literal prefix
}

var specificityCache sync.Map // pattern → specificity

func specificityOf(pattern string) specificity {
	if isExact(pattern) {
		return specificity{exact: true, prefix: len(pattern)}
	}
	if s, ok := specificityCache.Load(pattern); ok {
		return s.(specificity)
	}
	var s specificity
	if re, err := syntax.Parse(pattern, syntax.Perl); err == nil {
		prefix, complete := literalPrefix(re.Simplify())
		s = specificity{exact: complete, prefix: len(prefix)}
	}
	specificityCache.Store(pattern, s)
	return s
}

// literalPrefix returns the literal text every match of re starts with,
// and whether that text is all re can match. Case-folded literals are not
// literal: they match more than one spelling.
func literalPrefix(re *syntax.Regexp) (string, bool) {
	switch re.Op {
	case syntax.OpLiteral:
		if re.Flags&syntax.FoldCase != 0 {
			return "", false
		}
		return string(re.Rune), true
	case syntax.OpCapture:
		return literalPrefix(re.Sub[0])
	case syntax.OpEmptyMatch, syntax.OpBeginText, syntax.OpEndText, syntax.OpBeginLine, syntax.OpEndLine:
		// Patterns match whole names, so anchors add nothing.
		return "", true
	case syntax.OpConcat:
		var b strings.Builder
		for _, sub := range re.Sub {
			p, complete := literalPrefix(sub)
			b.WriteString(p)
			if !complete {
				return b.String(), false
			}
		}
		return b.String(), true
	}
	return "", false
}

var offlinePrice = &Price{ModelPattern: llm.OfflineModel, Builtin: true}

// BuiltinPrices returns the default price table, sorted by pattern and
// then by effective_from (the order the defaults endpoint pages in).
func BuiltinPrices() []*Price {
	out := append([]*Price(nil), builtinPrices...)
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].ModelPattern != out[j].ModelPattern {
			return out[i].ModelPattern < out[j].ModelPattern
		}
		return out[i].EffectiveFrom.Before(out[j].EffectiveFrom)
	})
	return out
}

// builtinPrices are the list prices of common models in USD per million
// tokens, as their providers publish them: input, cached input (what a
// token the provider reports as served from its cache costs) and output.
// Workspaces add or override rows through the model-prices API, and their
// rows always win.
//
// Each row takes effect on the date its price did (the model's launch, or
// a price change); a model's older prices stay as rows of their own, so a
// reply is priced as it was billed at the time. Where a source confirms a
// price only from some date on, the row starts then and earlier replies
// stay unpriced rather than guessed. Prices that depend on more than the
// model and the date cannot be one row and are left out: time-of-day
// rates (DeepSeek's night discount until September 2025, its peak and
// off-peak rates since August 2026) and batch or priority tiers. Long
// prompts billed higher above a threshold (Gemini 2.5 Pro above 200k
// tokens, Claude Sonnet 4 and 4.5 above 200k with the 1M-token context,
// GPT-5.4 and GPT-5.5 above 272k) are priced at the base rate; a
// workspace that sends such prompts should add rows of its own.
var builtinPrices = func() []*Price {
	rows := []struct{ pattern, from, in, cached, out string }{
		// OpenAI: https://platform.openai.com/docs/pricing (now
		// https://developers.openai.com/api/docs/pricing). Cached input
		// is each model's "Cached input" column; models with no cache
		// discount list the input price there.
		//
		// gpt-4o-2024-05-13 kept its launch price ($5/$15, no cache
		// discount) when later snapshots cost less, and gpt-4o pointed
		// to it until 2024-10-02, when the alias moved to 2024-08-06
		// ($2.50/$10, launched 2024-08-06; prompt caching at $1.25 from
		// 2024-10-01). gpt-4o-2024-11-20 is priced as 2024-08-06.
		{`gpt-4o-2024-05-13`, "2024-05-13", "5.00", "5.00", "15.00"},
		{`gpt-4o-2024-08-06`, "2024-08-06", "2.50", "1.25", "10.00"},
		{`gpt-4o(-\d{4}-\d{2}-\d{2})?`, "2024-10-02", "2.50", "1.25", "10.00"},
		// chatgpt-4o-latest, the model behind ChatGPT (2024-08-13): $5/$15.
		{`chatgpt-4o-latest`, "2024-08-13", "5.00", "5.00", "15.00"},
		// gpt-4o-mini (2024-07-18).
		{`gpt-4o-mini(-\d{4}-\d{2}-\d{2})?`, "2024-07-18", "0.15", "0.075", "0.60"},
		// gpt-4.1, -mini, -nano (2025-04-14).
		{`gpt-4\.1(-\d{4}-\d{2}-\d{2})?`, "2025-04-14", "2.00", "0.50", "8.00"},
		{`gpt-4\.1-mini(-\d{4}-\d{2}-\d{2})?`, "2025-04-14", "0.40", "0.10", "1.60"},
		{`gpt-4\.1-nano(-\d{4}-\d{2}-\d{2})?`, "2025-04-14", "0.10", "0.025", "0.40"},
		// gpt-5, -mini, -nano and gpt-5-chat-latest (2025-08-07).
		{`gpt-5(-\d{4}-\d{2}-\d{2}|-chat-latest)?`, "2025-08-07", "1.25", "0.125", "10.00"},
		{`gpt-5-mini(-\d{4}-\d{2}-\d{2})?`, "2025-08-07", "0.25", "0.025", "2.00"},
		{`gpt-5-nano(-\d{4}-\d{2}-\d{2})?`, "2025-08-07", "0.05", "0.005", "0.40"},
		// gpt-5.1 and gpt-5.1-chat-latest (2025-11-13).
		{`gpt-5\.1(-\d{4}-\d{2}-\d{2}|-chat-latest)?`, "2025-11-13", "1.25", "0.125", "10.00"},
		// gpt-5.2 and gpt-5.2-chat-latest (2025-12-11).
		{`gpt-5\.2(-\d{4}-\d{2}-\d{2}|-chat-latest)?`, "2025-12-11", "1.75", "0.175", "14.00"},
		// gpt-5.4, -mini, -nano and gpt-5.5: the prices the pricing page
		// listed when read on 2026-05-04; replies before that stay
		// unpriced (their launch prices are not confirmed here).
		{`gpt-5\.4(-\d{4}-\d{2}-\d{2})?`, "2026-05-04", "2.50", "0.25", "15.00"},
		{`gpt-5\.4-mini(-\d{4}-\d{2}-\d{2})?`, "2026-05-04", "0.75", "0.075", "4.50"},
		{`gpt-5\.4-nano(-\d{4}-\d{2}-\d{2})?`, "2026-05-04", "0.20", "0.02", "1.25"},
		{`gpt-5\.5(-\d{4}-\d{2}-\d{2})?`, "2026-05-04", "5.00", "0.50", "30.00"},
		// o1 (2024-12-17), o3-mini (2025-01-31), o4-mini (2025-04-16).
		{`o1(-\d{4}-\d{2}-\d{2})?`, "2024-12-17", "15.00", "7.50", "60.00"},
		{`o3-mini(-\d{4}-\d{2}-\d{2})?`, "2025-01-31", "1.10", "0.55", "4.40"},
		{`o4-mini(-\d{4}-\d{2}-\d{2})?`, "2025-04-16", "1.10", "0.275", "4.40"},
		// o3 launched at $10/$40 (2025-04-16); OpenAI cut it by 80% to
		// $2/$8 on 2025-06-10.
		{`o3(-\d{4}-\d{2}-\d{2})?`, "2025-04-16", "10.00", "2.50", "40.00"},
		{`o3(-\d{4}-\d{2}-\d{2})?`, "2025-06-10", "2.00", "0.50", "8.00"},
		// gpt-3.5-turbo snapshots, each at its own price: 0613 at
		// $1.50/$2 (2023-06-13), 1106 at $1/$2 (2023-11-06), 0125 at
		// $0.50/$1.50, which the gpt-3.5-turbo alias has named since
		// 2024-02-16. No cache discount.
		{`gpt-3\.5-turbo-0613`, "2023-06-13", "1.50", "1.50", "2.00"},
		{`gpt-3\.5-turbo-1106`, "2023-11-06", "1.00", "1.00", "2.00"},
		{`gpt-3\.5-turbo(-0125)?`, "2024-02-16", "0.50", "0.50", "1.50"},

		// Anthropic, through its OpenAI SDK compatibility endpoint:
		// https://docs.anthropic.com/en/docs/about-claude/pricing (now
		// https://platform.claude.com/docs/en/about-claude/pricing).
		// Cached input is the "cache hits and refreshes" price; cache
		// writes cost more, but the compatibility endpoint reports no
		// cache details, so Parley sees none of either. Names are the
		// alias and its dated snapshot (claude-sonnet-4-5-20250929).
		{`claude-opus-4(-0|-\d{8})?`, "2025-05-22", "15.00", "1.50", "75.00"},
		{`claude-sonnet-4(-0|-\d{8})?`, "2025-05-22", "3.00", "0.30", "15.00"},
		{`claude-opus-4-1(-\d{8})?`, "2025-08-05", "15.00", "1.50", "75.00"},
		{`claude-sonnet-4-5(-\d{8})?`, "2025-09-29", "3.00", "0.30", "15.00"},
		{`claude-haiku-4-5(-\d{8})?`, "2025-10-15", "1.00", "0.10", "5.00"},
		{`claude-opus-4-5(-\d{8})?`, "2025-11-24", "5.00", "0.50", "25.00"},
		{`claude-3-5-haiku(-\d{8}|-latest)?`, "2024-11-04", "0.80", "0.08", "4.00"},

		// Gemini, through its OpenAI compatibility endpoint:
		// https://ai.google.dev/gemini-api/docs/pricing (standard tier,
		// text input). That endpoint reports no cached tokens
		// (docs/MODELS.md), so cached input is priced as input.
		// gemini-2.5-pro and -flash went GA on 2025-06-17 (Pro's price
		// is for prompts up to 200k tokens), -flash-lite on 2025-07-22,
		// gemini-2.0-flash on 2025-02-05.
		{`gemini-2\.5-pro`, "2025-06-17", "1.25", "1.25", "10.00"},
		{`gemini-2\.5-flash`, "2025-06-17", "0.30", "0.30", "2.50"},
		{`gemini-2\.5-flash-lite`, "2025-07-22", "0.10", "0.10", "0.40"},
		{`gemini-2\.0-flash(-001)?`, "2025-02-05", "0.10", "0.10", "0.40"},

		// DeepSeek: https://api-docs.deepseek.com/quick_start/pricing.
		// Cached input is the "cache hit" price (DeepSeek reports hits
		// as prompt_cache_hit_tokens). deepseek-chat and
		// deepseek-reasoner share one price: $0.56/$0.07/$1.68 from
		// 2025-09-05 16:00 UTC (V3.1; before that a night discount made
		// the price depend on the hour); $0.28/$0.028/$0.42 from
		// 2025-09-29 (V3.2-Exp, "effective immediately"); from
		// 2026-04-24 both names served V4-Flash at $0.14/$0.28 with
		// cache hits at $0.028, cut to a tenth at 2026-04-26 12:15 UTC.
		// DeepSeek retired both names on 2026-07-24.
		{`deepseek-(chat|reasoner)`, "2025-09-05T16:00:00Z", "0.56", "0.07", "1.68"},
		{`deepseek-(chat|reasoner)`, "2025-09-29", "0.28", "0.028", "0.42"},
		{`deepseek-(chat|reasoner)`, "2026-04-24", "0.14", "0.028", "0.28"},
		{`deepseek-(chat|reasoner)`, "2026-04-26T12:15:00Z", "0.14", "0.0028", "0.28"},
	}
	out := make([]*Price, 0, len(rows))
	for _, r := range rows {
		from, err := time.Parse(time.RFC3339, r.from)
		if err != nil {
			from, err = time.Parse(time.DateOnly, r.from)
		}
		if err != nil {
			panic(fmt.Sprintf("builtin price %s: effective_from: %v", r.pattern, err))
		}
		p := &Price{ModelPattern: r.pattern, EffectiveFrom: from.UTC(), Builtin: true}
		for _, f := range []struct {
			dst *money.Money
			s   string
		}{{&p.Input, r.in}, {&p.CachedInput, r.cached}, {&p.Output, r.out}} {
			if *f.dst, err = money.Parse(f.s); err != nil {
				panic(fmt.Sprintf("builtin price %s: %v", r.pattern, err))
			}
		}
		out = append(out, p)
	}
	return out
}()
