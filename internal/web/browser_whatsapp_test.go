package web_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/parley-dev/parley/internal/browsertest"
	"github.com/parley-dev/parley/internal/whatsapp/cloudapi/cloudapitest"
)

// TestBrowserWhatsApp drives the WhatsApp parts of the dashboard in
// Chromium against the Graph fake: a sender added through the /whatsapp
// page and templates synced there; a conversation's open window with its
// countdown; a closed window locking the composer to templates and a
// template sent; and its delivery status changing live after a signed
// status webhook. Desktop, mobile and dark screenshots are saved.
func TestBrowserWhatsApp(t *testing.T) {
	if onPostgres {
		t.Skip("browser tests run once, on SQLite")
	}
	e := startWA(t)
	s := e.s
	e.graph.AddTemplates(
		cloudapitest.Template{ID: "7", Name: "order_update", Language: "en_US", Status: "APPROVED", Category: "UTILITY",
			Components: []map[string]any{{"type": "BODY", "text": "Hi {{1}}, order {{2}} has shipped."}}},
		cloudapitest.Template{ID: "8", Name: "spring_sale_with_a_rather_long_template_name", Language: "de", Status: "REJECTED", Category: "MARKETING",
			Components: []map[string]any{{"type": "BODY", "text": "Frühlingsangebote: bis zu 50 % Rabatt auf alles!"}}})
	s.Do("POST", "/api/v1/whatsapp/rates", s.Key, map[string]any{"category": "utility", "market": "*", "price_per_message": "0.0125"}).Want(201)

	ctx := browsertest.New(t, browsertest.Desktop)
	signIn(t, ctx, s)
	browsertest.Do(t, ctx, chromedp.Click(`nav a[href="/whatsapp"]`),
		chromedp.WaitVisible(`[data-testid="add-sender"]`),
		browsertest.WaitText(`[data-testid="wa-webhook-url"]`, "https://chat.example.com/webhooks/whatsapp"),
		chromedp.SendKeys(`[data-testid="add-sender"] input[name="name"]`, "Support line"),
		chromedp.SendKeys(`[data-testid="add-sender"] input[name="phone"]`, "+1 555 000 1111"),
		chromedp.SendKeys(`[data-testid="add-sender"] input[name="phone_number_id"]`, waNumber),
		chromedp.SendKeys(`[data-testid="add-sender"] input[name="waba_id"]`, waAccount),
		chromedp.SendKeys(`[data-testid="add-sender"] input[name="access_token"]`, waToken),
		chromedp.Click(`[data-testid="add-sender"] button[type="submit"]`),
		chromedp.WaitVisible(`[data-testid="sender-row"]`),
		browsertest.WaitText(`[data-testid="sender-row"]`, "connected"),
		chromedp.Click(`[data-testid="sync-templates"] button[type="submit"]`),
		browsertest.WaitText(`[data-testid="synced"]`, "2 templates"),
		browsertest.WaitText(`[data-testid="template-row"][data-name^="spring_sale"] [data-testid="template-status"]`, "rejected"))
	if got := browsertest.Eval[string](t, ctx, `document.body.innerHTML`); strings.Contains(got, waToken) {
		t.Error("the page shows the access token")
	}
	if sw := browsertest.Eval[bool](t, ctx, `document.documentElement.scrollWidth <= window.innerWidth`); !sw {
		t.Error("the WhatsApp page scrolls sideways at 1366 px")
	}
	browsertest.Screenshot(t, ctx, "whatsapp-desktop")

	// An open window counts down; the composer is free-form.
	open := e.inbound("447700900123", "GB.1234567890", "kerry_f", "Where is my order #1042?", time.Now().Add(-20*time.Hour-48*time.Minute))
	browsertest.Do(t, ctx, chromedp.Navigate(s.URL+"/conversations/"+open),
		chromedp.WaitVisible(`[data-testid="window-status"][data-window-state="open"]`),
		browsertest.WaitText(`[data-testid="window-status"]`, "Window open · 3 h 1"),
		chromedp.WaitVisible(`[data-testid="composer"]`),
		browsertest.WaitText(`[data-testid="wa-user-id"]`, "GB.1234567890"))
	browsertest.Screenshot(t, ctx, "whatsapp-window-open-desktop")

	// A closed window: the composer offers templates only; one is sent.
	closed := e.inbound("447700900456", "", "", "Hello?", time.Now().Add(-30*time.Hour))
	browsertest.Do(t, ctx, chromedp.Navigate(s.URL+"/conversations/"+closed),
		browsertest.WaitText(`[data-testid="window-status"]`, "Window closed — send a template"),
		chromedp.WaitVisible(`[data-testid="template-composer"]`),
		browsertest.WaitText(`[data-testid="template-preview"]`, "Hi {{1}}, order {{2}} has shipped."))
	if n := browsertest.Eval[int](t, ctx, `document.querySelectorAll('[data-testid="composer"]').length`); n != 0 {
		t.Error("a free-form composer shows with the window closed")
	}
	browsertest.Do(t, ctx,
		chromedp.SendKeys(`.tpl-params label:nth-child(1) input`, "Kerry"),
		chromedp.SendKeys(`.tpl-params label:nth-child(2) input`, "#1042"),
		chromedp.Click(`[data-testid="template-composer"] button[type="submit"]`),
		chromedp.WaitVisible(`[data-testid="template-sent"]`),
		browsertest.WaitText(`#transcript`, "Hi Kerry, order #1042 has shipped."))
	sent := e.sentTemplate()
	browsertest.Screenshot(t, ctx, "whatsapp-template-sent-desktop")

	// Receipts arrive by signed webhook and change the status live.
	msg := browsertest.Eval[string](t, ctx, `[...document.querySelectorAll('[data-testid="message"][data-role="operator"]')].pop().id`)
	op := "#" + msg + ` [data-testid="delivery-status"]`
	browsertest.Do(t, ctx, browsertest.WaitText(op, "✓ sent"))
	start := time.Now()
	e.status(sent.WAMID, "447700900456", "delivered", map[string]any{"pricing": map[string]any{"billable": true, "pricing_model": "PMP", "category": "utility", "type": "regular"}})
	browsertest.Do(t, ctx, browsertest.WaitText(op, "delivered"), browsertest.WaitText(`#transcript`, "fee $0.0125"))
	t.Logf("delivered shown %v after the webhook returned", time.Since(start).Round(time.Millisecond))
	e.status(sent.WAMID, "447700900456", "read", nil)
	// The details panel follows: the fee joins the totals.
	browsertest.Do(t, ctx, browsertest.WaitText(op, "read"),
		browsertest.WaitText(`[data-testid="conversation-channel-cost"]`, "$0.0125"))
	browsertest.Screenshot(t, ctx, "whatsapp-status-live-desktop")

	// A delivery with a part Parley cannot read: the rest is stored, and
	// the change is listed for inspection with what was left out.
	e.post(change(map[string]any{"messages": []any{map[string]any{"from": "447700900789", "id": "wamid.DASHTYPED",
		"timestamp": time.Now().Unix(), "type": "text", "text": map[string]any{"body": "a number for a timestamp"}}}}))
	browsertest.Do(t, ctx, chromedp.Navigate(s.URL+"/whatsapp"),
		chromedp.WaitVisible(`[data-testid="unrouted-row"][data-reason="unreadable"]`),
		browsertest.WaitText(`[data-testid="unrouted-row"]`, "messages[0]: timestamp is a JSON number"),
		chromedp.Click(`[data-testid="unrouted-row"] summary`),
		browsertest.WaitText(`[data-testid="unrouted-row"] pre`, "wamid.DASHTYPED"))
	browsertest.Screenshot(t, ctx, "whatsapp-unrouted-desktop")

	// Phone width, and the dark theme.
	m := browsertest.New(t, browsertest.Mobile)
	signIn(t, m, s)
	browsertest.Do(t, m, chromedp.Navigate(s.URL+"/conversations/"+closed), chromedp.WaitVisible(`[data-testid="window-status"]`))
	noSideways(t, m, "the WhatsApp transcript")
	browsertest.Screenshot(t, m, "whatsapp-transcript-mobile")
	browsertest.Do(t, m, chromedp.Navigate(s.URL+"/whatsapp"), chromedp.WaitVisible(`[data-testid="sender-row"]`))
	noSideways(t, m, "the WhatsApp page")
	browsertest.Screenshot(t, m, "whatsapp-mobile")
	browsertest.Eval[bool](t, ctx, `(localStorage.setItem("parley-theme", "dark"), true)`)
	browsertest.Do(t, ctx, chromedp.Navigate(s.URL+"/whatsapp"), chromedp.WaitVisible(`[data-testid="sender-row"]`))
	browsertest.Screenshot(t, ctx, "whatsapp-dark-desktop")
	browsertest.Do(t, ctx, chromedp.Navigate(s.URL+"/conversations/"+closed), chromedp.WaitVisible(`[data-testid="template-composer"]`))
	browsertest.Screenshot(t, ctx, "whatsapp-transcript-dark-desktop")

	// The customer's reaction to the template shows under it, live; a
	// message from the customer, it opens the window again, live too (the
	// details panel follows the conversation).
	e.react("447700900456", sent.WAMID, "👍", time.Now())
	browsertest.Do(t, ctx, browsertest.WaitText("#"+msg+" .reaction", "👍"),
		chromedp.WaitVisible(`#compose [data-testid="window-status"][data-window-state="open"]`),
		chromedp.WaitVisible(`[data-testid="composer"]`),
		browsertest.WaitText(`[data-testid="wa-side"]`, "Window closes"))
	browsertest.Screenshot(t, ctx, "whatsapp-reaction-dark-desktop")
	// Removed, it goes; an older one Meta delivers late does not return.
	e.react("447700900456", sent.WAMID, "", time.Now().Add(time.Second))
	browsertest.Do(t, ctx, chromedp.WaitNotPresent("#"+msg+" .reactions"))
	e.react("447700900456", sent.WAMID, "😮", time.Now().Add(-time.Minute))
	browsertest.Do(t, ctx, chromedp.Navigate(s.URL+"/conversations/"+closed), browsertest.WaitText(op, "read"))
	if n := browsertest.Eval[int](t, ctx, `document.querySelectorAll("#`+msg+` .reaction").length`); n != 0 {
		t.Errorf("%d reactions shown after the removal and a late older one", n)
	}
}

