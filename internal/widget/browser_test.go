package widget_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/parley-dev/parley/internal/browsertest"
)

// hostile is a host page's style sheet that tries to break the widget:
// it unsets and hides every element an embed might use, and the host
// element itself.
const hostile = `div, span, button, input, textarea, form, section, parley-widget, svg, label, p, ul, li {
  all: unset !important; display: none !important; }
* { font-family: "Comic Sans MS", cursive !important; color: red !important; }
body { background: #fafaf9; margin: 40px; }`

// hostPage serves a plain HTML page, on an origin of its own, that embeds
// the widget from the Parley server at *base.
func hostPage(t *testing.T, base, pub *string) *httptest.Server {
	h := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprintf(w, `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>Shop</title><style>%s</style></head><body><h1>Acme Shop</h1><p>Welcome.</p>
<script src="%s/widget.js" data-assistant="%s" async></script></body></html>`, hostile, *base, *pub)
	}))
	t.Cleanup(h.Close)
	return h
}

// shadow is a JavaScript expression for the widget's shadow root.
const shadow = `document.querySelector("parley-widget").shadowRoot`

// until polls a JavaScript condition in the page.
func until(cond string) chromedp.Action[chromedp.Void] {
	return func(ctx context.Context, tgt *chromedp.Target) (chromedp.Void, error) {
		for {
			ok, err := chromedp.Evaluate[bool](`(function(){try{return !!(`+cond+`)}catch(e){return false}})()`)(ctx, tgt)
			if err != nil {
				return chromedp.Void{}, err
			}
			if ok {
				return chromedp.Void{}, nil
			}
			select {
			case <-ctx.Done():
				return chromedp.Void{}, fmt.Errorf("waiting for %s: %w", cond, ctx.Err())
			case <-time.After(50 * time.Millisecond):
			}
		}
	}
}

func js(expr string) chromedp.Action[chromedp.Void] {
	return func(ctx context.Context, tgt *chromedp.Target) (chromedp.Void, error) {
		_, err := chromedp.Evaluate[any](`(function(){`+expr+`;return null})()`)(ctx, tgt)
		return chromedp.Void{}, err
	}
}

