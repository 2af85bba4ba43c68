package httpx

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// TestHTMLHeaders: a page gets the frame policy and the strict policy,
// and its <style> elements are allowed by their CSP hashes (checked
// against a hash computed as browsers do, for the empty sheet).
func TestHTMLHeaders(t *testing.T) {
	h := http.Header{}
	HTMLHeaders(h)
	if h.Get("Content-Type") != "text/html; charset=utf-8" || h.Get("X-Frame-Options") != "DENY" {
		t.Errorf("headers %v", h)
	}
	csp := h.Get("Content-Security-Policy")
	if !strings.HasPrefix(csp, "default-src 'self';") || !strings.Contains(csp, "frame-ancestors 'none'") || strings.Contains(csp, "style-src") {
		t.Errorf("policy %q", csp)
	}
	HTMLHeaders(h, "", "b{}")
	csp = h.Get("Content-Security-Policy")
	if !strings.Contains(csp, "; style-src 'self' 'sha256-47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=' 'sha256-") || strings.Count(csp, "'sha256-") != 2 {
		t.Errorf("policy %q does not allow both sheets by hash", csp)
	}
}

// TestSecurityHeadersEverywhere: nosniff is set before the handler runs,
// so even a handler that fails or panics answers with it.
func TestSecurityHeadersEverywhere(t *testing.T) {
	w := httptest.NewRecorder()
	SecurityHeaders(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusTeapot)
	})).ServeHTTP(w, httptest.NewRequest("GET", "/", nil))
	if w.Header().Get("X-Content-Type-Options") != "nosniff" {
		t.Errorf("headers %v", w.Header())
	}
}
