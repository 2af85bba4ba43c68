// Package openai is Parley's client for OpenAI-compatible chat completion
// servers (OpenAI, Ollama, vLLM, llama.cpp server and the like), built on
// the official openai-go SDK, which retries 429 and 5xx answers with
// backoff and honours Retry-After.
package openai

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"time"

	sdk "github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
	"github.com/openai/openai-go/v3/shared"

	"github.com/parley-dev/parley/internal/llm"
	"github.com/parley-dev/parley/internal/llm/tokens"
)

// Options tune the client; zero values take the defaults.
type Options struct {
	// MaxRetries is how often a 429, 5xx or connection failure is retried
	// (default 2; negative for none).
	MaxRetries int
	// Timeout bounds each attempt (default 60 s).
	Timeout time.Duration
	// HTTPClient replaces the default HTTP client (tests).
	HTTPClient *http.Client
}

// Client implements llm.Model against one OpenAI-compatible server.
type Client struct {
	c sdk.Client
}

// New returns a client for the server at baseURL (ending in /v1).
func New(baseURL, apiKey string, o Options) *Client {
	switch {
	case o.MaxRetries == 0:
		o.MaxRetries = 2
	case o.MaxRetries < 0:
		o.MaxRetries = 0
	}
	if o.Timeout == 0 {
		o.Timeout = 60 * time.Second
	}
	opts := []option.RequestOption{
		option.WithBaseURL(strings.TrimRight(baseURL, "/") + "/"),
		option.WithAPIKey(apiKey),
		option.WithMaxRetries(o.MaxRetries),
		option.WithRequestTimeout(o.Timeout),
	}
	if o.HTTPClient != nil {
		opts = append(opts, option.WithHTTPClient(o.HTTPClient))
	}
	return &Client{c: sdk.NewClient(opts...)}
}

// params builds the chat request. Knowledge is appended to the system
// prompt as reference text.
func params(req llm.Request) sdk.ChatCompletionNewParams {
	system := req.System
	if strings.TrimSpace(req.Knowledge) != "" {
		if system != "" {
			system += "\n\n"
		}
		system += "Reference information you may answer from:\n" + req.Knowledge
	}
	var msgs []sdk.ChatCompletionMessageParamUnion
	if system != "" {
		msgs = append(msgs, sdk.SystemMessage(system))
	}
	for _, m := range req.Messages {
		switch m.Role {
		case llm.RoleAssistant:
			msgs = append(msgs, sdk.AssistantMessage(m.Content))
		case llm.RoleSystem:
			msgs = append(msgs, sdk.SystemMessage(m.Content))
		default:
			msgs = append(msgs, sdk.UserMessage(m.Content))
		}
	}
	p := sdk.ChatCompletionNewParams{Model: req.Model, Messages: msgs}
	if req.Temperature != nil {
		p.Temperature = sdk.Float(*req.Temperature)
	}
	if req.MaxOutputTokens > 0 {
		p.MaxCompletionTokens = sdk.Int(int64(req.MaxOutputTokens))
	}
	return p
}

// usage converts the provider's counts. ok is false when the provider
// reported none.
func usage(u sdk.CompletionUsage) (llm.Usage, bool) {
	if !u.JSON.PromptTokens.Valid() && !u.JSON.CompletionTokens.Valid() {
		return llm.Usage{}, false
	}
	return llm.Usage{
		InputTokens:       u.PromptTokens,
		OutputTokens:      u.CompletionTokens,
		CachedInputTokens: u.PromptTokensDetails.CachedTokens,
		TotalTokens:       u.PromptTokens + u.CompletionTokens,
	}, true
}

// estimate counts tokens locally, for providers that report no usage.
func estimate(req llm.Request, p sdk.ChatCompletionNewParams, reply string) llm.Usage {
	msgs := make([]llm.Message, 0, len(req.Messages))
	msgs = append(msgs, req.Messages...)
	system := req.System
	if req.Knowledge != "" {
		system += "\n\n" + req.Knowledge
	}
	in, out := int64(tokens.CountChat(system, msgs)), int64(tokens.Count(reply))
	return llm.Usage{InputTokens: in, OutputTokens: out, TotalTokens: in + out}
}