// TestBrowserWhatsAppWindowCloses: a window that ends while the page is
// open flips to closed on the viewer's clock and the composer locks to
// templates without a reload; a new customer message opens it again.
func TestBrowserWhatsAppWindowCloses(t *testing.T) {
	if onPostgres {
		t.Skip("browser tests run once, on SQLite")
	}
	e := startWA(t)
	e.approvedTemplate(e.addSender())
	id := e.inbound("447700900789", "", "", "Quick question", time.Now().Add(-24*time.Hour+8*time.Second))
	ctx := browsertest.New(t, browsertest.Desktop)
	signIn(t, ctx, e.s)
	browsertest.Do(t, ctx, chromedp.Navigate(e.s.URL+"/conversations/"+id),
		browsertest.WaitText(`[data-testid="window-status"]`, "less than a minute left"),
		chromedp.WaitVisible(`[data-testid="composer"]`))
	wctx, cancel := context.WithTimeout(ctx, 40*time.Second)
	defer cancel()
	browsertest.Do(t, wctx, browsertest.WaitText(`[data-testid="window-status"]`, "Window closed — send a template"),
		chromedp.WaitVisible(`[data-testid="template-composer"]`))
	if n := browsertest.Eval[int](t, ctx, `document.querySelectorAll('[data-testid="composer"]').length`); n != 0 {
		t.Error("the free-form composer stayed after the window closed")
	}
	// The customer writes again: the window opens and the free-form
	// composer comes back, live.
	e.inbound("447700900789", "", "", "Still there?", time.Now())
	browsertest.Do(t, ctx, browsertest.WaitText(`#transcript`, "Still there?"),
		browsertest.WaitText(`[data-testid="window-status"]`, "Window open · 23 h 59 min left"),
		chromedp.WaitVisible(`[data-testid="composer"]`))
}

