// Package openai is Parley's client for OpenAI-compatible chat completion
// servers: OpenAI and Azure, the hosted providers that copy its API
// (Mistral, Anthropic's compatibility endpoint, Gemini's, DeepSeek, Groq,
// OpenRouter, Together) and local servers (Ollama, vLLM, llama.cpp, LM
// Studio). It speaks the wire format directly with net/http, because each
// server differs in what it accepts and how it reports usage and errors,
// and those differences are the point of this package: a compatibility
// profile per server (compat.go), every usage field in use (wire.go), every
// error shape (errors.go), retries of what may succeed later only, and
// stream timeouts that suit slow models (an idle limit between chunks and
// an overall limit, instead of one per-attempt limit that cuts long
// replies).
package openai

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/parley-dev/parley/internal/llm"
	"github.com/parley-dev/parley/internal/llm/tokens"
)

// Options tune the client; zero values take the defaults.
type Options struct {
	// MaxRetries is how often a 408, 409, 429, 5xx or connection failure is
	// retried, with backoff and honouring Retry-After (default 2; negative
	// for none). Answers that will not change (other 4xx, a context
	// overflow reported as a 500, an exhausted quota) are not retried.
	MaxRetries int
	// Timeout bounds each non-streamed attempt (default: only ReplyTimeout
	// bounds it, since a reasoning model may think for minutes).
	Timeout time.Duration
	// IdleTimeout is the longest a stream may stay silent: before its
	// first byte and between chunks (default 60 s). A stream that keeps
	// sending may run as long as ReplyTimeout allows.
	IdleTimeout time.Duration
	// ReplyTimeout bounds one reply or extraction, retries included
	// (default 5 min). The caller's context may end it sooner.
	ReplyTimeout time.Duration
	// Compat forces a compatibility profile (see CompatNames); "" or
	// "auto" detects it from the base URL. PARLEY_LLM_COMPAT sets it.
	Compat string
	// HTTPClient replaces the default HTTP client (tests).
	HTTPClient *http.Client
	// Logger receives the warnings the client logs (default slog.Default).
	Logger *slog.Logger
}

// Defaults of Options.
const (
	DefaultMaxRetries   = 2
	DefaultIdleTimeout  = 60 * time.Second
	DefaultReplyTimeout = 5 * time.Minute
)

// azureAPIVersion is used for a classic Azure deployment URL that names no
// api-version: the current GA version of the data-plane API.
const azureAPIVersion = "2024-10-21"

// Client implements llm.Model and llm.Extractor against one
// OpenAI-compatible server. It is safe for concurrent use.
type Client struct {
	endpoint string // the chat/completions URL, query included
	apiKey   string
	prof     profile
	http     *http.Client
	o        Options
	log      *slog.Logger

	mu sync.Mutex
	// refused records, per model, the parameters the server refused, so
	// the retry without one happens once and later requests leave it out.
	refused map[string]map[string]bool
	// formats records, per model, the strongest response_format the
	// server accepted for extraction.
	formats map[string]string
}

// New returns a client for the server at baseURL (ending in /v1, or a
// classic Azure deployment URL with its api-version).
func New(baseURL, apiKey string, o Options) *Client {
	switch {
	case o.MaxRetries == 0:
		o.MaxRetries = DefaultMaxRetries
	case o.MaxRetries < 0:
		o.MaxRetries = 0
	}
	if o.IdleTimeout <= 0 {
		o.IdleTimeout = DefaultIdleTimeout
	}
	if o.ReplyTimeout <= 0 {
		o.ReplyTimeout = DefaultReplyTimeout
	}
	c := &Client{apiKey: apiKey, http: o.HTTPClient, o: o, log: o.Logger,
		refused: map[string]map[string]bool{}, formats: map[string]string{}}
	if c.http == nil {
		c.http = &http.Client{}
	}
	if c.log == nil {
		c.log = slog.Default()
	}
	name := strings.ToLower(o.Compat)
	if _, ok := profiles[name]; !ok {
		if name != "" && name != "auto" {
			c.log.Warn("unknown LLM compatibility profile; detecting from the base URL", "compat", o.Compat)
		}
		name = Detect(baseURL)
	}
	c.prof = profiles[name]
	c.endpoint = endpoint(baseURL, c.prof)
	return c
}

