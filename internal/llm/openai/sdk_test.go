package openai

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/parley-dev/parley/internal/llm"
	"github.com/parley-dev/parley/internal/llm/llmtest"
)

// The client is built on the openai-go SDK; these tests hold the
// behaviours the SDK would change if used as it comes.

// serve starts a server that answers every request with h, which gets the
// request's number (from 1).
func serve(t *testing.T, h func(w http.ResponseWriter, r *http.Request, n int)) string {
	t.Helper()
	var n atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		h(w, r, int(n.Add(1)))
	}))
	t.Cleanup(srv.Close)
	return srv.URL + "/v1"
}

// Every error shape reaches the caller as parseError reads it, over HTTP
// too: the SDK's own error keeps only an {"error": {…}} object and fails
// outright on Ollama's {"error": "…"}.
func TestErrorShapesOverHTTP(t *testing.T) {
	for _, c := range []struct {
		status int
		body   string
	}{
		{404, `{"error":"model \"llama9\" not found, try pulling it first"}`},
		{400, `[{"error":{"code":400,"message":"Request contains an invalid argument.","status":"INVALID_ARGUMENT"}}]`},
		{422, `{"object":"error","message":{"detail":[{"type":"extra_forbidden","loc":["body","store"],"msg":"Extra inputs are not permitted"}]},"type":"invalid_request_error","param":null,"code":null}`},
		{422, `{"detail":[{"type":"extra_forbidden","loc":["body","store"],"msg":"Extra inputs are not permitted","input":false}]}`},
		{502, "<html>Bad gateway</html>"},
		{401, `{"error":{"message":"Incorrect API key provided: sk-secret-123456."}}`},
	} {
		base := serve(t, func(w http.ResponseWriter, _ *http.Request, _ int) {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(c.status)
			_, _ = io.WriteString(w, c.body)
		})
		want := parseError(c.status, []byte(c.body), "sk-secret-123456")
		for _, streamed := range []bool{false, true} {
			var fn llm.DeltaFunc
			if streamed {
				fn = func(string) error { return nil }
			}
			_, err := New(base, "sk-secret-123456", Options{MaxRetries: -1}).Generate(context.Background(), ask("m", 64), fn)
			var pe *llm.ProviderError
			if !errors.As(err, &pe) || *pe != *want {
				t.Errorf("%d %s (streamed %v): got %#v, want %+v", c.status, c.body, streamed, err, *want)
			}
		}
	}
}

// The SDK's client reads OPENAI_API_KEY, OPENAI_BASE_URL and more from the
// environment; Parley's client must not send an OpenAI key, organisation
// or custom header to another server, nor go elsewhere than its base URL.
func TestNoCredentialsFromEnvironment(t *testing.T) {
	t.Setenv("OPENAI_API_KEY", "sk-from-env")
	t.Setenv("OPENAI_ADMIN_KEY", "sk-admin-from-env")
	t.Setenv("OPENAI_ORG_ID", "org-env")
	t.Setenv("OPENAI_PROJECT_ID", "proj-env")
	t.Setenv("OPENAI_BASE_URL", "http://127.0.0.1:1/v1")
	t.Setenv("OPENAI_CUSTOM_HEADERS", "X-Leak: yes")
	p := llmtest.NewProvider(t, llmtest.Ollama)
	o := Options{HTTPClient: p.Client()}
	if _, err := New(p.BaseURL(), "", o).Generate(context.Background(), ask(p.Spec.Model, 64), nil); err != nil {
		t.Fatal(err)
	}
	h := p.Requests()[0].Header
	for _, name := range []string{"Authorization", "OpenAI-Organization", "OpenAI-Project", "X-Leak"} {
		if v := h.Get(name); v != "" {
			t.Errorf("%s: %q sent to a server with no key", name, v)
		}
	}
}

