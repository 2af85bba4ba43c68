package httpapi

import (
	"reflect"
	"slices"
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
	// The identity secret is written (identity_secret) but only whether
	// one is set is shown (identity_secret_set).
	widgetNames := slices.DeleteFunc(jsonNames(assistant.Widget{}), func(n string) bool { return n == "-" || n == "identity_secret_set" })
	widgetNames = append(widgetNames, "identity_secret")
	sort.Strings(widgetNames)
	for _, pair := range []struct {
		input    any
		settings []string
	}{
		{assistantInput{}, jsonNames(assistant.Settings{})},
		{widgetInput{}, widgetNames},
	} {
		if diff := cmp.Diff(pair.settings, jsonNames(pair.input)); diff != "" {
			t.Errorf("%T and the settings differ (-settings +input):\n%s", pair.input, diff)
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
