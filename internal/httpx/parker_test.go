package httpx

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// chanFeeder feeds a parked stream from a channel of event names, the
// way a hub subscription does: wake after each one queued.
type chanFeeder struct {
	c      chan string
	mu     sync.Mutex
	wake   func()
	closed chan struct{}
	once   sync.Once
}

func newChanFeeder() *chanFeeder {
	return &chanFeeder{c: make(chan string, 64), closed: make(chan struct{})}
}

func (f *chanFeeder) Watch(wake func()) {
	f.mu.Lock()
	f.wake = wake
	f.mu.Unlock()
}

// push queues an event; "" ends the stream.
func (f *chanFeeder) push(ev string) {
	f.c <- ev
	f.wakeUp()
}

func (f *chanFeeder) wakeUp() {
	f.mu.Lock()
	w := f.wake
	f.mu.Unlock()
	if w != nil {
		w()
	}
}

func (f *chanFeeder) Feed(_ context.Context, send func(id, event string, v any) error) bool {
	for {
		select {
		case ev := <-f.c:
			if ev == "" {
				return false
			}
			if send(ev, "message", map[string]string{"n": ev}) != nil {
				return false
			}
		default:
			return true
		}
	}
}

func (f *chanFeeder) Close() { f.once.Do(func() { close(f.closed) }) }

// parkServer serves GET / as a stream that sends "first" from its
// handler, then parks with the next feeder of feeders.
func parkServer(t *testing.T, p *Parker, feeders chan *chanFeeder) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f := <-feeders
		parkable := p.Parkable(w, r)
		s := NewSSE(w, r)
		if s.SendID("0", "message", map[string]string{"n": "first"}) != nil {
			return
		}
		if parkable && p.Park(w, s, f) {
			return
		}
		t.Error("the stream did not park")
	}))
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = p.Shutdown(ctx)
		srv.Close()
	})
	return srv
}

// open opens the stream and returns a reader of its lines.
func open(t *testing.T, url string) (*http.Response, *bufio.Scanner) {
	t.Helper()
	res, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { res.Body.Close() })
	if res.StatusCode != 200 || res.Header.Get("Content-Type") != "text/event-stream" {
		t.Fatalf("status %d, type %q", res.StatusCode, res.Header.Get("Content-Type"))
	}
	if !res.Close || len(res.TransferEncoding) != 0 {
		t.Fatalf("framing: close %v, transfer-encoding %v; want a body ended by closing", res.Close, res.TransferEncoding)
	}
	return res, bufio.NewScanner(res.Body)
}

// next returns the next non-empty line, failing after 5 s.
func next(t *testing.T, res *http.Response, sc *bufio.Scanner) string {
	t.Helper()
	stop := time.AfterFunc(5*time.Second, func() { res.Body.Close() })
	defer stop.Stop()
	for sc.Scan() {
		if sc.Text() != "" {
			return sc.Text()
		}
	}
	return "EOF"
}

// closedIn fails unless f is closed within 5 s.
func closedIn(t *testing.T, f *chanFeeder) {
	t.Helper()
	select {
	case <-f.closed:
	case <-time.After(5 * time.Second):
		t.Fatal("the feeder was not closed")
	}
}

func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestParkerDeliversInOrder(t *testing.T) {
	p := &Parker{Workers: 2, Heartbeat: time.Hour}
	feeders := make(chan *chanFeeder, 1)
	f := newChanFeeder()
	feeders <- f
	srv := parkServer(t, p, feeders)
	res, sc := open(t, srv.URL)
	defer res.Body.Close()
	want := []string{"id: 0", "event: message", `data: {"n":"first"}`}
	for i := 1; i <= 30; i++ {
		f.push(fmt.Sprint(i))
		want = append(want, fmt.Sprintf("id: %d", i), "event: message", fmt.Sprintf(`data: {"n":"%d"}`, i))
	}
	for i, w := range want {
		if got := next(t, res, sc); got != w {
			t.Fatalf("line %d: %q, want %q", i, got, w)
		}
	}
	if p.Parked() != 1 {
		t.Errorf("%d parked, want 1", p.Parked())
	}
	// The feeder ends the stream: the connection closes, the feeder too.
	f.push("")
	if got := next(t, res, sc); got != "EOF" {
		t.Fatalf("after the end: %q", got)
	}
	closedIn(t, f)
	waitUntil(t, "the stream to leave", func() bool { return p.Parked() == 0 })
}

func TestParkerHeartbeat(t *testing.T) {
	p := &Parker{Heartbeat: 20 * time.Millisecond}
	feeders := make(chan *chanFeeder, 1)
	feeders <- newChanFeeder()
	srv := parkServer(t, p, feeders)
	res, sc := open(t, srv.URL)
	defer res.Body.Close()
	for range 3 {
		next(t, res, sc) // the first event
	}
	for i := range 3 {
		if got := next(t, res, sc); got != ": ping" {
			t.Fatalf("beat %d: %q", i, got)
		}
	}
}