// How a stream ends decides whether the reply is complete: [DONE] ends it
// even without a finish chunk, an "error" event cuts it with the
// provider's message, and a server that answers a stream request with a
// whole JSON reply is read as one.
func TestStreamEnds(t *testing.T) {
	chunk := func(content string) string {
		return fmt.Sprintf(`data: {"id":"c","object":"chat.completion.chunk","model":"m","choices":[{"index":0,"delta":{"content":%q},"finish_reason":null}]}`+"\n\n", content)
	}
	sse := func(body string) string {
		return serve(t, func(w http.ResponseWriter, _ *http.Request, _ int) {
			w.Header().Set("Content-Type", "text/event-stream")
			_, _ = io.WriteString(w, body)
		})
	}
	c := New(sse(": keep-alive\n\n"+chunk("Hello ")+chunk("there.")+"data: [DONE]\n\n"), "", Options{})
	resp, deltas, err := stream(t, c, ask("m", 64))
	if err != nil || resp.Content != "Hello there." || resp.FinishReason != llm.FinishStop || len(deltas) != 2 {
		t.Errorf("[DONE] without a finish chunk: %v %+v", err, resp)
	}

	c = New(sse(chunk("Hello ")+"event: error\ndata: {\"message\":\"Overloaded\",\"type\":\"overloaded_error\"}\n\n"), "", Options{})
	_, _, err = stream(t, c, ask("m", 64))
	var inc *llm.IncompleteError
	var pe *llm.ProviderError
	if !errors.As(err, &inc) || inc.Reason != llm.IncompleteCut || inc.Response.Content != "Hello " ||
		!errors.As(err, &pe) || pe.Message != "Overloaded" {
		t.Errorf("error event: %#v", err)
	}

	base := serve(t, func(w http.ResponseWriter, _ *http.Request, _ int) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"id":"c","object":"chat.completion","model":"m","choices":[{"index":0,"finish_reason":"stop",`+
			`"message":{"role":"assistant","content":[{"type":"thinking","thinking":[{"type":"text","text":"Hmm."}]},{"type":"text","text":"Nine."}]}}],`+
			`"usage":{"prompt_tokens":9,"completion_tokens":2,"total_tokens":11}}`)
	})
	resp, deltas, err = stream(t, New(base, "", Options{}), ask("m", 64))
	if err != nil || resp.Content != "Nine." || strings.Join(deltas, "") != "Nine." || resp.Usage.TotalTokens != 11 {
		t.Errorf("JSON answer to a stream, content parts: %v %+v %q", err, resp, deltas)
	}
}

// A Retry-After that ends after the reply timeout is not waited for: the
// rate limit is reported at once, not a timeout after a pointless wait.
func TestRetryAfterBeyondReplyTimeout(t *testing.T) {
	fake := llmtest.New(t)
	fake.FailNext(llmtest.Failure{Status: 429, RetryAfter: "30"})
	start := time.Now()
	_, err := New(fake.BaseURL(), "k", Options{ReplyTimeout: 3 * time.Second}).Generate(context.Background(), request(), nil)
	var pe *llm.ProviderError
	if !errors.As(err, &pe) || pe.Code != llm.CodeRateLimited || len(fake.Requests()) != 1 || time.Since(start) > time.Second {
		t.Errorf("err %v after %d requests and %v", err, len(fake.Requests()), time.Since(start))
	}
}

// An attempt cut by Options.Timeout is a failure that may succeed if sent
// again, like a dropped connection, and is retried.
func TestAttemptTimeoutIsRetried(t *testing.T) {
	base := serve(t, func(w http.ResponseWriter, r *http.Request, n int) {
		if n == 1 {
			select {
			case <-r.Context().Done():
			case <-time.After(5 * time.Second):
			}
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"model":"m","choices":[{"index":0,"finish_reason":"stop","message":{"role":"assistant","content":"Hi."}}]}`)
	})
	resp, err := New(base, "", Options{Timeout: 200 * time.Millisecond}).Generate(context.Background(), ask("m", 64), nil)
	if err != nil || resp.Content != "Hi." {
		t.Errorf("%v %+v", err, resp)
	}
}
