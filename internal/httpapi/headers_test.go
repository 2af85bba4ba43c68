package httpapi_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/parley-dev/parley/internal/apptest"
)

// TestSecurityHeaders: no response may be sniffed into another type, and
// HTML pages may not be framed (clickjacking) nor load anything but
// Parley's own resources.
func TestSecurityHeaders(t *testing.T) {
	s := apptest.Start(t, testDB(t))
	for _, r := range []*apptest.Response{
		s.Do("GET", "/api/v1/assistants", s.Key, nil).Want(http.StatusOK),
		s.Do("GET", "/api/v1/assistants/asst_missing", s.Key, nil).Want(http.StatusNotFound),
		s.Do("GET", "/api/v1/assistants", "", nil).Want(http.StatusUnauthorized),
		s.Do("GET", "/api/v1/openapi.json", "", nil).Want(http.StatusOK),
		s.Do("GET", "/healthz", "", nil).Want(http.StatusOK),
		s.Do("GET", "/nowhere", "", nil).Want(http.StatusNotFound),
		s.Do("GET", "/", "", nil).Want(http.StatusOK),
	} {
		if got := r.Header.Get("X-Content-Type-Options"); got != "nosniff" {
			t.Errorf("%d %s: X-Content-Type-Options %q", r.Status, r.Header.Get("Content-Type"), got)
		}
	}
	home := s.Do("GET", "/", "", nil).Want(http.StatusOK)
	if !strings.HasPrefix(home.Header.Get("Content-Type"), "text/html") {
		t.Fatalf("home page Content-Type %q", home.Header.Get("Content-Type"))
	}
	if got := home.Header.Get("X-Frame-Options"); got != "DENY" {
		t.Errorf("home page X-Frame-Options %q", got)
	}
	csp := home.Header.Get("Content-Security-Policy")
	for _, d := range []string{"default-src 'self'", "frame-ancestors 'none'", "object-src 'none'", "base-uri 'none'"} {
		if !strings.Contains(csp, d) {
			t.Errorf("home page Content-Security-Policy %q lacks %q", csp, d)
		}
	}
	// Inline style attributes would be blocked by the policy: the page's
	// style must be a <style> element whose hash the policy allows.
	if strings.Contains(string(home.Body), ` style="`) {
		t.Error("the home page uses a style attribute, which its policy blocks")
	}
	if strings.Contains(string(home.Body), "<style>") && !strings.Contains(csp, "style-src 'self' 'sha256-") {
		t.Errorf("the home page's <style> is not allowed by %q", csp)
	}
	if s.Do("GET", "/api/v1/assistants", s.Key, nil).Header.Get("X-Frame-Options") != "" {
		t.Error("JSON answers carry the HTML frame policy")
	}
}
