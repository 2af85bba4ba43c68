package llm

import (
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestParseValues(t *testing.T) {
	fields := []Field{
		{Name: "plan", Type: FieldEnum, Values: []string{"free", "pro"}},
		{Name: "amount", Type: FieldNumber},
		{Name: "renewal", Type: FieldDate},
		{Name: "newsletter", Type: FieldBoolean},
		{Name: "order_id", Type: FieldString},
	}
	want := map[string]any{"plan": "pro", "amount": 42.5, "renewal": "2026-03-01", "newsletter": true, "order_id": "1234"}
	obj := `{"plan": "Pro", "amount": "42.50", "renewal": "2026-03-01T00:00:00Z", "newsletter": "yes", "order_id": 1234}`
	for name, text := range map[string]string{
		"bare":       obj,
		"fenced":     "```json\n" + obj + "\n```",
		"prose":      "Sure! Here is what I found:\n" + obj + "\nLet me know if you need more.",
		"braces":     `Values {not json} then ` + obj,
		"in strings": `{"plan": "pro } {", "amount": 42.5}`,
	} {
		got, err := ParseValues(text, fields)
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if name == "in strings" {
			if got["plan"] != "pro } {" || got["amount"] != 42.5 {
				t.Errorf("%s: %v", name, got)
			}
			continue
		}
		if d := cmp.Diff(want, got); d != "" {
			t.Errorf("%s (-want +got):\n%s", name, d)
		}
	}
	if _, err := ParseValues("I don't know.", fields); !errors.Is(err, ErrNoJSON) {
		t.Errorf("no JSON: %v", err)
	}
	// What cannot be read plainly is left for validation to refuse.
	got, _ := ParseValues(`{"plan": "enterprise", "amount": "lots", "renewal": "next spring", "Plan": "free"}`, fields)
	if got["plan"] != "enterprise" || got["amount"] != "lots" || got["renewal"] != "next spring" {
		t.Errorf("uncoercible values: %v", got)
	}
	// Dates keep the day as written, whatever the offset.
	if v := Coerce("2026-03-01T23:30:00-05:00", Field{Type: FieldDate}); v != "2026-03-01" {
		t.Errorf("date %v", v)
	}
	if v := Coerce("$1,250.00", Field{Type: FieldNumber}); v != 1250.0 {
		t.Errorf("number %v", v)
	}
}
