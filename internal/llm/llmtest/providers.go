package llmtest

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sort"
	"strings"
	"sync"
	"time"
)

// Fakes of real providers. Each Spec writes down what one provider's
// public documentation (and its issue threads) say about its
// chat-completions endpoint: its base URL and path, how it takes the key,
// which parameters it accepts and which it refuses (and how), which field
// it reads as the output limit, which response formats it honours, how it
// reports usage (in a stream too) and the shape of its errors. A Provider
// serves one Spec at its documented base URL: its Client dials the fake
// whatever the host, so the code under test sees the real URL.

// Usage styles: how a provider names its counts.
const (
	UsageOpenAI   = "openai"   // prompt_tokens_details.cached_tokens, completion_tokens_details.reasoning_tokens
	UsageDeepSeek = "deepseek" // prompt_cache_hit_tokens / prompt_cache_miss_tokens
	UsageLlamaCpp = "llamacpp" // usage without details, plus timings.cache_n / prompt_n / predicted_n
	UsagePlain    = "plain"    // prompt, completion and total only
)

// Stream usage: where a stream carries its usage.
const (
	StreamUsageIncluded = "include_usage" // a last chunk with usage, only when stream_options asks
	StreamUsageLast     = "last_chunk"    // on the finish chunk, always (stream_options not needed)
	StreamUsageXGroq    = "x_groq"        // in x_groq.usage on the finish chunk (and include_usage)
	StreamUsageNone     = "none"
)

// Error shapes.
const (
	ErrorsOpenAI = "openai" // {"error": {"message", "type", "param", "code"}}
	ErrorsObject = "object" // {"object": "error", "message", "type", "param", "code"} (vLLM, Mistral)
	ErrorsList   = "list"   // [{"error": {"code", "message", "status"}}] (Gemini)
)

// Spec is one provider's documented behaviour.
type Spec struct {
	Name string
	// BaseURL is the URL users configure (PARLEY_LLM_BASE_URL).
	BaseURL string
	// Model is a model name typical of the provider.
	Model string
	// APIKeyHeader: the key goes in "api-key" (Azure), not Authorization.
	APIKeyHeader bool
	// NoAuth: a local server that ignores keys.
	NoAuth bool
	// Params lists the body fields the provider accepts; nil accepts any.
	Params []string
	// Unknown is the status of the answer to a field not in Params:
	// 422 (Mistral's extra_forbidden) or 400; 0 ignores unknown fields.
	Unknown int
	// Limits are the fields read as the output-token limit, in order.
	Limits []string
	// Formats are the response_format types honoured. Formats a provider
	// ignores are in IgnoredFormats; any other is refused with a 400.
	Formats, IgnoredFormats []string
	// ReasoningRules: reasoning models (o-series, gpt-5) refuse a
	// temperature other than 1 and max_tokens, as OpenAI's do.
	ReasoningRules bool
	Usage          string
	StreamUsage    string
	// Reasoning: the provider reports completion_tokens_details.reasoning_tokens.
	Reasoning bool
	// Cost: the provider reports usage.cost (OpenRouter).
	Cost   bool
	Errors string
	// ContextStatus is the status of a context-overflow error (llama.cpp
	// answers 500) and ContextError its body's error object.
	ContextStatus int
	ContextError  map[string]any
	// Comments: the stream sends SSE comment lines (OpenRouter's
	// ": OPENROUTER PROCESSING" keep-alives).
	Comments bool
}

var openAIParams = []string{"model", "messages", "temperature", "top_p", "n", "stream", "stream_options", "stop",
	"max_tokens", "max_completion_tokens", "presence_penalty", "frequency_penalty", "logit_bias", "logprobs",
	"top_logprobs", "user", "response_format", "seed", "tools", "tool_choice", "parallel_tool_calls", "store",
	"metadata", "reasoning_effort", "service_tier", "modalities", "audio", "prediction", "verbosity"}

