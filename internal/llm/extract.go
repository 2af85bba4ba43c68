package llm

import (
	"context"
	"encoding/json"
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/parley-dev/parley/internal/money"
)

// Field types that can be extracted.
const (
	FieldString  = "string"
	FieldNumber  = "number"
	FieldBoolean = "boolean"
	FieldDate    = "date"
	FieldEnum    = "enum"
)

// Field is one value to extract from a conversation.
type Field struct {
	Name        string
	Type        string
	Description string
	Values      []string // for enums
}

// ExtractRequest asks for typed values found in a transcript.
type ExtractRequest struct {
	Model      string
	Transcript []Message
	Fields     []Field
}

// ExtractResponse holds what was found: JSON values by field name (a
// field not found is absent or null), lightly coerced to their field's
// type (see ParseValues) but not yet validated.
type ExtractResponse struct {
	Values map[string]any
	Model  string
	// Usage is the sum over every attempt the provider answered (a
	// structured-output mode it refused, an answer that was not JSON), so
	// all billed tokens can be recorded.
	Usage          Usage
	UsageEstimated bool
	// Attempts is how many requests the extraction took.
	Attempts int
	// ProviderCost is the provider's own reported cost, summed over the
	// attempts (nil when it reports none); see Response.ProviderCost.
	ProviderCost *money.Money
	Latency      time.Duration
}

// Extractor pulls structured values out of conversations.
type Extractor interface {
	// Extract asks for the fields. On error the response still carries the
	// usage of any attempts the provider billed.
	Extract(ctx context.Context, req ExtractRequest) (ExtractResponse, error)
}

// Extract implements Extractor by model name, like Generate.
func (r *Router) Extract(ctx context.Context, req ExtractRequest) (ExtractResponse, error) {
	m := r.Remote
	if req.Model == OfflineModel {
		m = r.Offline
	}
	ex, ok := m.(Extractor)
	if m == nil || !ok {
		return ExtractResponse{}, ErrUnknownModel
	}
	return ex.Extract(ctx, req)
}

// ErrNoJSON is returned by ParseValues when an answer holds no JSON object.
var ErrNoJSON = errors.New("the model did not answer with a JSON object")

// ParseValues reads a model's extraction answer leniently: the whole text
// as a JSON object, else inside a code fence, else the first balanced
// {…} in it (models without structured output wrap JSON in prose). Each
// field's value is then lightly coerced to its type the way a person would
// read it: "42.50" is the number 42.5, "Pro" the enum value "pro", "yes"
// true, and 2026-03-01T00:00:00Z the date 2026-03-01. Values that still do
// not fit are left for the caller's validation to refuse.
func ParseValues(text string, fields []Field) (map[string]any, error) {
	obj, ok := jsonObject(text)
	if !ok {
		return nil, ErrNoJSON
	}
	byName := make(map[string]Field, len(fields))
	lower := make(map[string]string, len(fields))
	for _, f := range fields {
		byName[f.Name] = f
		lower[strings.ToLower(f.Name)] = f.Name
	}
	out := make(map[string]any, len(obj))
	for k, v := range obj {
		name := k
		if _, ok := byName[k]; !ok {
			if n, ok := lower[strings.ToLower(k)]; ok {
				name = n
			}
		}
		if f, ok := byName[name]; ok {
			v = Coerce(v, f)
		}
		if _, dup := out[name]; !dup || name == k {
			out[name] = v
		}
	}
	return out, nil
}

// jsonObject finds the JSON object in an answer.
func jsonObject(text string) (map[string]any, bool) {
	text = strings.TrimSpace(text)
	var obj map[string]any
	if json.Unmarshal([]byte(text), &obj) == nil && obj != nil {
		return obj, true
	}
	if i := strings.Index(text, "```"); i >= 0 {
		rest := text[i+3:]
		if nl := strings.IndexByte(rest, '\n'); nl >= 0 {
			rest = rest[nl+1:] // the fence's language tag
		}
		if j := strings.Index(rest, "```"); j >= 0 {
			if json.Unmarshal([]byte(strings.TrimSpace(rest[:j])), &obj) == nil && obj != nil {
				return obj, true
			}
		}
	}
	for start := strings.IndexByte(text, '{'); start >= 0; {
		end := balanced(text[start:])
		if end > 0 && json.Unmarshal([]byte(text[start:start+end]), &obj) == nil && obj != nil {
			return obj, true
		}
		next := strings.IndexByte(text[start+1:], '{')
		if next < 0 {
			break
		}
		start += 1 + next
	}
	return nil, false
}

// balanced returns the length of the {…} that s starts with, honouring
// strings and escapes, or 0 when it never closes.
func balanced(s string) int {
	depth, inString, escaped := 0, false, false
	for i := 0; i < len(s); i++ {
		ch := s[i]
		switch {
		case escaped:
			escaped = false
		case inString && ch == '\\':
			escaped = true
		case ch == '"':
			inString = !inString
		case inString:
		case ch == '{':
			depth++
		case ch == '}':
			depth--
			if depth == 0 {
				return i + 1
			}
		}
	}
	return 0
}

// dateLayouts are the date and time forms accepted for a date field; the
// date is taken as written (no time-zone shift).
var dateLayouts = []string{time.DateOnly, time.RFC3339Nano, "2006-01-02T15:04:05", "2006-01-02 15:04:05", "2006-01-02 15:04", "2006/01/02"}

// Coerce converts a value to its field's type where the intent is plain,
// and returns anything else unchanged.
func Coerce(v any, f Field) any {
	s, isString := v.(string)
	if isString {
		s = strings.TrimSpace(s)
	}
	switch f.Type {
	case FieldNumber:
		if isString {
			t := strings.TrimLeft(s, "$€£ ")
			t = strings.ReplaceAll(t, ",", "")
			if n, err := strconv.ParseFloat(t, 64); err == nil && t != "" {
				return n
			}
		}
	case FieldBoolean:
		if isString {
			switch strings.ToLower(s) {
			case "true", "yes", "y":
				return true
			case "false", "no", "n":
				return false
			}
		}
	case FieldEnum:
		if isString {
			for _, allowed := range f.Values {
				if strings.EqualFold(s, allowed) {
					return allowed
				}
			}
		}
	case FieldDate:
		if isString {
			for _, layout := range dateLayouts {
				if t, err := time.Parse(layout, s); err == nil {
					return t.Format(time.DateOnly)
				}
			}
		}
	case FieldString:
		switch x := v.(type) {
		case float64:
			return strconv.FormatFloat(x, 'f', -1, 64)
		case bool:
			return strconv.FormatBool(x)
		}
	}
	if isString && s != v.(string) {
		return s
	}
	return v
}
