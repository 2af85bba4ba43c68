package web_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/parley-dev/parley/internal/apptest"
	"github.com/parley-dev/parley/internal/browsertest"
)

// signIn opens the login page in the browser and signs in as the owner.
func signIn(t *testing.T, ctx context.Context, s *apptest.Server) {
	t.Helper()
	browsertest.Do(t, ctx,
		chromedp.Navigate(s.URL+"/conversations"),
		chromedp.WaitVisible("#email"),
		chromedp.SendKeys("#email", ownerEmail),
		chromedp.SendKeys("#password", ownerPassword),
		chromedp.Submit("#password"),
		chromedp.WaitVisible(`[data-testid="nav-conversations-count"]`),
	)
}

// TestBrowserDashboard drives the dashboard in headless Chromium: sign
// in, the badge count, coloured type badges, a filter and a search
// changing the count (and the back button restoring it), a live update
// from an API call, a transcript with an operator message, and a Test
// Chat round trip with a streamed reply. Screenshots at desktop and
// mobile widths go to artifacts/screenshots.
func TestBrowserDashboard(t *testing.T) {
	if onPostgres {
		t.Skip("browser tests run once, on SQLite")
	}
	s := start(t)
	named := apiConversation(t, s, s.Key, "api", map[string]any{
		"customer":  map[string]any{"name": "مريم العلي — a rather long customer name that must wrap nicely 山田花子", "phone": "+4915112345678"},
		"variables": map[string]any{"plan": "gold", "city": "東京"}})
	s.Do("POST", "/api/v1/conversations/"+named+"/messages", s.Key, map[string]any{"content": "Do you ship to Zürich? مرحبا", "role": "user"}).Want(201)
	apiConversation(t, s, s.Key, "api", nil)
	apiConversation(t, s, s.Key, "test", nil)

	ctx := browsertest.New(t, browsertest.Desktop)
	signIn(t, ctx, s)
	browsertest.Do(t, ctx, browsertest.WaitText(`[data-testid="nav-conversations-count"]`, "3"),
		browsertest.WaitText(`[data-testid="filter-count"]`, "3"))
	if n := browsertest.Eval[int](t, ctx, `document.querySelectorAll('[data-testid="conversation-row"]').length`); n != 3 {
		t.Errorf("%d rows, want 3", n)
	}
	dot := func(typ string) string {
		return browsertest.Eval[string](t, ctx, fmt.Sprintf(`getComputedStyle(document.querySelector('[data-testid="type-badge"][data-type="%s"]'), '::before').backgroundColor`, typ))
	}
	if got := dot("test"); got != "rgb(249, 115, 22)" {
		t.Errorf("test badge colour %s, want #f97316", got)
	}
	if got := dot("api"); got == dot("test") {
		t.Errorf("api badge has the test colour %s", got)
	}
	browsertest.Screenshot(t, ctx, "conversations-desktop")

	// Filter by type: the count follows and the URL keeps the state.
	browsertest.Do(t, ctx, chromedp.Click(`input[name="type"][value="test"]`),
		browsertest.WaitText(`[data-testid="filter-count"]`, "1"))
	if u := browsertest.Eval[string](t, ctx, `location.search`); !strings.Contains(u, "type=test") {
		t.Errorf("URL %q lacks the filter", u)
	}
	// Back restores the unfiltered list. htmx reloads the page for a
	// history entry it has not cached, so the wait tolerates the reload.
	browsertest.Eval[bool](t, ctx, `(history.back(), true)`)
	afterReload(t, ctx, `document.querySelector('[data-testid="filter-count"]').textContent`, "3")

	// Search.
	browsertest.Do(t, ctx, chromedp.SendKeys("#q", "Zürich"), browsertest.WaitText(`[data-testid="filter-count"]`, "1"))
	browsertest.Screenshot(t, ctx, "search-desktop")

	// A conversation created through the API appears live: badge and row.
	browsertest.Do(t, ctx, chromedp.Navigate(s.URL+"/conversations"), browsertest.WaitText(`[data-testid="filter-count"]`, "3"),
		chromedp.Sleep(500*time.Millisecond)) // let the event stream connect
	live := apiConversation(t, s, s.Key, "api", nil)
	browsertest.Do(t, ctx, browsertest.WaitText(`[data-testid="nav-conversations-count"]`, "4"),
		chromedp.WaitVisible(`[data-testid="conversation-row"][data-id="`+live+`"]`))

	// Open a transcript and answer as operator.
	browsertest.Do(t, ctx, chromedp.Click(`[data-id="`+named+`"] a.rowlink`),
		chromedp.WaitVisible(`[data-testid="message"][data-role="assistant"]`),
		chromedp.SendKeys(`[data-testid="composer"] textarea[name="content"]`, "A human will help you. 你好"),
		chromedp.Click(`[data-testid="composer"] button[type="submit"]`),
		browsertest.WaitText(`#transcript`, "A human will help you. 你好"),
		chromedp.WaitVisible(`[data-testid="message"][data-role="operator"]`))
	browsertest.Screenshot(t, ctx, "transcript-desktop")

}