// The providers of docs/MODELS.md.
var (
	OpenAI = Spec{Name: "OpenAI", BaseURL: "https://api.openai.com/v1", Model: "gpt-4o-mini",
		Params: openAIParams, Unknown: 400, Limits: []string{"max_completion_tokens", "max_tokens"},
		Formats: []string{"json_schema", "json_object"}, ReasoningRules: true, Usage: UsageOpenAI,
		StreamUsage: StreamUsageIncluded, Reasoning: true, Errors: ErrorsOpenAI,
		ContextStatus: 400, ContextError: map[string]any{"message": "This model's maximum context length is 128000 tokens. However, your messages resulted in 130000 tokens.", "type": "invalid_request_error", "param": "messages", "code": "context_length_exceeded"}}
	AzureClassic = Spec{Name: "Azure OpenAI (deployment URL)", BaseURL: "https://contoso.openai.azure.com/openai/deployments/prod-gpt4o?api-version=2024-10-21",
		Model: "gpt-4o", APIKeyHeader: true, Params: openAIParams, Unknown: 400, Limits: []string{"max_completion_tokens", "max_tokens"},
		Formats: []string{"json_schema", "json_object"}, ReasoningRules: true, Usage: UsageOpenAI,
		StreamUsage: StreamUsageIncluded, Reasoning: true, Errors: ErrorsOpenAI,
		ContextStatus: 400, ContextError: map[string]any{"message": "This model's maximum context length is 128000 tokens.", "type": "invalid_request_error", "param": "messages", "code": "context_length_exceeded"}}
	AzureV1 = Spec{Name: "Azure OpenAI (v1 URL)", BaseURL: "https://contoso.openai.azure.com/openai/v1", Model: "gpt-4o",
		APIKeyHeader: true, Params: openAIParams, Unknown: 400, Limits: []string{"max_completion_tokens", "max_tokens"},
		Formats: []string{"json_schema", "json_object"}, ReasoningRules: true, Usage: UsageOpenAI,
		StreamUsage: StreamUsageIncluded, Reasoning: true, Errors: ErrorsOpenAI}
	// docs.anthropic.com/en/api/openai-sdk: response_format is ignored;
	// usage has no cache details.
	Anthropic = Spec{Name: "Anthropic (OpenAI SDK compatibility)", BaseURL: "https://api.anthropic.com/v1", Model: "claude-sonnet-4-5",
		Limits: []string{"max_completion_tokens", "max_tokens"}, IgnoredFormats: []string{"json_schema", "json_object"},
		Usage: UsagePlain, StreamUsage: StreamUsageIncluded, Errors: ErrorsOpenAI,
		ContextStatus: 400, ContextError: map[string]any{"message": "prompt is too long: 210000 tokens > 200000 maximum", "type": "invalid_request_error"}}
	Gemini = Spec{Name: "Gemini (OpenAI compatibility)", BaseURL: "https://generativelanguage.googleapis.com/v1beta/openai", Model: "gemini-2.5-flash",
		Limits: []string{"max_tokens", "max_completion_tokens"}, Formats: []string{"json_schema", "json_object"},
		Usage: UsagePlain, StreamUsage: StreamUsageIncluded, Errors: ErrorsList}
	// docs.mistral.ai/api: unknown fields are refused with 422.
	Mistral = Spec{Name: "Mistral", BaseURL: "https://api.mistral.ai/v1", Model: "mistral-small-latest",
		Params: []string{"model", "messages", "temperature", "top_p", "max_tokens", "stream", "stop", "random_seed",
			"response_format", "tools", "tool_choice", "presence_penalty", "frequency_penalty", "n", "prediction",
			"parallel_tool_calls", "safe_prompt", "prompt_mode"},
		Unknown: 422, Limits: []string{"max_tokens"}, Formats: []string{"json_schema", "json_object"},
		Usage: UsagePlain, StreamUsage: StreamUsageLast, Errors: ErrorsObject}
	DeepSeek = Spec{Name: "DeepSeek", BaseURL: "https://api.deepseek.com/v1", Model: "deepseek-chat",
		Limits: []string{"max_tokens"}, Formats: []string{"json_object"}, Usage: UsageDeepSeek,
		StreamUsage: StreamUsageIncluded, Reasoning: true, Errors: ErrorsOpenAI}
	Groq = Spec{Name: "Groq", BaseURL: "https://api.groq.com/openai/v1", Model: "llama-3.3-70b-versatile",
		Limits: []string{"max_completion_tokens", "max_tokens"}, Formats: []string{"json_schema", "json_object"},
		Usage: UsageOpenAI, StreamUsage: StreamUsageXGroq, Errors: ErrorsOpenAI}
	OpenRouter = Spec{Name: "OpenRouter", BaseURL: "https://openrouter.ai/api/v1", Model: "openai/gpt-4o-mini",
		Limits: []string{"max_tokens"}, Formats: []string{"json_schema", "json_object"}, Usage: UsageOpenAI,
		StreamUsage: StreamUsageLast, Reasoning: true, Cost: true, Errors: ErrorsOpenAI, Comments: true}
	Together = Spec{Name: "Together AI", BaseURL: "https://api.together.xyz/v1", Model: "meta-llama/Llama-3.3-70B-Instruct-Turbo",
		Limits: []string{"max_tokens"}, Formats: []string{"json_schema", "json_object"}, Usage: UsagePlain,
		StreamUsage: StreamUsageLast, Errors: ErrorsOpenAI}
	// github.com/ollama/ollama/blob/main/docs/openai.md: max_tokens only.
	Ollama = Spec{Name: "Ollama", BaseURL: "http://localhost:11434/v1", Model: "llama3.1:8b", NoAuth: true,
		Limits: []string{"max_tokens"}, Formats: []string{"json_schema", "json_object"}, Usage: UsagePlain,
		StreamUsage: StreamUsageIncluded, Errors: ErrorsOpenAI}
	VLLM = Spec{Name: "vLLM", BaseURL: "http://localhost:8000/v1", Model: "Qwen/Qwen2.5-7B-Instruct", NoAuth: true,
		Limits: []string{"max_completion_tokens", "max_tokens"}, Formats: []string{"json_schema", "json_object"},
		Usage: UsageOpenAI, StreamUsage: StreamUsageIncluded, Errors: ErrorsObject,
		ContextStatus: 400, ContextError: map[string]any{"message": "This model's maximum context length is 4096 tokens. However, you requested 5000 tokens.", "type": "BadRequestError", "code": 400}}
	// llama.cpp server: max_tokens; timings with cache_n; a context
	// overflow is a 500 on many builds.
	LlamaCpp = Spec{Name: "llama.cpp server", BaseURL: "http://localhost:8080/v1", Model: "local", NoAuth: true,
		Limits: []string{"max_tokens"}, Formats: []string{"json_schema", "json_object"}, Usage: UsageLlamaCpp,
		StreamUsage: StreamUsageIncluded, Errors: ErrorsOpenAI,
		ContextStatus: 500, ContextError: map[string]any{"code": 500, "message": "the request exceeds the available context size. try increasing the context size or enable context shift", "type": "exceed_context_size_error", "n_prompt_tokens": 9000, "n_ctx": 8192}}
	LMStudio = Spec{Name: "LM Studio", BaseURL: "http://localhost:1234/v1", Model: "qwen2.5-7b-instruct", NoAuth: true,
		Limits: []string{"max_tokens"}, Formats: []string{"json_schema"}, Usage: UsagePlain,
		StreamUsage: StreamUsageIncluded, Errors: ErrorsOpenAI}
)

