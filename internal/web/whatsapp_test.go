package web_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/parley-dev/parley/internal/account"
	"github.com/parley-dev/parley/internal/apptest"
	"github.com/parley-dev/parley/internal/config"
	"github.com/parley-dev/parley/internal/whatsapp/cloudapi"
	"github.com/parley-dev/parley/internal/whatsapp/cloudapi/cloudapitest"
)

const (
	waSecret  = "app-secret-for-dashboard-tests"
	waToken   = "EAAG-dashboard-token"
	waNumber  = "106540352242922"
	waAccount = "102290129340398"
)

// waEnv is a running Parley with a fake Graph API behind it.
type waEnv struct {
	t     *testing.T
	s     *apptest.Server
	graph *cloudapitest.Fake
	n     int
}

func startWA(t *testing.T) *waEnv {
	t.Helper()
	graph := cloudapitest.Start(t, waToken)
	s := apptest.Start(t, testDB(t), func(c *config.Config) {
		c.WhatsAppAppSecret, c.WhatsAppVerifyToken, c.WhatsAppGraphURL = waSecret, "verify-me", graph.URL
		c.BaseURL = "https://chat.example.com/"
	})
	return &waEnv{t: t, s: s, graph: graph}
}

// addSender connects the fake's number through the API.
func (e *waEnv) addSender() string {
	e.t.Helper()
	return e.s.Do("POST", "/api/v1/whatsapp/senders", e.s.Key, map[string]any{
		"name": "Support line", "phone": "+1 555 000 1111", "phone_number_id": waNumber, "waba_id": waAccount,
		"access_token": waToken, "assistant_id": e.s.DemoAssistant,
	}).Want(201).Str("id")
}

// post delivers a webhook body signed with the app secret.
func (e *waEnv) post(body []byte) {
	e.t.Helper()
	req, _ := http.NewRequest("POST", e.s.URL+"/webhooks/whatsapp", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Hub-Signature-256", cloudapi.Sign(waSecret, body))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 {
		e.t.Fatalf("webhook: %d", resp.StatusCode)
	}
}

// change is a webhook body of one "messages" change, as Meta documents it.
func change(value map[string]any) []byte {
	value["messaging_product"] = "whatsapp"
	value["metadata"] = map[string]any{"display_phone_number": "15550001111", "phone_number_id": waNumber}
	b, _ := json.Marshal(map[string]any{"object": "whatsapp_business_account", "entry": []any{map[string]any{
		"id": waAccount, "changes": []any{map[string]any{"field": "messages", "value": value}}}}})
	return b
}

// inbound delivers a customer's text message sent at at; it returns the
// customer's conversation id.
func (e *waEnv) inbound(phone, userID, username, text string, at time.Time) string {
	e.t.Helper()
	e.n++
	contact := map[string]any{"profile": map[string]any{"name": "Kerry Fisher"}, "wa_id": phone}
	msg := map[string]any{"from": phone, "id": fmt.Sprintf("wamid.DASH%s%04d", strings.ReplaceAll(e.t.Name(), "/", ""), e.n),
		"timestamp": strconv.FormatInt(at.Unix(), 10), "type": "text", "text": map[string]any{"body": text}}
	if userID != "" {
		contact["user_id"], msg["from_user_id"] = userID, userID
	}
	if username != "" {
		contact["profile"].(map[string]any)["username"] = username
	}
	e.post(change(map[string]any{"contacts": []any{contact}, "messages": []any{msg}}))
	r := e.s.Do("GET", "/api/v1/conversations?type=whatsapp&customer_phone="+url.QueryEscape("+"+phone), e.s.Key, nil).Want(200)
	data := r.Get("data").([]any)
	if len(data) == 0 {
		e.t.Fatalf("no conversation for +%s", phone)
	}
	return data[0].(map[string]any)["id"].(string)
}

// react delivers a customer's reaction (an empty emoji removes it) to a
// message by its wamid.
func (e *waEnv) react(phone, wamid, emoji string, at time.Time) {
	e.t.Helper()
	e.n++
	contact := map[string]any{"profile": map[string]any{"name": "Kerry Fisher"}, "wa_id": phone}
	msg := map[string]any{"from": phone, "id": fmt.Sprintf("wamid.DASHR%s%04d", strings.ReplaceAll(e.t.Name(), "/", ""), e.n),
		"timestamp": strconv.FormatInt(at.Unix(), 10), "type": "reaction",
		"reaction": map[string]any{"message_id": wamid, "emoji": emoji}}
	e.post(change(map[string]any{"contacts": []any{contact}, "messages": []any{msg}}))
}

