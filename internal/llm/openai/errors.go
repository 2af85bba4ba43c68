package openai

import (
	"bytes"
	"encoding/json"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"unicode"

	"github.com/parley-dev/parley/internal/llm"
)

// Error bodies differ between servers, and the provider's own message is
// the most useful thing to show. parseError reads every shape in use:
//
//	{"error": {"message": "…", "type": "…", "param": "…", "code": "…"|400}}   OpenAI, Azure, Groq, OpenRouter, llama.cpp, Ollama
//	{"object": "error", "message": "…"|{…}|[…], "type": …, "code": …}         vLLM, Mistral (object-valued message)
//	[{"error": {"code": 400, "message": "…", "status": "INVALID_ARGUMENT"}}]  Gemini
//	{"detail": [{"type": "extra_forbidden", "loc": ["body", "x"], "msg": …}]} FastAPI servers
//	{"error": "…"}                                                             Ollama's native errors
//
// and falls back to the first line of a text body.

// maxMessage bounds the provider message kept (bodies can echo prompts).
const maxMessage = 400

type errFields struct {
	message, code, typ, param string
}

func parseError(status int, body []byte, apiKey string) *llm.ProviderError {
	f := readError(bytes.TrimSpace(body))
	if f.message == "" {
		f.message = http.StatusText(status)
		if f.message == "" {
			f.message = "status " + strconv.Itoa(status)
		}
	}
	if f.param == "" {
		f.param = paramIn(f.message)
	}
	msg := sanitize(f.message, apiKey)
	return &llm.ProviderError{Status: status, Message: msg, Code: classify(status, f), Param: f.param}
}

// readError extracts the fields from any of the shapes above.
func readError(body []byte) errFields {
	if len(body) == 0 {
		return errFields{}
	}
	var v any
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	if err := dec.Decode(&v); err != nil {
		line, _, _ := strings.Cut(string(body), "\n")
		return errFields{message: strings.TrimSpace(line)}
	}
	return fieldsOf(v, 0)
}

func fieldsOf(v any, depth int) errFields {
	if depth > 4 {
		return errFields{}
	}
	switch x := v.(type) {
	case []any: // Gemini: a list of error objects; the first says it
		for _, e := range x {
			if f := fieldsOf(e, depth+1); f.message != "" {
				return f
			}
		}
	case string:
		return errFields{message: x}
	case map[string]any:
		if e, ok := x["error"]; ok && e != nil {
			f := fieldsOf(e, depth+1)
			if f.code == "" {
				f.code = scalar(x["code"])
			}
			return f
		}
		f := errFields{code: scalar(x["code"]), typ: scalar(x["type"]), param: scalar(x["param"])}
		if s := scalar(x["status"]); f.typ == "" {
			f.typ = s // Gemini: "INVALID_ARGUMENT", "RESOURCE_EXHAUSTED"
		}
		switch m := x["message"].(type) {
		case string:
			f.message = m
		case nil:
		default: // Mistral: {"detail": [...]} as the message
			inner := fieldsOf(m, depth+1)
			f.message = inner.message
			if f.param == "" {
				f.param = inner.param
			}
			if f.code == "" {
				f.code = inner.code
			}
		}
		if f.message == "" {
			if d, ok := x["detail"]; ok {
				inner := detail(d)
				f.message, f.param, f.code = inner.message, first(f.param, inner.param), first(f.code, inner.code)
			}
		}
		if f.message == "" {
			f.message = scalar(x["msg"])
		}
		return f
	}
	return errFields{}
}

// detail reads a FastAPI/pydantic validation list: each item's location and
// message; an extra_forbidden item names the refused parameter.
func detail(d any) errFields {
	list, ok := d.([]any)
	if !ok {
		return errFields{message: scalar(d)}
	}
	var f errFields
	var parts []string
	for _, it := range list {
		m, ok := it.(map[string]any)
		if !ok {
			continue
		}
		var loc []string
		if l, ok := m["loc"].([]any); ok {
			for _, p := range l {
				loc = append(loc, scalar(p))
			}
		}
		typ := scalar(m["type"])
		where := strings.Join(loc, ".")
		if len(loc) == 2 && loc[0] == "body" {
			where = loc[1]
			if f.param == "" && (typ == "extra_forbidden" || typ == "value_error") {
				f.param = loc[1]
			}
		}
		if f.code == "" {
			f.code = typ
		}
		parts = append(parts, strings.TrimPrefix(where+": ", ": ")+scalar(m["msg"]))
	}
	f.message = strings.Join(parts, "; ")
	return f
}