// Specs lists every provider fake, in the order of docs/MODELS.md.
var Specs = []Spec{OpenAI, AzureClassic, AzureV1, Anthropic, Gemini, Mistral, DeepSeek, Groq, OpenRouter, Together,
	Ollama, VLLM, LlamaCpp, LMStudio}

// ProviderUsage is what a Provider reports for a reply.
type ProviderUsage struct {
	Prompt, Completion, Cached, Reasoning int64
	// Total is reported as total_tokens when not 0 (else prompt +
	// completion), to show the provider's own total is kept.
	Total int64
	// Cost is usage.cost as the provider writes the number (e.g. "0.00042"
	// or "1.5e-05"), for providers with Spec.Cost.
	Cost string
}

// Provider is a running fake of one provider.
type Provider struct {
	Spec Spec
	srv  *httptest.Server

	mu       sync.Mutex
	requests []ProviderRequest
	failures []int
	// Reply is the reply text (default "Echo: " and the last user message).
	Reply string
	// EmptyReply makes the reply empty (a reasoning model that spent its
	// whole limit thinking).
	EmptyReply bool
	// Usage is reported for every reply (default: 10 per message, 1 per
	// word of the reply).
	Usage *ProviderUsage
	// Values, when set, make the provider answer every request with this
	// JSON object: bare when the request's response_format is honoured,
	// else wrapped in prose and a code fence, as a model asked in words
	// answers.
	Values map[string]any
	// Finish overrides the finish reason (e.g. "content_filter").
	Finish string
	// CutAfter ends a stream after this many content chunks, with no
	// finish chunk and no [DONE].
	CutAfter int
	// ErrorAfter sends a mid-stream error after this many content chunks
	// (OpenRouter's shape).
	ErrorAfter int
	// ChunkDelay is slept before each streamed content chunk.
	ChunkDelay time.Duration
	// ContextWindow, when set, makes prompts longer than it (in words) a
	// context-overflow error in the provider's shape.
	ContextWindow int
	// Key is the API key the provider expects (default "sk-test").
	Key string
}