// Profile returns the name of the compatibility profile in use.
func (c *Client) Profile() string { return c.prof.name }

// endpoint builds the chat/completions URL, keeping the base URL's query
// (Azure's api-version) and filling an api-version a classic Azure
// deployment URL lacks.
func endpoint(baseURL string, p profile) string {
	u, err := url.Parse(strings.TrimSpace(baseURL))
	if err != nil {
		return strings.TrimRight(baseURL, "/") + "/chat/completions"
	}
	path := strings.TrimRight(u.Path, "/")
	if !strings.HasSuffix(path, "/chat/completions") {
		path += "/chat/completions"
	}
	u.Path = path
	if p.name == CompatAzure && strings.Contains(path, "/openai/deployments/") {
		q := u.Query()
		if q.Get("api-version") == "" {
			q.Set("api-version", azureAPIVersion)
			u.RawQuery = q.Encode()
		}
	}
	return u.String()
}

// chatRequest is one request to send: the parts Parley decides, before the
// profile and what the server refused shape the body.
type chatRequest struct {
	model       string
	messages    []wireMessage
	temperature *float64
	maxTokens   int
	stream      bool
	format      string         // formatJSONSchema, formatJSONObject or "" (none)
	schema      map[string]any // for formatJSONSchema
}

// body renders the request for this server and model.
func (c *Client) body(r chatRequest) map[string]any {
	refused := c.refusedFor(r.model)
	b := map[string]any{"model": r.model, "messages": r.messages}
	reasoning := reasoningModel(r.model)
	if t := r.temperature; t != nil && !refused["temperature"] && (!reasoning || *t == 1) {
		b["temperature"] = *t
	}
	if r.maxTokens > 0 {
		limit := c.prof.limit
		if reasoning && limit != limitMaxTokens {
			limit = limitMaxCompletion
		}
		switch {
		case refused[limitMaxCompletion] && refused[limitMaxTokens]:
			limit = ""
		case refused[limitMaxCompletion]:
			limit = limitMaxTokens
		case refused[limitMaxTokens] && limit != limitMaxCompletion:
			limit = limitMaxCompletion
		}
		switch limit {
		case limitBoth:
			b[limitMaxTokens], b[limitMaxCompletion] = r.maxTokens, r.maxTokens
		case limitMaxTokens, limitMaxCompletion:
			b[limit] = r.maxTokens
		}
	}
	if r.stream {
		b["stream"] = true
		if c.prof.streamOptions && !refused["stream_options"] {
			b["stream_options"] = map[string]any{"include_usage": true}
		}
	}
	switch r.format {
	case formatJSONSchema:
		b["response_format"] = map[string]any{"type": "json_schema", "json_schema": map[string]any{
			"name": "variables", "strict": true, "schema": r.schema}}
	case formatJSONObject:
		b["response_format"] = map[string]any{"type": "json_object"}
	}
	return b
}

func (c *Client) refusedFor(model string) map[string]bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := map[string]bool{}
	for k, v := range c.refused[model] {
		out[k] = v
	}
	return out
}

// adjustable are the parameters Parley can do without (or rename) when a
// server refuses them; refusing anything else is a real error.
var adjustable = map[string]bool{
	"temperature": true, limitMaxTokens: true, limitMaxCompletion: true, "stream_options": true,
	"stream_options.include_usage": true,
}

