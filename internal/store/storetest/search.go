package storetest

import (
	"context"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/parley-dev/parley/internal/conversation"
	"github.com/parley-dev/parley/internal/page"
	"github.com/parley-dev/parley/internal/store"
)

// testSearchLanguages holds both stores to the same answers for text that
// spaces do not split into words (Chinese, Japanese, Korean) and for
// German and accented spellings, through every search plan: the index
// first, and walking conversations narrowed by a phone number.
func testSearchLanguages(t *testing.T, s store.Store) {
	ctx := context.Background()
	f := newFixture(t, s)
	const phone = "+815012345678"
	texts := map[string]string{
		"tokyo":   "東京で会いましょう",
		"library": "図書館で本を借りた。",
		"coffee":  "コーヒーを注文したい",
		"seoul":   "서울에서 만나요",
		"strasse": "Die Straße ist gesperrt.",
		"street":  "I live on Main strasse",
		"cafe":    "Café Müller opens at nine",
		"plain":   "the cafe is closed",
		"both":    "東京と京都に行った", // 東京 and 京都, but not 東京都
		"weather": "今日は天気がいい",
		"phone":   "新しいiPhone15を買った",
	}
	id := map[string]string{}
	for _, k := range []string{"tokyo", "library", "coffee", "seoul", "strasse", "street", "cafe", "plain", "both", "weather", "phone"} {
		c := f.conv(t, func(c *conversation.Conversation) { c.Customer.Phone = phone }, msg(conversation.RoleUser, texts[k], f.clock))
		id[k] = c.ID
	}
	named := f.conv(t, func(c *conversation.Conversation) {
		c.Customer = conversation.Customer{Name: "山田太郎", Email: "Jürgen.Groß@example.de"}
	})
	id["named"] = named.ID
	desc := conversation.Order{Sort: conversation.SortCreatedAt, Desc: true}
	for _, tc := range []struct {
		q    string
		want []string // newest first
	}{
		{"東京", []string{"both", "tokyo"}},          // a two-character word inside a run
		{"京都", []string{"both"}},                   //
		{"東京都", nil},                               // its bigrams are there, but not side by side
		{"図書館", []string{"library"}},               // three characters
		{"会いましょう", []string{"tokyo"}},              // kanji and hiragana
		{"京", []string{"both", "tokyo"}},           // one character: inside a run and before its end
		{"う", []string{"tokyo"}},                   // one character at a run's end
		{"ｺｰﾋｰ", []string{"coffee"}},               // half-width katakana
		{"コーヒー 注文", []string{"coffee"}},            // katakana, and a kanji word
		{"서울", []string{"seoul"}},                  // Korean with a particle glued on
		{"서울역", nil},                               //
		{"天気", []string{"weather"}},                //
		{"大阪", nil},                                // an unrelated CJK word
		{"iphone15", []string{"phone"}},            // Latin inside a CJK run
		{"しいiPhone15", []string{"phone"}},          // a CJK run's end, then Latin
		{"山田", []string{"named"}},                  // customer name
		{"strasse", []string{"street", "strasse"}}, // ss finds ß
		{"Straße", []string{"street", "strasse"}},  // ß finds ss
		{"STRASSE", []string{"street", "strasse"}}, //
		{"gross", []string{"named"}},               // in an email address
		{"cafe", []string{"plain", "cafe"}},        // accents ignored both ways
		{"CAFÉ", []string{"plain", "cafe"}},        //
		{"cafe\u0301", []string{"plain", "cafe"}},  // a decomposed accent
		{"muller", []string{"cafe"}},               //
		{"Müller", []string{"cafe"}},               //
		{"jurgen", []string{"named"}},              //
		{"東京 cafe", nil},                           // every word must appear
		{"gesperrt straße", []string{"strasse"}},   //
		{"strass*", []string{"street", "strasse"}}, // a prefix reaches ß too
		{"Stra*", []string{"street", "strasse"}},   //
		{"\u6771\u4eac\u3067", []string{"tokyo"}},  // 東京で, spelled out
		{"東京で会い", []string{"tokyo"}},               //
	} {
		want := make([]string, 0, len(tc.want))
		for _, k := range tc.want {
			want = append(want, id[k])
		}
		for _, filter := range []conversation.Filter{{Query: tc.q}, {Query: tc.q, CustomerPhone: phone}} {
			rows, err := s.ListConversations(ctx, f.ws, filter, desc, page.Request{Limit: 20})
			must(t, err)
			wantHere := want
			if filter.CustomerPhone != "" && len(want) > 0 && want[0] == id["named"] {
				wantHere = []string{}
			}
			if diff := cmp.Diff(wantHere, idsOf(rows)); diff != "" {
				t.Errorf("q=%q phone=%q (-want +got):\n%s", tc.q, filter.CustomerPhone, diff)
			}
		}
		counts, err := s.CountConversations(ctx, f.ws, conversation.Filter{Query: tc.q})
		must(t, err)
		if counts.Total != int64(len(want)) {
			t.Errorf("q=%q: count %d, want %d", tc.q, counts.Total, len(want))
		}
	}
}
