package offline

import (
	"context"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/parley-dev/parley/internal/llm"
)

func TestExtractRules(t *testing.T) {
	transcript := []llm.Message{
		{Role: llm.RoleUser, Content: "Hello, I'm Ada Lovelace, email ada@example.com"},
		{Role: llm.RoleAssistant, Content: "How many bags would you like? My email is bot@example.com"},
		{Role: llm.RoleUser, Content: "I need 3 bags of dark roast, delivery on 2026-12-24"},
		{Role: llm.RoleUser, Content: "No gift wrapping, thanks. Call me on +44 20 7946 0958"},
	}
	fields := []llm.Field{
		{Name: "customer_name", Type: llm.FieldString},
		{Name: "email", Type: llm.FieldString},
		{Name: "phone", Type: llm.FieldString},
		{Name: "bags", Type: llm.FieldNumber, Description: "How many bags"},
		{Name: "roast", Type: llm.FieldEnum, Values: []string{"light", "medium", "dark"}},
		{Name: "delivery_date", Type: llm.FieldDate},
		{Name: "gift_wrapping", Type: llm.FieldBoolean, Description: "Wants gift wrapping"},
		{Name: "budget", Type: llm.FieldNumber},
		{Name: "status", Type: llm.FieldEnum, Values: []string{"resolved", "unresolved"}},
	}
	resp, err := New().Extract(context.Background(), llm.ExtractRequest{Model: Name, Transcript: transcript, Fields: fields})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]any{
		"customer_name": "Ada Lovelace", "email": "ada@example.com", "phone": "+44 20 7946 0958", "bags": 3.0,
		"roast": "dark", "delivery_date": "2026-12-24", "gift_wrapping": false, "status": "resolved",
	}
	if diff := cmp.Diff(want, resp.Values); diff != "" {
		t.Errorf("values (-want +got):\n%s", diff)
	}
	if resp.Usage.InputTokens == 0 || resp.Model != Name {
		t.Errorf("usage %+v model %q", resp.Usage, resp.Model)
	}
}
