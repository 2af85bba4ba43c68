package httpx

import (
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"strings"
)

// SecurityHeaders sets X-Content-Type-Options: nosniff on every response
// of next, so that no browser reads an answer as a type other than the
// one it declares (a JSON body holding user text sniffed as HTML would
// run script). It wraps a whole handler tree.
func SecurityHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Content-Type-Options", "nosniff")
		next.ServeHTTP(w, r)
	})
}

// htmlPolicy is the Content-Security-Policy of every HTML page: Parley's
// own resources only, no plugins, no <base> rewriting, forms posted only
// back to Parley, and no framing by any site (clickjacking).
const htmlPolicy = "default-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

// HTMLHeaders prepares h for an HTML page: its Content-Type, the frame
// policy (X-Frame-Options: DENY for browsers without CSP level 2, and
// frame-ancestors 'none') and a strict Content-Security-Policy. The
// policy blocks inline style and script; inlineStyles lists the exact
// text of the page's <style> elements, which it then allows by hash.
// Style attributes stay blocked: a page styles itself with <style>.
func HTMLHeaders(h http.Header, inlineStyles ...string) {
	policy := htmlPolicy
	if len(inlineStyles) > 0 {
		src := []string{"style-src 'self'"}
		for _, css := range inlineStyles {
			sum := sha256.Sum256([]byte(css))
			src = append(src, "'sha256-"+base64.StdEncoding.EncodeToString(sum[:])+"'")
		}
		policy += "; " + strings.Join(src, " ")
	}
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Content-Security-Policy", policy)
}
