package httpx

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/parley-dev/parley/internal/config"
	"github.com/parley-dev/parley/internal/fault"
)

// TestDefaultRateLimitFitsScripts: with the default setting one key may
// send a burst of 200 requests and then 100 a second, so an import
// script is not stopped at 10 requests a second.
func TestDefaultRateLimitFitsScripts(t *testing.T) {
	r, err := config.ParseRate(config.DefaultAPIRateLimit)
	if err != nil {
		t.Fatal(err)
	}
	l := NewLimiter(r.N, r.Per, "this API key")
	t0 := time.Unix(1_800_000_000, 0)
	for i := range 200 {
		if ok, _ := l.allow("k", t0); !ok {
			t.Fatalf("request %d of a burst of 200 refused", i+1)
		}
	}
	if ok, wait := l.allow("k", t0); ok || wait <= 0 || wait > 20*time.Millisecond {
		t.Errorf("request 201 at once: allowed %v, wait %v; want refused for about 10 ms", ok, wait)
	}
	for i := range 100 {
		if ok, _ := l.allow("k", t0.Add(time.Second)); !ok {
			t.Fatalf("request %d of the next second refused", i+1)
		}
	}
	if ok, _ := l.allow("k", t0.Add(time.Second)); ok {
		t.Error("more than 100 requests allowed in the second after the burst")
	}
}

// TestLimiterAnswers429: a key over its limit gets a rate_limited problem
// naming what is limited, with Retry-After in whole seconds; other keys
// keep their own buckets, and a nil Limiter limits nothing.
func TestLimiterAnswers429(t *testing.T) {
	l := NewLimiter(1, time.Minute, "this address") // burst 10
	do := func(key string) *httptest.ResponseRecorder {
		w := httptest.NewRecorder()
		if l.Limited(w, httptest.NewRequest("GET", "/", nil), key) != (w.Code == http.StatusTooManyRequests) {
			t.Fatalf("Limited and the answer disagree: %d", w.Code)
		}
		return w
	}
	for i := range 10 {
		if w := do("198.51.100.7"); w.Code == http.StatusTooManyRequests {
			t.Fatalf("request %d of a burst of 10 refused", i+1)
		}
	}
	w := do("198.51.100.7")
	if w.Code != http.StatusTooManyRequests {
		t.Fatalf("request 11: status %d, want 429", w.Code)
	}
	var p Problem
	if err := json.Unmarshal(w.Body.Bytes(), &p); err != nil {
		t.Fatal(err)
	}
	if p.Code != fault.CodeRateLimited || !strings.HasPrefix(p.Detail, "this address is over its limit of 1 requests a minute; retry in ") {
		t.Errorf("problem %+v", p)
	}
	if secs, err := strconv.Atoi(w.Header().Get("Retry-After")); err != nil || secs < 1 || secs > 60 {
		t.Errorf("Retry-After %q", w.Header().Get("Retry-After"))
	}
	if w := do("203.0.113.9"); w.Code == http.StatusTooManyRequests {
		t.Error("another key shares the bucket")
	}
	off := NewLimiter(0, time.Minute, "this API key")
	if off != nil || off.Limited(httptest.NewRecorder(), httptest.NewRequest("GET", "/", nil), "k") {
		t.Error("a limit of 0 limits")
	}
}

// TestClientIP: the key is the connection's address; headers a client
// can forge are ignored.
func TestClientIP(t *testing.T) {
	for addr, want := range map[string]string{
		"192.0.2.1:51234":   "192.0.2.1",
		"[2001:db8::1]:443": "2001:db8::1",
		"@":                 "@",
	} {
		r := httptest.NewRequest("GET", "/", nil)
		r.RemoteAddr = addr
		r.Header.Set("X-Forwarded-For", "10.9.9.9")
		r.Header.Set("Forwarded", "for=10.9.9.9")
		if got := ClientIP(r); got != want {
			t.Errorf("ClientIP(%q) = %q, want %q", addr, got, want)
		}
	}
}
