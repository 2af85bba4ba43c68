// Package llmtest is a fake OpenAI-compatible server for tests: it speaks
// the real chat-completions wire format (JSON and server-sent events, usage
// with cached tokens, error bodies, Retry-After), so Parley's client is
// tested against HTTP, not against a mock of its own interface.
package llmtest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"time"
)

// Usage is what the fake reports for a reply.
type Usage struct {
	Prompt, Completion, Cached int64
	// Reasoning is reported as completion_tokens_details.reasoning_tokens
	// (part of Completion, as OpenAI counts them).
	Reasoning int64
	// Cost, when set, is reported as usage.cost, as OpenRouter does: a JSON
	// number written exactly as given (e.g. "0.000123").
	Cost string
}

// Failure is a scripted error answer.
type Failure struct {
	Status     int
	RetryAfter string // Retry-After header value, if any
	// Code and Message, when set, go into the OpenAI error body.
	Code, Message string
}

// Server is a running fake.
type Server struct {
	*httptest.Server

	mu       sync.Mutex
	failures []Failure
	requests []Request
	// holdAfter and release pause streamed replies (see Hold).
	holdAfter int
	release   chan struct{}
	// Reply returns the reply text for a request (default: "Echo: " and
	// the last user message).
	Reply func(Request) string
	// Usage returns the usage to report (default: 10 per message, 1 per
	// reply word, nothing cached).
	Usage func(Request, string) Usage
	// OmitUsage makes the fake report no usage at all.
	OmitUsage bool
	// Delay is slept before answering.
	Delay time.Duration
	// ChunkDelay is slept between streamed chunks.
	ChunkDelay time.Duration
	// Model is reported as the answering model (default: the asked one).
	Model string
	// FinishReason is reported instead of "stop" (e.g. "content_filter").
	FinishReason string
	// Transcript returns the text of a transcription request (default:
	// DefaultTranscript).
	Transcript func(TranscriptionRequest) string

	transcriptions []TranscriptionRequest
}

// Request is what the fake received.
type Request struct {
	Model               string    `json:"model"`
	Messages            []Message `json:"messages"`
	Stream              bool      `json:"stream"`
	Temperature         *float64  `json:"temperature"`
	MaxCompletionTokens int       `json:"max_completion_tokens"`
	StreamOptions       *struct {
		IncludeUsage bool `json:"include_usage"`
	} `json:"stream_options"`
	ResponseFormat *struct {
		Type       string `json:"type"`
		JSONSchema struct {
			Name   string         `json:"name"`
			Strict bool           `json:"strict"`
			Schema map[string]any `json:"schema"`
		} `json:"json_schema"`
	} `json:"response_format"`
	Authorization string `json:"-"`
}

// Message is one chat message of a request.
type Message struct {
	Role    string `json:"role"`
	Content string `json:"content"`
}

// New starts a fake; it stops when the test ends.
func New(t interface{ Cleanup(func()) }) *Server {
	s := &Server{}
	s.Server = httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(s.Close)
	return s
}

// BaseURL is the URL to configure as PARLEY_LLM_BASE_URL.
func (s *Server) BaseURL() string { return s.URL + "/v1" }

// FailNext makes the next answers errors, in order.
func (s *Server) FailNext(f ...Failure) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failures = append(s.failures, f...)
}

// Requests returns every request received so far.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.requests...)
}

// Hold makes streamed replies pause after their first n words until
// Release is called or the client goes away, so a test can act (end the
// conversation, shut the server down) while a reply is in flight.
func (s *Server) Hold(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.holdAfter, s.release = n, make(chan struct{})
}

