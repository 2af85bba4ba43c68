package httpapi

import (
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