// TestBrowserConversationsFit: the Conversations table fits a 1366 px
// laptop and a 1920 px screen without sideways scrolling (Last activity
// visible), and the phone width scrolls only inside the table.
func TestBrowserConversationsFit(t *testing.T) {
	if onPostgres {
		t.Skip("browser tests run once, on SQLite")
	}
	s := start(t)
	for i := range 6 {
		id := apiConversation(t, s, s.Key, []string{"api", "test"}[i%2], map[string]any{
			"customer":  map[string]any{"name": "Maximiliane Wolfeschlegelsteinhausen-Bergerdorff " + strings.Repeat("Ω", i), "phone": "+4915112345678"},
			"variables": map[string]any{"plan": "enterprise-gold-annual", "city": "Frankfurt am Main", "order_number": "A-1029384756", "consent": true}})
		s.Do("POST", "/api/v1/conversations/"+id+"/messages", s.Key, map[string]any{"role": "user",
			"content": "Hello, I would like to know whether you deliver to Zürich, and what it would cost for a pallet of 240 kg with express handling?"}).Want(201)
	}
	for _, vp := range []browsertest.Viewport{browsertest.Desktop, {Width: 1920, Height: 1080}} {
		ctx := browsertest.New(t, vp)
		signIn(t, ctx, s)
		browsertest.Do(t, ctx, browsertest.WaitText(`[data-testid="filter-count"]`, "6"))
		fits := browsertest.Eval[bool](t, ctx, `(function(){var w=document.querySelector('.table-wrap'); return w.scrollWidth <= w.clientWidth && document.documentElement.scrollWidth <= window.innerWidth;})()`)
		if !fits {
			t.Errorf("the table scrolls sideways at %d px", vp.Width)
		}
		visible := browsertest.Eval[bool](t, ctx, `(function(){var th=[...document.querySelectorAll('.grid th')].pop(); var r=th.getBoundingClientRect(); return th.textContent==="Last activity" && r.right <= window.innerWidth;})()`)
		if !visible {
			t.Errorf("Last activity is cut off at %d px", vp.Width)
		}
		browsertest.Screenshot(t, ctx, "conversations-"+map[int64]string{1366: "desktop", 1920: "wide"}[vp.Width])
	}
	m := browsertest.New(t, browsertest.Mobile)
	signIn(t, m, s)
	browsertest.Do(t, m, browsertest.WaitText(`[data-testid="filter-count"]`, "6"))
	if ok := browsertest.Eval[bool](t, m, `document.documentElement.scrollWidth <= window.innerWidth`); !ok {
		t.Error("the page scrolls sideways at 390 px (only the table may)")
	}
	browsertest.Screenshot(t, m, "conversations-mobile")
}

// noSideways fails unless the page fits the window's width; it names the
// elements that stick out (tables and the navigation scroll inside).
func noSideways(t *testing.T, ctx context.Context, what string) {
	t.Helper()
	out := browsertest.Eval[[]string](t, ctx, `document.documentElement.scrollWidth <= window.innerWidth ? [] : [...document.querySelectorAll('body *')].filter(e=>e.getBoundingClientRect().right>window.innerWidth+1 && !e.closest('.table-wrap,nav')).slice(0,8).map(e=>e.tagName+"."+e.className+" "+Math.round(e.getBoundingClientRect().right))`)
	if len(out) > 0 {
		t.Errorf("%s scrolls sideways: %v", what, out)
	}
}