func TestParkerNoticesHangUp(t *testing.T) {
	p := &Parker{Heartbeat: 20 * time.Millisecond}
	feeders := make(chan *chanFeeder, 1)
	f := newChanFeeder()
	feeders <- f
	srv := parkServer(t, p, feeders)
	res, sc := open(t, srv.URL)
	defer res.Body.Close()
	next(t, res, sc)
	waitUntil(t, "the stream to park", func() bool { return p.Parked() == 1 })
	res.Body.Close()
	select {
	case <-f.closed:
	case <-time.After(5 * time.Second):
		t.Fatal("a client that hung up was not noticed")
	}
	waitUntil(t, "the stream to leave", func() bool { return p.Parked() == 0 })
}

// TestParkerWriteTimeout parks a stream whose client never reads: once
// the socket buffers are full, a write times out and the stream ends
// instead of holding a worker.
func TestParkerWriteTimeout(t *testing.T) {
	p := &Parker{Workers: 1, Heartbeat: time.Hour, WriteTimeout: 50 * time.Millisecond}
	feeders := make(chan *chanFeeder, 1)
	f := newChanFeeder()
	feeders <- f
	srv := parkServer(t, p, feeders)
	conn, err := net.Dial("tcp", strings.TrimPrefix(srv.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = conn.Close() }()
	if _, err := conn.Write([]byte("GET / HTTP/1.1\r\nHost: x\r\n\r\n")); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, "the stream to park", func() bool { return p.Parked() == 1 })
	big := strings.Repeat("x", 64<<10)
	go func() { // never read: fill the buffers until the stream ends
		for {
			select {
			case <-f.closed:
				return
			case f.c <- big:
				f.wakeUp()
			}
		}
	}()
	select {
	case <-f.closed:
	case <-time.After(10 * time.Second):
		t.Fatal("a write to a client that does not read did not time out")
	}
	waitUntil(t, "the stream to leave", func() bool { return p.Parked() == 0 })
}

func TestParkerManyStreamsAndShutdown(t *testing.T) {
	const n = 200
	p := &Parker{Workers: 2, Heartbeat: time.Hour}
	feeders := make(chan *chanFeeder, n)
	fs := make([]*chanFeeder, n)
	for i := range fs {
		fs[i] = newChanFeeder()
		feeders <- fs[i]
	}
	srv := parkServer(t, p, feeders)
	type stream struct {
		res *http.Response
		sc  *bufio.Scanner
	}
	ss := make([]stream, n)
	for i := range ss {
		res, sc := open(t, srv.URL)
		defer res.Body.Close()
		ss[i] = stream{res, sc}
		for range 3 {
			next(t, res, sc)
		}
	}
	waitUntil(t, "every stream to park", func() bool { return p.Parked() == n })
	// Streams are fed in the order they parked: one event each, to all.
	for i, f := range fs {
		f.push(fmt.Sprint(i))
	}
	for i, s := range ss {
		if got := next(t, s.res, s.sc); got != fmt.Sprintf("id: %d", i) {
			t.Fatalf("stream %d: %q", i, got)
		}
		next(t, s.res, s.sc)
		next(t, s.res, s.sc)
	}
	if err := p.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	for i, s := range ss {
		if got := next(t, s.res, s.sc); got != "EOF" {
			t.Fatalf("stream %d after shutdown: %q", i, got)
		}
		closedIn(t, fs[i])
	}
	if p.Parked() != 0 {
		t.Errorf("%d still parked", p.Parked())
	}
	// A stream opened after shutdown is not parked.
	req := httptest.NewRequest("GET", "/", nil)
	if p.Parkable(httptest.NewRecorder(), req) {
		t.Error("parkable after shutdown")
	}
}

func TestParkableOnlyHTTP11Get(t *testing.T) {
	p := &Parker{}
	defer func() { _ = p.Shutdown(context.Background()) }()
	for _, c := range []struct {
		method     string
		major, min int
		want       bool
	}{
		{"GET", 1, 1, true},
		{"HEAD", 1, 1, false},
		{"GET", 1, 0, false},
		{"GET", 2, 0, false},
	} {
		r := httptest.NewRequest(c.method, "/", nil)
		r.ProtoMajor, r.ProtoMinor = c.major, c.min
		w := httptest.NewRecorder()
		if got := p.Parkable(w, r); got != c.want {
			t.Errorf("%s HTTP/%d.%d: %v", c.method, c.major, c.min, got)
		}
	}
	var nilParker *Parker
	if nilParker.Parkable(httptest.NewRecorder(), httptest.NewRequest("GET", "/", nil)) {
		t.Error("a nil Parker parks")
	}
	// A writer that cannot be hijacked does not park: the handler keeps it.
	w := httptest.NewRecorder()
	s := NewSSE(w, httptest.NewRequest("GET", "/", nil))
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	if p.Park(w, s, newChanFeeder()) {
		t.Error("parked a recorder")
	}
	if err := s.Send("x", 1); err != nil {
		t.Errorf("the stream fails after a refused park: %v", err)
	}
}