// status delivers a status webhook for an outbound message.
func (e *waEnv) status(wamid, phone, status string, extra map[string]any) {
	e.t.Helper()
	st := map[string]any{"id": wamid, "status": status, "timestamp": strconv.FormatInt(time.Now().Unix(), 10), "recipient_id": phone}
	for k, v := range extra {
		st[k] = v
	}
	e.post(change(map[string]any{"statuses": []any{st}}))
}

var senderRow = regexp.MustCompile(`data-testid="sender-row" data-id="([^"]+)"`)

func TestWhatsAppPage(t *testing.T) {
	e := startWA(t)
	s := e.s
	c := newClient(t, s)
	c.login(ownerEmail, ownerPassword)

	r := c.do("GET", "/whatsapp", nil)
	want(t, r, 200, `href="/whatsapp" aria-current="page"`, "https://chat.example.com/webhooks/whatsapp",
		`data-testid="wa-app-secret"><span class="status-pill status-active">configured`, "No senders yet.", `data-testid="add-sender"`)
	for _, secret := range []string{waSecret, "verify-me"} {
		if strings.Contains(r.body, secret) {
			t.Errorf("the page shows the secret %q", secret)
		}
	}

	// Bad input: the service's messages beside the fields, nothing stored.
	bad := url.Values{"name": {"Line"}, "phone": {"not a phone"}, "phone_number_id": {"abc"}, "waba_id": {waAccount},
		"access_token": {""}, "assistant_id": {s.DemoAssistant}}
	r = c.post("/whatsapp/senders", bad)
	want(t, r, 422, "must be a phone number with country code", "must be Meta&#39;s numeric id", "is required", `value="Line"`)
	if n := len(s.Do("GET", "/api/v1/whatsapp/senders", s.Key, nil).Want(200).Get("data").([]any)); n != 0 {
		t.Fatalf("%d senders after a refused form", n)
	}

	add := url.Values{"name": {"Support line"}, "phone": {"+1 555 000 1111"}, "phone_number_id": {waNumber}, "waba_id": {waAccount},
		"access_token": {waToken}, "assistant_id": {s.DemoAssistant}}
	want(t, c.post("/whatsapp/senders", add), 303)
	r = c.do("GET", "/whatsapp", nil)
	want(t, r, 200, "Support line", "+15550001111", waNumber, waAccount, "Demo Assistant", ">connected<", ">green<")
	if strings.Contains(r.body, waToken) {
		t.Error("the page shows the access token")
	}
	m := senderRow.FindStringSubmatch(r.body)
	if m == nil {
		t.Fatal("no sender row")
	}
	sender := m[1]

	// Edit: a blank token keeps the old one (sends still work below).
	want(t, c.post("/whatsapp/senders/"+sender, url.Values{"name": {""}, "assistant_id": {s.DemoAssistant}, "access_token": {""}}), 422, "must not be empty")
	want(t, c.post("/whatsapp/senders/"+sender, url.Values{"name": {"Sales line"}, "assistant_id": {s.DemoAssistant}, "access_token": {""}}), 303)
	got := s.Do("GET", "/api/v1/whatsapp/senders/"+sender, s.Key, nil).Want(200)
	if got.Str("name") != "Sales line" || got.Get("access_token_set") != true {
		t.Fatalf("after edit: %s", got.Body)
	}

	// Templates: sync from Meta (rejected reason shown), create, delete.
	e.graph.AddTemplates(
		cloudapitest.Template{ID: "1", Name: "order_update", Language: "en_US", Status: "APPROVED", Category: "UTILITY",
			Components: []map[string]any{{"type": "BODY", "text": "Hi {{1}}, order {{2}} has shipped."}}},
		cloudapitest.Template{ID: "2", Name: "big_sale", Language: "en_US", Status: "REJECTED", Category: "MARKETING",
			Components: []map[string]any{{"type": "BODY", "text": "Sale!"}}},
	)
	r = c.post("/whatsapp/templates/sync", url.Values{"sender_id": {sender}})
	want(t, r, 200, `data-testid="synced"`, "order_update", `tstatus-approved`, `tstatus-rejected`, `cat-marketing`, "Hi {{1}}, order {{2}} has shipped.")
	want(t, c.post("/whatsapp/templates/sync", url.Values{"sender_id": {"wa_nope"}}), 422, "no sender with this id exists")

	r = c.post("/whatsapp/templates", url.Values{"sender_id": {sender}, "name": {"Bad Name"}, "language": {"english"}, "category": {"promo"}, "body": {""}})
	want(t, r, 422, "lower-case letters", "language code", "must be utility, marketing or authentication", "BODY component", `value="Bad Name"`)
	r = c.post("/whatsapp/templates", url.Values{"sender_id": {sender}, "name": {"welcome_back"}, "language": {"en"}, "category": {"marketing"},
		"header": {"Welcome"}, "body": {"Hello {{1}}, we miss you"}, "examples": {"Kerry"}, "footer": {"Reply STOP to opt out"}})
	want(t, r, 303)
	created := e.graph.Created()
	if len(created) != 1 {
		t.Fatalf("created at Meta: %v", created)
	}
	comps, _ := json.Marshal(created[0]["components"])
	for _, part := range []string{`"type":"HEADER"`, `"text":"Hello {{1}}, we miss you"`, `"body_text":[["Kerry"]]`, `"type":"FOOTER"`} {
		if !strings.Contains(string(comps), part) {
			t.Errorf("components %s lack %s", comps, part)
		}
	}
	r = c.do("GET", "/whatsapp", nil)
	want(t, r, 200, "welcome_back")
	tid := regexp.MustCompile(`action="/whatsapp/templates/(tpl_[^/]+)/delete"[^>]*hx-confirm="Delete the template welcome_back`).FindStringSubmatch(r.body)
	if tid == nil {
		t.Fatalf("no delete form for welcome_back: %s", r.body)
	}
	want(t, c.post("/whatsapp/templates/"+tid[1]+"/delete", nil), 303)
	if strings.Contains(c.do("GET", "/whatsapp", nil).body, "welcome_back") {
		t.Error("the template is still listed")
	}

	// Rate card.
	want(t, c.post("/whatsapp/rates", url.Values{"category": {"marketing"}, "market": {"0x"}, "price_per_message": {"abc"}}), 422,
		"must be a decimal amount of USD", `value="0x"`)
	want(t, c.post("/whatsapp/rates", url.Values{"category": {"marketing"}, "market": {"zz"}, "price_per_message": {"0.05"}}), 422,
		"country calling code")
	want(t, c.post("/whatsapp/rates", url.Values{"category": {"marketing"}, "market": {"44"}, "price_per_message": {"0.0305"}, "effective_from": {"2026-01-01"}}), 303)
	want(t, c.do("GET", "/whatsapp", nil), 200, `data-testid="rate-row"`, "+44", "$0.0305", "2026-01-01")

	// Delete the sender.
	want(t, c.post("/whatsapp/senders/"+sender+"/delete", nil), 303)
	want(t, c.do("GET", "/whatsapp", nil), 200, "No senders yet.")
}

