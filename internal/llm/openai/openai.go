// Package openai is Parley's client for OpenAI-compatible chat completion
// servers: OpenAI and Azure, the hosted providers that copy its API
// (Mistral, Anthropic's compatibility endpoint, Gemini's, DeepSeek, Groq,
// OpenRouter, Together) and local servers (Ollama, vLLM, llama.cpp, LM
// Studio). It is built on the official openai-go SDK, which builds and
// authenticates the request, decodes replies, stream events and chunks, and
// retries with backoff and Retry-After. What differs between servers is
// this package's part: a compatibility profile per server (compat.go) that
// decides which of the SDK's typed parameters to set, usage read from every
// field a provider uses (usage.go), every error shape (errors.go), retries
// of what may succeed later only, and stream timeouts that suit slow models
// (an idle limit between chunks and an overall limit, instead of one
// per-attempt limit that cuts long replies).
package openai

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	sdk "github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
	"github.com/openai/openai-go/v3/shared"

	"github.com/parley-dev/parley/internal/llm"
	"github.com/parley-dev/parley/internal/llm/tokens"
)

// Options tune the client; zero values take the defaults.
type Options struct {
	// MaxRetries is how often a 408, 409, 429, 5xx or connection failure is
	// retried, with backoff and honouring Retry-After (default 2; negative
	// for none). Answers that will not change (other 4xx, a context
	// overflow reported as a 500, an exhausted quota) are not retried, nor
	// is one whose Retry-After ends after the reply timeout.
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
	chat   sdk.ChatCompletionService
	audio  sdk.AudioTranscriptionService
	apiKey string
	prof   profile
	o      Options
	log    *slog.Logger

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
	c := &Client{apiKey: apiKey, o: o, log: o.Logger,
		refused: map[string]map[string]bool{}, formats: map[string]string{}}
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
	hc := o.HTTPClient
	if hc == nil {
		hc = &http.Client{}
	}
	// The service alone, not sdk.NewClient: the client would read
	// OPENAI_API_KEY, OPENAI_BASE_URL and friends from the environment and
	// could send an OpenAI key to another server.
	opts := []option.RequestOption{option.WithHTTPClient(hc), option.WithMaxRetries(o.MaxRetries)}
	opts = append(opts, c.target(baseURL)...)
	c.chat = sdk.NewChatCompletionService(opts...)
	c.audio = sdk.NewAudioTranscriptionService(opts...)
	return c
}

// Profile returns the name of the compatibility profile in use.
func (c *Client) Profile() string { return c.prof.name }

// target is where and how the SDK sends requests: the base URL the SDK
// appends chat/completions to, the endpoint's query (Azure's api-version,
// which the SDK would drop from a base URL) and the key, in the api-key
// header for Azure, else as a Bearer token.
func (c *Client) target(baseURL string) []option.RequestOption {
	u, err := url.Parse(endpoint(baseURL, c.prof))
	if err != nil {
		// Not a URL: the SDK reports it on every request.
		return []option.RequestOption{option.WithBaseURL(baseURL)}
	}
	query := u.Query()
	u.RawQuery = ""
	u.Path = strings.TrimSuffix(u.Path, "chat/completions")
	opts := []option.RequestOption{option.WithBaseURL(u.String())}
	for k, vs := range query {
		for _, v := range vs {
			opts = append(opts, option.WithQueryAdd(k, v))
		}
	}
	switch {
	case c.apiKey == "":
	case c.prof.apiKeyHeader:
		opts = append(opts, option.WithHeader("api-key", c.apiKey))
	default:
		opts = append(opts, option.WithAPIKey(c.apiKey))
	}
	return opts
}

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
// profile and what the server refused shape the parameters.
type chatRequest struct {
	model       string
	messages    []llm.Message // as sent, the system prompt first
	temperature *float64
	maxTokens   int
	stream      bool
	format      string         // formatJSONSchema, formatJSONObject or "" (none)
	schema      map[string]any // for formatJSONSchema
}

