package cloudapi_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/parley-dev/parley/internal/whatsapp/cloudapi"
)

// The fixtures are webhook bodies in the shapes Meta documents.
func fixture(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestParseMessages(t *testing.T) {
	changes, err := cloudapi.Parse(fixture(t, "messages.json"))
	if err != nil {
		t.Fatal(err)
	}
	if len(changes) != 1 {
		t.Fatalf("%d changes", len(changes))
	}
	ch := changes[0]
	if ch.PhoneNumberID != "106540352242922" || ch.WABAID != "102290129340398" || len(ch.Contacts) != 2 {
		t.Fatalf("change: %+v", ch)
	}
	if c := ch.Contacts[1]; c.Phone != "" || c.UserID != "US.13491208655302741918" || c.Username != "kerry.f" {
		t.Errorf("user-id-only contact: %+v", c)
	}
	want := map[string]string{
		"wamid.A1":  "Hello, is this in stock?",
		"wamid.A2":  "and me?",
		"wamid.A3":  "[Image] the red one",
		"wamid.A4":  "[Location] 37.483872, -122.148453 — Main Street Beach, 5 Main Street",
		"wamid.A5":  "Yes please",
		"wamid.A6":  "Stop promotions",
		"wamid.A7":  "[Document] invoice.pdf",
		"wamid.A8":  "[Voice message]",
		"wamid.A10": "[Unsupported message: Message type unknown]",
	}
	got := map[string]string{}
	for _, m := range ch.Messages {
		got[m.ID] = m.Content
		if m.Timestamp.IsZero() || m.Timestamp.Before(time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)) {
			t.Errorf("%s: timestamp %v", m.Type, m.Timestamp)
		}
	}
	for typ, content := range want {
		if got[typ] != content {
			t.Errorf("%s: content %q, want %q", typ, got[typ], content)
		}
	}
	var reaction, system bool
	for _, m := range ch.Messages {
		switch {
		case m.Type == "reaction":
			reaction = m.ReactionTo == "wamid.OUT1" && m.Emoji == "\u2764\ufe0f"
		case m.System != nil:
			system = m.System.Type == "user_changed_number" && m.System.NewPhone == "+12195555358"
		case m.Type == "image":
			if m.Media == nil || m.Media.ID != "1037543291543636" || m.Media.MimeType != "image/jpeg" {
				t.Errorf("image media: %+v", m.Media)
			}
		case m.ID == "wamid.A2":
			if m.From != "" || m.FromUserID != "US.13491208655302741918" {
				t.Errorf("user-id-only message: %+v", m)
			}
		}
	}
	if !reaction || !system {
		t.Errorf("reaction %v, system %v", reaction, system)
	}
}

func TestParseStatusesAndTemplates(t *testing.T) {
	changes, err := cloudapi.Parse(fixture(t, "statuses.json"))
	if err != nil {
		t.Fatal(err)
	}
	sts := changes[0].Statuses
	if len(sts) != 2 {
		t.Fatalf("%d statuses", len(sts))
	}
	if p := sts[0].Pricing; p == nil || p.Category != "utility" || p.Type != "regular" {
		t.Errorf("pricing: %+v", sts[0].Pricing)
	}
	if e := sts[1].Errors; len(e) != 1 || e[0].Code != 131047 || e[0].Details == "" {
		t.Errorf("errors: %+v", sts[1].Errors)
	}
	if sts[1].RecipientPhone != "" || sts[0].RecipientUserID != "US.13491208655302741918" {
		t.Errorf("recipients: %+v", sts)
	}
	tpl := changes[1].Template
	if tpl == nil || tpl.Event != "REJECTED" || tpl.Name != "order_shipped" || tpl.Reason != "INCORRECT_CATEGORY" {
		t.Errorf("template update: %+v", tpl)
	}
}

func TestParseRefusesOtherObjects(t *testing.T) {
	if _, err := cloudapi.Parse([]byte(`{"object":"page","entry":[]}`)); !errors.Is(err, cloudapi.ErrNotWhatsApp) {
		t.Errorf("page webhook: %v", err)
	}
	if _, err := cloudapi.Parse([]byte(`{"object":`)); err == nil {
		t.Error("broken JSON parsed")
	}
}

