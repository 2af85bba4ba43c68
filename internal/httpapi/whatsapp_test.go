package httpapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/parley-dev/parley/internal/apptest"
	"github.com/parley-dev/parley/internal/config"
	"github.com/parley-dev/parley/internal/whatsapp"
	"github.com/parley-dev/parley/internal/whatsapp/cloudapi"
	"github.com/parley-dev/parley/internal/whatsapp/cloudapi/cloudapitest"
)

const (
	waSecret  = "app-secret-for-tests"
	waToken   = "EAAG-test-token"
	waNumber  = "106540352242922"
	waAccount = "102290129340398"
)

// waEnv is a running Parley with a WhatsApp sender and a fake Graph API.
type waEnv struct {
	t      *testing.T
	s      *apptest.Server
	graph  *cloudapitest.Fake
	sender string
	n      int
}

func startWhatsApp(t *testing.T) *waEnv {
	t.Helper()
	graph := cloudapitest.Start(t, waToken)
	s := apptest.Start(t, testDB(t), func(c *config.Config) {
		c.WhatsAppAppSecret, c.WhatsAppVerifyToken, c.WhatsAppGraphURL = waSecret, "verify-me", graph.URL
	})
	r := s.Do("POST", "/api/v1/whatsapp/senders", s.Key, map[string]any{
		"name": "Support line", "phone": "+1 555 000 1111", "phone_number_id": waNumber, "waba_id": waAccount,
		"access_token": waToken, "assistant_id": s.DemoAssistant,
	}).Want(201)
	if bytes.Contains(r.Body, []byte(waToken)) {
		t.Fatalf("the access token is shown: %s", r.Body)
	}
	if r.Str("status") != "CONNECTED" || r.Get("access_token_set") != true || r.Str("phone") != "+15550001111" {
		t.Fatalf("sender: %s", r.Body)
	}
	// At rest the token is sealed, not stored as sent.
	stored, err := s.App.Store.GetSender(context.Background(), s.Workspace, r.Str("id"))
	if err != nil {
		t.Fatal(err)
	}
	if stored.SealedToken == "" || strings.Contains(stored.SealedToken, waToken) {
		t.Fatalf("the access token is not sealed at rest: %q", stored.SealedToken)
	}
	return &waEnv{t: t, s: s, graph: graph, sender: r.Str("id")}
}

