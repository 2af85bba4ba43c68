package assistant

import (
	"fmt"
	"regexp"
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

// FindPrice picks the price for a model at a time: among the rows that
// match the model and took effect at or before t, a workspace row beats a
// built-in one, an exact name beats a pattern, and a newer effective_from
// beats an older one. It returns nil when no row applies.
func FindPrice(model string, at time.Time, workspace []*Price) *Price {
	if model == llm.OfflineModel {
		return offlinePrice
	}
	for _, rows := range [][]*Price{workspace, builtinPrices} {
		var best *Price
		for _, p := range rows {
			if p.EffectiveFrom.After(at) || !p.Matches(model) {
				continue
			}
			if best == nil || better(p, best, model) {
				best = p
			}
		}
		if best != nil {
			return best
		}
	}
	return nil
}

func better(p, q *Price, model string) bool {
	pe, qe := p.ModelPattern == model, q.ModelPattern == model
	if pe != qe {
		return pe
	}
	return p.EffectiveFrom.After(q.EffectiveFrom)
}

var offlinePrice = &Price{ModelPattern: llm.OfflineModel, Builtin: true}

// BuiltinPrices returns the default price table, sorted by pattern.
func BuiltinPrices() []*Price {
	out := append([]*Price(nil), builtinPrices...)
	sort.Slice(out, func(i, j int) bool { return out[i].ModelPattern < out[j].ModelPattern })
	return out
}

// builtinPrices are list prices in USD per million tokens (input, cached
// input, output) of common models, as their providers publish them.
// Workspaces add or override rows through the model-prices API.
var builtinPrices = func() []*Price {
	since := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	rows := []struct{ pattern, in, cached, out string }{
		{`gpt-4o(-\d{4}-\d{2}-\d{2})?`, "2.50", "1.25", "10.00"},
		{`gpt-4o-mini(-\d{4}-\d{2}-\d{2})?`, "0.15", "0.075", "0.60"},
		{`gpt-4\.1(-\d{4}-\d{2}-\d{2})?`, "2.00", "0.50", "8.00"},
		{`gpt-4\.1-mini(-\d{4}-\d{2}-\d{2})?`, "0.40", "0.10", "1.60"},
		{`gpt-4\.1-nano(-\d{4}-\d{2}-\d{2})?`, "0.10", "0.025", "0.40"},
		{`gpt-5(-\d{4}-\d{2}-\d{2})?`, "1.25", "0.125", "10.00"},
		{`gpt-5-mini(-\d{4}-\d{2}-\d{2})?`, "0.25", "0.025", "2.00"},
		{`gpt-5-nano(-\d{4}-\d{2}-\d{2})?`, "0.05", "0.005", "0.40"},
		{`o3(-\d{4}-\d{2}-\d{2})?`, "2.00", "0.50", "8.00"},
		{`o4-mini(-\d{4}-\d{2}-\d{2})?`, "1.10", "0.275", "4.40"},
		{`gpt-3\.5-turbo(-\d{4})?`, "0.50", "0.50", "1.50"},
	}
	out := make([]*Price, 0, len(rows))
	for _, r := range rows {
		p := &Price{ModelPattern: r.pattern, EffectiveFrom: since, Builtin: true}
		var err error
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