// learn records a parameter the server refused for a model, when the
// error names one Parley sent and can leave out, and logs it. It reports
// true only the first time for each parameter: the caller retries once
// without it, and later requests leave it out from the start.
func (c *Client) learn(model string, sent map[string]any, err error) bool {
	var inc *llm.IncompleteError
	if errors.As(err, &inc) {
		return false // the reply had started: sending it again would repeat it
	}
	var pe *llm.ProviderError
	if !errors.As(err, &pe) || pe.Code != llm.CodeUnsupportedParameter {
		return false
	}
	param := pe.Param
	if param == "stream_options.include_usage" {
		param = "stream_options"
	}
	if _, ok := sent[param]; !ok || !adjustable[param] {
		return false
	}
	c.mu.Lock()
	if c.refused[model] == nil {
		c.refused[model] = map[string]bool{}
	}
	known := c.refused[model][param]
	c.refused[model][param] = true
	c.mu.Unlock()
	if known {
		return false
	}
	c.log.Warn("model server refused a parameter; sending requests for this model without it",
		"model", model, "param", param, "profile", c.prof.name, "status", pe.Status, "provider_message", pe.Message)
	return true
}

// wireMessages renders a request's messages; knowledge is appended to the
// system prompt as reference text.
func wireMessages(req llm.Request) []wireMessage {
	system := req.System
	if strings.TrimSpace(req.Knowledge) != "" {
		if system != "" {
			system += "\n\n"
		}
		system += "Reference information you may answer from:\n" + req.Knowledge
	}
	msgs := make([]wireMessage, 0, len(req.Messages)+1)
	if system != "" {
		msgs = append(msgs, wireMessage{Role: llm.RoleSystem, Content: system})
	}
	for _, m := range req.Messages {
		role := m.Role
		if role != llm.RoleAssistant && role != llm.RoleSystem {
			role = llm.RoleUser
		}
		msgs = append(msgs, wireMessage{Role: role, Content: m.Content})
	}
	return msgs
}

// estimate counts tokens locally, for providers that report no usage: the
// whole prompt as sent (system prompt, knowledge, every message, and any
// schema) and the reply.
func estimate(body map[string]any, reply string) llm.Usage {
	msgs, _ := body["messages"].([]wireMessage)
	sent := make([]llm.Message, len(msgs))
	for i, m := range msgs {
		sent[i] = llm.Message{Role: m.Role, Content: m.Content}
	}
	var extra []string
	if f, ok := body["response_format"]; ok {
		b, _ := json.Marshal(f)
		extra = append(extra, string(b))
	}
	in, out := int64(tokens.CountPrompt(sent, extra...)), int64(tokens.Count(reply))
	return llm.Usage{InputTokens: in, OutputTokens: out, TotalTokens: in + out}
}

// Generate implements llm.Model.
func (c *Client) Generate(ctx context.Context, req llm.Request, onDelta llm.DeltaFunc) (llm.Response, error) {
	ctx, cancel := context.WithTimeout(ctx, c.o.ReplyTimeout)
	defer cancel()
	start := time.Now()
	r := chatRequest{model: req.Model, messages: wireMessages(req), temperature: req.Temperature,
		maxTokens: req.MaxOutputTokens, stream: onDelta != nil}
	for {
		body := c.body(r)
		var (
			resp llm.Response
			err  error
		)
		if onDelta == nil {
			resp, err = c.complete(ctx, body)
		} else {
			resp, err = c.stream(ctx, body, start, onDelta)
		}
		// A refused parameter is retried without it, once per parameter
		// (learn reports each only the first time), so this ends.
		if c.learn(req.Model, body, err) {
			continue
		}
		return finish(resp, err, body, start)
	}
}