// post delivers a webhook body signed with secret (the app's when empty).
func (e *waEnv) post(body []byte, secret string) int {
	e.t.Helper()
	if secret == "" {
		secret = waSecret
	}
	req, _ := http.NewRequest("POST", e.s.URL+"/webhooks/whatsapp", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Hub-Signature-256", cloudapi.Sign(secret, body))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}

// delivery builds a webhook body of one change, as Meta documents it.
func delivery(phoneNumberID string, value map[string]any) []byte {
	value["messaging_product"] = "whatsapp"
	value["metadata"] = map[string]any{"display_phone_number": "15550001111", "phone_number_id": phoneNumberID}
	b, _ := json.Marshal(map[string]any{"object": "whatsapp_business_account", "entry": []any{map[string]any{
		"id": waAccount, "changes": []any{map[string]any{"field": "messages", "value": value}}}}})
	return b
}

// inbound is a customer message; phone or userID may be empty.
func (e *waEnv) inbound(phone, userID, username string, at time.Time, msg map[string]any) ([]byte, string) {
	e.n++
	wamid := fmt.Sprintf("wamid.IN%s%04d", strings.ReplaceAll(e.t.Name(), "/", ""), e.n)
	contact := map[string]any{"profile": map[string]any{"name": "Kerry Fisher"}}
	if phone != "" {
		contact["wa_id"] = phone
		msg["from"] = phone
	}
	if userID != "" {
		contact["user_id"] = userID
		msg["from_user_id"] = userID
	}
	if username != "" {
		contact["profile"].(map[string]any)["username"] = username
	}
	msg["id"], msg["timestamp"] = wamid, strconv.FormatInt(at.Unix(), 10)
	return delivery(waNumber, map[string]any{"contacts": []any{contact}, "messages": []any{msg}}), wamid
}

func text(body string) map[string]any {
	return map[string]any{"type": "text", "text": map[string]any{"body": body}}
}

// conversationOf finds the WhatsApp conversation of a customer phone.
func (e *waEnv) conversations() []any {
	r := e.s.Do("GET", "/api/v1/conversations?type=whatsapp&per_page=100", e.s.Key, nil).Want(200)
	return r.Get("data").([]any)
}

func (e *waEnv) waitSent(n int) []cloudapitest.Sent {
	e.t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for len(e.graph.Sent()) < n {
		if time.Now().After(deadline) {
			e.t.Fatalf("%d sends, want %d", len(e.graph.Sent()), n)
		}
		time.Sleep(20 * time.Millisecond)
	}
	return e.graph.Sent()
}

func msgs(r *apptest.Response) []map[string]any {
	var out []map[string]any
	for _, m := range r.Get("messages").([]any) {
		out = append(out, m.(map[string]any))
	}
	return out
}

func TestWhatsAppWebhookSecurity(t *testing.T) {
	e := startWhatsApp(t)
	s := e.s
	// Verification.
	ok := s.Do("GET", "/webhooks/whatsapp?hub.mode=subscribe&hub.verify_token=verify-me&hub.challenge=1158201444", "", nil).Want(200)
	if string(ok.Body) != "1158201444" {
		t.Errorf("challenge not echoed: %q", ok.Body)
	}
	s.Do("GET", "/webhooks/whatsapp?hub.mode=subscribe&hub.verify_token=wrong&hub.challenge=1", "", nil).Want(403)
	body, _ := e.inbound("16315551181", "", "", time.Now(), text("hello"))
	// A wrong or missing signature is refused and stores nothing.
	if got := e.post(body, "another-secret"); got != 401 {
		t.Fatalf("bad signature: %d", got)
	}
	req, _ := http.NewRequest("POST", s.URL+"/webhooks/whatsapp", bytes.NewReader(body))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 401 {
		t.Fatalf("no signature: %d", resp.StatusCode)
	}
	// A signature of another body is refused too.
	tampered := bytes.Replace(body, []byte("hello"), []byte("hellO"), 1)
	req, _ = http.NewRequest("POST", s.URL+"/webhooks/whatsapp", bytes.NewReader(tampered))
	req.Header.Set("X-Hub-Signature-256", cloudapi.Sign(waSecret, body))
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 401 {
		t.Fatalf("tampered body: %d", resp.StatusCode)
	}
	if n := len(e.conversations()); n != 0 {
		t.Fatalf("%d conversations after refused deliveries", n)
	}
	// Over 3 MB: 413, nothing stored.
	big := append(bytes.Repeat([]byte(" "), cloudapi.MaxBody), body...)
	if got := e.post(big, ""); got != 413 {
		t.Fatalf("oversized body: %d", got)
	}
	// An unknown number is acknowledged (kept for inspection).
	unknown := delivery("999999", map[string]any{"messages": []any{map[string]any{"from": "15551234567", "id": "wamid.X", "timestamp": "1700000000", "type": "text", "text": map[string]any{"body": "hi"}}}})
	if got := e.post(unknown, ""); got != 200 {
		t.Fatalf("unknown number: %d", got)
	}
	if n := len(e.conversations()); n != 0 {
		t.Fatalf("%d conversations after an unknown number's delivery", n)
	}
}

func TestWhatsAppInboundReplyReceiptsAndFees(t *testing.T) {
	e := startWhatsApp(t)
	s := e.s
	s.Do("POST", "/api/v1/whatsapp/rates", s.Key, map[string]any{"category": "utility", "market": "1", "price_per_message": "0.0040"}).Want(201)
	s.Do("POST", "/api/v1/whatsapp/rates", s.Key, map[string]any{"category": "utility", "market": "*", "price_per_message": "0.0100"}).Want(201)
	body, wamid := e.inbound("16315551181", "US.13491208655302741918", "", time.Now().Add(-time.Minute), text("Do you ship abroad?"))
	if got := e.post(body, ""); got != 200 {
		t.Fatalf("webhook: %d", got)
	}
	// Redelivered twice, once concurrently with nothing else: stored once.
	if got := e.post(body, ""); got != 200 {
		t.Fatalf("redelivery: %d", got)
	}
	list := e.conversations()
	if len(list) != 1 {
		t.Fatalf("%d conversations, want 1", len(list))
	}
	id := list[0].(map[string]any)["id"].(string)
	// The AI reply goes out through the Graph API, after a read receipt
	// with the typing indicator.
	sent := e.waitSent(1)
	if sent[0].Body["to"] != "16315551181" || sent[0].Body["type"] != "text" {
		t.Errorf("send: %v", sent[0].Body)
	}
	reads := e.graph.Reads()
	if len(reads) == 0 || reads[0]["message_id"] != wamid || reads[0]["typing_indicator"] == nil {
		t.Errorf("no read receipt with typing indicator: %v", reads)
	}
	r := waitFor(t, s, id, func(r *apptest.Response) bool {
		m := msgs(r)
		return len(m) == 2 && m[1]["external_id"] == sent[0].WAMID
	})
	m := msgs(r)
	if m[0]["role"] != "user" || m[0]["content"] != "Do you ship abroad?" || m[0]["external_id"] != wamid {
		t.Errorf("inbound message: %v", m[0])
	}
	if m[1]["status"] != "sent" {
		t.Errorf("reply status %v", m[1]["status"])
	}
	if r.Str("customer.phone") != "+16315551181" || r.Str("customer.whatsapp_user_id") != "US.13491208655302741918" ||
		r.Str("customer.name") != "Kerry Fisher" || r.Str("whatsapp_sender.name") != "Support line" {
		t.Errorf("conversation: %s", r.Body)
	}
	if r.Get("whatsapp_window.is_open") != true || r.Get("whatsapp_window.can_send_freeform") != true {
		t.Errorf("window: %v", r.Get("whatsapp_window"))
	}
	costBefore := r.Str("total_cost")
	// Receipts out of order: read, then a late delivered and sent.
	out := sent[0].WAMID
	status := func(st string, extra map[string]any) []byte {
		v := map[string]any{"id": out, "status": st, "timestamp": strconv.FormatInt(time.Now().Unix(), 10), "recipient_id": "16315551181"}
		for k, x := range extra {
			v[k] = x
		}
		return delivery(waNumber, map[string]any{"statuses": []any{v}})
	}
	pricing := map[string]any{"pricing": map[string]any{"billable": true, "pricing_model": "PMP", "category": "utility", "type": "regular"}}
	for _, st := range []string{"read", "delivered", "sent"} {
		if got := e.post(status(st, pricing), ""); got != 200 {
			t.Fatalf("status %s: %d", st, got)
		}
	}
	r = s.Do("GET", "/api/v1/conversations/"+id, s.Key, nil).Want(200)
	m = msgs(r)
	if m[1]["status"] != "read" {
		t.Errorf("status went back: %v", m[1]["status"])
	}
	if p, _ := m[1]["pricing"].(map[string]any); p["category"] != "utility" || p["type"] != "regular" {
		t.Errorf("pricing: %v", m[1]["pricing"])
	}
	// The +1 market's rate wins over *; charged once for three receipts.
	if m[1]["channel_cost"] != "0.004000000" || r.Str("channel_cost") != "0.004000000" {
		t.Errorf("channel cost: message %v, conversation %v", m[1]["channel_cost"], r.Get("channel_cost"))
	}
	if before, after := parseUSD(t, costBefore), parseUSD(t, r.Str("total_cost")); after-before != 4000000 {
		t.Errorf("total_cost %s → %s: not counting the fee", costBefore, r.Str("total_cost"))
	}
	// A failed receipt after read changes nothing; on another message it
	// keeps Meta's error.
	e.post(status("failed", map[string]any{"errors": []any{map[string]any{"code": 131026, "title": "Message undeliverable"}}}), "")
	if m := msgs(s.Do("GET", "/api/v1/conversations/"+id, s.Key, nil).Want(200)); m[1]["status"] != "read" {
		t.Errorf("failed after read: %v", m[1]["status"])
	}
}

func parseUSD(t *testing.T, s string) int64 {
	t.Helper()
	whole, frac, _ := strings.Cut(s, ".")
	n, err := strconv.ParseInt(whole+frac, 10, 64)
	if err != nil || len(frac) != 9 {
		t.Fatalf("money %q", s)
	}
	return n
}

func TestWhatsAppUserIDOnlyAndIdentityChange(t *testing.T) {
	e := startWhatsApp(t)
	s := e.s
	body, _ := e.inbound("", "US.ENT.11815799212886844830", "kerry.fisher", time.Now(), text("hi, it's me"))
	if got := e.post(body, ""); got != 200 {
		t.Fatalf("webhook: %d", got)
	}
	sent := e.waitSent(1)
	if sent[0].Body["recipient"] != "US.ENT.11815799212886844830" || sent[0].Body["to"] != nil {
		t.Errorf("user-id-only send: %v", sent[0].Body)
	}
	list := e.conversations()
	if len(list) != 1 {
		t.Fatalf("%d conversations", len(list))
	}
	c := list[0].(map[string]any)
	cust := c["customer"].(map[string]any)
	if cust["phone"] != nil || cust["whatsapp_username"] != "kerry.fisher" {
		t.Errorf("customer: %v", cust)
	}
	// The user id changes: the same thread follows it.
	sys := delivery(waNumber, map[string]any{"messages": []any{map[string]any{
		"from_user_id": "US.ENT.11815799212886844830", "id": "wamid.SYS1", "timestamp": strconv.FormatInt(time.Now().Unix(), 10),
		"type": "system", "system": map[string]any{"body": "User changed their user id", "type": "user_changed_user_id",
			"user_id": "US.ENT.99"}}}})
	if got := e.post(sys, ""); got != 200 {
		t.Fatalf("system webhook: %d", got)
	}
	body, _ = e.inbound("", "US.ENT.99", "", time.Now(), text("still me"))
	e.post(body, "")
	if list := e.conversations(); len(list) != 1 {
		t.Fatalf("the identity change split the thread: %d conversations", len(list))
	}
	r := s.Do("GET", "/api/v1/conversations/"+c["id"].(string), s.Key, nil).Want(200)
	if r.Str("customer.whatsapp_user_id") != "US.ENT.99" {
		t.Errorf("customer after the change: %v", r.Get("customer"))
	}
}

// A message the customer sent before changing number, delivered after
// the change (Meta delivers out of order), goes to the same thread and
// changes nothing: the customer keeps the new number and the reply goes
// there. A later message from the old number is someone else's.
func TestWhatsAppLateMessageAfterNumberChange(t *testing.T) {
	for _, tc := range []struct{ name, userID string }{{"phone only", ""}, {"with user id", "US.ENT.4411"}} {
		t.Run(tc.name, func(t *testing.T) {
			e := startWhatsApp(t)
			s := e.s
			t0 := time.Now().Add(-10 * time.Minute)
			body, _ := e.inbound("16315550001", tc.userID, "", t0, text("hi"))
			if got := e.post(body, ""); got != 200 {
				t.Fatalf("webhook: %d", got)
			}
			e.waitSent(1)
			sys := map[string]any{"from": "16315550001", "id": "wamid.SYSNUM" + strings.ReplaceAll(t.Name(), "/", ""),
				"timestamp": strconv.FormatInt(t0.Add(2*time.Minute).Unix(), 10), "type": "system",
				"system": map[string]any{"body": "Kerry changed from +1 631-555-0001 to +1 631-555-0002",
					"wa_id": "16315550002", "type": "user_changed_number"}}
			if tc.userID != "" {
				sys["from_user_id"] = tc.userID
			}
			if got := e.post(delivery(waNumber, map[string]any{"messages": []any{sys}}), ""); got != 200 {
				t.Fatalf("system webhook: %d", got)
			}
			body, _ = e.inbound("16315550001", tc.userID, "", t0.Add(time.Minute), text("sent before the change"))
			if got := e.post(body, ""); got != 200 {
				t.Fatalf("late webhook: %d", got)
			}
			list := e.conversations()
			if len(list) != 1 {
				t.Fatalf("the late message split the thread: %d conversations", len(list))
			}
			id := list[0].(map[string]any)["id"].(string)
			r := waitFor(t, s, id, func(r *apptest.Response) bool { return len(msgs(r)) >= 5 })
			if r.Str("customer.phone") != "+16315550002" {
				t.Errorf("the late message moved the customer back: %v", r.Get("customer"))
			}
			sent := e.waitSent(2)
			if sent[1].Body["to"] != "+16315550002" && sent[1].Body["to"] != "16315550002" {
				t.Errorf("reply to the late message went to %v", sent[1].Body["to"])
			}
			// After the change, the old number is someone else's.
			if tc.userID == "" {
				body, _ = e.inbound("16315550001", "", "", t0.Add(3*time.Minute), text("new owner of the number"))
				e.post(body, "")
				if list := e.conversations(); len(list) != 2 {
					t.Errorf("a later message from the old number: %d conversations, want 2", len(list))
				}
				// Another message the first customer sent before the change,
				// delivered only now: theirs, not the number's new owner's.
				body, _ = e.inbound("16315550001", "", "", t0.Add(90*time.Second), text("also sent before the change"))
				e.post(body, "")
				r := s.Do("GET", "/api/v1/conversations/"+id, s.Key, nil).Want(200)
				found := false
				for _, m := range msgs(r) {
					found = found || m["content"] == "also sent before the change"
				}
				if !found {
					t.Error("a message sent before the change went to the number's new owner")
				}
			}
		})
	}
}

// A part of a delivery Parley cannot read — a field of another JSON type,
// an id too long for an index — costs only itself: the rest is stored
// and answered, 200 (Meta would otherwise retry the whole delivery for
// days), and the change is kept for inspection with what was left out.
func TestWhatsAppUnreadablePartKept(t *testing.T) {
	e := startWhatsApp(t)
	s := e.s
	now := strconv.FormatInt(time.Now().Unix(), 10)
	body := delivery(waNumber, map[string]any{
		"contacts": []any{map[string]any{"profile": map[string]any{"name": "Sheena Nelson"}, "wa_id": "16505551234"}},
		"messages": []any{
			map[string]any{"from": "16505551234", "id": "wamid.TYPED", "timestamp": time.Now().Unix(), "type": "text",
				"text": map[string]any{"body": "a number for a timestamp"}},
			map[string]any{"from": "16505551234", "id": "wamid.READABLE", "timestamp": now, "type": "text",
				"text": map[string]any{"body": "hello, is this the shop?"}},
			map[string]any{"from": "16505551234", "id": "wamid." + strings.Repeat("L", 3000), "timestamp": now, "type": "text",
				"text": map[string]any{"body": "an id no index holds"}}},
		"statuses": []any{map[string]any{"id": "wamid." + strings.Repeat("S", 3000), "status": "read", "timestamp": now,
			"recipient_id": "16505551234"}}})
	for range 2 { // the second time as Meta's redelivery
		if got := e.post(body, ""); got != 200 {
			t.Fatalf("webhook with an unreadable part: %d", got)
		}
	}
	list := e.conversations()
	if len(list) != 1 {
		t.Fatalf("%d conversations, want 1", len(list))
	}
	id := list[0].(map[string]any)["id"].(string)
	r := waitFor(t, s, id, func(r *apptest.Response) bool { return len(msgs(r)) >= 2 })
	if m := msgs(r); m[0]["external_id"] != "wamid.READABLE" || m[1]["role"] != "assistant" {
		t.Errorf("transcript: %v", m)
	}
	if n := len(msgs(r)); n != 2 {
		t.Errorf("%d messages, want 2 (the readable one and its reply)", n)
	}
	data := s.Do("GET", "/api/v1/whatsapp/unrouted", s.Key, nil).Want(200).Get("data").([]any)
	if len(data) != 1 {
		t.Fatalf("the unreadable change kept %d times, want once (the second delivery is Meta's redelivery)", len(data))
	}
	u := data[0].(map[string]any)
	detail, _ := u["detail"].(string)
	if u["reason"] != "unreadable" || u["phone_number_id"] != waNumber || !strings.Contains(detail, "messages[0]: timestamp") ||
		!strings.Contains(detail, "messages[2]") || !strings.Contains(detail, "statuses[0]") ||
		!strings.Contains(u["payload"].(string), "wamid.TYPED") {
		t.Errorf("kept change: %v", u)
	}
	if other := s.Do("GET", "/api/v1/whatsapp/unrouted", s.OtherKey, nil).Want(200).Get("data").([]any); len(other) != 0 {
		t.Errorf("another workspace sees the sender's unreadable change: %v", other)
	}
}

// A timestamp far ahead of Parley's clock does not stretch the window
// past Meta's: it is taken as the time of arrival.
func TestWhatsAppFutureTimestamp(t *testing.T) {
	e := startWhatsApp(t)
	body, _ := e.inbound("16315559876", "", "", time.Now().Add(30*time.Minute), text("from the future"))
	if got := e.post(body, ""); got != 200 {
		t.Fatalf("webhook: %d", got)
	}
	list := e.conversations()
	if len(list) != 1 {
		t.Fatalf("%d conversations", len(list))
	}
	r := e.s.Do("GET", "/api/v1/conversations/"+list[0].(map[string]any)["id"].(string), e.s.Key, nil).Want(200)
	last, err := time.Parse(time.RFC3339Nano, r.Str("whatsapp_window.last_customer_message_at"))
	if err != nil || last.After(time.Now().Add(time.Minute)) {
		t.Errorf("window from a timestamp 30 minutes ahead: %v (%v)", r.Get("whatsapp_window"), err)
	}
}

// With the assistant off, the customer's messages are marked read when an
// operator answers (without the typing indicator, which is the model's).
func TestWhatsAppOperatorMarksRead(t *testing.T) {
	e := startWhatsApp(t)
	s := e.s
	body, _ := e.inbound("16315554321", "", "", time.Now(), text("hi"))
	e.post(body, "")
	e.waitSent(1)
	id := e.conversations()[0].(map[string]any)["id"].(string)
	s.Do("PATCH", "/api/v1/conversations/"+id, s.Key, map[string]any{"ai_enabled": false}).Want(200)
	body, wamid := e.inbound("16315554321", "", "", time.Now(), text("can a person help?"))
	e.post(body, "")
	readsBefore := len(e.graph.Reads())
	s.Do("POST", "/api/v1/conversations/"+id+"/messages", s.Key, map[string]any{"role": "operator", "content": "Sure, I am here."}).Want(201)
	e.waitSent(2)
	reads := e.graph.Reads()
	if len(reads) != readsBefore+1 {
		t.Fatalf("reads %v, want one more for the operator's answer", reads)
	}
	if r := reads[len(reads)-1]; r["message_id"] != wamid || r["typing_indicator"] != nil || r["status"] != "read" {
		t.Errorf("read receipt: %v", r)
	}
}

// A change of number for a customer no thread holds (the second of two
// changes, delivered first) is kept for inspection, not dropped.
func TestWhatsAppIdentityChangeWithoutThread(t *testing.T) {
	e := startWhatsApp(t)
	now := strconv.FormatInt(time.Now().Unix(), 10)
	notice := func(id, from, to string) map[string]any {
		return map[string]any{"from": from, "id": id, "timestamp": now, "type": "system",
			"system": map[string]any{"body": "changed", "wa_id": to, "type": "user_changed_number"}}
	}
	// Two in one change, delivered twice: each kept once.
	change := delivery(waNumber, map[string]any{"messages": []any{notice("wamid.SYSORPHAN1", "16315550102", "16315550103"),
		notice("wamid.SYSORPHAN2", "16315550202", "16315550203")}})
	for range 2 {
		if got := e.post(change, ""); got != 200 {
			t.Fatalf("webhook: %d", got)
		}
	}
	data := e.s.Do("GET", "/api/v1/whatsapp/unrouted", e.s.Key, nil).Want(200).Get("data").([]any)
	if len(data) != 2 {
		t.Fatalf("%d unrouted changes, want each notice once", len(data))
	}
	for i, u := range data {
		u := u.(map[string]any)
		if u["reason"] != "no_thread" || !strings.Contains(u["detail"].(string), "wamid.SYSORPHAN"+strconv.Itoa(i+1)) {
			t.Errorf("kept notice %d: %v", i+1, u)
		}
	}
	if n := len(e.conversations()); n != 0 {
		t.Errorf("the notice opened %d conversations", n)
	}
}

// Each former identifier keeps the time it was given up: a customer's
// late message carrying their user id finds a thread that knew them by
// phone only, and a number's new owner is not taken for its previous
// owner because that owner changed their user id later.
func TestWhatsAppIdentityHistory(t *testing.T) {
	notice := func(id, phone, userID string, at time.Time, system map[string]any) []byte {
		m := map[string]any{"from": phone, "id": id, "timestamp": strconv.FormatInt(at.Unix(), 10), "type": "system", "system": system}
		if userID != "" {
			m["from_user_id"] = userID
		}
		return delivery(waNumber, map[string]any{"messages": []any{m}})
	}
	holds := func(e *waEnv, texts ...string) int {
		n := 0
		for _, c := range e.conversations() {
			all := map[any]bool{}
			for _, m := range msgs(e.s.Do("GET", "/api/v1/conversations/"+c.(map[string]any)["id"].(string), e.s.Key, nil).Want(200)) {
				all[m["content"]] = true
			}
			ok := true
			for _, x := range texts {
				ok = ok && all[x]
			}
			if ok {
				n++
			}
		}
		return n
	}
	t.Run("late reply with a user id, thread known by phone", func(t *testing.T) {
		e := startWhatsApp(t)
		t0 := time.Now().Add(-10 * time.Minute)
		body, _ := e.inbound("16315550001", "", "", t0, text("hi"))
		e.post(body, "")
		e.post(notice("wamid.HISTSYS1", "16315550001", "US.ENT.77", t0.Add(2*time.Minute),
			map[string]any{"body": "changed", "wa_id": "16315550002", "type": "user_changed_number"}), "")
		body, _ = e.inbound("16315550001", "US.ENT.77", "", t0.Add(time.Minute), text("sent before the change"))
		if got := e.post(body, ""); got != 200 {
			t.Fatalf("late: %d", got)
		}
		if n := len(e.conversations()); n != 1 || holds(e, "hi", "sent before the change") != 1 {
			t.Errorf("the late reply did not join its thread: %d conversations", n)
		}
	})
	t.Run("new owner of a number, previous owner changed user id later", func(t *testing.T) {
		e := startWhatsApp(t)
		t0 := time.Now().Add(-20 * time.Minute)
		body, _ := e.inbound("16315550010", "US.ENT.A1", "", t0, text("A hi"))
		e.post(body, "")
		e.post(notice("wamid.HISTSYS2", "16315550010", "US.ENT.A1", t0.Add(time.Minute),
			map[string]any{"body": "changed", "wa_id": "16315550011", "type": "user_changed_number"}), "")
		body, _ = e.inbound("16315550010", "", "", t0.Add(2*time.Minute), text("B first"))
		e.post(body, "")
		e.post(notice("wamid.HISTSYS3", "16315550011", "US.ENT.A1", t0.Add(5*time.Minute),
			map[string]any{"body": "new id", "type": "user_changed_user_id", "user_id": "US.ENT.A2"}), "")
		body, _ = e.inbound("16315550010", "", "", t0.Add(3*time.Minute), text("B late"))
		e.post(body, "")
		if holds(e, "A hi", "B late") != 0 || holds(e, "B first", "B late") != 1 {
			t.Error("the number's new owner's late message went into the previous owner's conversation")
		}
	})
}

// A message from a known phone under another user id is someone else's:
// the number has passed on (Meta gives a user a new user id with a new
// number). It starts its own conversation instead of joining, and
// relabelling, the previous owner's.
func TestWhatsAppNumberPassedOn(t *testing.T) {
	e := startWhatsApp(t)
	s := e.s
	body, _ := e.inbound("16315550777", "US.1111", "", time.Now().Add(-time.Minute), text("first owner"))
	e.post(body, "")
	e.waitSent(1)
	body, _ = e.inbound("16315550777", "US.2222", "", time.Now(), text("new owner of the number"))
	if got := e.post(body, ""); got != 200 {
		t.Fatalf("webhook: %d", got)
	}
	list := e.conversations()
	if len(list) != 2 {
		t.Fatalf("%d conversations, want 2", len(list))
	}
	for _, x := range list {
		c := x.(map[string]any)
		r := s.Do("GET", "/api/v1/conversations/"+c["id"].(string), s.Key, nil).Want(200)
		first := msgs(r)[0]["content"]
		if user := r.Str("customer.whatsapp_user_id"); (first == "first owner") != (user == "US.1111") {
			t.Errorf("conversation starting %q has customer %v", first, r.Get("customer"))
		}
	}
	// The new owner's next message continues their own conversation.
	body, _ = e.inbound("16315550777", "US.2222", "", time.Now(), text("again"))
	e.post(body, "")
	if n := len(e.conversations()); n != 2 {
		t.Errorf("%d conversations after the new owner's second message, want 2", n)
	}
	// An answer in the first owner's conversation no longer goes to the
	// number, which is someone else's now, but to their user id.
	var firstID string
	for _, x := range e.conversations() {
		c := x.(map[string]any)
		if c["customer"].(map[string]any)["whatsapp_user_id"] == "US.1111" {
			firstID = c["id"].(string)
		}
	}
	before := len(e.graph.Sent())
	s.Do("POST", "/api/v1/conversations/"+firstID+"/messages", s.Key, map[string]any{"role": "operator", "content": "Still there?"}).Want(201)
	deadline := time.Now().Add(10 * time.Second)
	for {
		sent := e.graph.Sent()
		var last *cloudapitest.Sent
		for i := range sent[before:] {
			if sent[before+i].Body["text"] != nil && sent[before+i].Body["text"].(map[string]any)["body"] == "Still there?" {
				last = &sent[before+i]
			}
		}
		if last != nil {
			if last.Body["to"] != nil || last.Body["recipient"] != "US.1111" {
				t.Errorf("the first owner's answer went to %v / %v", last.Body["to"], last.Body["recipient"])
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the operator's answer was not sent")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestWhatsAppMediaReactionsUnsupported(t *testing.T) {
	e := startWhatsApp(t)
	s := e.s
	e.graph.AddMedia("1037543291543636", []byte("JPEGDATA"))
	body, _ := e.inbound("16315551181", "", "", time.Now(), map[string]any{"type": "image",
		"image": map[string]any{"id": "1037543291543636", "mime_type": "image/jpeg", "sha256": "abc", "caption": "my broken part"}})
	e.post(body, "")
	body, _ = e.inbound("16315551181", "", "", time.Now(), map[string]any{"type": "unsupported",
		"errors": []any{map[string]any{"code": 131051, "title": "Message type unknown", "message": "Message type unknown",
			"error_data": map[string]any{"details": "Message type is currently not supported."}}}})
	e.post(body, "")
	sent := e.waitSent(1)
	id := e.conversations()[0].(map[string]any)["id"].(string)
	r := waitFor(t, s, id, func(r *apptest.Response) bool { return len(msgs(r)) >= 3 })
	m := msgs(r)
	if m[0]["content"] != "[Image] my broken part" || m[0]["media"].(map[string]any)["id"] != "1037543291543636" {
		t.Errorf("media message: %v", m[0])
	}
	// The reply to the image may come before the unsupported message.
	var unsupported map[string]any
	for _, x := range m {
		if x["role"] == "user" && strings.Contains(x["content"].(string), "Unsupported") {
			unsupported = x
		}
	}
	if unsupported == nil || unsupported["error"].(map[string]any)["code"] != "131051" {
		t.Errorf("unsupported message: %v", m)
	}
	// The media downloads through the API with the sender's token.
	dl := s.Do("GET", "/api/v1/whatsapp/media/1037543291543636?sender_id="+e.sender, s.Key, nil).Want(200)
	if string(dl.Body) != "JPEGDATA" || dl.Header.Get("Content-Type") != "image/jpeg" {
		t.Errorf("media: %q %s", dl.Body, dl.Header.Get("Content-Type"))
	}
	s.Do("GET", "/api/v1/whatsapp/media/1037543291543636?sender_id="+e.sender, s.OtherKey, nil).Want(404)
	s.Do("GET", "/api/v1/whatsapp/media/999?sender_id="+e.sender, s.Key, nil).Want(404)
	// A reaction to the assistant's reply attaches to it (once Parley has
	// stored the reply's wamid).
	waitFor(t, s, id, func(r *apptest.Response) bool {
		for _, m := range msgs(r) {
			if m["external_id"] == sent[0].WAMID {
				return true
			}
		}
		return false
	})
	body, _ = e.inbound("16315551181", "", "", time.Now(), map[string]any{"type": "reaction",
		"reaction": map[string]any{"message_id": sent[0].WAMID, "emoji": "👍"}})
	e.post(body, "")
	r = waitFor(t, s, id, func(r *apptest.Response) bool {
		for _, m := range msgs(r) {
			if m["external_id"] == sent[0].WAMID && m["reactions"] != nil {
				return true
			}
		}
		return false
	})
	for _, m := range msgs(r) {
		if m["role"] == "user" && strings.Contains(m["content"].(string), "Reaction") {
			t.Errorf("reaction stored as a message: %v", m)
		}
	}
	// A new reaction replaces the customer's; its time is the API's, with
	// milliseconds. Removing it leaves none, and an older reaction Meta
	// delivers late (out of order) changes nothing. After the conversation
	// ended, a reaction to its message starts no conversation.
	now := time.Now()
	reactions := func(emoji string, at time.Time) []any {
		body, _ := e.inbound("16315551181", "", "", at, map[string]any{"type": "reaction",
			"reaction": map[string]any{"message_id": sent[0].WAMID, "emoji": emoji}})
		if got := e.post(body, ""); got != 200 {
			t.Fatalf("reaction %q: %d", emoji, got)
		}
		for _, m := range msgs(s.Do("GET", "/api/v1/conversations/"+id, s.Key, nil).Want(200)) {
			if m["external_id"] == sent[0].WAMID {
				list, _ := m["reactions"].([]any)
				return list
			}
		}
		t.Fatal("the reply is gone")
		return nil
	}
	if got := reactions("❤️", now.Add(time.Second)); len(got) != 1 || got[0].(map[string]any)["emoji"] != "❤️" ||
		!regexp.MustCompile(`\.\d{3}Z$`).MatchString(got[0].(map[string]any)["at"].(string)) {
		t.Errorf("reaction replaced: %v", got)
	}
	if got := reactions("😮", now.Add(-time.Minute)); len(got) != 1 || got[0].(map[string]any)["emoji"] != "❤️" {
		t.Errorf("an older reaction delivered late replaced a newer one: %v", got)
	}
	if got := reactions("", now.Add(2*time.Second)); len(got) != 0 {
		t.Errorf("reaction removed: %v", got)
	}
	if got := reactions("😮", now.Add(-time.Minute)); len(got) != 0 {
		t.Errorf("an older reaction delivered late undid a removal: %v", got)
	}
	if got := reactions("🙏", now.Add(3*time.Second)); len(got) != 1 || got[0].(map[string]any)["emoji"] != "🙏" {
		t.Errorf("a reaction after a removal: %v", got)
	}
	s.Do("POST", "/api/v1/conversations/"+id+"/end", s.Key, nil).Want(200)
	before := len(e.conversations())
	reactions("👍", now.Add(4*time.Second))
	if n := len(e.conversations()); n != before {
		t.Errorf("a reaction to an ended conversation's message opened a conversation (%d → %d)", before, n)
	}
	// The assistant cannot read the unsupported message: it answered the
	// image only, once, even when the unsupported message came first.
	if n := len(e.graph.Sent()); n != 1 {
		t.Errorf("%d messages sent, want the one reply to the image", n)
	}
	assistant := 0
	for _, m := range msgs(r) {
		if m["role"] == "assistant" {
			assistant++
		}
	}
	if assistant != 1 {
		t.Errorf("%d assistant replies, want 1: %v", assistant, msgs(r))
	}
}

// TestWhatsAppUnsupportedAlone: a customer whose only message Meta could
// not pass on gets no AI reply; the message is stored with Meta's error
// and the next readable message is answered as usual.
func TestWhatsAppUnsupportedAlone(t *testing.T) {
	e := startWhatsApp(t)
	s := e.s
	body, _ := e.inbound("16315551182", "", "", time.Now(), map[string]any{"type": "unsupported",
		"errors": []any{map[string]any{"code": 131051, "title": "Message type unknown", "message": "Message type unknown",
			"error_data": map[string]any{"details": "Message type is currently not supported."}}}})
	if got := e.post(body, ""); got != 200 {
		t.Fatalf("webhook: %d", got)
	}
	id := e.conversations()[0].(map[string]any)["id"].(string)
	body, _ = e.inbound("16315551182", "", "", time.Now(), text("did you get my poll?"))
	e.post(body, "")
	sent := e.waitSent(1)
	r := waitFor(t, s, id, func(r *apptest.Response) bool { return len(msgs(r)) >= 3 })
	m := msgs(r)
	if m[0]["error"].(map[string]any)["code"] != "131051" || m[1]["content"] != "did you get my poll?" || m[2]["role"] != "assistant" {
		t.Errorf("transcript: %v", m)
	}
	if len(sent) != 1 || len(e.graph.Sent()) != 1 {
		t.Errorf("sent %d, want the one reply to the text", len(e.graph.Sent()))
	}
}

func TestWhatsAppWindowAndMetaErrors(t *testing.T) {
	e := startWhatsApp(t)
	s := e.s
	// A customer who last wrote two days ago: the window is closed.
	body, _ := e.inbound("447700900123", "", "", time.Now().Add(-48*time.Hour), text("old message"))
	e.post(body, "")
	id := e.conversations()[0].(map[string]any)["id"].(string)
	r := s.Do("GET", "/api/v1/conversations/"+id, s.Key, nil).Want(200)
	if r.Get("whatsapp_window.is_open") != false || r.Get("whatsapp_window.requires_template") != true {
		t.Errorf("window: %v", r.Get("whatsapp_window"))
	}
	before := len(msgs(waitFor(t, s, id, func(r *apptest.Response) bool { return len(msgs(r)) >= 1 })))
	s.Do("POST", "/api/v1/conversations/"+id+"/messages", s.Key, map[string]any{"role": "operator", "content": "hello?"}).Want(409)
	// Nor is the model asked (and paid) for a reply that cannot go out.
	if got := s.Do("POST", "/api/v1/conversations/"+id+"/reply", s.Key, nil).Want(409); got.Str("code") != "window_closed" {
		t.Errorf("reply with the window closed: %s", got.Body)
	}
	r = s.Do("GET", "/api/v1/conversations/"+id, s.Key, nil).Want(200)
	if r.Str("code") == "" && len(msgs(r)) > before+1 {
		t.Errorf("refused message stored: %s", r.Body)
	}
	// Meta refuses with 131047 anyway (our clock and Meta's disagree):
	// the message fails with Meta's error and is not retried.
	body, _ = e.inbound("447700900124", "", "", time.Now(), text("hi"))
	e.post(body, "")
	e.waitSent(1) // the AI reply to the new customer
	var fresh string
	for _, c := range e.conversations() {
		if c.(map[string]any)["customer"].(map[string]any)["phone"] == "+447700900124" {
			fresh = c.(map[string]any)["id"].(string)
		}
	}
	e.graph.FailNext(cloudapitest.Fault{HTTPStatus: 400, Code: 131047, Message: "Re-engagement message",
		Details: "Message failed to send because more than 24 hours have passed since the customer last replied to this number."})
	op := s.Do("POST", "/api/v1/conversations/"+fresh+"/messages", s.Key, map[string]any{"role": "operator", "content": "Are you there?"}).Want(201)
	opID := op.Str("message.id")
	r = waitFor(t, s, fresh, func(r *apptest.Response) bool {
		for _, m := range msgs(r) {
			if m["id"] == opID && m["status"] == "failed" {
				return true
			}
		}
		return false
	})
	for _, m := range msgs(r) {
		if m["id"] == opID && m["error"].(map[string]any)["code"] != "131047" {
			t.Errorf("error kept: %v", m["error"])
		}
	}
	// A throughput error (130429) is retried after a short wait, then sent.
	e.graph.FailNext(cloudapitest.Fault{HTTPStatus: 400, Code: 130429, Message: "Rate limit hit"})
	n := len(e.graph.Sent())
	s.Do("POST", "/api/v1/conversations/"+fresh+"/messages", s.Key, map[string]any{"role": "operator", "content": "Second try"}).Want(201)
	sent := e.waitSent(n + 1)
	if got := sent[len(sent)-1].Body["text"].(map[string]any)["body"]; got != "Second try" {
		t.Errorf("retried send: %v", got)
	}
	// Meta down for longer than the job's retries: the last attempt marks
	// the message failed with Meta's error instead of leaving it pending.
	e.graph.FailNext(cloudapitest.Fault{HTTPStatus: 503, Code: 131016, Message: "Service unavailable"})
	down := s.Do("POST", "/api/v1/conversations/"+fresh+"/messages", s.Key, map[string]any{"role": "operator", "content": "Third try"}).Want(201)
	downID := down.Str("message.id")
	last := &whatsapp.GraphError{HTTPStatus: 503, Code: 131016, Title: "Service unavailable"}
	args := whatsapp.SendArgs{WorkspaceID: s.Workspace, ConversationID: fresh, MessageID: downID}
	if err := s.App.WhatsApp.GiveUp(context.Background(), args, last); err != nil {
		t.Fatal(err)
	}
	r = s.Do("GET", "/api/v1/conversations/"+fresh, s.Key, nil).Want(200)
	for _, m := range msgs(r) {
		if m["id"] == downID && (m["status"] != "failed" || m["error"].(map[string]any)["code"] != "131016") {
			t.Errorf("given up: %v", m)
		}
	}
	// A message Meta took is left alone.
	var sentID string
	waitFor(t, s, fresh, func(r *apptest.Response) bool {
		for _, m := range msgs(r) {
			if m["content"] == "Second try" && m["external_id"] != nil {
				sentID = m["id"].(string)
			}
		}
		return sentID != ""
	})
	args.MessageID = sentID
	if err := s.App.WhatsApp.GiveUp(context.Background(), args, last); err != nil {
		t.Fatal(err)
	}
	for _, m := range msgs(s.Do("GET", "/api/v1/conversations/"+fresh, s.Key, nil).Want(200)) {
		if m["id"] == sentID && m["status"] == "failed" {
			t.Errorf("a sent message given up: %v", m)
		}
	}
}

// A customer known only by their user id (a username, no phone) can be
// sent a template: by recipient on the wire, in one conversation with
// their own messages. A malformed user id is refused before anything.
func TestWhatsAppTemplateToUserID(t *testing.T) {
	e := startWhatsApp(t)
	s := e.s
	e.graph.AddTemplates(cloudapitest.Template{ID: "1", Name: "order_shipped", Language: "en_US", Status: "APPROVED",
		Category: "UTILITY", Components: []map[string]any{{"type": "BODY", "text": "Hi {{1}}, your order {{2}} has shipped."}}})
	s.Do("POST", "/api/v1/whatsapp/templates/sync", s.Key, map[string]any{"sender_id": e.sender}).Want(200)
	send := "/api/v1/whatsapp/messages/template"
	const user = "US.13491208655302741918"
	runScenarios(t, s, []scenario{
		{name: "neither to nor recipient", method: "POST", path: send, key: "own", body: map[string]any{"sender_id": e.sender, "template": "order_shipped", "language": "en_US", "params": []string{"a", "b"}}, status: 422, code: "invalid_phone"},
		{name: "recipient not a user id", method: "POST", path: send, key: "own", body: map[string]any{"sender_id": e.sender, "recipient": "+14155550100", "template": "order_shipped", "language": "en_US", "params": []string{"a", "b"}}, status: 422, code: "validation_failed", field: "recipient"},
		{name: "recipient with NUL", method: "POST", path: send, key: "own", body: map[string]any{"sender_id": e.sender, "recipient": "US.1\u00002", "template": "order_shipped", "language": "en_US", "params": []string{"a", "b"}}, status: 422, code: "validation_failed", field: "recipient"},
		{name: "recipient too long", method: "POST", path: send, key: "own", body: map[string]any{"sender_id": e.sender, "recipient": "US." + strings.Repeat("1", 200), "template": "order_shipped", "language": "en_US", "params": []string{"a", "b"}}, status: 422, code: "validation_failed", field: "recipient"},
	})
	if n := len(e.conversations()); n != 0 {
		t.Fatalf("refused sends opened %d conversations", n)
	}
	first := s.Do("POST", send, s.Key, map[string]any{"sender_id": e.sender, "recipient": user, "template": "order_shipped",
		"language": "en_US", "params": []string{"Ada", "#42"}}).Want(201)
	if first.Str("conversation.customer.whatsapp_user_id") != user || first.Get("conversation.customer.phone") != nil {
		t.Errorf("customer: %s", first.Body)
	}
	sent := e.waitSent(1)
	if sent[0].Body["recipient"] != user || sent[0].Body["to"] != nil || sent[0].Body["type"] != "template" {
		t.Errorf("template to a user id on the wire: %v", sent[0].Body)
	}
	// Their answer, by user id only, continues the same conversation.
	body, _ := e.inbound("", user, "ada.l", time.Now(), text("thanks!"))
	if got := e.post(body, ""); got != 200 {
		t.Fatalf("webhook: %d", got)
	}
	if list := e.conversations(); len(list) != 1 || list[0].(map[string]any)["id"] != first.Str("conversation.id") {
		t.Errorf("the answer opened another conversation: %v", list)
	}
	// A phone and a user id of two different customers are refused, not
	// merged into one thread.
	body, _ = e.inbound("14155550199", "", "", time.Now(), text("I am someone else"))
	e.post(body, "")
	r := s.Do("POST", send, s.Key, map[string]any{"sender_id": e.sender, "to": "+14155550199", "recipient": user,
		"template": "order_shipped", "language": "en_US", "params": []string{"Ada", "#43"}}).Want(422)
	if !strings.Contains(string(r.Body), `"recipient"`) {
		t.Errorf("mixed identifiers: %s", r.Body)
	}
	list := e.conversations()
	if len(list) != 2 {
		t.Fatalf("%d conversations, want 2", len(list))
	}
	for _, x := range list {
		c := x.(map[string]any)["customer"].(map[string]any)
		if c["phone"] == "+14155550199" && c["whatsapp_user_id"] != nil {
			t.Errorf("the other customer took the user id: %v", c)
		}
	}
}

func TestWhatsAppTemplatesAPI(t *testing.T) {
	e := startWhatsApp(t)
	s := e.s
	body := []map[string]any{{"type": "BODY", "text": "Hi {{1}}, your order {{2}} has shipped."}}
	e.graph.AddTemplates(
		cloudapitest.Template{ID: "1", Name: "order_shipped", Language: "en_US", Status: "APPROVED", Category: "UTILITY", Components: body},
		cloudapitest.Template{ID: "2", Name: "promo", Language: "en_US", Status: "PENDING", Category: "MARKETING", Components: body},
		cloudapitest.Template{ID: "3", Name: "otp", Language: "en", Status: "REJECTED", Category: "AUTHENTICATION", Components: body},
	)
	r := s.Do("POST", "/api/v1/whatsapp/templates/sync", s.Key, map[string]any{"sender_id": e.sender}).Want(200)
	if n := len(r.Get("data").([]any)); n != 3 {
		t.Fatalf("synced %d templates over pages of 2, want 3: %s", n, r.Body)
	}
	if !bytes.Contains(r.Body, []byte(`"param_count":2`)) {
		t.Errorf("param count: %s", r.Body)
	}
	send := "/api/v1/whatsapp/messages/template"
	runScenarios(t, s, []scenario{
		{name: "not approved", method: "POST", path: send, key: "own", body: map[string]any{"sender_id": e.sender, "to": "+14155550100", "template": "promo", "language": "en_US", "params": []string{"a", "b"}}, status: 422, code: "template_not_approved"},
		{name: "unknown template", method: "POST", path: send, key: "own", body: map[string]any{"sender_id": e.sender, "to": "+14155550100", "template": "nope", "language": "en_US"}, status: 422, code: "template_not_approved"},
		{name: "bad phone", method: "POST", path: send, key: "own", body: map[string]any{"sender_id": e.sender, "to": "call me", "template": "order_shipped", "language": "en_US", "params": []string{"a", "b"}}, status: 422, code: "invalid_phone"},
		{name: "param with a new line", method: "POST", path: send, key: "own", body: map[string]any{"sender_id": e.sender, "to": "+14155550100", "template": "order_shipped", "language": "en_US", "params": []string{"Ada\nLovelace", "#42"}}, status: 422, code: "validation_failed", field: "params"},
		{name: "param with a tab", method: "POST", path: send, key: "own", body: map[string]any{"sender_id": e.sender, "to": "+14155550100", "template": "order_shipped", "language": "en_US", "params": []string{"Ada\tx", "#42"}}, status: 422, code: "validation_failed", field: "params"},
		{name: "param with five spaces", method: "POST", path: send, key: "own", body: map[string]any{"sender_id": e.sender, "to": "+14155550100", "template": "order_shipped", "language": "en_US", "params": []string{"Ada     x", "#42"}}, status: 422, code: "validation_failed", field: "params"},
		{name: "param count", method: "POST", path: send, key: "own", body: map[string]any{"sender_id": e.sender, "to": "+14155550100", "template": "order_shipped", "language": "en_US", "params": []string{"a"}}, status: 422, code: "validation_failed", field: "params"},
		{name: "unknown sender", method: "POST", path: send, key: "own", body: map[string]any{"sender_id": "wa_01kaaaaaaaaaaaaaaaaaaaaaaa", "to": "+14155550100", "template": "order_shipped", "language": "en_US"}, status: 404, code: "not_found"},
		{name: "other workspace's sender", method: "POST", path: send, key: "other", body: map[string]any{"sender_id": e.sender, "to": "+14155550100", "template": "order_shipped", "language": "en_US"}, status: 404, code: "not_found"},
	})
	if n := len(e.conversations()); n != 0 {
		t.Fatalf("refused sends opened %d conversations", n)
	}
	ok := s.Do("POST", send, s.Key, map[string]any{"sender_id": e.sender, "to": "+1 415 555 0100", "template": "order_shipped",
		"language": "en_US", "params": []string{"Ada", "#42"}}).Want(201)
	if ok.Str("message.content") != "Hi Ada, your order #42 has shipped." || ok.Str("conversation.type") != "whatsapp" {
		t.Errorf("template send: %s", ok.Body)
	}
	sent := e.waitSent(1)
	tpl, _ := sent[0].Body["template"].(map[string]any)
	if sent[0].Body["type"] != "template" || tpl["name"] != "order_shipped" || sent[0].Body["to"] != "14155550100" {
		t.Errorf("template on the wire: %v", sent[0].Body)
	}
	// The status webhook moves the template: approved → paused.
	upd, _ := json.Marshal(map[string]any{"object": "whatsapp_business_account", "entry": []any{map[string]any{"id": waAccount,
		"changes": []any{map[string]any{"field": "message_template_status_update", "value": map[string]any{
			"event": "PAUSED", "message_template_id": 1, "message_template_name": "order_shipped",
			"message_template_language": "en_US", "reason": "LOW_QUALITY"}}}}}})
	if got := e.post(upd, ""); got != 200 {
		t.Fatalf("template webhook: %d", got)
	}
	s.Do("POST", send, s.Key, map[string]any{"sender_id": e.sender, "to": "+14155550100", "template": "order_shipped",
		"language": "en_US", "params": []string{"Ada", "#43"}}).Want(422)
	// Reinstated, it is approved again; flagged (at risk), it stays so.
	for _, event := range []string{"REINSTATED", "FLAGGED"} {
		upd, _ := json.Marshal(map[string]any{"object": "whatsapp_business_account", "entry": []any{map[string]any{"id": waAccount,
			"changes": []any{map[string]any{"field": "message_template_status_update", "value": map[string]any{
				"event": event, "message_template_id": 1, "message_template_name": "order_shipped",
				"message_template_language": "en_US", "reason": "NONE"}}}}}})
		if got := e.post(upd, ""); got != 200 {
			t.Fatalf("template webhook %s: %d", event, got)
		}
		s.Do("POST", send, s.Key, map[string]any{"sender_id": e.sender, "to": "+14155550100", "template": "order_shipped",
			"language": "en_US", "params": []string{"Ada", "#44"}}).Want(201)
	}
	// Create submits to Meta; delete removes it.
	c := s.Do("POST", "/api/v1/whatsapp/templates", s.Key, map[string]any{"sender_id": e.sender, "name": "welcome",
		"language": "en", "category": "utility", "components": body}).Want(201)
	if c.Str("status") != "pending" || len(e.graph.Created()) != 1 {
		t.Errorf("created: %s", c.Body)
	}
	s.Do("DELETE", "/api/v1/whatsapp/templates/"+c.Str("id"), s.OtherKey, nil).Want(404)
	s.Do("DELETE", "/api/v1/whatsapp/templates/"+c.Str("id"), s.Key, nil).Want(204)
	s.Do("GET", "/api/v1/whatsapp/templates/"+c.Str("id"), s.Key, nil).Want(404)
	// Only that language is deleted at Meta (by its id), not every
	// template of the name.
	if d := e.graph.Deleted(); len(d) != 1 || !strings.HasPrefix(d[0], "welcome#9") {
		t.Errorf("deleted at Meta: %v", d)
	}
}

// A sync forgets the templates Meta no longer lists (deleted in WhatsApp
// Manager), but not one created a moment ago that Meta may not list yet.
func TestWhatsAppTemplateSyncForgetsDeleted(t *testing.T) {
	e := startWhatsApp(t)
	s := e.s
	body := []map[string]any{{"type": "BODY", "text": "Hi {{1}}"}}
	e.graph.AddTemplates(
		cloudapitest.Template{ID: "1", Name: "order_shipped", Language: "en_US", Status: "APPROVED", Category: "UTILITY", Components: body},
		cloudapitest.Template{ID: "2", Name: "promo", Language: "en_US", Status: "APPROVED", Category: "MARKETING", Components: body},
		cloudapitest.Template{ID: "3", Name: "promo", Language: "de", Status: "APPROVED", Category: "MARKETING", Components: body})
	names := func() []string {
		var out []string
		for _, x := range s.Do("POST", "/api/v1/whatsapp/templates/sync", s.Key, map[string]any{"sender_id": e.sender}).Want(200).Get("data").([]any) {
			m := x.(map[string]any)
			out = append(out, m["name"].(string)+"/"+m["language"].(string))
		}
		sort.Strings(out)
		return out
	}
	if got := strings.Join(names(), " "); got != "order_shipped/en_US promo/de promo/en_US" {
		t.Fatalf("first sync: %s", got)
	}
	e.graph.RemoveTemplates("promo")
	later := time.Now().Add(10 * time.Minute)
	s.App.Now = func() time.Time { return later }
	if got := strings.Join(names(), " "); got != "order_shipped/en_US" {
		t.Errorf("after promo was deleted at Meta: %s", got)
	}
	s.Do("POST", "/api/v1/whatsapp/messages/template", s.Key, map[string]any{"sender_id": e.sender, "to": "+14155550100",
		"template": "promo", "language": "en_US", "params": []string{"Ada"}}).Want(422)
	// Created here just now, and not (yet) in Meta's list: kept.
	s.Do("POST", "/api/v1/whatsapp/templates", s.Key, map[string]any{"sender_id": e.sender, "name": "welcome",
		"language": "en", "category": "utility", "components": body}).Want(201)
	e.graph.RemoveTemplates("welcome")
	s.App.Now = func() time.Time { return later.Add(time.Minute) }
	if got := strings.Join(names(), " "); got != "order_shipped/en_US welcome/en" {
		t.Errorf("a template created a moment ago was forgotten: %s", got)
	}
}

func TestWhatsAppSendersAPI(t *testing.T) {
	e := startWhatsApp(t)
	s := e.s
	base := "/api/v1/whatsapp/senders"
	e.graph.AddForeignNumber("777000111")
	runScenarios(t, s, []scenario{
		{name: "list", method: "GET", path: base, key: "own", status: 200, contains: []string{e.sender}},
		{name: "list other", method: "GET", path: base, key: "other", status: 200, contains: []string{`"data":[]`}},
		{name: "get other", method: "GET", path: base + "/" + e.sender, key: "other", status: 404, code: "not_found"},
		{name: "duplicate number", method: "POST", path: base, key: "own", body: map[string]any{"name": "x", "phone": "+15550001112", "phone_number_id": waNumber, "waba_id": "1", "access_token": waToken, "assistant_id": s.DemoAssistant}, status: 422, field: "phone_number_id"},
		{name: "another business's number", method: "POST", path: base, key: "own", body: map[string]any{"name": "x", "phone": "+15550001114", "phone_number_id": "777000111", "waba_id": "1", "access_token": waToken, "assistant_id": s.DemoAssistant}, status: 422, field: "phone_number_id"},
		{name: "token Meta refuses", method: "POST", path: base, key: "own", body: map[string]any{"name": "x", "phone": "+15550001113", "phone_number_id": "4243", "waba_id": "1", "access_token": "not-a-token", "assistant_id": s.DemoAssistant}, status: 422, field: "access_token"},
		{name: "missing token", method: "POST", path: base, key: "own", body: map[string]any{"name": "x", "phone": "+15550001112", "phone_number_id": "2", "waba_id": "1", "assistant_id": s.DemoAssistant}, status: 422, field: "access_token"},
		{name: "bad phone", method: "POST", path: base, key: "own", body: map[string]any{"name": "x", "phone": "abc", "phone_number_id": "2", "waba_id": "1", "access_token": "t", "assistant_id": s.DemoAssistant}, status: 422, field: "phone"},
		{name: "unknown field", method: "POST", path: base, key: "own", body: `{"name":"x","token":"t"}`, status: 400, code: "malformed_request"},
		{name: "rename", method: "PATCH", path: base + "/" + e.sender, key: "own", body: map[string]any{"name": "Sales"}, status: 200, contains: []string{`"name":"Sales"`}},
		{name: "rate bad market", method: "POST", path: "/api/v1/whatsapp/rates", key: "own", body: map[string]any{"category": "utility", "market": "UK", "price_per_message": "0.01"}, status: 422, field: "market"},
		{name: "rate float", method: "POST", path: "/api/v1/whatsapp/rates", key: "own", body: `{"category":"utility","market":"44","price_per_message":0.01}`, status: 422},
		{name: "delete other", method: "DELETE", path: base + "/" + e.sender, key: "other", status: 404},
		{name: "delete", method: "DELETE", path: base + "/" + e.sender, key: "own", status: 204},
		{name: "gone", method: "GET", path: base + "/" + e.sender, key: "own", status: 404},
	})
}

// TestWhatsAppUnrouted: a change for a number no sender has is kept and
// listed, paged, to the workspace whose senders share its WhatsApp
// Business Account; another workspace, or a change of another account,
// is not shown.
func TestWhatsAppUnrouted(t *testing.T) {
	e := startWhatsApp(t)
	s := e.s
	for i := range 3 {
		body := delivery("1999000000"+strconv.Itoa(i), map[string]any{
			"contacts": []any{map[string]any{"profile": map[string]any{"name": "Lost"}, "wa_id": "16505550000"}},
			"messages": []any{map[string]any{"from": "16505550000", "id": "wamid.LOST" + strconv.Itoa(i),
				"timestamp": strconv.FormatInt(time.Now().Unix(), 10), "type": "text", "text": map[string]any{"body": "hello?"}}}})
		if got := e.post(body, ""); got != 200 {
			t.Fatalf("webhook for an unknown number: %d", got)
		}
	}
	foreign := bytes.Replace(delivery("1888000000", map[string]any{"statuses": []any{map[string]any{
		"id": "wamid.X", "status": "sent", "timestamp": "1739321024", "recipient_id": "16505550000"}}}),
		[]byte(waAccount), []byte("55501"), 1)
	if got := e.post(foreign, ""); got != 200 {
		t.Fatalf("webhook of another account: %d", got)
	}
	if list := e.conversations(); len(list) != 0 {
		t.Errorf("an unrouted change opened %d conversations", len(list))
	}
	first := s.Do("GET", "/api/v1/whatsapp/unrouted?per_page=2", s.Key, nil).Want(200)
	data := first.Get("data").([]any)
	if len(data) != 2 || first.Get("next_cursor") == nil {
		t.Fatalf("first page: %s", first.Body)
	}
	u := data[0].(map[string]any)
	if u["reason"] != "unknown_number" || u["waba_id"] != waAccount || u["phone_number_id"] != "19990000000" ||
		!strings.HasPrefix(u["id"].(string), "unr_") {
		t.Errorf("unrouted change: %v", u)
	}
	var change struct {
		Field string `json:"field"`
		Value struct {
			Messages []struct {
				ID string `json:"id"`
			} `json:"messages"`
		} `json:"value"`
	}
	if err := json.Unmarshal([]byte(u["payload"].(string)), &change); err != nil || change.Field != "messages" ||
		len(change.Value.Messages) != 1 || change.Value.Messages[0].ID != "wamid.LOST0" {
		t.Errorf("payload not kept as sent (%v): %v", err, u["payload"])
	}
	next := s.Do("GET", "/api/v1/whatsapp/unrouted?per_page=2&cursor="+first.Str("next_cursor"), s.Key, nil).Want(200)
	if data := next.Get("data").([]any); len(data) != 1 || next.Get("next_cursor") != nil {
		t.Errorf("second page: %s", next.Body)
	}
	other := s.Do("GET", "/api/v1/whatsapp/unrouted", s.OtherKey, nil).Want(200)
	if data := other.Get("data").([]any); len(data) != 0 {
		t.Errorf("another workspace sees %d unrouted changes", len(data))
	}
	s.Do("GET", "/api/v1/whatsapp/unrouted?per_page=0", s.Key, nil).Want(422)
}

// TestWhatsAppRefreshSender: the number's status and quality rating are
// read from the Graph API on demand and with a template sync; another
// workspace's sender is not found; a refused token changes nothing.
func TestWhatsAppRefreshSender(t *testing.T) {
	e := startWhatsApp(t)
	s := e.s
	e.graph.SetNumber("FLAGGED", "YELLOW")
	r := s.Do("POST", "/api/v1/whatsapp/senders/"+e.sender+"/refresh", s.Key, nil).Want(200)
	if r.Str("status") != "FLAGGED" || r.Str("quality_rating") != "YELLOW" {
		t.Errorf("refreshed sender: %s", r.Body)
	}
	if got := s.Do("GET", "/api/v1/whatsapp/senders/"+e.sender, s.Key, nil).Want(200); got.Str("quality_rating") != "YELLOW" {
		t.Errorf("refresh not stored: %s", got.Body)
	}
	s.Do("POST", "/api/v1/whatsapp/senders/"+e.sender+"/refresh", s.OtherKey, nil).Want(404)
	s.Do("POST", "/api/v1/whatsapp/senders/wa_01J0000000000000000000000/refresh", s.Key, nil).Want(404)

	e.graph.SetNumber("CONNECTED", "GREEN")
	s.Do("POST", "/api/v1/whatsapp/templates/sync", s.Key, map[string]any{"sender_id": e.sender}).Want(200)
	if got := s.Do("GET", "/api/v1/whatsapp/senders/"+e.sender, s.Key, nil).Want(200); got.Str("quality_rating") != "GREEN" {
		t.Errorf("the template sync did not refresh the number: %s", got.Body)
	}

	// A token Meta refuses is not taken; one revoked later makes the
	// refresh fail and changes nothing.
	s.Do("PATCH", "/api/v1/whatsapp/senders/"+e.sender, s.Key, map[string]any{"access_token": "not-a-token"}).Want(422)
	e.graph.SetToken("rotated")
	e.graph.SetNumber("FLAGGED", "RED")
	s.Do("POST", "/api/v1/whatsapp/senders/"+e.sender+"/refresh", s.Key, nil).Want(502)
	if got := s.Do("GET", "/api/v1/whatsapp/senders/"+e.sender, s.Key, nil).Want(200); got.Str("quality_rating") != "GREEN" {
		t.Errorf("a failed refresh changed the sender: %s", got.Body)
	}
}

// TestWhatsAppPacing: a send past the customer's pair limit waits, its
// job snoozed for the time the pacer names (River's schedule, not a
// sleeping worker), while another customer's reply goes at once.
func TestWhatsAppPacing(t *testing.T) {
	e := startWhatsApp(t)
	s := e.s
	s.App.WhatsApp.Pacer = &whatsapp.Pacer{PairInterval: time.Hour, PairBurst: 1}
	body, _ := e.inbound("16315551190", "", "", time.Now(), text("first question"))
	e.post(body, "")
	e.waitSent(1) // the assistant's reply: the pair's one message this hour
	id := e.conversations()[0].(map[string]any)["id"].(string)
	op := s.Do("POST", "/api/v1/conversations/"+id+"/messages", s.Key, map[string]any{"role": "operator",
		"content": "A person here: one more thing."}).Want(201)
	opID := op.Str("message.id")
	// Another customer is not held up.
	body, _ = e.inbound("16315551191", "", "", time.Now(), text("hello"))
	e.post(body, "")
	sent := e.waitSent(2)
	if to := sent[1].Body["to"]; to != "16315551191" {
		t.Errorf("second send went to %v, want the other customer", to)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		counts, err := s.App.Jobs.Backlog(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		snoozed := false
		for _, c := range counts {
			snoozed = snoozed || (c.Kind == whatsapp.JobSend && c.State == "scheduled" && c.N == 1)
		}
		if snoozed {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the operator's send is not snoozed: %v", counts)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if n := len(e.graph.Sent()); n != 2 {
		t.Errorf("%d sends, want 2 (the paced one waits)", n)
	}
	r := s.Do("GET", "/api/v1/conversations/"+id, s.Key, nil).Want(200)
	for _, m := range msgs(r) {
		if m["id"] == opID && m["status"] != "pending" {
			t.Errorf("the paced message is %v, want pending", m["status"])
		}
	}
}

// TestWhatsAppTemplateHeaderButtons: a template with a media header, a
// dynamic URL button, a copy-code button and a quick reply is sent with
// Meta's component shapes; missing or mismatched parameters are 422 and
// send nothing.
func TestWhatsAppTemplateHeaderButtons(t *testing.T) {
	e := startWhatsApp(t)
	s := e.s
	e.graph.AddTemplates(
		cloudapitest.Template{ID: "7", Name: "order_ready", Language: "en", Status: "APPROVED", Category: "UTILITY",
			Components: []map[string]any{
				{"type": "HEADER", "format": "IMAGE"},
				{"type": "BODY", "text": "Order {{1}} is ready."},
				{"type": "BUTTONS", "buttons": []map[string]any{
					{"type": "URL", "text": "Track", "url": "https://shop.example/track/{{1}}"},
					{"type": "COPY_CODE", "example": "SAVE10"},
					{"type": "QUICK_REPLY", "text": "Stop"},
					{"type": "URL", "text": "Help", "url": "https://shop.example/help"},
				}},
			}},
		cloudapitest.Template{ID: "8", Name: "hello_name", Language: "en", Status: "APPROVED", Category: "UTILITY",
			Components: []map[string]any{{"type": "HEADER", "format": "TEXT", "text": "Hello {{1}}"}, {"type": "BODY", "text": "Welcome."}}},
	)
	s.Do("POST", "/api/v1/whatsapp/templates/sync", s.Key, map[string]any{"sender_id": e.sender}).Want(200)
	send := "/api/v1/whatsapp/messages/template"
	req := func(mod func(map[string]any)) map[string]any {
		b := map[string]any{"sender_id": e.sender, "to": "+14155550100", "template": "order_ready", "language": "en",
			"params": []string{"#42"}, "header": map[string]any{"type": "image", "link": "https://shop.example/42.jpg"},
			"buttons": []map[string]any{{"index": 0, "sub_type": "url", "value": "42?t=abc"},
				{"index": 1, "sub_type": "copy_code", "value": "SAVE10"}, {"index": 2, "sub_type": "quick_reply", "value": "STOP_42"}}}
		if mod != nil {
			mod(b)
		}
		return b
	}
	var badLinks []scenario
	for _, link := range []string{"https://", "https:///a.jpg", "https://x.example/a b.jpg", "https://x.example/a.jpg\n",
		"https://:443/a.jpg", "https://user:pw@x.example/a.jpg"} {
		badLinks = append(badLinks, scenario{name: "header link " + link, method: "POST", path: send, key: "own",
			body:   req(func(b map[string]any) { b["header"] = map[string]any{"type": "image", "link": link} }),
			status: 422, code: "validation_failed", field: "header.link"})
	}
	runScenarios(t, s, append(badLinks, []scenario{
		{name: "no header", method: "POST", path: send, key: "own", body: req(func(b map[string]any) { delete(b, "header") }), status: 422, code: "validation_failed", field: "header"},
		{name: "header of another type", method: "POST", path: send, key: "own", body: req(func(b map[string]any) {
			b["header"] = map[string]any{"type": "video", "link": "https://x.example/v.mp4"}
		}), status: 422, code: "validation_failed", field: "header.type"},
		{name: "header over http", method: "POST", path: send, key: "own", body: req(func(b map[string]any) {
			b["header"] = map[string]any{"type": "image", "link": "http://x.example/a.jpg"}
		}), status: 422, code: "validation_failed", field: "header.link"},
		{name: "link and media id", method: "POST", path: send, key: "own", body: req(func(b map[string]any) {
			b["header"] = map[string]any{"type": "image", "link": "https://x.example/a.jpg", "media_id": "123"}
		}), status: 422, code: "validation_failed", field: "header"},
		{name: "dynamic URL without its suffix", method: "POST", path: send, key: "own", body: req(func(b map[string]any) {
			b["buttons"] = []map[string]any{{"index": 1, "sub_type": "copy_code", "value": "SAVE10"}}
		}), status: 422, code: "validation_failed", field: "buttons"},
		{name: "wrong sub_type", method: "POST", path: send, key: "own", body: req(func(b map[string]any) {
			b["buttons"] = []map[string]any{{"index": 0, "sub_type": "quick_reply", "value": "x"}, {"index": 1, "sub_type": "copy_code", "value": "SAVE10"}}
		}), status: 422, code: "validation_failed", field: "buttons[0].sub_type"},
		{name: "fixed URL given a value", method: "POST", path: send, key: "own", body: req(func(b map[string]any) {
			b["buttons"] = append(b["buttons"].([]map[string]any), map[string]any{"index": 3, "sub_type": "url", "value": "x"})
		}), status: 422, code: "validation_failed", field: "buttons[3]"},
		{name: "no such button", method: "POST", path: send, key: "own", body: req(func(b map[string]any) {
			b["buttons"] = append(b["buttons"].([]map[string]any), map[string]any{"index": 9, "sub_type": "url", "value": "x"})
		}), status: 422, code: "validation_failed", field: "buttons[3].index"},
		{name: "coupon too long", method: "POST", path: send, key: "own", body: req(func(b map[string]any) {
			b["buttons"].([]map[string]any)[1]["value"] = "A-VERY-LONG-COUPON"
		}), status: 422, code: "validation_failed", field: "buttons[1].value"},
		{name: "text header missing", method: "POST", path: send, key: "own", body: map[string]any{"sender_id": e.sender, "to": "+14155550100", "template": "hello_name", "language": "en"}, status: 422, code: "validation_failed", field: "header"},
	}...))
	if n := len(e.conversations()); n != 0 {
		t.Fatalf("refused sends opened %d conversations", n)
	}
	ok := s.Do("POST", send, s.Key, req(nil)).Want(201)
	if ok.Str("message.template.header.link") != "https://shop.example/42.jpg" || len(ok.Get("message.template.buttons").([]any)) != 3 {
		t.Errorf("the message does not keep its header and buttons: %s", ok.Body)
	}
	sent := e.waitSent(1)
	wire, _ := json.Marshal(sent[0].Body["template"])
	want := `{"components":[` +
		`{"parameters":[{"image":{"link":"https://shop.example/42.jpg"},"type":"image"}],"type":"header"},` +
		`{"parameters":[{"text":"#42","type":"text"}],"type":"body"},` +
		`{"index":"0","parameters":[{"text":"42?t=abc","type":"text"}],"sub_type":"url","type":"button"},` +
		`{"index":"1","parameters":[{"coupon_code":"SAVE10","type":"coupon_code"}],"sub_type":"copy_code","type":"button"},` +
		`{"index":"2","parameters":[{"payload":"STOP_42","type":"payload"}],"sub_type":"quick_reply","type":"button"}],` +
		`"language":{"code":"en"},"name":"order_ready"}`
	if string(wire) != want {
		t.Errorf("template on the wire:\n%s\nwant\n%s", wire, want)
	}
	s.Do("POST", send, s.Key, map[string]any{"sender_id": e.sender, "to": "+14155550101", "template": "hello_name",
		"language": "en", "header": map[string]any{"type": "text", "text": "Ada"}}).Want(201)
	sent = e.waitSent(2)
	hdr, _ := json.Marshal(sent[1].Body["template"].(map[string]any)["components"])
	if string(hdr) != `[{"parameters":[{"text":"Ada","type":"text"}],"type":"header"}]` {
		t.Errorf("text header on the wire: %s", hdr)
	}
}

// TestWhatsAppHostileIDs: ids and query parameters with NUL, bytes that
// are not UTF-8 or another workspace's cursor get a problem and change
// nothing.
func TestWhatsAppHostileIDs(t *testing.T) {
	e := startWhatsApp(t)
	s := e.s
	for i := range 3 {
		body := delivery("1999000000"+strconv.Itoa(i), map[string]any{"statuses": []any{map[string]any{
			"id": "wamid.Y" + strconv.Itoa(i), "status": "sent", "timestamp": "1739321024", "recipient_id": "16505550000"}}})
		if got := e.post(body, ""); got != 200 {
			t.Fatalf("webhook: %d", got)
		}
	}
	first := s.Do("GET", "/api/v1/whatsapp/unrouted?per_page=1", s.Key, nil).Want(200)
	cur := first.Str("next_cursor")
	if cur == "" {
		t.Fatalf("no cursor: %s", first.Body)
	}
	// Another workspace cannot name this account's WABA on a sender of its
	// own — Meta does not list its number under the account, neither when
	// the sender is created nor when it is changed — so it sees none of
	// the account's changes and hides none of them.
	e.graph.SetAccountNumbers(waAccount, waNumber)
	oa := s.Do("POST", "/api/v1/assistants", s.OtherKey, map[string]any{"name": "Theirs", "model": "offline"}).Want(201).Str("id")
	claim := map[string]any{"name": "Claim", "phone": "+15550009999", "phone_number_id": "4242", "waba_id": waAccount,
		"access_token": waToken, "assistant_id": oa}
	if r := s.Do("POST", "/api/v1/whatsapp/senders", s.OtherKey, claim).Want(422); !strings.Contains(string(r.Body), `"waba_id"`) {
		t.Errorf("claim of another's WABA: %s", r.Body)
	}
	e.graph.SetAccountNumbers("77001", "4242")
	claim["waba_id"] = "77001"
	theirs := s.Do("POST", "/api/v1/whatsapp/senders", s.OtherKey, claim).Want(201).Str("id")
	s.Do("PATCH", "/api/v1/whatsapp/senders/"+theirs, s.OtherKey, map[string]any{"waba_id": waAccount}).Want(422)
	if data := s.Do("GET", "/api/v1/whatsapp/unrouted", s.OtherKey, nil).Want(200).Get("data").([]any); len(data) != 0 {
		t.Errorf("a workspace that tried to claim another's WABA sees %d of its unrouted changes", len(data))
	}
	if data := s.Do("GET", "/api/v1/whatsapp/unrouted?per_page=1", s.Key, nil).Want(200).Get("data").([]any); len(data) != 1 {
		t.Errorf("the account's workspace sees %d of its unrouted changes after the refused claims", len(data))
	}
	refresh := "/api/v1/whatsapp/senders/"
	runScenarios(t, s, []scenario{
		{name: "other's cursor", method: "GET", path: "/api/v1/whatsapp/unrouted?cursor=" + cur, key: "other", status: 422, code: "invalid_cursor"},
		{name: "cursor NUL", method: "GET", path: "/api/v1/whatsapp/unrouted?cursor=%00", key: "own", status: 400, code: "malformed_request"},
		{name: "cursor not UTF-8", method: "GET", path: "/api/v1/whatsapp/unrouted?cursor=%ff%fe", key: "own", status: 400, code: "malformed_request"},
		{name: "cursor tampered", method: "GET", path: "/api/v1/whatsapp/unrouted?cursor=" + cur[:len(cur)-2] + "AA", key: "own", status: 422, code: "invalid_cursor"},
		{name: "per_page NUL", method: "GET", path: "/api/v1/whatsapp/unrouted?per_page=1%00", key: "own", status: 400, code: "malformed_request"},
		{name: "per_page not UTF-8", method: "GET", path: "/api/v1/whatsapp/unrouted?per_page=%ff", key: "own", status: 400, code: "malformed_request"},
		{name: "refresh NUL", method: "POST", path: refresh + e.sender + "%00/refresh", key: "own", status: 400, code: "malformed_request"},
		{name: "refresh not UTF-8", method: "POST", path: refresh + "wa_%ff%fe/refresh", key: "own", status: 400, code: "malformed_request"},
		{name: "refresh other's", method: "POST", path: refresh + e.sender + "/refresh", key: "other", status: 404, code: "not_found"},
	})
	if got := s.Do("GET", "/api/v1/whatsapp/senders/"+e.sender, s.Key, nil).Want(200); got.Str("quality_rating") != "GREEN" {
		t.Errorf("a refused refresh changed the sender: %s", got.Body)
	}
}

// TestWhatsAppHostileBytes: NUL characters and bytes that are not UTF-8,
// wherever Meta may pass them on — a profile name or username, a user id,
// a wamid, an error's title, an unknown number's payload, a template
// update — are made storable, never a refusal that Meta's retries would
// meet again and again with every other change of the delivery.
func TestWhatsAppHostileBytes(t *testing.T) {
	e := startWhatsApp(t)
	now := strconv.FormatInt(time.Now().Unix(), 10)
	body := delivery(waNumber, map[string]any{
		"contacts": []any{
			map[string]any{"wa_id": "15551230010", "profile": map[string]any{"name": "Good"}},
			map[string]any{"wa_id": "15551230011", "user_id": "US.9\x00", "profile": map[string]any{"name": "B\x00ad", "username": "@b\x00"}},
		},
		"messages": []any{
			map[string]any{"from": "15551230010", "id": "wamid.HB1", "timestamp": now, "type": "text", "text": map[string]any{"body": "good one"}},
			map[string]any{"from": "15551230011", "from_user_id": "US.9\x00", "id": "wamid.HB\x002", "timestamp": now, "type": "unsupported",
				"errors": []any{map[string]any{"code": 131051, "title": "Message type \x00unknown"}}},
		},
	})
	// A byte that is not UTF-8, raw, in an unknown number's delivery.
	lost := bytes.Replace(delivery("1777000000", map[string]any{"messages": []any{map[string]any{"from": "15551230012",
		"id": "wamid.HB3", "timestamp": now, "type": "text", "text": map[string]any{"body": "XBADX"}}}}), []byte("XBADX"), []byte("\xff\xfe \\u0000"), 1)
	template := []byte(`{"object":"whatsapp_business_account","entry":[{"id":"` + waAccount + `","changes":[{"field":"message_template_status_update",
		"value":{"event":"REJECTED","message_template_id":1234,"message_template_name":"promo\u0000","message_template_language":"en_US","reason":"bad\u0000"}}]}]}`)
	for name, b := range map[string][]byte{"messages": body, "unknown number": lost, "template": template} {
		if got := e.post(b, ""); got != 200 {
			t.Fatalf("%s: webhook answered %d", name, got)
		}
	}
	list := e.conversations()
	if len(list) != 2 {
		t.Fatalf("%d conversations, want 2", len(list))
	}
	names := map[string]bool{}
	for _, c := range list {
		cust := c.(map[string]any)["customer"].(map[string]any)
		names[fmt.Sprint(cust["name"])] = true
		for _, v := range cust {
			if s, ok := v.(string); ok && strings.ContainsRune(s, 0) {
				t.Errorf("a NUL was stored: %q", s)
			}
		}
	}
	if !names["Good"] || !names["Bad"] {
		t.Errorf("customers: %v", names)
	}
	un := e.s.Do("GET", "/api/v1/whatsapp/unrouted", e.s.Key, nil).Want(200).Get("data").([]any)
	if len(un) != 1 || !strings.Contains(un[0].(map[string]any)["payload"].(string), "wamid.HB3") {
		t.Errorf("unrouted: %v", un)
	}
	// The same delivery again changes nothing.
	if got := e.post(body, ""); got != 200 || len(e.conversations()) != 2 {
		t.Errorf("redelivery: %d", got)
	}
}

// TestWhatsAppIdentifiersMeet: a customer whose thread went by user id and
// who was also reached by phone (a template) writes with both; a customer
// takes a number another thread holds; a user id change arrives with only
// the previous user id. Each is stored (200), once, and the customer's
// next messages find one thread — never a refusal Meta would retry for days.
func TestWhatsAppIdentifiersMeet(t *testing.T) {
	e := startWhatsApp(t)
	s := e.s
	e.graph.AddTemplates(cloudapitest.Template{ID: "1", Name: "promo", Language: "en_US", Status: "APPROVED", Category: "MARKETING",
		Components: []map[string]any{{"type": "BODY", "text": "Spring sale!"}}})
	s.Do("POST", "/api/v1/whatsapp/templates/sync", s.Key, map[string]any{"sender_id": e.sender}).Want(200)

	body, _ := e.inbound("", "US.901", "h", time.Now(), text("hello"))
	if got := e.post(body, ""); got != 200 {
		t.Fatalf("user-id message: %d", got)
	}
	s.Do("POST", "/api/v1/whatsapp/messages/template", s.Key, map[string]any{"sender_id": e.sender, "to": "+15551260002",
		"template": "promo", "language": "en_US"}).Want(201)
	if n := len(e.conversations()); n != 2 {
		t.Fatalf("%d conversations before the identifiers meet, want 2", n)
	}
	body, wamid := e.inbound("15551260002", "US.901", "", time.Now(), text("now both"))
	if got := e.post(body, ""); got != 200 {
		t.Fatalf("message with both identifiers: %d", got)
	}
	body, _ = e.inbound("15551260002", "", "", time.Now(), text("phone only"))
	if got := e.post(body, ""); got != 200 {
		t.Fatalf("phone-only message: %d", got)
	}
	byWamid := map[string]string{}
	for _, c := range e.conversations() {
		id := c.(map[string]any)["id"].(string)
		for _, m := range msgs(s.Do("GET", "/api/v1/conversations/"+id, s.Key, nil).Want(200)) {
			if m["role"] == "user" {
				byWamid[fmt.Sprint(m["content"])] = id
			}
		}
	}
	if byWamid["now both"] == "" || byWamid["now both"] != byWamid["phone only"] || byWamid["now both"] != byWamid["hello"] {
		t.Errorf("after the identifiers met, the customer's messages are in %v (wamid %s)", byWamid, wamid)
	}

	// Customer 41's number passes to customer 40: 40's thread takes it.
	for _, p := range []string{"15551230040", "15551230041"} {
		b, _ := e.inbound(p, "", "", time.Now(), text("hi from "+p))
		e.post(b, "")
	}
	change := delivery(waNumber, map[string]any{"messages": []any{map[string]any{"from": "15551230040", "id": "wamid.CHG40",
		"timestamp": strconv.FormatInt(time.Now().Unix(), 10), "type": "system",
		"system": map[string]any{"body": "changed", "type": "user_changed_number", "wa_id": "15551230041"}}}})
	if got := e.post(change, ""); got != 200 {
		t.Fatalf("number change onto another thread's number: %d", got)
	}
	th, err := s.App.Store.FindThread(context.Background(), s.Workspace, e.sender, "+15551230041", "")
	if err != nil || th.Phone != "+15551230041" {
		t.Fatalf("thread of the number: %+v, %v", th, err)
	}
	before := len(e.conversations())
	b, _ := e.inbound("15551230041", "", "", time.Now(), text("new number, same me"))
	e.post(b, "")
	if len(e.conversations()) != before {
		t.Errorf("a message from the changed number opened a conversation")
	}

	// user_changed_user_id with only the previous user id.
	sys := delivery(waNumber, map[string]any{"messages": []any{map[string]any{"id": "wamid.SYS901",
		"timestamp": strconv.FormatInt(time.Now().Unix(), 10), "type": "system",
		"system": map[string]any{"body": "new id", "type": "user_changed_user_id", "user_id": "US.902", "previous_user_id": "US.901"}}}})
	if got := e.post(sys, ""); got != 200 {
		t.Fatalf("user id change: %d", got)
	}
	if th, err := s.App.Store.FindThread(context.Background(), s.Workspace, e.sender, "", "US.902"); err != nil || th.ConversationID != byWamid["hello"] {
		t.Errorf("the thread did not follow the new user id: %+v, %v", th, err)
	}
}

// TestWhatsAppReceiptBeforeSendAnswer: Meta's status webhooks for a
// message (sent, delivered, with pricing) arrive before the answer to its
// send request, so before Parley has recorded its wamid: they are kept and
// applied when the send records it — nothing is dropped.
func TestWhatsAppReceiptBeforeSendAnswer(t *testing.T) {
	e := startWhatsApp(t)
	s := e.s
	s.Do("POST", "/api/v1/whatsapp/rates", s.Key, map[string]any{"category": "service", "market": "*", "price_per_message": "0.01"}).Want(201)
	acked := make(chan int, 4)
	e.graph.BeforeAck(func(wamid string) {
		for _, st := range []string{"sent", "delivered"} {
			acked <- e.post(delivery(waNumber, map[string]any{"statuses": []any{map[string]any{"id": wamid, "status": st,
				"timestamp": strconv.FormatInt(time.Now().Unix(), 10), "recipient_id": "16315551182",
				"pricing": map[string]any{"billable": true, "pricing_model": "PMP", "category": "service", "type": "regular"}}}}), "")
		}
	})
	body, _ := e.inbound("16315551182", "", "", time.Now(), text("Where is my order?"))
	if got := e.post(body, ""); got != 200 {
		t.Fatalf("webhook: %d", got)
	}
	sent := e.waitSent(1)
	for range 2 {
		if got := <-acked; got != 200 {
			t.Fatalf("early receipt: %d", got)
		}
	}
	id := e.conversations()[0].(map[string]any)["id"].(string)
	// The conversation and its messages are read one after the other, so
	// a read may see the message priced and the conversation not yet.
	r := waitFor(t, s, id, func(r *apptest.Response) bool {
		m := msgs(r)
		return len(m) == 2 && m[1]["external_id"] == sent[0].WAMID && r.Get("channel_cost") != nil
	})
	m := msgs(r)[1]
	if m["status"] != "delivered" || m["channel_cost"] != "0.010000000" || r.Str("channel_cost") != "0.010000000" {
		t.Errorf("reply after early receipts: status %v, pricing %v, channel cost %v / %v", m["status"], m["pricing"], m["channel_cost"], r.Get("channel_cost"))
	}
}

// TestWhatsAppTemplateLocationHeader: a template with a LOCATION header
// takes its place at send time and sends it in Meta's location parameter;
// without one, or with a place off the Earth, it is 422 and sends nothing.
func TestWhatsAppTemplateLocationHeader(t *testing.T) {
	e := startWhatsApp(t)
	s := e.s
	e.graph.AddTemplates(cloudapitest.Template{ID: "9", Name: "pickup_point", Language: "en", Status: "APPROVED", Category: "UTILITY",
		Components: []map[string]any{{"type": "HEADER", "format": "LOCATION"}, {"type": "BODY", "text": "Your parcel {{1}} waits here."}}},
		cloudapitest.Template{ID: "10", Name: "named_body", Language: "en", Status: "APPROVED", Category: "UTILITY",
			Components: []map[string]any{{"type": "BODY", "text": "Hi {{first_name}}, order {{ order_id }} shipped."}}})
	s.Do("POST", "/api/v1/whatsapp/templates/sync", s.Key, map[string]any{"sender_id": e.sender}).Want(200)
	send := "/api/v1/whatsapp/messages/template"
	req := func(header map[string]any) map[string]any {
		b := map[string]any{"sender_id": e.sender, "to": "+14155550100", "template": "pickup_point", "language": "en", "params": []string{"#7"}}
		if header != nil {
			b["header"] = header
		}
		return b
	}
	runScenarios(t, s, []scenario{
		{name: "no header", method: "POST", path: send, key: "own", body: req(nil), status: 422, code: "validation_failed", field: "header"},
		{name: "no longitude", method: "POST", path: send, key: "own", body: req(map[string]any{"type": "location", "latitude": 37.48}),
			status: 422, code: "validation_failed", field: "header.longitude"},
		{name: "off the Earth", method: "POST", path: send, key: "own", body: req(map[string]any{"type": "location", "latitude": 91.0, "longitude": 0}),
			status: 422, code: "validation_failed", field: "header.latitude"},
		{name: "a link", method: "POST", path: send, key: "own", body: req(map[string]any{"type": "location", "latitude": 1, "longitude": 2,
			"link": "https://x.example/a.jpg"}), status: 422, code: "validation_failed", field: "header"},
		// A template filled by name is refused before Meta would refuse it.
		{name: "named parameters", method: "POST", path: send, key: "own", body: map[string]any{"sender_id": e.sender, "to": "+14155550100",
			"template": "named_body", "language": "en", "params": []string{"Ada", "#7"}}, status: 422, code: "validation_failed", field: "template"},
	})
	if n := len(e.graph.Sent()); n != 0 {
		t.Fatalf("refused sends reached Meta: %d", n)
	}
	s.Do("POST", send, s.Key, req(map[string]any{"type": "location", "latitude": 37.483307, "longitude": -122.148981,
		"name": "Pickup point", "address": "1 Hacker Way"})).Want(201)
	sent := e.waitSent(1)
	comps, _ := sent[0].Body["template"].(map[string]any)["components"].([]any)
	if len(comps) < 1 {
		t.Fatalf("components: %v", sent[0].Body)
	}
	h := comps[0].(map[string]any)
	p := h["parameters"].([]any)[0].(map[string]any)
	loc, _ := p["location"].(map[string]any)
	if h["type"] != "header" || p["type"] != "location" || loc["latitude"] != "37.483307" || loc["longitude"] != "-122.148981" ||
		loc["name"] != "Pickup point" || loc["address"] != "1 Hacker Way" {
		t.Errorf("location header on the wire: %v", h)
	}
}

// TestWhatsAppContactOfAnotherCustomer: a change whose only contact names
// another customer than a message's sender does not file that message
// under the contact's customer: each goes to its own sender's
// conversation, and the reply goes to the one who wrote.
func TestWhatsAppContactOfAnotherCustomer(t *testing.T) {
	e := startWhatsApp(t)
	b, _ := e.inbound("16315550001", "", "", time.Now(), text("alice here"))
	e.post(b, "")
	now := strconv.FormatInt(time.Now().Unix(), 10)
	b = delivery(waNumber, map[string]any{
		"contacts": []any{map[string]any{"wa_id": "16315550001", "profile": map[string]any{"name": "Alice"}}},
		"messages": []any{map[string]any{"from": "16315550002", "id": "wamid.B2", "timestamp": now, "type": "text",
			"text": map[string]any{"body": "bob's secret"}}}})
	if got := e.post(b, ""); got != 200 {
		t.Fatal(got)
	}
	convs := e.conversations()
	if len(convs) != 2 {
		t.Fatalf("a message from +16315550002 went to +16315550001's conversation (%d conversations)", len(convs))
	}
	for _, c := range convs {
		cust := c.(map[string]any)["customer"].(map[string]any)
		if cust["phone"] == "+16315550002" && cust["name"] == "Alice" {
			t.Errorf("Bob's conversation took Alice's name: %v", cust)
		}
	}
}

// TestWhatsAppCrossedDeliveries: two deliveries at once, each with a
// message from one customer and a receipt of the other's reply, lock the
// two conversations in opposite orders; on PostgreSQL one of them can be
// chosen as a deadlock's victim, and is run again instead of failing.
func TestWhatsAppCrossedDeliveries(t *testing.T) {
	e := startWhatsApp(t)
	out := map[string]string{}
	for i, p := range []string{"16315550001", "16315550002"} {
		b, _ := e.inbound(p, "", "", time.Now(), text("hello"))
		e.post(b, "")
		out[p] = e.waitSent(i + 1)[i].WAMID
	}
	n := 0
	mk := func(from, other string) []byte {
		n++
		now := strconv.FormatInt(time.Now().Unix(), 10)
		return delivery(waNumber, map[string]any{"contacts": []any{map[string]any{"wa_id": from}},
			"messages": []any{map[string]any{"from": from, "id": fmt.Sprintf("wamid.X%d", n), "timestamp": now, "type": "text", "text": map[string]any{"body": "more"}}},
			"statuses": []any{map[string]any{"id": out[other], "status": "delivered", "timestamp": now, "recipient_id": other}}})
	}
	var bad atomic.Int32
	for range 6 {
		b1, b2 := mk("16315550001", "16315550002"), mk("16315550002", "16315550001")
		var wg sync.WaitGroup
		for _, b := range [][]byte{b1, b2} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if e.post(b, "") != 200 {
					bad.Add(1)
				}
			}()
		}
		wg.Wait()
	}
	if bad.Load() > 0 {
		t.Errorf("%d of 12 deliveries answered other than 200", bad.Load())
	}
}