// ProviderRequest is a request the fake received.
type ProviderRequest struct {
	Path, Query string
	Header      http.Header
	Body        map[string]any
}

// Has reports whether the body had a field.
func (r ProviderRequest) Has(field string) bool { _, ok := r.Body[field]; return ok }

// Int returns a numeric field of the body (0 when absent).
func (r ProviderRequest) Int(field string) int {
	f, _ := r.Body[field].(float64)
	return int(f)
}

// NewProvider starts a fake of spec; it stops when the test ends.
func NewProvider(t interface{ Cleanup(func()) }, spec Spec) *Provider {
	p := &Provider{Spec: spec, Key: "sk-test"}
	p.srv = httptest.NewUnstartedServer(http.HandlerFunc(p.serve))
	if strings.HasPrefix(spec.BaseURL, "https:") {
		p.srv.StartTLS()
	} else {
		p.srv.Start()
	}
	t.Cleanup(p.srv.Close)
	return p
}

// BaseURL is the provider's documented base URL.
func (p *Provider) BaseURL() string { return p.Spec.BaseURL }

// Client returns an HTTP client that reaches the fake for any host (TLS
// verified against the fake's certificate), so the client under test is
// configured with the provider's real base URL.
func (p *Provider) Client() *http.Client {
	addr := p.srv.Listener.Addr().String()
	tr := &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, "tcp", addr)
	}}
	if p.srv.TLS != nil {
		base := p.srv.Client().Transport.(*http.Transport).TLSClientConfig
		tr.TLSClientConfig = &tls.Config{RootCAs: base.RootCAs, ServerName: "example.com", MinVersion: tls.VersionTLS12}
	}
	return &http.Client{Transport: tr}
}

// FailNext makes the next answers errors with these statuses, in the
// provider's error shape and with its typical message.
func (p *Provider) FailNext(status ...int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.failures = append(p.failures, status...)
}

// Requests returns every request received so far.
func (p *Provider) Requests() []ProviderRequest {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]ProviderRequest(nil), p.requests...)
}

// path is the chat-completions path the provider serves.
func (p *Provider) path() string {
	u, _ := url.Parse(p.Spec.BaseURL)
	return strings.TrimRight(u.Path, "/") + "/chat/completions"
}