// finish completes a reply: usage estimated when none was reported, the
// latency, and the outcome checked (an empty or filtered reply is an
// *IncompleteError, never a normal answer).
func finish(resp llm.Response, err error, body map[string]any, start time.Time) (llm.Response, error) {
	var inc *llm.IncompleteError
	if err != nil && !errors.As(err, &inc) {
		return llm.Response{}, err
	}
	if inc != nil {
		resp = inc.Response
	}
	resp.Latency = time.Since(start)
	if resp.FirstToken == 0 {
		resp.FirstToken = resp.Latency
	}
	if resp.Usage.IsZero() && !resp.UsageEstimated {
		resp.Usage, resp.UsageEstimated = estimate(body, resp.Content), true
	}
	switch {
	case inc != nil:
		inc.Response = resp
		return resp, inc
	case resp.FinishReason == llm.FinishContentFilter:
		return resp, &llm.IncompleteError{Reason: llm.IncompleteContentFilter, Response: resp}
	case resp.FinishReason == llm.FinishError:
		return resp, &llm.IncompleteError{Reason: llm.IncompleteCut, Response: resp}
	case strings.TrimSpace(resp.Content) == "":
		resp.FinishReason = llm.FinishError
		return resp, &llm.IncompleteError{Reason: llm.IncompleteEmpty, Response: resp}
	}
	return resp, nil
}

// complete sends a non-streamed request and reads the reply.
func (c *Client) complete(ctx context.Context, body map[string]any) (llm.Response, error) {
	res, a, err := c.send(ctx, body, false)
	if err != nil {
		return llm.Response{}, err
	}
	defer a.cancel()
	defer res.Body.Close()
	data, err := io.ReadAll(io.LimitReader(res.Body, maxBody))
	if err != nil {
		return llm.Response{}, fmt.Errorf("read the model reply: %w", a.err(ctx, err))
	}
	return c.readComplete(data)
}

// maxBody bounds a reply body read whole.
const maxBody = 32 << 20

// readComplete reads a whole chat.completion.
func (c *Client) readComplete(data []byte) (llm.Response, error) {
	var w wireReply
	if err := json.Unmarshal(data, &w); err != nil {
		return llm.Response{}, &llm.ProviderError{Status: http.StatusBadGateway, Code: llm.CodeProviderError,
			Message: "the reply was not valid JSON"}
	}
	if len(w.Error) > 0 && string(w.Error) != "null" && len(w.Choices) == 0 {
		return llm.Response{}, parseError(http.StatusBadGateway, data, c.apiKey)
	}
	resp := llm.Response{Model: w.Model, FinishReason: llm.FinishStop}
	u, cost, ok, err := w.usage()
	if err != nil {
		return llm.Response{}, &llm.ProviderError{Status: http.StatusBadGateway, Code: llm.CodeProviderError, Message: err.Error()}
	}
	resp.ProviderCost = cost
	if ok {
		resp.Usage = u
	}
	if len(w.Choices) == 0 {
		resp.FinishReason = llm.FinishError
		return resp, &llm.IncompleteError{Reason: llm.IncompleteEmpty, Response: resp}
	}
	ch := w.Choices[0]
	resp.Content = ch.Message.text()
	if ch.FinishReason != nil {
		resp.FinishReason = finishReason(*ch.FinishReason)
	}
	return resp, nil
}

// attempt is one try at a request: its context, and for a stream the idle
// timer that reading the body resets.
type attempt struct {
	ctx    context.Context
	cancel context.CancelFunc
	idle   *time.Timer
	d      time.Duration
}

// touch resets the idle timer: data arrived.
func (a *attempt) touch() {
	if a.idle != nil {
		a.idle.Reset(a.d)
	}
}

// err names why the attempt's context ended, preferring the idle timeout
// over the bare cancellation it causes.
func (a *attempt) err(parent context.Context, err error) error {
	if parent.Err() != nil {
		return parent.Err()
	}
	if errors.Is(context.Cause(a.ctx), llm.ErrIdleTimeout) {
		return llm.ErrIdleTimeout
	}
	return err
}