// Release lets held replies go on, and later ones stream without pause.
// Calling it again, or without Hold, does nothing.
func (s *Server) Release() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.release != nil {
		close(s.release)
		s.release = nil
	}
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodPost && r.URL.Path == "/v1/audio/transcriptions" {
		s.transcribe(w, r)
		return
	}
	if r.Method != http.MethodPost || r.URL.Path != "/v1/chat/completions" {
		writeError(w, http.StatusNotFound, "unknown endpoint "+r.URL.Path)
		return
	}
	var req Request
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		writeError(w, http.StatusBadRequest, "bad JSON: "+err.Error())
		return
	}
	req.Authorization = r.Header.Get("Authorization")
	s.mu.Lock()
	s.requests = append(s.requests, req)
	var fail *Failure
	if len(s.failures) > 0 {
		fail = &s.failures[0]
		s.failures = s.failures[1:]
	}
	reply, usageFn, omit, delay, model, chunkDelay := s.Reply, s.Usage, s.OmitUsage, s.Delay, s.Model, s.ChunkDelay
	finish := s.FinishReason
	if finish == "" {
		finish = "stop"
	}
	holdAfter, release := s.holdAfter, s.release
	s.mu.Unlock()
	if !wait(r, delay) || answerFailure(w, fail) {
		return
	}
	if reply == nil {
		reply = func(r Request) string {
			for i := len(r.Messages) - 1; i >= 0; i-- {
				if r.Messages[i].Role == "user" {
					return "Echo: " + r.Messages[i].Content
				}
			}
			return "Echo."
		}
	}
	if usageFn == nil {
		usageFn = func(r Request, text string) Usage {
			return Usage{Prompt: int64(10 * len(r.Messages)), Completion: int64(len(strings.Fields(text)))}
		}
	}
	if model == "" {
		model = req.Model
	}
	text := reply(req)
	u := usageFn(req, text)
	usage := map[string]any{
		"prompt_tokens": u.Prompt, "completion_tokens": u.Completion, "total_tokens": u.Prompt + u.Completion,
		"prompt_tokens_details":     map[string]any{"cached_tokens": u.Cached},
		"completion_tokens_details": map[string]any{"reasoning_tokens": u.Reasoning},
	}
	if u.Cost != "" {
		usage["cost"] = json.RawMessage(u.Cost)
	}
	id, created := "chatcmpl-fake", time.Now().Unix()
	if !req.Stream {
		body := map[string]any{
			"id": id, "object": "chat.completion", "created": created, "model": model,
			"choices": []any{map[string]any{"index": 0, "finish_reason": finish,
				"message": map[string]any{"role": "assistant", "content": text}}},
		}
		if !omit {
			body["usage"] = usage
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(body)
		return
	}
	st := startStream(w, id, created, model)
	send, chunk := st.send, st.chunk
	send(chunk(map[string]any{"role": "assistant", "content": ""}, nil))
	for i, word := range strings.SplitAfter(text, " ") {
		if release != nil && i == holdAfter {
			select {
			case <-release:
			case <-r.Context().Done():
				return // the client went away mid-reply, as a cut stream does
			}
		}
		time.Sleep(chunkDelay)
		send(chunk(map[string]any{"content": word}, nil))
	}
	send(chunk(map[string]any{}, finish))
	if !omit && req.StreamOptions != nil && req.StreamOptions.IncludeUsage {
		send(map[string]any{"id": id, "object": "chat.completion.chunk", "created": created, "model": model,
			"choices": []any{}, "usage": usage})
	}
	fmt.Fprint(w, "data: [DONE]\n\n")
}

// wait sleeps d, reporting false if the client left meanwhile.
func wait(r *http.Request, d time.Duration) bool {
	if d <= 0 {
		return true
	}
	select {
	case <-time.After(d):
		return true
	case <-r.Context().Done():
		return false
	}
}

// answerFailure writes the scripted failure f, if any, and reports
// whether it did.
func answerFailure(w http.ResponseWriter, f *Failure) bool {
	if f == nil {
		return false
	}
	if f.RetryAfter != "" {
		w.Header().Set("Retry-After", f.RetryAfter)
	}
	msg := f.Message
	if msg == "" {
		msg = fmt.Sprintf("scripted failure %d", f.Status)
	}
	writeErrorCode(w, f.Status, msg, f.Code)
	return true
}

func writeError(w http.ResponseWriter, status int, msg string) { writeErrorCode(w, status, msg, "") }

// writeErrorCode writes OpenAI's error body, with a code when given.
func writeErrorCode(w http.ResponseWriter, status int, msg, code string) {
	writeOpenAIError(w, status, msg, "fake_error", code, "")
}

// writeOpenAIError writes {"error": {"message", "type", "param", "code"}},
// null for what is not given.
func writeOpenAIError(w http.ResponseWriter, status int, msg, typ, code, param string) {
	null := func(v string) any {
		if v == "" {
			return nil
		}
		return v
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{"error": map[string]any{
		"message": msg, "type": typ, "code": null(code), "param": null(param)}})
}
