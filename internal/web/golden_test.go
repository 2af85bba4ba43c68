package web

import (
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/parley-dev/parley/internal/assistant"
	"github.com/parley-dev/parley/internal/conversation"
	"github.com/parley-dev/parley/internal/llm"
	"github.com/parley-dev/parley/internal/money"
	"github.com/parley-dev/parley/internal/whatsapp"
)

var update = flag.Bool("update", false, "rewrite the golden files of rendered templates")

// TestGolden renders key templates with fixed data and compares them with
// testdata/golden; go test -run TestGolden -update rewrites them.
func TestGolden(t *testing.T) {
	a, err := loadAssets()
	if err != nil {
		t.Fatal(err)
	}
	pages, err := parsePages(a)
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 11, 25, 9, 30, 0, 0, time.UTC)
	cost, lat, fee := money.Money(412500), int64(830), money.Money(12_500_000)
	conv := &conversation.Conversation{ID: "conv_01golden", Type: conversation.TypeWhatsApp, Status: conversation.StatusEnded,
		AssistantName: "Demo <Assistant>", Customer: conversation.Customer{Name: "مريم 山田", Phone: "+4915112345678"},
		Variables:    map[string]conversation.Variable{"plan": {Value: "gold", Type: "string", Source: conversation.SourceAPI}, "budget": {Value: 1200.5, Type: "number", Source: conversation.SourceExtracted}},
		MessageCount: 12, Usage: llm.Usage{TotalTokens: 123456}, TotalCost: money.Money(1_234_567_890), CostComplete: false,
		LastMessage: &conversation.LastMessage{Role: "user", Preview: strings.Repeat("long text ", 20)}, CreatedAt: at, UpdatedAt: at.Add(time.Hour)}
	msg := &conversation.Message{ID: "msg_01golden", Role: conversation.RoleAssistant, Content: "Hello <b>there</b>\nsecond line", CreatedAt: at,
		Model: "gpt-4.1-mini", Usage: &llm.Usage{InputTokens: 100, OutputTokens: 20, TotalTokens: 120}, Cost: &cost, LatencyMS: &lat,
		FinishReason: "stop", Status: "failed", Error: &conversation.MessageError{Code: "131047", Message: "Re-engagement message"}}
	lastWrote := at.Add(-20*time.Hour - 48*time.Minute)
	snd := &whatsapp.Sender{ID: "wa_01golden", Name: "Support <line>", Phone: "+15550001111", PhoneNumberID: "106540352242922",
		WABAID: "102290129340398", AssistantID: "asst_01golden", Status: "CONNECTED", QualityRating: "GREEN", SealedToken: "sealed"}
	body := func(text string) json.RawMessage {
		b, _ := json.Marshal([]map[string]string{{"type": "BODY", "text": text}})
		return b
	}
	tpl := &whatsapp.Template{ID: "tpl_01golden", SenderID: snd.ID, WABAID: snd.WABAID, Name: "order_update", Language: "en_US",
		Category: "utility", Status: "approved", Components: body("Hi {{1}}, order {{2}} has shipped.")}
	tpl2 := &whatsapp.Template{ID: "tpl_02golden", SenderID: snd.ID, WABAID: snd.WABAID, Name: "welcome", Language: "de",
		Category: "marketing", Status: "approved", Components: body("Hallo!")}
	rejected := &whatsapp.Template{ID: "tpl_03golden", SenderID: snd.ID, WABAID: snd.WABAID, Name: "big_sale", Language: "en",
		Category: "marketing", Status: "rejected", Reason: "INVALID_FORMAT", Components: body("Sale <now>!")}
	rate := &whatsapp.Rate{ID: "warate_01golden", Category: "marketing", Market: "44", Price: money.Money(30_500_000), EffectiveFrom: at}
	cases := []struct {
		name, page, tmpl string
		data             any
	}{
		{"row", "conversations", "row", map[string]any{"C": conv, "Checked": true}},
		{"message", "conversation", "message", msg},
		{"message-whatsapp", "conversation", "message", &conversation.Message{ID: "msg_02golden", ConversationID: conv.ID,
			Role: conversation.RoleOperator, Content: "Hi Kerry, order #1042 has shipped.", CreatedAt: at, Status: "delivered",
			Template: &conversation.Template{Name: "order_update", Language: "en_US", Params: []string{"Kerry", "#1042"}},
			Pricing:  &conversation.Pricing{Category: "utility", Type: "regular"}, ChannelCost: &fee}},
		{"side", "conversation", "side", map[string]any{"C": conv}},
		{"window-open", "conversation", "compose", map[string]any{"C": conv, "CSRF": "tok", "Composer": map[string]any{},
			"WA": &waView{Window: whatsapp.WindowAt(&lastWrote, at), Sender: snd}}},
		{"window-closed", "conversation", "compose", map[string]any{"C": conv, "CSRF": "tok", "Composer": map[string]any{}, "CanManage": true,
			"WA": &waView{Window: whatsapp.WindowAt(&lastWrote, at.Add(5*time.Hour)), Sender: snd, Templates: []*whatsapp.Template{tpl, tpl2},
				Selected: tpl, Params: []string{"Kerry"}, ParamsError: "template \"order_update\" takes 2 parameters, 1 given"}}},
		{"whatsapp", "whatsapp", "content", map[string]any{"CSRF": "tok", "CanManage": true, "Senders": []*whatsapp.Sender{snd},
			"Templates": []*whatsapp.Template{tpl, rejected}, "Rates": []*whatsapp.Rate{rate},
			"Assistants":     []*assistant.Assistant{{ID: "asst_01golden", Settings: assistant.Settings{Name: "Demo <Assistant>"}}},
			"AssistantNames": map[string]string{"asst_01golden": "Demo <Assistant>"}, "SenderNames": map[string]string{snd.ID: snd.Name},
			"Setup": WhatsAppSetup{AppSecretSet: true}, "WebhookURL": "https://chat.example.com/webhooks/whatsapp",
			"Categories": []string{"utility", "marketing", "authentication"}, "RateCategories": whatsapp.PricingCategories(),
			"SenderErrors": map[string]string{"phone": "must be a phone number with country code"}, "SenderForm": map[string]string{"name": "Second line"},
			"TemplateErrors": map[string]string{}, "TemplateForm": map[string]string{}, "RateErrors": map[string]string{}, "RateForm": map[string]string{}}},
		{"login", "login", "page", map[string]any{"Error": "Wrong email or password.", "Email": "a@example.com", "Next": "/conversations"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var b strings.Builder
			if err := pages[tc.page].ExecuteTemplate(&b, tc.tmpl, tc.data); err != nil {
				t.Fatal(err)
			}
			path := filepath.Join("testdata", "golden", tc.name+".html")
			if *update {
				if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run with -update to create it)", err)
			}
			if b.String() != string(want) {
				t.Errorf("%s differs from %s (run with -update after checking):\n%s", tc.name, path, b.String())
			}
		})
	}
}