func (p *Provider) serve(w http.ResponseWriter, r *http.Request) {
	u, _ := url.Parse(p.Spec.BaseURL)
	if r.Method != http.MethodPost || r.URL.Path != p.path() {
		p.fail(w, http.StatusNotFound, map[string]any{"message": "Resource not found: " + r.URL.Path, "code": "404"})
		return
	}
	if want := u.Query().Get("api-version"); want != "" && r.URL.Query().Get("api-version") != want {
		p.fail(w, http.StatusNotFound, map[string]any{"message": "Resource not found", "code": "404"})
		return
	}
	if !p.Spec.NoAuth {
		got := strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")
		if p.Spec.APIKeyHeader {
			got = r.Header.Get("api-key")
		}
		if got != p.Key {
			p.fail(w, http.StatusUnauthorized, map[string]any{"message": "Incorrect API key provided.", "type": "invalid_request_error", "code": "invalid_api_key"})
			return
		}
	}
	var body map[string]any
	if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
		p.fail(w, http.StatusBadRequest, map[string]any{"message": "invalid JSON body", "type": "invalid_request_error"})
		return
	}
	p.mu.Lock()
	p.requests = append(p.requests, ProviderRequest{Path: r.URL.Path, Query: r.URL.RawQuery, Header: r.Header.Clone(), Body: body})
	var status int
	if len(p.failures) > 0 {
		status, p.failures = p.failures[0], p.failures[1:]
	}
	p.mu.Unlock()
	if status != 0 {
		p.fail(w, status, p.scripted(status))
		return
	}
	if p.refuse(w, body) {
		return
	}
	p.answer(w, body)
}

// refuse answers the errors the provider gives for the request itself.
func (p *Provider) refuse(w http.ResponseWriter, body map[string]any) bool {
	s := p.Spec
	if s.Params != nil && s.Unknown != 0 {
		keys := make([]string, 0, len(body))
		for k := range body {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			if contains(s.Params, k) {
				continue
			}
			if s.Unknown == http.StatusUnprocessableEntity { // Mistral, verbatim shape
				writeJSON(w, s.Unknown, map[string]any{"object": "error", "message": map[string]any{"detail": []any{map[string]any{
					"type": "extra_forbidden", "loc": []any{"body", k}, "msg": "Extra inputs are not permitted", "input": body[k]}}},
					"type": "invalid_request_error", "param": nil, "code": nil})
				return true
			}
			p.fail(w, s.Unknown, map[string]any{"message": "Unrecognized request argument supplied: " + k, "type": "invalid_request_error", "param": nil, "code": nil})
			return true
		}
	}
	model, _ := body["model"].(string)
	if s.ReasoningRules && reasoning(model) {
		if t, ok := body["temperature"].(float64); ok && t != 1 {
			p.fail(w, 400, map[string]any{"message": fmt.Sprintf("Unsupported value: 'temperature' does not support %v with this model. Only the default (1) value is supported.", t),
				"type": "invalid_request_error", "param": "temperature", "code": "unsupported_value"})
			return true
		}
		if _, ok := body["max_tokens"]; ok {
			p.fail(w, 400, map[string]any{"message": "Unsupported parameter: 'max_tokens' is not supported with this model. Use 'max_completion_tokens' instead.",
				"type": "invalid_request_error", "param": "max_tokens", "code": "unsupported_parameter"})
			return true
		}
	}
	if f, ok := body["response_format"].(map[string]any); ok {
		typ, _ := f["type"].(string)
		if !contains(s.Formats, typ) && !contains(s.IgnoredFormats, typ) && typ != "text" {
			p.fail(w, 400, map[string]any{"message": "This response_format type is unavailable now", "type": "invalid_request_error", "param": "response_format"})
			return true
		}
	}
	if p.ContextWindow > 0 && promptWords(body) > p.ContextWindow && s.ContextError != nil {
		p.fail(w, s.ContextStatus, s.ContextError)
		return true
	}
	return false
}

