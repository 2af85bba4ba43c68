package httpx

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// TestBodyDeadlineSparesLongResponses: a handler that has read its body
// and then works (or streams) for longer than the body deadline keeps a
// live request context. A deadline left on the connection would fire in
// net/http's background read and cancel it.
func TestBodyDeadlineSparesLongResponses(t *testing.T) {
	const timeout = 100 * time.Millisecond
	ctxErr := make(chan error, 1)
	srv := httptest.NewServer(BodyDeadline(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, err := io.ReadAll(r.Body); err != nil {
			t.Errorf("read body: %v", err)
		}
		for range 4 { // four deadlines' worth, flushing like a stream
			time.Sleep(timeout)
			_, _ = io.WriteString(w, "tick\n")
			_ = http.NewResponseController(w).Flush()
		}
		ctxErr <- r.Context().Err()
	}), timeout))
	defer srv.Close()
	resp, err := http.Post(srv.URL, "text/plain", strings.NewReader("a body"))
	if err != nil {
		t.Fatal(err)
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil || strings.Count(string(body), "tick") != 4 {
		t.Errorf("response %q, err %v", body, err)
	}
	if err := <-ctxErr; err != nil {
		t.Errorf("the request's context ended during the response: %v", err)
	}
}
