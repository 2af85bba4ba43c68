package httpapi_test

import (
	"fmt"
	"net/url"
	"testing"

	"github.com/parley-dev/parley/internal/apptest"
)

// TestSearchScripts searches through the API for words that spaces do not
// delimit (Japanese, Korean) and for German and accented spellings; the
// list and the count agree.
func TestSearchScripts(t *testing.T) {
	s := apptest.Start(t, testDB(t))
	tokyo := newConversation(t, s, s.Key, nil)
	s.Do("POST", "/api/v1/conversations/"+tokyo+"/messages", s.Key, map[string]any{"content": "東京で会いましょう"}).Want(201)
	street := newConversation(t, s, s.Key, nil)
	s.Do("POST", "/api/v1/conversations/"+street+"/messages", s.Key, map[string]any{"content": "Die Straße ist gesperrt"}).Want(201)
	seoul := newConversation(t, s, s.Key, map[string]any{"customer": map[string]any{"name": "서울에서 김민수"}})
	cafe := newConversation(t, s, s.Key, map[string]any{"customer": map[string]any{"name": "Café Müller"}})
	for _, tc := range []struct {
		q    string
		want []string
	}{
		{"東京", []string{tokyo}},
		{"会いましょう", []string{tokyo}},
		{"京都", nil},
		{"서울", []string{seoul}},
		{"strasse", []string{street}},
		{"STRASSE gesperrt", []string{street}},
		{"cafe muller", []string{cafe}},
		{"café", []string{cafe}},
	} {
		r := s.Do("GET", "/api/v1/conversations?q="+url.QueryEscape(tc.q), s.Key, nil).Want(200)
		var got []string
		for _, d := range r.Get("data").([]any) {
			got = append(got, d.(map[string]any)["id"].(string))
		}
		if fmt.Sprint(got) != fmt.Sprint(tc.want) {
			t.Errorf("q=%s: %v, want %v", tc.q, got, tc.want)
		}
		n := s.Do("GET", "/api/v1/conversations/count?q="+url.QueryEscape(tc.q), s.Key, nil).Want(200).Get("total")
		if n != float64(len(tc.want)) {
			t.Errorf("count q=%s: %v, want %d", tc.q, n, len(tc.want))
		}
	}
}