// Generate implements llm.Model.
func (c *Client) Generate(ctx context.Context, req llm.Request, onDelta llm.DeltaFunc) (llm.Response, error) {
	p := params(req)
	start := time.Now()
	if onDelta == nil {
		comp, err := c.c.Chat.Completions.New(ctx, p)
		if err != nil {
			return llm.Response{}, providerError(err)
		}
		if len(comp.Choices) == 0 {
			return llm.Response{}, &llm.ProviderError{Status: http.StatusBadGateway, Message: "the reply had no choices"}
		}
		resp := llm.Response{Content: comp.Choices[0].Message.Content, Model: comp.Model, Latency: time.Since(start)}
		resp.FirstToken = resp.Latency
		var ok bool
		if resp.Usage, ok = usage(comp.Usage); !ok {
			resp.Usage, resp.UsageEstimated = estimate(req, p, resp.Content), true
		}
		return resp, nil
	}

	p.StreamOptions = sdk.ChatCompletionStreamOptionsParam{IncludeUsage: sdk.Bool(true)}
	stream := c.c.Chat.Completions.NewStreaming(ctx, p)
	defer stream.Close()
	var (
		b        strings.Builder
		resp     llm.Response
		gotUsage bool
		listener = onDelta
	)
	for stream.Next() {
		chunk := stream.Current()
		if chunk.Model != "" {
			resp.Model = chunk.Model
		}
		if u, ok := usage(chunk.Usage); ok {
			resp.Usage, gotUsage = u, true
		}
		if len(chunk.Choices) == 0 {
			continue
		}
		delta := chunk.Choices[0].Delta.Content
		if delta == "" {
			continue
		}
		if b.Len() == 0 {
			resp.FirstToken = time.Since(start)
		}
		b.WriteString(delta)
		if listener != nil && listener(delta) != nil {
			listener = nil // the caller left; finish the reply anyway
		}
	}
	if err := stream.Err(); err != nil {
		return llm.Response{}, providerError(err)
	}
	resp.Content = b.String()
	resp.Latency = time.Since(start)
	if !gotUsage {
		resp.Usage, resp.UsageEstimated = estimate(req, p, resp.Content), true
	}
	return resp, nil
}

// providerError keeps the provider's status and message and drops the
// rest (request dumps can carry the API key's prefix).
func providerError(err error) error {
	var apiErr *sdk.Error
	if errors.As(err, &apiErr) {
		msg := apiErr.Message
		if msg == "" {
			msg = http.StatusText(apiErr.StatusCode)
		}
		return &llm.ProviderError{Status: apiErr.StatusCode, Message: msg}
	}
	return err
}

// Extract implements llm.Extractor with a structured-output request: the
// model must answer with a JSON object whose properties are the fields,
// each its type or null when the conversation does not say.
func (c *Client) Extract(ctx context.Context, req llm.ExtractRequest) (llm.ExtractResponse, error) {
	props := map[string]any{}
	required := make([]string, 0, len(req.Fields))
	for _, f := range req.Fields {
		var p map[string]any
		switch f.Type {
		case llm.FieldNumber:
			p = map[string]any{"type": []string{"number", "null"}}
		case llm.FieldBoolean:
			p = map[string]any{"type": []string{"boolean", "null"}}
		case llm.FieldEnum:
			values := make([]any, 0, len(f.Values)+1)
			for _, v := range f.Values {
				values = append(values, v)
			}
			p = map[string]any{"type": []string{"string", "null"}, "enum": append(values, nil)}
		case llm.FieldDate:
			p = map[string]any{"type": []string{"string", "null"}, "description": "A date as YYYY-MM-DD. " + f.Description}
		default:
			p = map[string]any{"type": []string{"string", "null"}}
		}
		if _, ok := p["description"]; !ok && f.Description != "" {
			p["description"] = f.Description
		}
		props[f.Name] = p
		required = append(required, f.Name)
	}
	schema := map[string]any{"type": "object", "properties": props, "required": required, "additionalProperties": false}
	var transcript strings.Builder
	for _, m := range req.Transcript {
		transcript.WriteString(m.Role + ": " + m.Content + "\n")
	}
	p := sdk.ChatCompletionNewParams{
		Model: req.Model,
		Messages: []sdk.ChatCompletionMessageParamUnion{
			sdk.SystemMessage("Extract the requested values from the conversation below. Use null for anything the conversation does not state."),
			sdk.UserMessage(transcript.String()),
		},
		ResponseFormat: sdk.ChatCompletionNewParamsResponseFormatUnion{OfJSONSchema: &shared.ResponseFormatJSONSchemaParam{
			JSONSchema: shared.ResponseFormatJSONSchemaJSONSchemaParam{Name: "variables", Strict: sdk.Bool(true), Schema: schema},
		}},
	}
	start := time.Now()
	comp, err := c.c.Chat.Completions.New(ctx, p)
	if err != nil {
		return llm.ExtractResponse{}, providerError(err)
	}
	if len(comp.Choices) == 0 {
		return llm.ExtractResponse{}, &llm.ProviderError{Status: http.StatusBadGateway, Message: "the reply had no choices"}
	}
	out := llm.ExtractResponse{Model: comp.Model, Latency: time.Since(start)}
	if err := json.Unmarshal([]byte(comp.Choices[0].Message.Content), &out.Values); err != nil {
		return llm.ExtractResponse{}, &llm.ProviderError{Status: http.StatusBadGateway, Message: "the model did not answer with a JSON object"}
	}
	var ok bool
	if out.Usage, ok = usage(comp.Usage); !ok {
		in := int64(tokens.CountChat("", []llm.Message{{Role: llm.RoleUser, Content: transcript.String()}}))
		o := int64(tokens.Count(comp.Choices[0].Message.Content))
		out.Usage, out.UsageEstimated = llm.Usage{InputTokens: in, OutputTokens: o, TotalTokens: in + o}, true
	}
	return out, nil
}
