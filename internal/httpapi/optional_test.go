package httpapi

import (
	"encoding/json"
	"reflect"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/parley-dev/parley/internal/assistant"
)

// TestAssistantInputMirrorsSettings keeps the API's assistant input in
// step with assistant.Settings: a setting added there and not here would
// be refused as an unknown field, one removed there would be accepted
// and ignored here.
func TestAssistantInputMirrorsSettings(t *testing.T) {
	for _, pair := range []struct{ input, settings any }{
		{assistantInput{}, assistant.Settings{}},
		{widgetInput{}, assistant.Widget{}},
	} {
		if diff := cmp.Diff(jsonNames(pair.settings), jsonNames(pair.input)); diff != "" {
			t.Errorf("%T and %T differ (-settings +input):\n%s", pair.settings, pair.input, diff)
		}
	}
}

func jsonNames(v any) []string {
	var out []string
	rt := reflect.TypeOf(v)
	for i := range rt.NumField() {
		name, _, _ := strings.Cut(rt.Field(i).Tag.Get("json"), ",")
		out = append(out, name)
	}
	sort.Strings(out)
	return out
}

// TestOptional: left out, null and a value are three different things.
func TestOptional(t *testing.T) {
	var in struct {
		A optional[string] `json:"a"`
		B optional[string] `json:"b"`
		C optional[string] `json:"c"`
	}
	if err := json.Unmarshal([]byte(`{"b":null,"c":"x"}`), &in); err != nil {
		t.Fatal(err)
	}
	if in.A.Set || !in.B.Set || !in.B.Null || !in.C.Set || in.C.Null || in.C.Value != "x" {
		t.Errorf("decoded %+v", in)
	}
	got := "old"
	in.A.put(&got, "default")
	if got != "old" {
		t.Errorf("left out: %q", got)
	}
	in.B.put(&got, "default")
	if got != "default" {
		t.Errorf("null: %q", got)
	}
	in.C.put(&got, "default")
	if got != "x" {
		t.Errorf("value: %q", got)
	}
}