// FuzzParse: whatever arrives, Parse returns changes or an error and
// never panics; what it returns keeps contents within the transcript's
// limit.
func FuzzParse(f *testing.F) {
	for _, name := range []string{"messages.json", "statuses.json"} {
		f.Add(fixture(f, name))
	}
	f.Add([]byte(`{"object":"whatsapp_business_account","entry":[{"changes":[{"field":"messages","value":{"messages":[{"type":"text"}]}}]}]}`))
	f.Add([]byte(`{"object":"whatsapp_business_account","entry":[{"changes":[{"value":null}]}]}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		changes, err := cloudapi.Parse(body)
		if err != nil {
			return
		}
		for _, ch := range changes {
			if ch.Unreadable != "" && !json.Valid(ch.Raw) {
				t.Fatalf("an unreadable change kept as invalid JSON: %q", ch.Raw)
			}
			// What is kept can be stored: valid UTF-8, no NUL in any string.
			if len(ch.Raw) > 0 {
				var v any
				if !utf8.Valid(ch.Raw) || json.Unmarshal(ch.Raw, &v) != nil || strings.ContainsRune(fmt.Sprint(v), 0) {
					t.Fatalf("change kept unstorable: %q", ch.Raw)
				}
			}
			for _, st := range ch.Statuses {
				if len(st.ID) > 512 || len(st.RecipientUserID) > 512 {
					t.Fatalf("a status id of %d bytes", len(st.ID))
				}
			}
			for _, m := range ch.Messages {
				if len(m.ID) > 512 || len(m.FromUserID) > 512 {
					t.Fatalf("a message id of %d bytes", len(m.ID))
				}
				if len([]rune(m.Content)) > 4096 {
					t.Fatalf("content of %d characters", len([]rune(m.Content)))
				}
				if m.Content == "" && m.System == nil && m.Type != "reaction" {
					t.Fatalf("message without content: %+v", m)
				}
			}
		}
	})
}

// TestParseUnreadType: a message of a type Parley does not read (an
// order from a catalog) is kept with a placeholder and is not one the
// assistant answers; a text beside it is.
func TestParseUnreadType(t *testing.T) {
	body := []byte(`{"object":"whatsapp_business_account","entry":[{"id":"102290129340398","changes":[{"field":"messages","value":{
		"messaging_product":"whatsapp","metadata":{"display_phone_number":"15550783881","phone_number_id":"106540352242922"},
		"contacts":[{"profile":{"name":"Sheena Nelson"},"wa_id":"16505551234"}],
		"messages":[
			{"from":"16505551234","id":"wamid.O1","timestamp":"1749416383","type":"order",
			 "order":{"catalog_id":"194836987003835","text":"Please deliver today","product_items":[{"product_retailer_id":"di9ozbzfi4","quantity":1,"item_price":30,"currency":"USD"}]}},
			{"from":"16505551234","id":"wamid.T1","timestamp":"1749416384","type":"text","text":{"body":"Did my order arrive?"}}]}}]}]}`)
	changes, err := cloudapi.Parse(body)
	if err != nil {
		t.Fatal(err)
	}
	msgs := changes[0].Messages
	if len(msgs) != 2 {
		t.Fatalf("%d messages", len(msgs))
	}
	if m := msgs[0]; m.Content != "[Unsupported message: order]" || m.Conversational() {
		t.Errorf("order: %q, conversational %v", m.Content, m.Conversational())
	}
	if m := msgs[1]; !m.Conversational() {
		t.Errorf("text not conversational: %+v", m)
	}
}

// TestParseKeepsWhatCanBeRead: a message with a field of another JSON
// type, a status with an id longer than any of Meta's and a contact that
// is not an object cost only themselves: the rest of their change and
// of the delivery is read, and the change names what was left out. A
// change whose value cannot be read at all still gives the number it
// came to when that much can be read; an entry id sent as a number is
// read as its digits.
func TestParseKeepsWhatCanBeRead(t *testing.T) {
	long := strings.Repeat("A", 3000)
	body := []byte(`{"object":"whatsapp_business_account","entry":[{"id":102290129340398,"changes":[
		{"field":"messages","value":{"messaging_product":"whatsapp",
			"metadata":{"display_phone_number":"15550783881","phone_number_id":"106540352242922"},
			"contacts":[7,{"profile":{"name":"Sheena Nelson"},"wa_id":"16505551234"}],
			"messages":[{"from":"16505551234","id":"wamid.BAD","timestamp":1749416383,"type":"text","text":{"body":"typed"}},
				{"from":"16505551234","id":"wamid.GOOD","timestamp":"1749416383","type":"text","text":{"body":"hello"}},
				{"from":"16505551234","id":"wamid.` + long + `","timestamp":"1749416383","type":"text","text":{"body":"long"}}],
			"statuses":[{"id":"wamid.` + long + `","status":"read","timestamp":"1749416383","recipient_id":"16505551234"},
				{"id":"wamid.S1","status":"delivered","timestamp":"1749416383","recipient_id":"16505551234"}]}},
		{"field":"messages","value":{"metadata":{"phone_number_id":"106540352242922","display_phone_number":15550783881},
			"messages":[{"from":"16505551234","id":"wamid.LOST","timestamp":"1749416383","type":"text","text":{"body":"x"}}]}},
		{"field":"messages","value":{"metadata":"not an object"}}]},
		"not an entry",
		{"id":"102290129340398","changes":{"field":"messages"}}]}`)
	changes, err := cloudapi.Parse(body)
	if err != nil {
		t.Fatal(err)
	}
	if len(changes) != 5 {
		t.Fatalf("%d changes, want 5", len(changes))
	}
	ch := changes[0]
	if ch.WABAID != "102290129340398" || ch.PhoneNumberID != "106540352242922" {
		t.Errorf("routing: %q %q", ch.WABAID, ch.PhoneNumberID)
	}
	if len(ch.Messages) != 1 || ch.Messages[0].ID != "wamid.GOOD" || len(ch.Statuses) != 1 || ch.Statuses[0].ID != "wamid.S1" ||
		len(ch.Contacts) != 1 || ch.Contacts[0].Name != "Sheena Nelson" {
		t.Errorf("readable parts: %+v", ch)
	}
	for _, want := range []string{"contacts[0]", "messages[0]: timestamp is a JSON number", "messages[2]: an id too long", "statuses[0]: an id too long"} {
		if !strings.Contains(ch.Unreadable, want) {
			t.Errorf("unreadable %q does not name %q", ch.Unreadable, want)
		}
	}
	if !strings.Contains(string(ch.Raw), "wamid.BAD") || !json.Valid(ch.Raw) {
		t.Errorf("the change is not kept whole: %.200s", ch.Raw)
	}
	if c := changes[1]; c.PhoneNumberID != "106540352242922" || len(c.Messages) != 0 || !strings.Contains(c.Unreadable, "value") {
		t.Errorf("unreadable value: %+v", c)
	}
	if c := changes[2]; c.PhoneNumberID != "" || c.Unreadable == "" {
		t.Errorf("unreadable metadata: %+v", c)
	}
	if c := changes[3]; !strings.HasPrefix(c.Unreadable, "entry") || string(c.Raw) != `"not an entry"` {
		t.Errorf("unreadable entry: %+v", c)
	}
	// An entry whose changes cannot be read keeps its account, so the
	// account's workspace sees it.
	if c := changes[4]; !strings.HasPrefix(c.Unreadable, "entry") || c.WABAID != "102290129340398" {
		t.Errorf("entry with unreadable changes: %+v", c)
	}
	// A message that names no sender (no from, from_user_id or single
	// contact) cannot be threaded: it is left out, not stored without a
	// customer; an identity notice naming the former user id is not.
	anon, err := cloudapi.Parse([]byte(`{"object":"whatsapp_business_account","entry":[{"id":"1","changes":[{"field":"messages","value":{
		"metadata":{"phone_number_id":"106540352242922"},
		"messages":[{"id":"wamid.ANON","timestamp":"1749416383","type":"text","text":{"body":"who am I"}},
			{"from":"not a phone","id":"wamid.ANON2","timestamp":"1749416383","type":"text","text":{"body":"?"}},
			{"id":"wamid.SYS","timestamp":"1749416383","type":"system","system":{"type":"user_changed_user_id","previous_user_id":"US.1","user_id":"US.2","body":"changed"}}]}}]}]}`))
	if err != nil {
		t.Fatal(err)
	}
	if c := anon[0]; len(c.Messages) != 1 || c.Messages[0].ID != "wamid.SYS" ||
		!strings.Contains(c.Unreadable, "messages[0]: no sender") || !strings.Contains(c.Unreadable, "messages[1]: no sender") {
		t.Errorf("messages without a sender: %+v", c)
	}
	// A delivery all of whose parts read has nothing unreadable.
	for _, name := range []string{"messages.json", "statuses.json"} {
		changes, err := cloudapi.Parse(fixture(t, name))
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range changes {
			if c.Unreadable != "" {
				t.Errorf("%s: %s", name, c.Unreadable)
			}
		}
	}
}

// TestParseOlderPricing: a status of the conversation-based pricing days
// (no type, billable false) keeps the flag, so its fee is none.
func TestParseOlderPricing(t *testing.T) {
	changes, err := cloudapi.Parse([]byte(`{"object":"whatsapp_business_account","entry":[{"id":"1","changes":[{"field":"messages","value":{
		"metadata":{"phone_number_id":"106540352242922"},
		"statuses":[{"id":"wamid.OLD","status":"delivered","timestamp":"1749416383","recipient_id":"16505551234",
			"pricing":{"billable":false,"pricing_model":"CBP","category":"service"}},
			{"id":"wamid.NEW","status":"delivered","timestamp":"1749416383","recipient_id":"16505551234",
			"pricing":{"billable":false,"pricing_model":"PMP","category":"utility","type":"regular"}}]}}]}]}`))
	if err != nil {
		t.Fatal(err)
	}
	old, cur := changes[0].Statuses[0].Pricing, changes[0].Statuses[1].Pricing
	if old == nil || !old.Free() || old.Category != "service" {
		t.Errorf("older pricing: %+v", old)
	}
	if cur == nil || cur.Free() || cur.Billable != nil {
		t.Errorf("a typed pricing follows its type: %+v", cur)
	}
}