func TestWhatsAppPageAgentsAndCSRF(t *testing.T) {
	e := startWA(t)
	s := e.s
	sender := e.addSender()
	s.Do("POST", "/api/v1/whatsapp/rates", s.Key, map[string]any{"category": "utility", "market": "*", "price_per_message": "0.01"}).Want(201)
	if _, err := s.App.Accounts.CreateUser(context.Background(), s.Workspace, "agent@example.com", "agent password", account.RoleAgent); err != nil {
		t.Fatal(err)
	}
	c := newClient(t, s)
	c.login("agent@example.com", "agent password")
	r := c.do("GET", "/whatsapp", nil)
	want(t, r, 200, "read-only for you", "Support line", `data-testid="rate-row"`)
	for _, form := range []string{`data-testid="add-sender"`, `data-testid="add-template"`, `data-testid="add-rate"`, `data-testid="sender-edit"`, "/delete"} {
		if strings.Contains(r.body, form) {
			t.Errorf("an agent sees %s", form)
		}
	}
	want(t, c.post("/whatsapp/senders", url.Values{"name": {"x"}, "phone": {"+15550002222"}, "phone_number_id": {"1"}, "waba_id": {"2"},
		"access_token": {"t"}, "assistant_id": {s.DemoAssistant}}), 403)
	want(t, c.post("/whatsapp/senders/"+sender, url.Values{"name": {"Mine"}}), 403)
	want(t, c.post("/whatsapp/senders/"+sender+"/delete", nil), 403)
	want(t, c.post("/whatsapp/templates/sync", url.Values{"sender_id": {sender}}), 403)
	want(t, c.post("/whatsapp/templates", url.Values{"sender_id": {sender}, "name": {"x"}}), 403)
	want(t, c.post("/whatsapp/rates", url.Values{"category": {"utility"}, "market": {"1"}, "price_per_message": {"1"}}), 403)
	list := s.Do("GET", "/api/v1/whatsapp/senders", s.Key, nil).Want(200).Get("data").([]any)
	if len(list) != 1 || list[0].(map[string]any)["name"] != "Support line" {
		t.Fatalf("senders after the agent's refused forms: %v", list)
	}
	if rates := s.Do("GET", "/api/v1/whatsapp/rates", s.Key, nil).Want(200).Get("data").([]any); len(rates) != 1 {
		t.Fatalf("rates: %v", rates)
	}

	// The owner's forms need the session's token and this site.
	o := newClient(t, s)
	o.login(ownerEmail, ownerPassword)
	want(t, o.do("POST", "/whatsapp/senders/"+sender+"/delete", url.Values{}), 403, "Reload the page")
	want(t, o.do("POST", "/whatsapp/senders/"+sender+"/delete", url.Values{"csrf": {o.csrf}}, "Sec-Fetch-Site", "cross-site"), 403)
	if n := len(s.Do("GET", "/api/v1/whatsapp/senders", s.Key, nil).Want(200).Get("data").([]any)); n != 1 {
		t.Fatal("a refused delete deleted the sender")
	}
	// Another workspace's sender is not found.
	want(t, o.post("/whatsapp/senders/wa_01jxxxxxxxxxxxxxxxxxxxxxxx/delete", nil), 404)
}

