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