// reasoning reports whether OpenAI documents a model as a reasoning model.
func reasoning(model string) bool {
	if strings.HasPrefix(model, "gpt-5") {
		return !strings.HasPrefix(model, "gpt-5-chat")
	}
	for _, pre := range []string{"o1", "o3", "o4"} {
		if model == pre || strings.HasPrefix(model, pre+"-") {
			return true
		}
	}
	return false
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func messages(body map[string]any) []Message {
	var out []Message
	list, _ := body["messages"].([]any)
	for _, m := range list {
		mm, _ := m.(map[string]any)
		role, _ := mm["role"].(string)
		content, _ := mm["content"].(string)
		out = append(out, Message{Role: role, Content: content})
	}
	return out
}

func promptWords(body map[string]any) int {
	n := 0
	for _, m := range messages(body) {
		n += len(strings.Fields(m.Content))
	}
	return n
}

// scripted is the provider's typical error for a status.
func (p *Provider) scripted(status int) map[string]any {
	switch status {
	case http.StatusPaymentRequired:
		if p.Spec.Name == DeepSeek.Name {
			return map[string]any{"message": "Insufficient Balance", "type": "unknown_error", "code": "invalid_request_error"}
		}
		return map[string]any{"code": 402, "message": "Insufficient credits. Add more using https://openrouter.ai/credits"}
	case http.StatusTooManyRequests:
		return map[string]any{"message": "Rate limit reached for requests", "type": "requests", "code": "rate_limit_exceeded"}
	case http.StatusUnauthorized:
		return map[string]any{"message": "Incorrect API key provided.", "type": "invalid_request_error", "code": "invalid_api_key"}
	}
	return map[string]any{"message": fmt.Sprintf("scripted failure %d", status), "type": "server_error", "code": status}
}

// fail writes an error in the provider's shape.
func (p *Provider) fail(w http.ResponseWriter, status int, e map[string]any) {
	switch p.Spec.Errors {
	case ErrorsObject:
		body := map[string]any{"object": "error", "message": e["message"], "type": e["type"], "param": e["param"], "code": e["code"]}
		if body["code"] == nil {
			body["code"] = status
		}
		writeJSON(w, status, body)
	case ErrorsList:
		g := map[string]any{"code": status, "message": e["message"], "status": googleStatus(status)}
		writeJSON(w, status, []any{map[string]any{"error": g}})
	default:
		writeJSON(w, status, map[string]any{"error": e})
	}
}

func googleStatus(status int) string {
	switch status {
	case 400:
		return "INVALID_ARGUMENT"
	case 401, 403:
		return "PERMISSION_DENIED"
	case 429:
		return "RESOURCE_EXHAUSTED"
	}
	return "INTERNAL"
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// answer writes the reply, whole or streamed.
func (p *Provider) answer(w http.ResponseWriter, body map[string]any) {
	p.mu.Lock()
	replyText, usage, values, finish, empty := p.Reply, p.Usage, p.Values, p.Finish, p.EmptyReply
	cutAfter, errAfter, delay := p.CutAfter, p.ErrorAfter, p.ChunkDelay
	p.mu.Unlock()
	s := p.Spec
	msgs := messages(body)
	if values != nil {
		b, _ := json.Marshal(values)
		replyText = string(b)
		f, _ := body["response_format"].(map[string]any)
		if typ, _ := f["type"].(string); !contains(s.Formats, typ) {
			replyText = "Here are the values:\n```json\n" + replyText + "\n```"
		}
	}
	if replyText == "" {
		replyText = "Echo."
		for i := len(msgs) - 1; i >= 0; i-- {
			if msgs[i].Role == "user" {
				replyText = "Echo: " + msgs[i].Content
				break
			}
		}
	}
	words := strings.SplitAfter(replyText, " ")
	if empty {
		words = nil
	}
	if finish == "" {
		finish = "stop"
	}
	for _, limit := range s.Limits {
		if n := (ProviderRequest{Body: body}).Int(limit); n > 0 {
			if n < len(words) {
				words, finish = words[:n], "length"
			}
			break
		}
	}
	text := strings.Join(words, "")
	if usage == nil {
		usage = &ProviderUsage{Prompt: int64(10 * len(msgs)), Completion: int64(len(words))}
	}
	model, _ := body["model"].(string)
	id, created := "chatcmpl-"+strings.ToLower(strings.Fields(s.Name)[0]), time.Now().Unix()
	stream, _ := body["stream"].(bool)
	if !stream {
		reply := map[string]any{"id": id, "object": "chat.completion", "created": created, "model": model,
			"choices": []any{map[string]any{"index": 0, "finish_reason": finish,
				"message": map[string]any{"role": "assistant", "content": text}}}}
		p.addUsage(reply, usage)
		writeJSON(w, http.StatusOK, reply)
		return
	}
	st := startStream(w, id, created, model)
	send, chunk := st.send, st.chunk
	if s.Comments {
		fmt.Fprint(w, ": OPENROUTER PROCESSING\n\n")
	}
	send(chunk(map[string]any{"role": "assistant", "content": ""}, nil))
	for i, word := range words {
		if cutAfter > 0 && i == cutAfter {
			return // the connection ends: no finish chunk, no [DONE]
		}
		if errAfter > 0 && i == errAfter {
			c := chunk(map[string]any{"content": ""}, "error")
			c["error"] = map[string]any{"code": "server_error", "message": "Provider returned error: upstream disconnected"}
			send(c)
			return
		}
		if delay > 0 {
			time.Sleep(delay)
			if s.Comments {
				fmt.Fprint(w, ": OPENROUTER PROCESSING\n\n")
			}
		}
		send(chunk(map[string]any{"content": word}, nil))
	}
	last := chunk(map[string]any{}, finish)
	opts, _ := body["stream_options"].(map[string]any)
	asked, _ := opts["include_usage"].(bool)
	switch s.StreamUsage {
	case StreamUsageLast:
		p.addUsage(last, usage)
	case StreamUsageXGroq:
		x := map[string]any{}
		p.addUsage(x, usage)
		last["x_groq"] = map[string]any{"id": "req_fake", "usage": x["usage"]}
	}
	if s.Usage == UsageLlamaCpp {
		last["timings"] = timings(usage)
	}
	send(last)
	if asked && (s.StreamUsage == StreamUsageIncluded || s.StreamUsage == StreamUsageXGroq) {
		u := map[string]any{"id": id, "object": "chat.completion.chunk", "created": created, "model": model, "choices": []any{}}
		p.addUsage(u, usage)
		send(u)
	}
	fmt.Fprint(w, "data: [DONE]\n\n")
}

func timings(u *ProviderUsage) map[string]any {
	return map[string]any{"cache_n": u.Cached, "prompt_n": u.Prompt - u.Cached, "predicted_n": u.Completion,
		"prompt_ms": 12.5, "predicted_ms": 80.1}
}

// addUsage puts the usage on v in the provider's style.
func (p *Provider) addUsage(v map[string]any, u *ProviderUsage) {
	total := u.Total
	if total == 0 {
		total = u.Prompt + u.Completion
	}
	usage := map[string]any{"prompt_tokens": u.Prompt, "completion_tokens": u.Completion, "total_tokens": total}
	switch p.Spec.Usage {
	case UsageOpenAI:
		usage["prompt_tokens_details"] = map[string]any{"cached_tokens": u.Cached}
	case UsageDeepSeek:
		usage["prompt_cache_hit_tokens"] = u.Cached
		usage["prompt_cache_miss_tokens"] = u.Prompt - u.Cached
	case UsageLlamaCpp:
		v["timings"] = timings(u)
	}
	if p.Spec.Reasoning {
		usage["completion_tokens_details"] = map[string]any{"reasoning_tokens": u.Reasoning}
	}
	if p.Spec.Cost && u.Cost != "" {
		usage["cost"] = json.RawMessage(u.Cost)
	}
	v["usage"] = usage
}
