// Package browsertest drives a real headless Chromium for the dashboard's
// and the widget's browser tests, through the DevTools protocol
// (chromedp). It finds the browser, starts it with the flags this project
// runs it with, and saves screenshots as test artefacts.
//
// Without a browser the tests skip, unless PARLEY_REQUIRE_BROWSER is set
// (CI sets it), when they fail: a missing browser must never turn a CI run
// green by skipping.
package browsertest

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
)

// Timeout bounds one browser test, so a page that never settles fails
// instead of hanging the run.
const Timeout = 90 * time.Second

// Desktop and Mobile are the viewport sizes screenshots are taken at.
var (
	Desktop = Viewport{Width: 1366, Height: 900}
	Mobile  = Viewport{Width: 390, Height: 844}
)

// Viewport is a window size in CSS pixels.
type Viewport struct{ Width, Height int64 }

// Path returns the Chromium executable: PARLEY_CHROMIUM if set, else the
// first of the usual names on PATH; "" if there is none.
func Path() string {
	if p := os.Getenv("PARLEY_CHROMIUM"); p != "" {
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "headless-shell"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	return ""
}

// FakeMedia are the flags that give the browser a fake microphone and
// camera (a tone, a test pattern) and grant pages their use without a
// prompt, for tests of recording.
var FakeMedia = []chromedp.ExecAllocatorOption{
	chromedp.Flag("use-fake-device-for-media-stream", true),
	chromedp.Flag("use-fake-ui-for-media-stream", true),
}

// New starts a fresh headless browser (its own empty profile) for one
// test and returns a context for chromedp.Run on its first tab. The
// browser closes when the test ends. Console errors and uncaught
// exceptions of the page are logged to the test. extra adds to the
// flags this project runs the browser with (FakeMedia, for one).
func New(t testing.TB, vp Viewport, extra ...chromedp.ExecAllocatorOption) context.Context {
	t.Helper()
	exe := Path()
	if exe == "" {
		if os.Getenv("PARLEY_REQUIRE_BROWSER") != "" {
			t.Fatal("no Chromium found (set PARLEY_CHROMIUM or install chromium) and PARLEY_REQUIRE_BROWSER is set")
		}
		t.Skip("no Chromium found: install Debian's chromium or set PARLEY_CHROMIUM (PARLEY_REQUIRE_BROWSER makes this a failure)")
	}
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(exe),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.Flag("headless", true),
		chromedp.Flag("no-sandbox", true),
		chromedp.Flag("disable-gpu", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("no-first-run", true),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("no-default-browser-check", true),
		chromedp.WindowSize(int(vp.Width), int(vp.Height)),
	}
	opts = append(opts, extra...)
	base, cancelTimeout := context.WithTimeout(context.Background(), Timeout)
	actx, cancelAlloc := chromedp.NewExecAllocator(base, opts...)
	ctx, cancelCtx := chromedp.NewContext(actx, chromedp.WithLogf(t.Logf))
	t.Cleanup(func() {
		cancelCtx()
		cancelAlloc()
		cancelTimeout()
	})
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(vp.Width, vp.Height)); err != nil {
		t.Fatalf("start Chromium (%s): %v", exe, err)
	}
	return ctx
}

// InitScript runs src in every document the tab opens from now on,
// before the page's own scripts: a test replaces browser APIs with
// fakes this way (speech recognition, speech synthesis).
func InitScript(src string) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, tgt *chromedp.Target) error {
		_, err := cdp.Call(ctx, tgt, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{Source: src})
		return err
	})
}

// Do runs steps on the browser of ctx, in order, and fails the test, with
// a screenshot of the page as it was, if one fails.
//
// chromedp (v0.23) actions are typed: chromedp.Action[T] returns a T, and
// steps that return nothing are Action[chromedp.Void]. Use Eval for a
// value.
func Do(t testing.TB, ctx context.Context, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	if err := chromedp.Do(ctx, steps...); err != nil {
		name := "failure"
		if errors.Is(err, context.DeadlineExceeded) {
			name = "timeout"
		}
		path := trySave(t, ctx, name)
		t.Fatalf("browser: %v (screenshot of the page: %s)", err, path)
	}
}

// Screenshot saves a full-page PNG of the current page as an artefact,
// under Dir()/<test name>/<name>.png, and returns its path.
func Screenshot(t testing.TB, ctx context.Context, name string) string {
	t.Helper()
	buf, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatalf("screenshot %s: %v", name, err)
	}
	return save(t, name, buf)
}

// Eval evaluates a JavaScript expression in the page and returns its
// value, decoded into T; it fails the test if the script throws.
func Eval[T any](t testing.TB, ctx context.Context, expr string) T {
	t.Helper()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr))
	if err != nil {
		trySave(t, ctx, "eval-failure")
		t.Fatalf("evaluate %s: %v", expr, err)
	}
	return v
}

func trySave(t testing.TB, ctx context.Context, name string) string {
	sctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	buf, err := chromedp.Run(sctx, chromedp.FullScreenshot(100))
	if err != nil {
		// The browser may be gone (the deadline cancels it too).
		return "none: " + err.Error()
	}
	return save(t, name, buf)
}

var unsafeName = regexp.MustCompile(`[^A-Za-z0-9._-]+`)

func save(t testing.TB, name string, png []byte) string {
	t.Helper()
	dir := filepath.Join(Dir(), unsafeName.ReplaceAllString(t.Name(), "_"))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatalf("screenshot dir: %v", err)
	}
	path := filepath.Join(dir, unsafeName.ReplaceAllString(name, "_")+".png")
	if err := os.WriteFile(path, png, 0o644); err != nil {
		t.Fatalf("save screenshot: %v", err)
	}
	t.Logf("screenshot: %s", path)
	return path
}

// Dir is where screenshots go: PARLEY_ARTIFACTS if set, else the
// repository's artifacts/screenshots (ignored by git).
func Dir() string {
	if d := os.Getenv("PARLEY_ARTIFACTS"); d != "" {
		return d
	}
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		return filepath.Join(os.TempDir(), "parley-screenshots")
	}
	root := strings.TrimSuffix(filepath.Dir(file), filepath.FromSlash("internal/browsertest"))
	return filepath.Join(root, "artifacts", "screenshots")
}

// WaitText waits until the element matched by the CSS selector sel shows
// text containing want, polling; it fails with what the element last
// showed. It sees into open shadow roots when sel starts with a host
// selector followed by ">>>" (for example "#parley-widget >>> [data-parley=panel]").
func WaitText(sel, want string) chromedp.Action[chromedp.Void] {
	return func(ctx context.Context, tgt *chromedp.Target) (chromedp.Void, error) {
		var got string
		for {
			v, err := chromedp.Evaluate[string](fmt.Sprintf(`(function(){
  var parts=%q.split(">>>"), root=document, e=null;
  for (var i=0;i<parts.length;i++){ e=root.querySelector(parts[i].trim()); if(!e) return ""; root=e.shadowRoot||e; }
  return e.textContent||"";
})()`, sel))(ctx, tgt)
			if err != nil {
				return chromedp.Void{}, err
			}
			got = v
			if strings.Contains(got, want) {
				return chromedp.Void{}, nil
			}
			select {
			case <-ctx.Done():
				return chromedp.Void{}, fmt.Errorf("wait for %q in %s (it shows %q): %w", want, sel, got, ctx.Err())
			case <-time.After(50 * time.Millisecond):
			}
		}
	}
}
