// Package llm defines how Parley talks to language models: one Model
// interface that the built-in offline responder and the OpenAI-compatible
// client both implement, and the usage figures every reply reports.
package llm

import (
	"context"
	"errors"
	"strconv"
	"time"
)

// Chat roles as the models see them.
const (
	RoleSystem    = "system"
	RoleUser      = "user"
	RoleAssistant = "assistant"
)

// Message is one turn of the history sent to a model.
type Message struct {
	Role    string
	Content string
}

// Request is everything a model needs to write one reply.
type Request struct {
	Model           string
	System          string
	Messages        []Message
	Temperature     *float64
	MaxOutputTokens int
	// Knowledge is reference text the offline model answers from; remote
	// models get it folded into the system prompt by the caller.
	Knowledge string
}

// Usage counts the tokens of one model call, or the sum of many.
type Usage struct {
	InputTokens       int64 `json:"input_tokens"`
	OutputTokens      int64 `json:"output_tokens"`
	CachedInputTokens int64 `json:"cached_input_tokens"`
	TotalTokens       int64 `json:"total_tokens"`
}

// Add returns the sum of u and o.
func (u Usage) Add(o Usage) Usage {
	return Usage{
		InputTokens:       u.InputTokens + o.InputTokens,
		OutputTokens:      u.OutputTokens + o.OutputTokens,
		CachedInputTokens: u.CachedInputTokens + o.CachedInputTokens,
		TotalTokens:       u.TotalTokens + o.TotalTokens,
	}
}

// IsZero reports whether no tokens were counted.
func (u Usage) IsZero() bool { return u == Usage{} }

// Response is a finished reply.
type Response struct {
	Content string
	// Model is the model name the provider says answered.
	Model string
	Usage Usage
	// UsageEstimated is true when the provider reported no usage and the
	// counts come from Parley's own tokenizer.
	UsageEstimated bool
	// FirstToken is the time from the request to the first content.
	FirstToken time.Duration
	// Latency is the time from the request to the end of the reply.
	Latency time.Duration
}

// DeltaFunc receives reply text as it is produced. Returning an error stops
// delivering deltas but not the reply itself: the model still finishes so
// the reply can be stored (a client that hung up must not lose it).
type DeltaFunc func(chunk string) error

// Model writes replies.
type Model interface {
	// Generate writes one reply. When onDelta is not nil the reply is
	// streamed through it as it is produced.
	Generate(ctx context.Context, req Request, onDelta DeltaFunc) (Response, error)
}

// ProviderError is a failure a model provider reported, with its HTTP
// status, after any retries.
type ProviderError struct {
	Status  int
	Message string
}

func (e *ProviderError) Error() string {
	return "model provider answered " + strconv.Itoa(e.Status) + ": " + e.Message
}

// ErrUnknownModel is returned when no configured provider serves a model.
var ErrUnknownModel = errors.New("no configured provider serves this model")

// OfflineModel is the name of the built-in deterministic model.
const OfflineModel = "offline"

// Router sends each request to the model that serves its model name: the
// offline responder for "offline", the remote provider for anything else.
type Router struct {
	Offline Model
	Remote  Model // nil when no remote provider is configured
}

// Generate implements Model.
func (r *Router) Generate(ctx context.Context, req Request, onDelta DeltaFunc) (Response, error) {
	if req.Model == OfflineModel {
		return r.Offline.Generate(ctx, req, onDelta)
	}
	if r.Remote == nil {
		return Response{}, ErrUnknownModel
	}
	return r.Remote.Generate(ctx, req, onDelta)
}
