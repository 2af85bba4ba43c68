package openai

import (
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"regexp"
	"strconv"
	"strings"

	sdk "github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/packages/respjson"

	"github.com/parley-dev/parley/internal/llm"
	"github.com/parley-dev/parley/internal/money"
)

// The SDK's CompletionUsage reads the standard usage fields. Providers add
// their own: DeepSeek's prompt_cache_hit_tokens and OpenRouter's cost
// inside usage (which the SDK keeps as extra fields, in the provider's own
// JSON text), Groq's x_groq.usage and llama.cpp's timings beside it.

// wireReply is the usage a chat.completion or chat.completion.chunk
// reports: the SDK's typed usage and the provider fields beside it.
type wireReply struct {
	Usage sdk.CompletionUsage `json:"usage"`
	// XGroq carries Groq's usage in the last chunk of a stream.
	XGroq *struct {
		Usage sdk.CompletionUsage `json:"usage"`
	} `json:"x_groq"`
	// Timings is llama.cpp's report, with the prompt tokens served from
	// its cache (cache_n) and those it evaluated (prompt_n).
	Timings *struct {
		CacheN     *int64 `json:"cache_n"`
		PromptN    *int64 `json:"prompt_n"`
		PredictedN *int64 `json:"predicted_n"`
	} `json:"timings"`
}

// usageOf reads the usage a reply or chunk reported, from its JSON. ok is
// false when it reported no counts at all.
func usageOf(reply []byte) (llm.Usage, *money.Money, bool, error) {
	var r wireReply
	if err := json.Unmarshal(reply, &r); err != nil {
		return llm.Usage{}, nil, false, fmt.Errorf("the reply's usage is unreadable: %w", err)
	}
	return r.usage()
}

// text returns the answer text of a message or delta: its content, or
// (Mistral's reasoning models) the "text" parts of a content list, which
// the SDK's string field cannot hold and keeps as raw JSON, else the
// refusal.
func text(content string, f respjson.Field, refusal string) string {
	s := content
	if !f.Valid() {
		s = ""
		var parts []struct {
			Type string `json:"type"`
			Text string `json:"text"`
		}
		if raw := f.Raw(); strings.HasPrefix(raw, "[") && json.Unmarshal([]byte(raw), &parts) == nil {
			var b strings.Builder
			for _, p := range parts {
				if p.Type == "text" || p.Type == "" {
					b.WriteString(p.Text)
				}
			}
			s = b.String()
		}
	}
	if s == "" {
		s = refusal
	}
	return s
}

// present reports whether a reply carries a field the SDK's types do not
// name, with a value other than null. (The SDK keeps such fields in
// ExtraFields, marked invalid whatever their value, so Valid cannot say.)
func present(f respjson.Field) bool {
	raw := f.Raw()
	return raw != respjson.Omitted && raw != respjson.Null
}

// extraInt reads an integer a provider adds to usage (DeepSeek's
// prompt_cache_hit_tokens); ok is false when it is absent, null or not an
// integer.
func extraInt(u sdk.CompletionUsage, name string) (n int64, ok bool) {
	f := u.JSON.ExtraFields[name]
	if !present(f) || json.Unmarshal([]byte(f.Raw()), &n) != nil {
		return 0, false
	}
	return n, true
}

// reported reports whether a usage object carries any count.
func reported(u sdk.CompletionUsage) bool {
	_, hit := extraInt(u, "prompt_cache_hit_tokens")
	return u.JSON.PromptTokens.Valid() || u.JSON.CompletionTokens.Valid() || hit
}