// params renders the request for this server and model. The SDK leaves
// out every parameter that is not set, so each rule of the profile is
// "set this field or not".
func (c *Client) params(r chatRequest) sdk.ChatCompletionNewParams {
	refused := c.refusedFor(r.model)
	p := sdk.ChatCompletionNewParams{Model: r.model, Messages: make([]sdk.ChatCompletionMessageParamUnion, 0, len(r.messages))}
	for _, m := range r.messages {
		switch m.Role {
		case llm.RoleSystem:
			p.Messages = append(p.Messages, sdk.SystemMessage(m.Content))
		case llm.RoleAssistant:
			p.Messages = append(p.Messages, sdk.AssistantMessage(m.Content))
		default:
			p.Messages = append(p.Messages, sdk.UserMessage(m.Content))
		}
	}
	reasoning := reasoningModel(r.model)
	if t := r.temperature; t != nil && !refused["temperature"] && (!reasoning || *t == 1) {
		p.Temperature = sdk.Float(*t)
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
		n := sdk.Int(int64(r.maxTokens))
		switch limit {
		case limitBoth:
			p.MaxTokens, p.MaxCompletionTokens = n, n
		case limitMaxTokens:
			p.MaxTokens = n
		case limitMaxCompletion:
			p.MaxCompletionTokens = n
		}
	}
	if r.stream && c.prof.streamOptions && !refused["stream_options"] {
		p.StreamOptions.IncludeUsage = sdk.Bool(true)
	}
	switch r.format {
	case formatJSONSchema:
		p.ResponseFormat.OfJSONSchema = &shared.ResponseFormatJSONSchemaParam{JSONSchema: shared.ResponseFormatJSONSchemaJSONSchemaParam{
			Name: "variables", Strict: sdk.Bool(true), Schema: r.schema}}
	case formatJSONObject:
		p.ResponseFormat.OfJSONObject = &shared.ResponseFormatJSONObjectParam{}
	}
	return p
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

// adjustable reports whether a request carries a parameter Parley can do
// without (or rename) when a server refuses it; refusing anything else is
// a real error.
func adjustable(p sdk.ChatCompletionNewParams, param string) bool {
	switch param {
	case "temperature":
		return p.Temperature.Valid()
	case limitMaxTokens:
		return p.MaxTokens.Valid()
	case limitMaxCompletion:
		return p.MaxCompletionTokens.Valid()
	case "stream_options":
		return p.StreamOptions.IncludeUsage.Valid()
	}
	return false
}

// learn records a parameter the server refused for a model, when the
// error names one Parley sent and can leave out, and logs it. It reports
// true only the first time for each parameter: the caller retries once
// without it, and later requests leave it out from the start.
func (c *Client) learn(model string, sent sdk.ChatCompletionNewParams, err error) bool {
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
	if !adjustable(sent, param) {
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

// messages renders a request's messages as sent; knowledge is appended to
// the system prompt as reference text.
func messages(req llm.Request) []llm.Message {
	system := req.System
	if strings.TrimSpace(req.Knowledge) != "" {
		if system != "" {
			system += "\n\n"
		}
		system += "Reference information you may answer from:\n" + req.Knowledge
	}
	msgs := make([]llm.Message, 0, len(req.Messages)+1)
	if system != "" {
		msgs = append(msgs, llm.Message{Role: llm.RoleSystem, Content: system})
	}
	for _, m := range req.Messages {
		role := m.Role
		if role != llm.RoleAssistant && role != llm.RoleSystem {
			role = llm.RoleUser
		}
		msgs = append(msgs, llm.Message{Role: role, Content: m.Content})
	}
	return msgs
}

// estimate counts tokens locally, for providers that report no usage: the
// whole prompt as sent (system prompt, knowledge, every message, and any
// response format with its schema) and the reply.
func estimate(sent []llm.Message, p sdk.ChatCompletionNewParams, reply string) llm.Usage {
	var extra []string
	if f := p.ResponseFormat; f.OfJSONSchema != nil || f.OfJSONObject != nil {
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
	r := chatRequest{model: req.Model, messages: messages(req), temperature: req.Temperature,
		maxTokens: req.MaxOutputTokens, stream: onDelta != nil}
	for {
		p := c.params(r)
		var (
			resp llm.Response
			err  error
		)
		if onDelta == nil {
			resp, err = c.complete(ctx, p)
		} else {
			resp, err = c.stream(ctx, p, start, onDelta)
		}
		// A refused parameter is retried without it, once per parameter
		// (learn reports each only the first time), so this ends.
		if c.learn(req.Model, p, err) {
			continue
		}
		return finish(resp, err, func(reply string) llm.Usage { return estimate(r.messages, p, reply) }, start)
	}
}

// finish completes a reply: usage estimated when none was reported, the
// latency, and the outcome checked (an empty or filtered reply is an
// *IncompleteError, never a normal answer).
func finish(resp llm.Response, err error, estimate func(reply string) llm.Usage, start time.Time) (llm.Response, error) {
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
		resp.Usage, resp.UsageEstimated = estimate(resp.Content), true
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
func (c *Client) complete(ctx context.Context, p sdk.ChatCompletionNewParams) (llm.Response, error) {
	res, err := c.send(ctx, p, false)
	if err != nil {
		return llm.Response{}, err
	}
	defer res.Body.Close()
	data, err := io.ReadAll(io.LimitReader(res.Body, maxBody))
	if err != nil {
		return llm.Response{}, fmt.Errorf("read the model reply: %w", err)
	}
	return c.readComplete(data)
}

// maxBody bounds a reply body read whole.
const maxBody = 32 << 20

// readComplete reads a whole chat.completion with the SDK's types.
func (c *Client) readComplete(data []byte) (llm.Response, error) {
	var comp sdk.ChatCompletion
	if err := json.Unmarshal(data, &comp); err != nil {
		return llm.Response{}, &llm.ProviderError{Status: http.StatusBadGateway, Code: llm.CodeProviderError,
			Message: "the reply was not valid JSON"}
	}
	if present(comp.JSON.ExtraFields["error"]) && len(comp.Choices) == 0 {
		return llm.Response{}, parseError(http.StatusBadGateway, data, c.apiKey)
	}
	resp := llm.Response{Model: comp.Model, FinishReason: llm.FinishStop}
	u, cost, ok, err := usageOf(data)
	if err != nil {
		return llm.Response{}, &llm.ProviderError{Status: http.StatusBadGateway, Code: llm.CodeProviderError, Message: err.Error()}
	}
	resp.ProviderCost = cost
	if ok {
		resp.Usage = u
	}
	if len(comp.Choices) == 0 {
		resp.FinishReason = llm.FinishError
		return resp, &llm.IncompleteError{Reason: llm.IncompleteEmpty, Response: resp}
	}
	ch := comp.Choices[0]
	resp.Content = text(ch.Message.Content, ch.Message.JSON.Content, ch.Message.Refusal)
	resp.FinishReason = finishReason(ch.FinishReason)
	return resp, nil
}

// send posts the request through the SDK and returns the response with
// its body unread: a stream's, or a whole reply read within maxBody.
// Retries are the SDK's; the exchange decides which answers may be
// retried, bounds each attempt, and supplies the provider's error.
func (c *Client) send(ctx context.Context, p sdk.ChatCompletionNewParams, stream bool) (*http.Response, error) {
	x := &exchange{c: c, stream: stream}
	var res *http.Response
	opts := []option.RequestOption{option.WithMiddleware(x.middleware), option.WithResponseBodyInto(&res)}
	if stream {
		opts = append(opts, option.WithJSONSet("stream", true), option.WithHeader("Accept", "text/event-stream"))
	}
	if dl, ok := ctx.Deadline(); ok && time.Until(dl) > 0 {
		// A Retry-After that ends after the reply's deadline is not waited
		// for: the SDK returns the answer at once instead.
		opts = append(opts, option.WithMaxRetryDelay(time.Until(dl)))
	}
	_, err := c.chat.New(ctx, p, opts...)
	if err := x.outcome(ctx, err); err != nil {
		return nil, err
	}
	return res, nil
}

// outcome is the error of an exchange the SDK ended with err: the
// caller's context ending, else the provider's answer, read from the
// whole body by parseError (the SDK's *Error keeps only an {"error": {…}}
// object and fails on other shapes: Ollama's {"error": "…"}, Gemini's
// list), else what the SDK said (a connection failure).
func (x *exchange) outcome(ctx context.Context, err error) error {
	switch {
	case err == nil:
		return nil
	case ctx.Err() != nil:
		return fmt.Errorf("model request: %w", ctx.Err())
	case x.failed != nil:
		return x.failed
	}
	return fmt.Errorf("model request: %w", err)
}

// exchange is one request through the SDK, its retries included. It sees
// every attempt through the SDK's middleware hook.
type exchange struct {
	c      *Client
	stream bool
	// failed is the provider's error answer to the last attempt, if any.
	failed *llm.ProviderError
}

// middleware runs each try the SDK makes: bounded by the idle timer (a
// stream) or Options.Timeout (otherwise), its body kept alive by reading.
// An error answer is parsed, and the SDK told not to retry one that will
// not change (a context overflow as llama.cpp's 500, an exhausted quota as
// a 429), which it would by status alone.
func (x *exchange) middleware(req *http.Request, next option.MiddlewareNext) (*http.Response, error) {
	x.failed = nil
	parent := req.Context()
	a := x.c.attempt(parent, x.stream)
	res, err := next(req.WithContext(a.ctx))
	if err != nil {
		a.cancel()
		return nil, a.err(parent, err)
	}
	res.Body = &attemptBody{ReadCloser: res.Body, a: a, parent: parent}
	if res.StatusCode >= 400 {
		b, _ := io.ReadAll(io.LimitReader(res.Body, 1<<20))
		res.Body.Close()
		res.Body = io.NopCloser(bytes.NewReader(b))
		x.failed = parseError(res.StatusCode, b, x.c.apiKey)
		if !retryable(x.failed) {
			res.Header.Set("X-Should-Retry", "false")
		}
	}
	return res, nil
}

// attempt is one try at a request: its context, and for a stream the idle
// timer that reading the body resets.
type attempt struct {
	ctx    context.Context
	cancel context.CancelFunc
	idle   *time.Timer
	d      time.Duration
}

// attempt starts one try: a non-streamed one bounded by Options.Timeout
// (if set), a streamed one by the idle timer, which also covers the wait
// for the response headers.
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

// attemptBody is a response body that keeps its attempt alive: each read
// resets the idle timer, a failed read says why, and Close ends the
// attempt.
type attemptBody struct {
	io.ReadCloser
	a      *attempt
	parent context.Context
}

func (b *attemptBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	b.a.touch()
	if err != nil && !errors.Is(err, io.EOF) {
		err = b.a.err(b.parent, err)
	}
	return n, err
}

func (b *attemptBody) Close() error {
	err := b.ReadCloser.Close()
	b.a.cancel()
	return err
}
