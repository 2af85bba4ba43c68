package app_test

import (
	"bytes"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/parley-dev/parley/internal/apptest"
	"github.com/parley-dev/parley/internal/store/pgtest"
)

// TestDatabaseOutage: while the database is down, every request answers
// 503 service_unavailable with Retry-After, the outage is logged once
// (not once per request), and /readyz says "not ready" without naming the
// database's host, user or name.
func TestDatabaseOutage(t *testing.T) {
	t.Run("sqlite", func(t *testing.T) {
		s := apptest.Start(t, "")
		testOutage(t, s, func() {
			// The database goes away under the running server.
			if err := s.App.Store.Close(); err != nil {
				t.Fatal(err)
			}
		})
	})
	t.Run("postgres", func(t *testing.T) {
		dbURL := pgtest.SchemaURL(t)
		u, err := url.Parse(dbURL)
		if err != nil {
			t.Fatal(err)
		}
		p := startProxy(t, u.Host) // the server reaches PostgreSQL through p
		u.Host = p.addr()
		s := apptest.Start(t, u.String())
		testOutage(t, s, p.cut)
	})
}

func testOutage(t *testing.T, s *apptest.Server, outage func()) {
	var logs syncBuffer
	log := slog.New(slog.NewTextHandler(&logs, nil))
	s.App.Store.Errors().SetLogger(log)
	defer func(old *slog.Logger) { slog.SetDefault(old) }(slog.Default())
	slog.SetDefault(log) // httpapi logs failed requests here

	s.Do("GET", "/readyz", "", nil).Want(http.StatusOK)
	outage()
	for i := range 20 {
		r := s.Do("GET", "/api/v1/assistants", s.Key, nil)
		if i == 0 {
			r = s.Do("POST", "/api/v1/conversations", s.Key, map[string]any{"assistant_id": s.DemoAssistant})
		}
		r.Want(http.StatusServiceUnavailable)
		if r.Str("code") != "service_unavailable" || r.Header.Get("Retry-After") != "5" {
			t.Fatalf("request %d: Retry-After %q, body %s", i+1, r.Header.Get("Retry-After"), r.Body)
		}
	}
	r := s.Do("GET", "/readyz", "", nil).Want(http.StatusServiceUnavailable)
	if string(r.Body) != "not ready\n" {
		t.Errorf("/readyz says %q: the cause belongs in the log", r.Body)
	}
	metrics := string(s.Do("GET", "/metrics", "", nil).Want(http.StatusOK).Body)
	zero := `parley_database_errors_total{driver="` + s.App.Store.Driver() + `",kind="unavailable"} 0`
	if strings.Contains(metrics, zero) || !strings.Contains(metrics, strings.TrimSuffix(zero, " 0")) {
		t.Errorf("the outage is not counted on /metrics")
	}
	out := logs.String()
	if n := strings.Count(out, "database unavailable"); n != 1 {
		t.Errorf("%d outage lines, want 1:\n%s", n, out)
	}
	if strings.Contains(out, "request failed") || strings.Contains(out, "level=ERROR") {
		t.Errorf("errors logged per request:\n%s", out)
	}
}

// proxy relays TCP connections to a target until cut, when it stops
// listening and drops every connection: the database "goes down" for
// this test's server only.
type proxy struct {
	ln     net.Listener
	target string
	mu     sync.Mutex
	conns  []net.Conn
}

func startProxy(t *testing.T, target string) *proxy {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &proxy{ln: ln, target: target}
	t.Cleanup(p.cut)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			d, err := net.Dial("tcp", target)
			if err != nil {
				_ = c.Close()
				continue
			}
			p.mu.Lock()
			p.conns = append(p.conns, c, d)
			p.mu.Unlock()
			go func() { _, _ = io.Copy(d, c); _ = d.Close() }()
			go func() { _, _ = io.Copy(c, d); _ = c.Close() }()
		}
	}()
	return p
}

func (p *proxy) addr() string { return p.ln.Addr().String() }

func (p *proxy) cut() {
	_ = p.ln.Close()
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range p.conns {
		_ = c.Close()
	}
	p.conns = nil
}

// syncBuffer is a buffer the server's goroutines may log into.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
