package httpapi_test

import (
	"net/url"
	"testing"

	"github.com/parley-dev/parley/internal/apptest"
	"github.com/parley-dev/parley/internal/assistant"
)

// GET /model-prices/defaults pages through the whole built-in table by
// pattern and effective_from, so rows that share a pattern (a model's
// price before and after a change) each appear once, in date order.
func TestDefaultPricesPaging(t *testing.T) {
	s := apptest.Start(t, testDB(t))
	type row struct{ pattern, from, input string }
	var got []row
	path := "/api/v1/model-prices/defaults?per_page=7"
	for pages := 0; path != ""; pages++ {
		if pages > 50 {
			t.Fatal("paging does not end")
		}
		r := s.Do("GET", path, s.Key, nil).Want(200)
		for _, d := range r.Get("data").([]any) {
			m := d.(map[string]any)
			if m["builtin"] != true || m["id"] != nil {
				t.Errorf("not a built-in row: %v", m)
			}
			got = append(got, row{m["model_pattern"].(string), m["effective_from"].(string), m["input_per_mtok"].(string)})
		}
		path = ""
		if next := r.Str("next_cursor"); next != "" {
			path = "/api/v1/model-prices/defaults?per_page=7&cursor=" + url.QueryEscape(next)
		}
	}
	table := assistant.BuiltinPrices()
	if len(got) != len(table) {
		t.Fatalf("%d rows over the pages, want %d", len(got), len(table))
	}
	for i, p := range table {
		want := row{p.ModelPattern, p.EffectiveFrom.Format("2006-01-02T15:04:05.000Z"), p.Input.String()}
		if got[i] != want {
			t.Errorf("row %d = %v, want %v", i, got[i], want)
		}
	}
	// o3 before and after its price cut, oldest first.
	var o3 []row
	for _, r := range got {
		if r.pattern == `o3(-\d{4}-\d{2}-\d{2})?` {
			o3 = append(o3, r)
		}
	}
	if len(o3) != 2 || o3[0].input != "10.000000000" || o3[1].input != "2.000000000" {
		t.Errorf("o3 rows: %v", o3)
	}
}
