package httpx

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// lockedRecorder is an httptest.ResponseRecorder safe to read while a
// heartbeat writes to it.
type lockedRecorder struct {
	mu  sync.Mutex
	rec *httptest.ResponseRecorder
	err error // returned by every Write when set
}

func newLockedRecorder() *lockedRecorder { return &lockedRecorder{rec: httptest.NewRecorder()} }

func (l *lockedRecorder) Header() http.Header { return l.rec.Header() }

func (l *lockedRecorder) WriteHeader(code int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.rec.WriteHeader(code)
}

func (l *lockedRecorder) Write(b []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.err != nil {
		return 0, l.err
	}
	return l.rec.Write(b)
}

func (l *lockedRecorder) Flush() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.rec.Flush()
}

func (l *lockedRecorder) body() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.rec.Body.String()
}

func TestSSEEvents(t *testing.T) {
	w := newLockedRecorder()
	s := NewSSE(w, httptest.NewRequest("GET", "/", nil))
	defer s.Close()
	if s.Started() {
		t.Fatal("started before the first event")
	}
	if err := s.Send("delta", map[string]string{"content": "a\nb"}); err != nil {
		t.Fatal(err)
	}
	if err := s.SendID("42", "done", 1); err != nil {
		t.Fatal(err)
	}
	if !s.Started() {
		t.Error("not started after an event")
	}
	want := "event: delta\ndata: {\"content\":\"a\\nb\"}\n\nid: 42\nevent: done\ndata: 1\n\n"
	if got := w.body(); got != want {
		t.Errorf("stream %q, want %q", got, want)
	}
	h := w.Header()
	if h.Get("Content-Type") != "text/event-stream" || h.Get("Cache-Control") != "no-store" || h.Get("X-Accel-Buffering") != "no" {
		t.Errorf("headers %v", h)
	}
	for _, bad := range []struct{ id, event string }{{"1\n2", "x"}, {"1\r", "x"}, {"1\x00", "x"}, {"1", "a\nb"}} {
		if err := s.SendID(bad.id, bad.event, 1); err == nil {
			t.Errorf("SendID(%q, %q) accepted", bad.id, bad.event)
		}
	}
	if got := w.body(); got != want {
		t.Errorf("refused events were written: %q", got)
	}
}

// TestSSEFailedWriteSticks: once a write fails the client is gone, and
// every later call says so instead of writing.
func TestSSEFailedWriteSticks(t *testing.T) {
	w := newLockedRecorder()
	s := NewSSE(w, httptest.NewRequest("GET", "/", nil))
	broken := errors.New("broken pipe")
	w.err = broken
	if err := s.Send("a", 1); !errors.Is(err, broken) {
		t.Fatalf("Send = %v", err)
	}
	w.err = nil
	if err := s.Send("b", 2); !errors.Is(err, broken) {
		t.Errorf("Send after a failure = %v, want the failure", err)
	}
	if w.body() != "" {
		t.Errorf("wrote %q after a failure", w.body())
	}
}

// pings counts heartbeat comments in a stream.
func pings(body string) int { return strings.Count(body, ": ping\n\n") }

// TestSSEHeartbeat: pings start the stream and come every interval
// between events, and stop with Close.
func TestSSEHeartbeat(t *testing.T) {
	w := newLockedRecorder()
	s := NewSSE(w, httptest.NewRequest("GET", "/", nil))
	s.Heartbeat(5 * time.Millisecond)
	waitFor(t, func() bool { return pings(w.body()) >= 3 })
	if !s.Started() || w.Header().Get("Content-Type") != "text/event-stream" {
		t.Error("a heartbeat did not start the stream")
	}
	if err := s.Send("e", 1); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool { return pings(strings.SplitN(w.body(), "event: e", 2)[1]) >= 1 })
	s.Close()
	n := pings(w.body())
	time.Sleep(30 * time.Millisecond)
	if got := pings(w.body()); got != n {
		t.Errorf("%d pings after Close", got-n)
	}
	s.Close() // a second Close is harmless
}

// TestSSEHeartbeatEndsWithRequest: the heartbeat stops when the client
// goes away, even if the handler never calls Close.
func TestSSEHeartbeatEndsWithRequest(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	w := newLockedRecorder()
	s := NewSSE(w, httptest.NewRequest("GET", "/", nil).WithContext(ctx))
	s.Heartbeat(5 * time.Millisecond)
	waitFor(t, func() bool { return pings(w.body()) >= 1 })
	cancel()
	time.Sleep(10 * time.Millisecond) // a beat that fired as the request ended writes no more
	n := pings(w.body())
	time.Sleep(30 * time.Millisecond)
	if got := pings(w.body()); got != n {
		t.Errorf("%d pings after the request ended", got-n)
	}
}

func waitFor(t *testing.T, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Second)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatal("timed out")
		}
		time.Sleep(time.Millisecond)
	}
}
