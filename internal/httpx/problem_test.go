package httpx_test

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/parley-dev/parley/internal/httpx"
)

// A client that hangs up is not a server failure: its request is
// recorded as 499 and logs no error, while the same error for a client
// still waiting stays a 500 with an error in the log.
func TestWriteProblemClientGone(t *testing.T) {
	var logs bytes.Buffer
	old := slog.Default()
	slog.SetDefault(slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelInfo})))
	defer slog.SetDefault(old)

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	gone := httptest.NewRequest("POST", "/api/v1/conversations/x/messages", nil).WithContext(ctx)
	w := httptest.NewRecorder()
	httpx.WriteProblem(w, gone, fmt.Errorf("append message: %w", context.Canceled))
	if w.Code != httpx.StatusClientClosedRequest {
		t.Fatalf("client gone: status %d, want %d", w.Code, httpx.StatusClientClosedRequest)
	}
	if logs.Len() != 0 {
		t.Fatalf("client gone logged: %s", logs.String())
	}

	here := httptest.NewRequest("POST", "/api/v1/conversations/x/messages", nil)
	w = httptest.NewRecorder()
	httpx.WriteProblem(w, here, fmt.Errorf("append message: %w", context.Canceled))
	if w.Code != http.StatusInternalServerError || !bytes.Contains(logs.Bytes(), []byte("request failed")) {
		t.Fatalf("client present: status %d, log %q", w.Code, logs.String())
	}
}