func TestWidgetInBrowser(t *testing.T) {
	var base, pub string
	host := hostPage(t, &base, &pub)
	other := hostPage(t, &base, &pub) // another port: another origin
	e := start(t, map[string]any{
		"allowed_origins": []string{host.URL},
		"prechat_form": []map[string]any{
			{"name": "name", "label": "Your name", "type": "text", "required": true, "placeholder": "Ada Lovelace"},
			{"name": "email", "label": "Email", "type": "email", "required": true},
		},
		"widget": map[string]any{"title": "Acme Support", "color": "#0f766e"},
	})
	base, pub = e.URL, e.pub
	ctx := browsertest.New(t, browsertest.Desktop)
	launcher := shadow + `.querySelector("[data-parley=launcher]")`
	browsertest.Do(t, ctx,
		chromedp.Navigate(host.URL),
		until(launcher+` && getComputedStyle(document.querySelector("parley-widget")).display === "block" && `+launcher+`.getBoundingClientRect().width > 40`),
		until(`!document.querySelector('script[src*="/widget/assets/"]')`), // lazy: no panel yet
		js(`Parley.on("message", function(m){ (window.seen = window.seen || []).push(m.role) })`),
		js(launcher+`.click()`),
		until(shadow+`.querySelector("[data-parley=prechat-form]:not([hidden])")`),
		// The browser checks the form first.
		js(shadow+`.querySelector("[data-parley=prechat-form] button[type=submit]").click()`),
		browsertest.WaitText("parley-widget >>> [data-parley=prechat-form]", "This field is required"),
		js(`var r=`+shadow+`; r.querySelector("[name=name]").value="Ada"; r.querySelector("[name=email]").value="ada@example.com"; r.querySelector("[data-parley=prechat-form] button[type=submit]").click()`),
		until(shadow+`.querySelector("[data-parley=input]") && `+shadow+`.activeElement === `+shadow+`.querySelector("[data-parley=input]")`),
		chromedp.KeyEvent("Do you ship abroad?"),
		chromedp.KeyEvent("\r"),
		until(shadow+`.querySelector("[data-parley=message][data-role=assistant][data-id]")`),
		until(`(window.seen||[]).indexOf("assistant") >= 0`),
	)
	browsertest.Screenshot(t, ctx, "desktop-open")
	// The conversation is stored with its pre-chat variables.
	list := e.Do("GET", "/api/v1/conversations?type=widget", e.Key, nil).Want(200)
	convs := list.JSON["data"].([]any)
	if len(convs) != 1 {
		t.Fatalf("%d widget conversations", len(convs))
	}
	conv := convs[0].(map[string]any)
	if v := conv["variables"].(map[string]any)["name"].(map[string]any); v["value"] != "Ada" || v["source"] != "prechat" {
		t.Errorf("variables %v", conv["variables"])
	}
	// Reload: the history is back, no form.
	browsertest.Do(t, ctx,
		chromedp.Navigate(host.URL),
		until(launcher),
		js(`Parley.open()`),
		browsertest.WaitText("parley-widget >>> [data-parley=panel]", "Do you ship abroad?"),
	)
	// An operator's message appears live.
	e.Do("POST", "/api/v1/conversations/"+conv["id"].(string)+"/messages", e.Key,
		map[string]string{"role": "operator", "content": "Hello from **Sam** at Acme."}).Want(201)
	start := time.Now()
	browsertest.Do(t, ctx, browsertest.WaitText("parley-widget >>> [data-parley=message][data-role=operator]", "Sam at Acme"))
	t.Logf("operator message shown after %v", time.Since(start))
	if b := browsertest.Eval[string](t, ctx, shadow+`.querySelector("[data-parley=message][data-role=operator] strong").textContent`); b != "Sam" {
		t.Errorf("operator Markdown: %q", b)
	}
	browsertest.Screenshot(t, ctx, "desktop-operator")

	// A page on another origin gets no widget and cannot start a conversation.
	browsertest.Do(t, ctx, chromedp.Navigate(other.URL), chromedp.Sleep(500*time.Millisecond))
	if n := browsertest.Eval[int](t, ctx, shadow+`.querySelectorAll("[data-parley=launcher]").length`); n != 0 {
		t.Error("the widget drew a launcher on a disallowed origin")
	}
	res, err := chromedp.Run(ctx, chromedp.Evaluate[string](fmt.Sprintf(`fetch(%q, {method:"POST", headers:{"Content-Type":"application/json"}, body:"{}"}).then(function(r){return "status "+r.status}, function(e){return "blocked"})`,
		e.URL+e.w("/sessions")), chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatal(err)
	}
	if res != "blocked" && !strings.HasPrefix(res, "status 403") {
		t.Errorf("start from a disallowed origin: %s", res)
	}
	if n := len(e.Do("GET", "/api/v1/conversations?type=widget", e.Key, nil).Want(200).JSON["data"].([]any)); n != 1 {
		t.Errorf("%d widget conversations after the disallowed origin tried", n)
	}

	// Mobile: the panel fills the screen.
	m := browsertest.New(t, browsertest.Mobile)
	browsertest.Do(t, m,
		chromedp.Navigate(host.URL),
		until(launcher),
		js(`Parley.open()`),
		until(shadow+`.querySelector("[data-parley=prechat-form]:not([hidden])")`),
	)
	if w := browsertest.Eval[float64](t, m, shadow+`.querySelector("[data-parley=panel]").getBoundingClientRect().width`); w < float64(browsertest.Mobile.Width)-1 {
		t.Errorf("mobile panel is %v px wide", w)
	}
	browsertest.Screenshot(t, m, "mobile-open")
}