// sentTemplate waits for a template send at the fake and returns it.
func (e *waEnv) sentTemplate() cloudapitest.Sent {
	e.t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		for _, s := range e.graph.Sent() {
			if s.Body["type"] == "template" {
				return s
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	e.t.Fatalf("no template sent: %v", e.graph.Sent())
	return cloudapitest.Sent{}
}

// approvedTemplate puts an approved two-parameter template in the fake's
// account and syncs it.
func (e *waEnv) approvedTemplate(sender string) {
	e.t.Helper()
	e.graph.AddTemplates(cloudapitest.Template{ID: "7", Name: "order_update", Language: "en_US", Status: "APPROVED", Category: "UTILITY",
		Components: []map[string]any{{"type": "BODY", "text": "Hi {{1}}, order {{2}} has shipped."}}})
	e.s.Do("POST", "/api/v1/whatsapp/templates/sync", e.s.Key, map[string]any{"sender_id": sender}).Want(200)
}

var templateOption = regexp.MustCompile(`<option value="(tpl_[^"]+)" selected>order_update \(en_US\)`)

func TestWhatsAppTranscriptWindowAndTemplates(t *testing.T) {
	e := startWA(t)
	s := e.s
	sender := e.addSender()
	e.approvedTemplate(sender)
	s.Do("POST", "/api/v1/whatsapp/rates", s.Key, map[string]any{"category": "utility", "market": "*", "price_per_message": "0.0125"}).Want(201)
	base := time.Now().UTC().Truncate(time.Second)
	s.App.Now = func() time.Time { return base }
	id := e.inbound("447700900123", "GB.1234567890", "kerry_f", "Where is my order?", base.Add(-20*time.Hour-48*time.Minute))

	c := newClient(t, s)
	c.login(ownerEmail, ownerPassword)
	r := c.do("GET", "/conversations/"+id, nil)
	want(t, r, 200, `data-testid="window-status"`, `data-window-state="open"`, "Window open · 3 h 12 min left",
		`data-expires="`+base.Add(3*time.Hour+12*time.Minute).Format(time.RFC3339)+`"`, `data-testid="composer"`,
		"GB.1234567890", "@kerry_f", `data-testid="wa-side"`, "Support line")
	if strings.Contains(r.body, `data-testid="template-composer"`) {
		t.Error("the template composer shows while the window is open")
	}

	// Four hours later the window has closed: only templates may go out.
	s.App.Now = func() time.Time { return base.Add(4 * time.Hour) }
	r = c.do("GET", "/conversations/"+id, nil)
	want(t, r, 200, `data-window-state="closed"`, "Window closed — send a template", `data-testid="template-composer"`,
		"Hi {{1}}, order {{2}} has shipped.", `data-testid="template-param"`)
	if strings.Contains(r.body, `data-testid="composer"`) {
		t.Error("the free-form composer shows while the window is closed")
	}
	if n := strings.Count(r.body, `data-testid="template-param"`); n != 2 {
		t.Errorf("%d placeholder inputs, want 2", n)
	}
	m := templateOption.FindStringSubmatch(r.body)
	if m == nil {
		t.Fatalf("no template option: %s", r.body)
	}
	tpl := m[1]
	want(t, c.do("GET", "/conversations/"+id+"/compose?template_id="+tpl, nil, "HX-Request", "true"), 200, `id="compose"`, `data-testid="template-composer"`)

	// Refusals show in the composer; nothing is sent.
	want(t, c.post("/conversations/"+id+"/template", url.Values{"template_id": {"tpl_nope"}, "param": {"a", "b"}}), 422, "Pick an approved template")
	want(t, c.post("/conversations/"+id+"/template", url.Values{"template_id": {tpl}, "param": {"Kerry"}}), 422, "takes 2 parameters", `value="Kerry"`)
	want(t, c.post("/conversations/"+id+"/template", url.Values{"template_id": {tpl}, "param": {"Kerry", "#1042"}}, "Origin", "https://evil.example"), 403)
	want(t, c.do("POST", "/conversations/"+id+"/template", url.Values{"template_id": {tpl}, "param": {"Kerry", "#1042"}}), 403)
	for _, snt := range e.graph.Sent() {
		if snt.Body["type"] == "template" {
			t.Fatal("a refused template was sent")
		}
	}

	r = c.post("/conversations/"+id+"/template", url.Values{"template_id": {tpl}, "param": {"Kerry", "#1042"}}, "HX-Request", "true")
	want(t, r, 200, `data-testid="template-sent"`, "order_update")
	if r.header.Get("HX-Trigger") != "tail-refresh" {
		t.Errorf("HX-Trigger %q", r.header.Get("HX-Trigger"))
	}
	sent := e.sentTemplate()
	body, _ := json.Marshal(sent.Body)
	if !strings.Contains(string(body), `"name":"order_update"`) || !strings.Contains(string(body), `"text":"#1042"`) {
		t.Errorf("sent %s", body)
	}
	r = c.do("GET", "/conversations/"+id, nil)
	want(t, r, 200, "Hi Kerry, order #1042 has shipped.", `template <span class="mono">order_update</span>`)

	// A signed status webhook moves its delivery status and prices it.
	msgID := regexp.MustCompile(`id="(msg_[^"]+)" data-live="` + id + `">\s*<header class="msg-head">\s*<span class="who">operator`).FindStringSubmatch(r.body)
	if msgID == nil {
		t.Fatalf("no live operator message: %s", r.body)
	}
	// The send job runs in the background: the message shows "sending…"
	// until it has been handed to Meta.
	for deadline := time.Now().Add(15 * time.Second); ; {
		r := c.do("GET", "/conversations/"+id+"/messages/"+msgID[1], nil)
		if strings.Contains(r.body, "✓ sent") || time.Now().After(deadline) {
			want(t, r, 200, "✓ sent")
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	e.status(sent.WAMID, "447700900123", "delivered", map[string]any{"pricing": map[string]any{"billable": true, "pricing_model": "PMP", "category": "utility", "type": "regular"}})
	want(t, c.do("GET", "/conversations/"+id+"/messages/"+msgID[1], nil), 200, "✓✓ delivered", `data-testid="channel-cost"`, "fee $0.0125")
	want(t, c.do("GET", "/conversations/"+id, nil), 200, `data-testid="conversation-channel-cost"`)

	// A customer whose window closed long ago is written to with a template too.
	s.App.Now = func() time.Time { return base }
	other := e.inbound("447700900999", "", "", "hi", base.Add(-30*time.Hour))
	want(t, c.do("GET", "/conversations/"+other, nil), 200, `data-window-state="closed"`)
	want(t, c.post("/conversations/"+other+"/template", url.Values{"template_id": {tpl}, "param": {"a", "b"}}), 200, `data-testid="template-sent"`)
	// API conversations have no window.
	api := apiConversation(t, s, s.Key, "api", nil)
	if r := c.do("GET", "/conversations/"+api, nil); strings.Contains(r.body, `data-testid="window-status"`) {
		t.Error("an API conversation shows a WhatsApp window")
	}
	want(t, c.post("/conversations/"+api+"/template", url.Values{"template_id": {tpl}}), 422)
}

// TestWhatsAppFormsHostile: an owner's forms cannot reach another
// workspace's sender, and text with NUL or bytes that are not UTF-8 is
// refused and stores nothing.
func TestWhatsAppFormsHostile(t *testing.T) {
	e := startWA(t)
	s := e.s
	sender := e.addSender()
	oa := s.Do("POST", "/api/v1/assistants", s.OtherKey, map[string]any{"name": "Theirs", "model": "offline"}).Want(201).Str("id")
	theirs := s.Do("POST", "/api/v1/whatsapp/senders", s.OtherKey, map[string]any{
		"name": "Their line", "phone": "+1 555 000 2222", "phone_number_id": "999000111", "waba_id": "888000111",
		"access_token": waToken, "assistant_id": oa,
	}).Want(201).Str("id")
	o := newClient(t, s)
	o.login(ownerEmail, ownerPassword)
	want(t, o.post("/whatsapp/senders/"+theirs, url.Values{"name": {"Mine now"}}), 404)
	want(t, o.post("/whatsapp/senders/"+theirs+"/delete", nil), 404)
	want(t, o.post("/whatsapp/templates/sync", url.Values{"sender_id": {theirs}}), 422)
	want(t, o.post("/whatsapp/templates", url.Values{"sender_id": {theirs}, "name": {"x"}, "language": {"en"},
		"category": {"utility"}, "body": {"Hi"}}), 422)
	if got := s.Do("GET", "/api/v1/whatsapp/senders/"+theirs, s.OtherKey, nil).Want(200); got.Str("name") != "Their line" {
		t.Errorf("another workspace's sender changed: %s", got.Body)
	}
	if r := o.do("GET", "/whatsapp", nil); strings.Contains(r.body, theirs) || strings.Contains(r.body, "Their line") {
		t.Error("the page shows another workspace's sender")
	}

	for name, v := range map[string]string{"NUL": "Sup\x00port", "not UTF-8": "Sup\xffport"} {
		t.Run(name, func(t *testing.T) {
			r := o.post("/whatsapp/senders/"+sender, url.Values{"name": {v}})
			if r.status != 422 && r.status != 400 {
				t.Errorf("rename: status %d, want 422; %.300s", r.status, r.body)
			}
			r = o.post("/whatsapp/senders", url.Values{"name": {v}, "phone": {"+15550003333"}, "phone_number_id": {"777"},
				"waba_id": {waAccount}, "access_token": {waToken}, "assistant_id": {s.DemoAssistant}})
			if r.status != 422 && r.status != 400 {
				t.Errorf("create: status %d, want 422; %.300s", r.status, r.body)
			}
			r = o.post("/whatsapp/rates", url.Values{"category": {"utility"}, "market": {v}, "price_per_message": {"0.01"}})
			if r.status != 422 && r.status != 400 {
				t.Errorf("rate: status %d, want 422; %.300s", r.status, r.body)
			}
			r = o.post("/whatsapp/templates", url.Values{"sender_id": {sender}, "name": {"hello"}, "language": {"en"},
				"category": {"utility"}, "body": {"Hi " + v}})
			if r.status != 422 && r.status != 400 {
				t.Errorf("template: status %d, want 422; %.300s", r.status, r.body)
			}
		})
	}
	list := s.Do("GET", "/api/v1/whatsapp/senders", s.Key, nil).Want(200).Get("data").([]any)
	if len(list) != 1 || list[0].(map[string]any)["name"] != "Support line" {
		t.Errorf("senders after refused forms: %v", list)
	}
	if rates := s.Do("GET", "/api/v1/whatsapp/rates", s.Key, nil).Want(200).Get("data").([]any); len(rates) != 0 {
		t.Errorf("rates after refused forms: %v", rates)
	}
	if tpls := s.Do("GET", "/api/v1/whatsapp/templates", s.Key, nil).Want(200).Get("data").([]any); len(tpls) != 0 {
		t.Errorf("templates after refused forms: %v", tpls)
	}
}