// TestBrowserTestChat: a Test Chat round trip with a streamed reply, the
// end of the session with its extracted variables, the session on the
// Conversations page, and the other pages at desktop and mobile widths.
func TestBrowserTestChat(t *testing.T) {
	if onPostgres {
		t.Skip("browser tests run once, on SQLite")
	}
	s := start(t)
	ctx := browsertest.New(t, browsertest.Desktop)
	signIn(t, ctx, s)
	// Test Chat: the reply streams in, then shows tokens and cost.
	browsertest.Do(t, ctx, chromedp.Navigate(s.URL+"/test-chat"),
		chromedp.WaitVisible(`[data-testid="assistant-select"]`),
		chromedp.SendKeys(`#content`, "Do you ship abroad?"),
		chromedp.Click(`#testchat-form button[type="submit"]`),
		browsertest.WaitText(`#testchat-log`, "abroad to most of Europe"),
		chromedp.WaitVisible(`#testchat-log [data-testid="message"][data-role="assistant"] .msg-meta`))
	if txt := browsertest.Eval[string](t, ctx, `document.querySelector('#testchat-log [data-role="assistant"]:last-of-type .msg-meta').textContent`); !strings.Contains(txt, "tokens") {
		t.Errorf("reply meta %q lacks tokens", txt)
	}
	browsertest.Do(t, ctx, chromedp.Click(`[data-testchat-end]`), chromedp.WaitVisible(`[data-testid="extracted-variables"]`),
		browsertest.WaitText(`[data-testid="extracted-variables"]`, "summary"))
	browsertest.Screenshot(t, ctx, "testchat-desktop")
	// The session is a test conversation on the Conversations page.
	browsertest.Do(t, ctx, chromedp.Navigate(s.URL+"/conversations?type=test"), browsertest.WaitText(`[data-testid="filter-count"]`, "1"))

	for _, p := range []string{"/assistants", "/assistants/" + s.DemoAssistant, "/settings"} {
		browsertest.Do(t, ctx, chromedp.Navigate(s.URL+p), chromedp.WaitVisible(`main h1`))
		browsertest.Screenshot(t, ctx, strings.ReplaceAll(strings.Trim(p, "/"), "/", "-")+"-desktop")
	}
}

// TestBrowserAnalytics: the analytics page draws its charts from the
// daily aggregates.
func TestBrowserAnalytics(t *testing.T) {
	if onPostgres {
		t.Skip("browser tests run once, on SQLite")
	}
	s := start(t)
	apiConversation(t, s, s.Key, "test", nil)
	ctx := browsertest.New(t, browsertest.Desktop)
	signIn(t, ctx, s)
	browsertest.Do(t, ctx, chromedp.Navigate(s.URL+"/analytics?preset=7d"),
		chromedp.WaitVisible(`[data-testid="chart-conversations"] canvas`),
		browsertest.WaitText(`[data-testid="stat-conversations"]`, "1"))
	browsertest.Screenshot(t, ctx, "analytics-drawn-desktop")

}

// TestBrowserMobile takes the main pages at a phone's width, the last in
// the dark theme.
func TestBrowserMobile(t *testing.T) {
	if onPostgres {
		t.Skip("browser tests run once, on SQLite")
	}
	s := start(t)
	named := apiConversation(t, s, s.Key, "api", map[string]any{
		"customer":  map[string]any{"name": "مريم العلي — a rather long customer name that must wrap nicely 山田花子", "phone": "+4915112345678"},
		"variables": map[string]any{"plan": "gold"}})
	s.Do("POST", "/api/v1/conversations/"+named+"/messages", s.Key, map[string]any{"content": "Do you ship abroad?", "role": "user"}).Want(201)
	apiConversation(t, s, s.Key, "test", nil)
	m := browsertest.New(t, browsertest.Mobile)
	signIn(t, m, s)
	browsertest.Screenshot(t, m, "conversations-mobile")
	browsertest.Do(t, m, chromedp.Navigate(s.URL+"/conversations/"+named), chromedp.WaitVisible(`[data-testid="composer"]`))
	browsertest.Screenshot(t, m, "transcript-mobile")
	browsertest.Eval[bool](t, m, `(localStorage.setItem("parley-theme", "dark"), true)`)
	browsertest.Do(t, m, chromedp.Navigate(s.URL+"/test-chat"), chromedp.WaitVisible(`[data-testid="assistant-select"]`))
	if th := browsertest.Eval[string](t, m, `document.documentElement.getAttribute("data-theme")`); th != "dark" {
		t.Errorf("theme %q after choosing dark", th)
	}
	browsertest.Screenshot(t, m, "testchat-mobile")
}

// TestBrowserUsers: an owner adds a user through the settings form and
// sees the generated password once and the new row.
func TestBrowserUsers(t *testing.T) {
	if onPostgres {
		t.Skip("browser tests run once, on SQLite")
	}
	s := start(t)
	ctx := browsertest.New(t, browsertest.Desktop)
	signIn(t, ctx, s)
	browsertest.Do(t, ctx, chromedp.Navigate(s.URL+"/settings#users"),
		chromedp.WaitVisible(`[data-testid="add-user"]`),
		chromedp.SendKeys(`[data-testid="add-user"] input[name="email"]`, "helper@example.com"),
		chromedp.SetValue(`[data-testid="add-user"] select[name="role"]`, "admin"),
		chromedp.Click(`[data-testid="add-user"] button[type="submit"]`),
		browsertest.WaitText(`[data-testid="new-user"]`, "helper@example.com added as admin"))
	if n := browsertest.Eval[int](t, ctx, `document.querySelectorAll('[data-testid="user-row"]').length`); n != 2 {
		t.Errorf("%d user rows, want 2", n)
	}
	browsertest.Do(t, ctx, chromedp.ScrollIntoView(`#users`))
	browsertest.Screenshot(t, ctx, "settings-users-desktop")
}

// afterReload polls expr until it yields want, across a navigation (an
// evaluation during one fails, and is tried again).
func afterReload(t *testing.T, ctx context.Context, expr, want string) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	var got string
	for time.Now().Before(deadline) {
		if v, err := chromedp.Run(ctx, chromedp.Evaluate[string](expr)); err == nil {
			if got = v; got == want {
				return
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("%s is %q, want %q", expr, got, want)
}