func scalar(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case json.Number:
		return x.String()
	case bool:
		return strconv.FormatBool(x)
	case nil:
		return ""
	}
	b, _ := json.Marshal(v)
	return string(b)
}

func first(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// paramPatterns find the refused parameter in a message when the body has
// no param field: OpenAI, Azure, pydantic (also as Python repr text).
var paramPatterns = []*regexp.Regexp{
	regexp.MustCompile(`(?i)unsupported (?:parameter|value): '([a-z_.]+)'`),
	regexp.MustCompile(`(?i)unrecognized request arguments? supplied: ([a-z_]+)`),
	regexp.MustCompile(`(?i)unknown (?:parameter|field|argument)[: ]+["'\x60]?([a-z_.]+)`),
	regexp.MustCompile(`(?i)["'\x60]([a-z_.]+)["'\x60] is not (?:supported|permitted|allowed)`),
	regexp.MustCompile(`(?i)property ["'\x60]?([a-z_.]+)["'\x60]? is unsupported`),
	regexp.MustCompile(`loc['"]?: ?[(\[]['"]body['"], ?['"]([a-z_]+)['"]`),
}

func paramIn(msg string) string {
	for _, re := range paramPatterns {
		if m := re.FindStringSubmatch(msg); m != nil {
			return m[1]
		}
	}
	return ""
}

// classify gives a provider error its llm code from the status, the
// provider's code and type, and its message.
func classify(status int, f errFields) string {
	code := strings.ToLower(f.code + " " + f.typ)
	msg := strings.ToLower(f.message)
	has := func(s string, subs ...string) bool {
		for _, sub := range subs {
			if strings.Contains(s, sub) {
				return true
			}
		}
		return false
	}
	switch {
	case status == http.StatusPaymentRequired,
		has(code, "insufficient_quota", "insufficient_balance", "billing"),
		has(msg, "insufficient credits", "insufficient balance", "exceeded your current quota", "credit balance is too low", "insufficient_quota"):
		return llm.CodeProviderQuota
	case status == http.StatusTooManyRequests, has(code, "rate_limit", "resource_exhausted"):
		return llm.CodeRateLimited
	case has(code, "context_length_exceeded", "exceed_context_size", "context_window_exceeded"),
		has(msg, "maximum context length", "context length", "context window", "context size",
			"prompt is too long", "input token count", "too many tokens", "reduce the length of the messages"):
		return llm.CodeContextLengthExceeded
	case has(code, "content_filter", "content_policy", "responsibleaipolicyviolation", "safety"),
		has(msg, "content management policy", "content filter", "content_filter"):
		return llm.CodeContentFiltered
	case status == http.StatusUnauthorized, status == http.StatusForbidden:
		return llm.CodeProviderAuth
	case (status == http.StatusBadRequest || status == http.StatusUnprocessableEntity) &&
		(has(code, "unsupported_parameter", "unsupported_value", "extra_forbidden") ||
			has(msg, "unsupported parameter", "unsupported value", "extra inputs are not permitted",
				"unrecognized request argument", "not supported with this model", "unknown parameter")):
		return llm.CodeUnsupportedParameter
	}
	return llm.CodeProviderError
}

// sanitize keeps a provider message fit to show: one line of printable
// text, bounded, with the API key blanked should a server echo it.
func sanitize(msg, apiKey string) string {
	if apiKey != "" && len(apiKey) >= 8 {
		msg = strings.ReplaceAll(msg, apiKey, "[redacted]")
	}
	msg = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return ' '
		}
		return r
	}, msg)
	msg = strings.Join(strings.Fields(msg), " ")
	if r := []rune(msg); len(r) > maxMessage {
		msg = string(r[:maxMessage]) + "…"
	}
	return msg
}

// retryable reports whether an answer may succeed if sent again: rate
// limits and server failures, but not a context overflow that llama.cpp
// reports as a 500, nor an exhausted quota sent as a 429.
func retryable(pe *llm.ProviderError) bool {
	switch pe.Code {
	case llm.CodeContextLengthExceeded, llm.CodeProviderQuota, llm.CodeContentFiltered, llm.CodeProviderAuth,
		llm.CodeUnsupportedParameter:
		return false
	}
	return pe.Status == http.StatusRequestTimeout || pe.Status == http.StatusConflict ||
		pe.Status == http.StatusTooManyRequests || pe.Status >= 500
}
