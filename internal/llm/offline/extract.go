package offline

import (
	"context"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/parley-dev/parley/internal/llm"
	"github.com/parley-dev/parley/internal/llm/tokens"
)

var (
	emailRe  = regexp.MustCompile(`[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}`)
	phoneRe  = regexp.MustCompile(`\+?\d[\d\s().-]{6,}\d`)
	numberRe = regexp.MustCompile(`-?\d+(?:[.,]\d+)?`)
	dateRe   = regexp.MustCompile(`\b\d{4}-\d{2}-\d{2}\b`)
	nameRe   = regexp.MustCompile(`(?i)\b(?:my name is|i am|i'm|this is)\s+([A-Z][\p{L}'-]+(?:\s+[A-Z][\p{L}'-]+)?)`)
)

var (
	yesWords  = set("yes", "yeah", "yep", "sure", "definitely", "please", "ok", "okay", "absolutely", "interested")
	noWords   = set("no", "not", "nope", "don't", "dont", "never", "cancel", "without")
	doneWords = set("thanks", "thank", "perfect", "great", "solved", "resolved", "helpful", "works")
)

// Extract implements llm.Extractor by rules, so extraction works with no
// keys: emails, phone numbers, dates, numbers and yes/no answers near the
// words of a field's name or description, and enum values mentioned by the
// customer. Only the customer's own messages are read, newest first, so a
// later correction wins. "summary" and "status" get simple defaults.
func (m *Model) Extract(ctx context.Context, req llm.ExtractRequest) (llm.ExtractResponse, error) {
	start := time.Now()
	if err := ctx.Err(); err != nil {
		return llm.ExtractResponse{}, err
	}
	var user []string
	for i := len(req.Transcript) - 1; i >= 0; i-- {
		if req.Transcript[i].Role == llm.RoleUser {
			user = append(user, req.Transcript[i].Content)
		}
	}
	values := map[string]any{}
	for _, f := range req.Fields {
		if v, ok := extractField(f, user, req.Transcript); ok {
			values[f.Name] = v
		}
	}
	in := int64(tokens.CountChat("", req.Transcript))
	var outText strings.Builder
	for k, v := range values {
		outText.WriteString(k + " " + toString(v) + "\n")
	}
	out := int64(tokens.Count(outText.String()))
	return llm.ExtractResponse{Values: values, Model: Name, Latency: time.Since(start),
		Usage: llm.Usage{InputTokens: in, OutputTokens: out, TotalTokens: in + out}}, nil
}

func toString(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	case bool:
		return strconv.FormatBool(x)
	}
	return ""
}

// keywords are the words that point at a field in a message.
func keywords(f llm.Field) []string {
	var out []string
	for _, w := range terms(strings.ReplaceAll(f.Name, "_", " ") + " " + f.Description) {
		if len(w) >= 3 {
			out = append(out, w)
		}
	}
	return out
}

func mentions(msg string, keys []string) bool {
	ts := terms(msg)
	for _, t := range ts {
		for _, k := range keys {
			if t == k {
				return true
			}
		}
	}
	return false
}

func extractField(f llm.Field, user []string, transcript []llm.Message) (any, bool) {
	name := strings.ToLower(f.Name)
	switch {
	case name == "summary" && f.Type == llm.FieldString:
		return summarize(transcript), len(user) > 0
	case name == "status" && f.Type == llm.FieldEnum:
		return status(f.Values, user)
	}
	keys := keywords(f)
	switch f.Type {
	case llm.FieldString:
		switch {
		case strings.Contains(name, "email"):
			return firstMatch(emailRe, user)
		case strings.Contains(name, "phone") || strings.Contains(name, "mobile"):
			return firstMatch(phoneRe, user)
		case strings.Contains(name, "name"):
			for _, m := range user {
				if g := nameRe.FindStringSubmatch(m); g != nil {
					return g[1], true
				}
			}
		}
	case llm.FieldDate:
		return firstMatch(dateRe, user)
	case llm.FieldNumber:
		for _, m := range user {
			if !mentions(m, keys) {
				continue
			}
			if s := numberRe.FindString(m); s != "" {
				if v, err := strconv.ParseFloat(strings.ReplaceAll(s, ",", "."), 64); err == nil {
					return v, true
				}
			}
		}
	case llm.FieldBoolean:
		for _, m := range user {
			if !mentions(m, keys) {
				continue
			}
			ws := words(m)
			for _, w := range ws {
				if noWords[w] {
					return false, true
				}
			}
			for _, w := range ws {
				if yesWords[w] {
					return true, true
				}
			}
		}
	case llm.FieldEnum:
		for _, m := range user {
			lower := " " + strings.Join(words(m), " ") + " "
			for _, v := range f.Values {
				if strings.Contains(lower, " "+strings.ToLower(v)+" ") {
					return v, true
				}
			}
		}
	}
	return nil, false
}

func firstMatch(re *regexp.Regexp, msgs []string) (any, bool) {
	for _, m := range msgs {
		if s := re.FindString(m); s != "" {
			return strings.TrimSpace(s), true
		}
	}
	return nil, false
}

// summarize describes the conversation in one line: what the customer
// opened with and how long it went.
func summarize(transcript []llm.Message) string {
	first, n := "", 0
	for _, m := range transcript {
		if m.Role == llm.RoleUser {
			if first == "" {
				first = m.Content
			}
			n++
		}
	}
	r := []rune(strings.Join(strings.Fields(first), " "))
	if len(r) > 120 {
		r = append(r[:119], '…')
	}
	return "The customer wrote " + strconv.Itoa(n) + " message(s), starting with: \"" + string(r) + "\""
}

// status picks "resolved" when the customer's last message sounds
// satisfied and the field allows it, else the first other value.
func status(values []string, user []string) (any, bool) {
	if len(values) == 0 || len(user) == 0 {
		return nil, false
	}
	has := func(v string) bool {
		for _, x := range values {
			if x == v {
				return true
			}
		}
		return false
	}
	satisfied := false
	for _, w := range words(user[0]) {
		if doneWords[w] {
			satisfied = true
		}
	}
	if satisfied && has("resolved") {
		return "resolved", true
	}
	for _, v := range values {
		if v != "resolved" {
			return v, true
		}
	}
	return values[0], true
}