// send posts body, retrying what may succeed later. For a stream the idle
// timer also covers the wait for the response headers. The caller must
// call the attempt's cancel when done with the body.
func (c *Client) send(ctx context.Context, body map[string]any, stream bool) (*http.Response, *attempt, error) {
	data, err := json.Marshal(body)
	if err != nil {
		return nil, nil, fmt.Errorf("encode the model request: %w", err)
	}
	for n := 0; ; n++ {
		a := c.attempt(ctx, stream)
		res, err := c.post(a.ctx, data, stream)
		if err == nil && res.StatusCode < 300 {
			return res, a, nil
		}
		var wait time.Duration
		if err != nil {
			a.cancel()
			err = a.err(ctx, err)
			if ctx.Err() != nil || n >= c.o.MaxRetries {
				return nil, nil, fmt.Errorf("model request: %w", err)
			}
			wait = backoff(n)
		} else {
			b, _ := io.ReadAll(io.LimitReader(res.Body, 1<<20))
			res.Body.Close()
			a.cancel()
			pe := parseError(res.StatusCode, b, c.apiKey)
			if n >= c.o.MaxRetries || !retryable(pe) {
				return nil, nil, pe
			}
			wait = retryAfter(res.Header, n)
			if dl, ok := ctx.Deadline(); ok && time.Until(dl) < wait {
				return nil, nil, pe // the server asks for longer than is left
			}
		}
		select {
		case <-ctx.Done():
			return nil, nil, fmt.Errorf("model request: %w", ctx.Err())
		case <-time.After(wait):
		}
	}
}

// attempt starts one try: a non-streamed one bounded by Options.Timeout
// (if set), a streamed one by the idle timer.
func (c *Client) attempt(ctx context.Context, stream bool) *attempt {
	if !stream {
		a := &attempt{}
		if c.o.Timeout > 0 {
			a.ctx, a.cancel = context.WithTimeout(ctx, c.o.Timeout)
		} else {
			a.ctx, a.cancel = context.WithCancel(ctx)
		}
		return a
	}
	actx, cancel := context.WithCancelCause(ctx)
	a := &attempt{ctx: actx, d: c.o.IdleTimeout}
	a.idle = time.AfterFunc(c.o.IdleTimeout, func() { cancel(llm.ErrIdleTimeout) })
	a.cancel = func() { a.idle.Stop(); cancel(context.Canceled) }
	return a
}

func (c *Client) post(ctx context.Context, data []byte, stream bool) (*http.Response, error) {
	hr, err := http.NewRequestWithContext(ctx, http.MethodPost, c.endpoint, bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("build the model request: %w", err)
	}
	hr.Header.Set("Content-Type", "application/json")
	hr.Header.Set("User-Agent", "parley")
	if stream {
		hr.Header.Set("Accept", "text/event-stream")
	} else {
		hr.Header.Set("Accept", "application/json")
	}
	if c.apiKey != "" {
		if c.prof.apiKeyHeader {
			hr.Header.Set("api-key", c.apiKey)
		} else {
			hr.Header.Set("Authorization", "Bearer "+c.apiKey)
		}
	}
	return c.http.Do(hr)
}

// backoff is the wait before retry n (from 0): 0.5 s doubling, capped at
// 8 s, with jitter so clients that failed together do not retry together.
func backoff(n int) time.Duration {
	d := 500 * time.Millisecond << min(n, 4)
	return d - time.Duration(rand.Int64N(int64(d/4)))
}

// retryAfter honours the server's Retry-After (seconds or a date) or
// retry-after-ms, up to a minute, else backs off.
func retryAfter(h http.Header, n int) time.Duration {
	if ms, err := strconv.ParseFloat(h.Get("Retry-After-Ms"), 64); err == nil && ms >= 0 {
		return min(time.Duration(ms*float64(time.Millisecond)), time.Minute)
	}
	if v := h.Get("Retry-After"); v != "" {
		if s, err := strconv.ParseFloat(v, 64); err == nil && s >= 0 {
			return min(time.Duration(s*float64(time.Second)), time.Minute)
		}
		if t, err := http.ParseTime(v); err == nil {
			return min(max(time.Until(t), 0), time.Minute)
		}
	}
	return backoff(n)
}