// usage converts what the reply reported, from whichever fields the
// provider uses. ok is false when it reported no counts at all.
func (r *wireReply) usage() (u llm.Usage, cost *money.Money, ok bool, err error) {
	w := r.Usage
	if !reported(w) && r.XGroq != nil && reported(r.XGroq.Usage) {
		w = r.XGroq.Usage
	}
	if reported(w) {
		ok = true
		hit, hasHit := extraInt(w, "prompt_cache_hit_tokens")
		u.InputTokens = w.PromptTokens
		if !w.JSON.PromptTokens.Valid() {
			miss, _ := extraInt(w, "prompt_cache_miss_tokens")
			u.InputTokens = hit + miss
		}
		u.OutputTokens = w.CompletionTokens
		switch {
		case w.PromptTokensDetails.JSON.CachedTokens.Valid():
			u.CachedInputTokens = w.PromptTokensDetails.CachedTokens
		case hasHit:
			u.CachedInputTokens = hit
		case r.Timings != nil && r.Timings.CacheN != nil:
			u.CachedInputTokens = *r.Timings.CacheN
		}
		u.ReasoningTokens = w.CompletionTokensDetails.ReasoningTokens
		if w.JSON.TotalTokens.Valid() {
			u.TotalTokens = w.TotalTokens
		} else {
			u.TotalTokens = u.InputTokens + u.OutputTokens
		}
	} else if t := r.Timings; t != nil && (t.PromptN != nil || t.PredictedN != nil) {
		// llama.cpp without a usage object: prompt_n counts only the
		// tokens it evaluated, cache_n those it reused.
		ok = true
		u.CachedInputTokens = val(t.CacheN)
		u.InputTokens = val(t.PromptN) + u.CachedInputTokens
		u.OutputTokens = val(t.PredictedN)
		u.TotalTokens = u.InputTokens + u.OutputTokens
	}
	// The cost is OpenRouter's charge for the call, in USD (credits), read
	// from the number's own text so no float rounds it.
	if f := w.JSON.ExtraFields["cost"]; present(f) {
		c, perr := parseCost(f.Raw())
		if perr != nil {
			return u, nil, ok, perr
		}
		cost = &c
	}
	return u, cost, ok, nil
}

func val(p *int64) int64 {
	if p == nil {
		return 0
	}
	return *p
}

// parseCost reads a JSON number of USD (possibly quoted, possibly in
// exponent form like 1.5e-05) exactly, and rounds it to the nano-dollar,
// halves away from zero. It never passes through float64.
func parseCost(s string) (money.Money, error) {
	s = strings.Trim(strings.TrimSpace(s), `"`)
	m := jsonNumber.FindStringSubmatch(s)
	if m == nil {
		return 0, fmt.Errorf("provider cost %q is not a number", s)
	}
	if exp, _ := strconv.Atoi(m[1]); exp > 30 || exp < -30 {
		return 0, fmt.Errorf("provider cost %q is out of range", s) // and would cost a huge big.Rat
	}
	r, ok := new(big.Rat).SetString(s)
	if !ok {
		return 0, fmt.Errorf("provider cost %q is not a number", s)
	}
	r.Mul(r, new(big.Rat).SetInt64(money.NanosPerUSD))
	num, den := r.Num(), r.Denom()
	q, rem := new(big.Int).QuoRem(num, den, new(big.Int))
	// Round half away from zero: compare 2|rem| with the denominator.
	if new(big.Int).Mul(new(big.Int).Abs(rem), big.NewInt(2)).Cmp(den) >= 0 {
		if num.Sign() < 0 {
			q.Sub(q, big.NewInt(1))
		} else {
			q.Add(q, big.NewInt(1))
		}
	}
	if !q.IsInt64() {
		return 0, errors.New("provider cost is out of range")
	}
	return money.Money(q.Int64()), nil
}

// jsonNumber is the grammar of a JSON number; the group is the exponent.
var jsonNumber = regexp.MustCompile(`^-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE]([+-]?[0-9]{1,9}))?$`)

// finishReason maps a provider's finish reason to the llm constants.
// Unknown reasons that still end a reply count as a normal stop.
func finishReason(s string) string {
	switch strings.ToLower(s) {
	case "length", "max_tokens", "model_length":
		return llm.FinishLength
	case "content_filter", "safety", "recitation", "blocklist", "prohibited_content", "spii":
		return llm.FinishContentFilter
	case "error":
		return llm.FinishError
	}
	return llm.FinishStop
}
