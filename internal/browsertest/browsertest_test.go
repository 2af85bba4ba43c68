package browsertest_test

import (
	"net/http"
	"net/http/httptest"
	"os"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/parley-dev/parley/internal/browsertest"
)

// TestBrowser proves the harness: Chromium starts with the project's
// flags, runs a page's script, and a screenshot is saved.
func TestBrowser(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, _ = w.Write([]byte(`<!doctype html><title>t</title><p id="out">waiting</p>
<script>setTimeout(function(){document.getElementById("out").textContent="ready "+(2+3)},50)</script>`))
	}))
	defer srv.Close()
	ctx := browsertest.New(t, browsertest.Mobile)
	browsertest.Do(t, ctx, chromedp.Navigate(srv.URL), browsertest.WaitText("#out", "ready 5"))
	if n := browsertest.Eval[int](t, ctx, `document.querySelectorAll("p").length`); n != 1 {
		t.Fatalf("paragraphs = %d, want 1", n)
	}
	path := browsertest.Screenshot(t, ctx, "page")
	if st, err := os.Stat(path); err != nil || st.Size() < 100 {
		t.Fatalf("screenshot %s: %v", path, err)
	}
}
