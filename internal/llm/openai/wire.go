package openai

import (
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"regexp"
	"strconv"
	"strings"

	"github.com/parley-dev/parley/internal/llm"
	"github.com/parley-dev/parley/internal/money"
)

// The chat-completions wire format, read loosely: every provider adds its
// own fields (x_groq, timings, usage.cost, prompt_cache_hit_tokens) and
// some shape the standard ones differently (content as a list of parts).

type wireMessage struct {
	Role    string `json:"role"`
	Content string `json:"content"`
}

// wireReply is a chat.completion or one chat.completion.chunk.
type wireReply struct {
	Model   string       `json:"model"`
	Choices []wireChoice `json:"choices"`
	Usage   *wireUsage   `json:"usage"`
	// XGroq carries Groq's usage in the last chunk of a stream.
	XGroq *struct {
		Usage *wireUsage `json:"usage"`
	} `json:"x_groq"`
	// Timings is llama.cpp's report, with the prompt tokens served from
	// its cache (cache_n) and those it evaluated (prompt_n).
	Timings *struct {
		CacheN     *int64 `json:"cache_n"`
		PromptN    *int64 `json:"prompt_n"`
		PredictedN *int64 `json:"predicted_n"`
	} `json:"timings"`
	// Error is an error reported inside a 200 stream (OpenRouter sends
	// one when the upstream fails midway).
	Error json.RawMessage `json:"error"`
}

type wireChoice struct {
	Message      wireContent `json:"message"`
	Delta        wireContent `json:"delta"`
	FinishReason *string     `json:"finish_reason"`
}

type wireContent struct {
	// Content is a string, null, or (Mistral's reasoning models) a list
	// of typed parts of which the "text" ones are the answer.
	Content json.RawMessage `json:"content"`
	// Refusal is OpenAI's explicit refusal text.
	Refusal string `json:"refusal"`
}

// text returns the answer text of a message or delta.
func (c wireContent) text() string {
	var s string
	if len(c.Content) > 0 && c.Content[0] == '"' {
		_ = json.Unmarshal(c.Content, &s)
	} else if len(c.Content) > 0 && c.Content[0] == '[' {
		var parts []struct {
			Type string `json:"type"`
			Text string `json:"text"`
		}
		if json.Unmarshal(c.Content, &parts) == nil {
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
		s = c.Refusal
	}
	return s
}

type wireUsage struct {
	PromptTokens        *int64 `json:"prompt_tokens"`
	CompletionTokens    *int64 `json:"completion_tokens"`
	TotalTokens         *int64 `json:"total_tokens"`
	PromptTokensDetails *struct {
		CachedTokens *int64 `json:"cached_tokens"`
	} `json:"prompt_tokens_details"`
	CompletionTokensDetails *struct {
		ReasoningTokens *int64 `json:"reasoning_tokens"`
	} `json:"completion_tokens_details"`
	// DeepSeek reports its context cache this way; prompt_tokens is the
	// sum of hits and misses.
	PromptCacheHitTokens  *int64 `json:"prompt_cache_hit_tokens"`
	PromptCacheMissTokens *int64 `json:"prompt_cache_miss_tokens"`
	// Cost is OpenRouter's charge for the call, in USD (credits), kept as
	// the number's own text so no float rounds it.
	Cost json.RawMessage `json:"cost"`
}

func val(p *int64) int64 {
	if p == nil {
		return 0
	}
	return *p
}

// usage converts what the reply reported, from whichever fields the
// provider uses. ok is false when it reported no counts at all.
func (r *wireReply) usage() (u llm.Usage, cost *money.Money, ok bool, err error) {
	w := r.Usage
	if (w == nil || w.PromptTokens == nil && w.CompletionTokens == nil && w.PromptCacheHitTokens == nil) &&
		r.XGroq != nil && r.XGroq.Usage != nil {
		w = r.XGroq.Usage
	}
	if w != nil && (w.PromptTokens != nil || w.CompletionTokens != nil || w.PromptCacheHitTokens != nil) {
		ok = true
		u.InputTokens = val(w.PromptTokens)
		if w.PromptTokens == nil {
			u.InputTokens = val(w.PromptCacheHitTokens) + val(w.PromptCacheMissTokens)
		}
		u.OutputTokens = val(w.CompletionTokens)
		switch {
		case w.PromptTokensDetails != nil && w.PromptTokensDetails.CachedTokens != nil:
			u.CachedInputTokens = *w.PromptTokensDetails.CachedTokens
		case w.PromptCacheHitTokens != nil:
			u.CachedInputTokens = *w.PromptCacheHitTokens
		case r.Timings != nil && r.Timings.CacheN != nil:
			u.CachedInputTokens = *r.Timings.CacheN
		}
		if w.CompletionTokensDetails != nil {
			u.ReasoningTokens = val(w.CompletionTokensDetails.ReasoningTokens)
		}
		if w.TotalTokens != nil {
			u.TotalTokens = *w.TotalTokens
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
	if w != nil && len(w.Cost) > 0 && string(w.Cost) != "null" {
		c, perr := parseCost(string(w.Cost))
		if perr != nil {
			return u, nil, ok, perr
		}
		cost = &c
	}
	return u, cost, ok, nil
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
