package web

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/parley-dev/parley/internal/conversation"
	"github.com/parley-dev/parley/internal/llm"
	"github.com/parley-dev/parley/internal/money"
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
	cost, lat := money.Money(412500), int64(830)
	conv := &conversation.Conversation{ID: "conv_01golden", Type: conversation.TypeWhatsApp, Status: conversation.StatusEnded,
		AssistantName: "Demo <Assistant>", Customer: conversation.Customer{Name: "مريم 山田", Phone: "+4915112345678"},
		Variables:    map[string]conversation.Variable{"plan": {Value: "gold", Type: "string", Source: conversation.SourceAPI}, "budget": {Value: 1200.5, Type: "number", Source: conversation.SourceExtracted}},
		MessageCount: 12, Usage: llm.Usage{TotalTokens: 123456}, TotalCost: money.Money(1_234_567_890), CostComplete: false,
		LastMessage: &conversation.LastMessage{Role: "user", Preview: strings.Repeat("long text ", 20)}, CreatedAt: at, UpdatedAt: at.Add(time.Hour)}
	msg := &conversation.Message{ID: "msg_01golden", Role: conversation.RoleAssistant, Content: "Hello <b>there</b>\nsecond line", CreatedAt: at,
		Model: "gpt-4.1-mini", Usage: &llm.Usage{InputTokens: 100, OutputTokens: 20, TotalTokens: 120}, Cost: &cost, LatencyMS: &lat,
		FinishReason: "stop", Status: "failed", Error: &conversation.MessageError{Code: "131047", Message: "Re-engagement message"}}
	cases := []struct {
		name, page, tmpl string
		data             any
	}{
		{"row", "conversations", "row", conv},
		{"message", "conversation", "message", msg},
		{"side", "conversation", "side", map[string]any{"C": conv}},
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
