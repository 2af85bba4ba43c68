// Package llm defines how Parley talks to language models: one Model
// interface that the built-in offline responder and the OpenAI-compatible
// client both implement, and the usage figures every reply reports.
package llm

import (
	"context"
	"errors"
	"math"
	"strconv"
	"time"

	"github.com/parley-dev/parley/internal/money"
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

// Usage counts the tokens of one model call, or the sum of many, as the
// provider reports them. Cached input tokens are part of InputTokens and
// reasoning tokens part of OutputTokens, as OpenAI counts them; providers
// that name them differently are mapped to this shape.
type Usage struct {
	InputTokens       int64 `json:"input_tokens"`
	OutputTokens      int64 `json:"output_tokens"`
	CachedInputTokens int64 `json:"cached_input_tokens"`
	// ReasoningTokens are the hidden "thinking" tokens of a reasoning
	// model: billed as output and already counted in OutputTokens.
	ReasoningTokens int64 `json:"reasoning_tokens"`
	// TotalTokens is the provider's own total when it reports one (it may
	// differ from input + output, and the provider's figure is the one to
	// keep); otherwise input + output.
	TotalTokens int64 `json:"total_tokens"`
}

// ErrUsageOverflow is returned by Sum when a count would not fit in an
// int64: a total that wrapped around would be silently wrong.
var ErrUsageOverflow = errors.New("token count overflows int64")

// Sum returns a + b, or ErrUsageOverflow when any count would overflow
// (or either operand holds a negative count, which no provider reports).
func Sum(a, b Usage) (Usage, error) {
	var err error
	add := func(x, y int64) int64 {
		if x < 0 || y < 0 || x > math.MaxInt64-y {
			err = ErrUsageOverflow
			return 0
		}
		return x + y
	}
	s := Usage{
		InputTokens:       add(a.InputTokens, b.InputTokens),
		OutputTokens:      add(a.OutputTokens, b.OutputTokens),
		CachedInputTokens: add(a.CachedInputTokens, b.CachedInputTokens),
		ReasoningTokens:   add(a.ReasoningTokens, b.ReasoningTokens),
		TotalTokens:       add(a.TotalTokens, b.TotalTokens),
	}
	if err != nil {
		return Usage{}, err
	}
	return s, nil
}

// Add returns the sum of u and o, each count saturating at the largest
// int64 instead of wrapping around. Code that can report an error should
// use Sum, which refuses an overflow instead of saturating.
func (u Usage) Add(o Usage) Usage {
	sat := func(x, y int64) int64 {
		switch {
		case y > 0 && x > math.MaxInt64-y:
			return math.MaxInt64
		case y < 0 && x < math.MinInt64-y:
			return math.MinInt64
		}
		return x + y
	}
	return Usage{
		InputTokens:       sat(u.InputTokens, o.InputTokens),
		OutputTokens:      sat(u.OutputTokens, o.OutputTokens),
		CachedInputTokens: sat(u.CachedInputTokens, o.CachedInputTokens),
		ReasoningTokens:   sat(u.ReasoningTokens, o.ReasoningTokens),
		TotalTokens:       sat(u.TotalTokens, o.TotalTokens),
	}
}

// IsZero reports whether no tokens were counted.
func (u Usage) IsZero() bool { return u == Usage{} }

// Why a reply ended (Response.FinishReason), normalised from each
// provider's own words.
const (
	// FinishStop: the model finished its answer.
	FinishStop = "stop"
	// FinishLength: the reply hit the output-token limit and is cut short.
	// It is still a reply (the text is what the model wrote).
	FinishLength = "length"
	// FinishContentFilter: the provider's content filter withheld or cut
	// the reply.
	FinishContentFilter = "content_filter"
	// FinishError: the reply did not complete (an empty answer, a stream
	// cut before its end, an error in the middle of a stream).
	FinishError = "error"
)

// Response is a finished reply.
type Response struct {
	Content string
	// Model is the model name the provider says answered.
	Model string
	Usage Usage
	// UsageEstimated is true when the provider reported no usage and the
	// counts come from Parley's own tokenizer.
	UsageEstimated bool
	// FinishReason is why the reply ended: FinishStop, FinishLength,
	// FinishContentFilter or FinishError. A Response returned with a nil
	// error is always FinishStop or FinishLength; the other two come inside
	// an *IncompleteError.
	FinishReason string
	// ProviderCost is the cost the provider itself reported for the call
	// (OpenRouter's usage.cost), exact to the nano-USD; nil when it reports
	// none. It is kept beside Parley's own price for comparison, never
	// instead of it.
	ProviderCost *money.Money
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
	// streamed through it as it is produced. A reply that did not complete
	// (empty, content-filtered, cut) is an *IncompleteError carrying what
	// was received and the usage spent; a failure the provider reported is
	// a *ProviderError.
	Generate(ctx context.Context, req Request, onDelta DeltaFunc) (Response, error)
}

// Codes of ProviderError, stable enough for callers to map to their own
// errors (the conversation service maps them to API problems).
const (
	// CodeContextLengthExceeded: the prompt does not fit the model's
	// context window; a shorter history may succeed.
	CodeContextLengthExceeded = "context_length_exceeded"
	// CodeContentFiltered: the provider's content filter refused the
	// prompt or the reply.
	CodeContentFiltered = "content_filtered"
	// CodeProviderAuth: the API key was refused (401, 403).
	CodeProviderAuth = "provider_auth"
	// CodeProviderQuota: the account is out of credits or quota (402, or
	// a 429 that says so); waiting will not help.
	CodeProviderQuota = "provider_quota"
	// CodeUnsupportedParameter: the server refused a request parameter
	// (named in ProviderError.Param when it said which).
	CodeUnsupportedParameter = "unsupported_parameter"
	// CodeRateLimited: too many requests; trying later may succeed.
	CodeRateLimited = "rate_limited"
	// CodeProviderError: any other failure.
	CodeProviderError = "provider_error"
)

// ProviderError is a failure a model provider reported, with its HTTP
// status, after any retries. Message is the provider's own message,
// sanitised (never the request, never the key).
type ProviderError struct {
	Status  int
	Message string
	// Code classifies the failure: one of the Code* constants.
	Code string
	// Param is the request parameter the provider named as unsupported or
	// invalid, when it named one.
	Param string
}

func (e *ProviderError) Error() string {
	return "model provider answered " + strconv.Itoa(e.Status) + ": " + e.Message
}

// Temporary reports whether the same request may succeed later: rate
// limits, timeouts and server errors. Context-length, content-filter,
// auth, quota and parameter errors will answer the same until something
// changes, so "try again" is not advice to give for them.
func (e *ProviderError) Temporary() bool {
	switch e.Code {
	case CodeRateLimited:
		return true
	case CodeProviderError:
		return e.Status == 408 || e.Status == 409 || e.Status >= 500 || e.Status == 0
	}
	return false
}

// Why a reply is incomplete (IncompleteError.Reason).
const (
	// IncompleteEmpty: the provider finished but wrote no text (a
	// reasoning model can spend its whole output limit thinking).
	IncompleteEmpty = "empty"
	// IncompleteContentFilter: the content filter withheld or cut the
	// reply.
	IncompleteContentFilter = "content_filter"
	// IncompleteCut: the stream ended (or went idle) before its finish
	// chunk and [DONE], or reported an error midway.
	IncompleteCut = "cut"
)

// IncompleteError reports a reply that must not be stored as a normal
// answer. Response holds whatever arrived (possibly partial content) and
// the usage the provider billed for it, so the caller can still record
// the tokens; Response.FinishReason is FinishContentFilter or FinishError.
type IncompleteError struct {
	Reason   string
	Response Response
	// Err is the underlying failure of a cut stream, if any (a
	// *ProviderError sent midway, a read error, an idle timeout).
	Err error
}

func (e *IncompleteError) Error() string {
	msg := "model reply incomplete"
	switch e.Reason {
	case IncompleteEmpty:
		msg = "model reply was empty"
	case IncompleteContentFilter:
		msg = "model reply was withheld by the provider's content filter"
	case IncompleteCut:
		msg = "model reply was cut off before it finished"
	}
	if e.Err != nil {
		msg += ": " + e.Err.Error()
	}
	return msg
}

// Unwrap returns the underlying failure.
func (e *IncompleteError) Unwrap() error { return e.Err }

// Code classifies the outcome like ProviderError.Code: content_filtered
// for a filtered reply, else provider_error.
func (e *IncompleteError) Code() string {
	if e.Reason == IncompleteContentFilter {
		return CodeContentFiltered
	}
	var pe *ProviderError
	if errors.As(e.Err, &pe) {
		return pe.Code
	}
	return CodeProviderError
}

// ErrIdleTimeout is returned (wrapped) when a stream sends nothing for
// longer than its idle timeout. It wraps context.DeadlineExceeded, so
// callers that treat deadlines as timeouts treat it as one too.
var ErrIdleTimeout = errIdle{}

type errIdle struct{}

func (errIdle) Error() string   { return "model stream went idle: no data within the idle timeout" }
func (errIdle) Unwrap() error   { return context.DeadlineExceeded }
func (errIdle) Timeout() bool   { return true }
func (errIdle) Temporary() bool { return true }

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

// Audio is a recording to turn into text.
type Audio struct {
	Data []byte
	// ContentType is the recording's media type (audio/webm, audio/ogg…).
	ContentType string
	// Filename names the recording; providers tell the format by its
	// extension, so it must carry the right one (speech.webm).
	Filename string
	// Language is the speaker's language as an ISO-639-1 code ("de"), or
	// "" to let the model detect it.
	Language string
}

// Transcriber turns speech into text with a speech-to-text model. Its
// failures are *ProviderError like a Model's.
type Transcriber interface {
	Transcribe(ctx context.Context, model string, a Audio) (string, error)
}
