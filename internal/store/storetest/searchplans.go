package storetest

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/parley-dev/parley/internal/conversation"
	"github.com/parley-dev/parley/internal/store"
)

// RunSearch runs the suite's search and search-count tests only, for
// adapters that rerun them with each of their search plans forced.
func RunSearch(t *testing.T, open Opener) {
	for _, tc := range []struct {
		name string
		fn   func(t *testing.T, s store.Store)
	}{
		{"ConversationSearch", testSearch},
		{"ConversationSearchFilters", testSearchFilters},
		{"ConversationCountQueryBound", testCountQueryBound},
		{"ConversationSearchLanguages", testSearchLanguages},
		{"ConversationCountTermsKept", testCountTermsKept},
		{"ConversationCountTermsRandom", testCountTermsRandom},
		{"ConversationCountTermsWords", testCountTermsWords},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := open(t)
			if err := s.Migrate(context.Background()); err != nil {
				t.Fatalf("migrate: %v", err)
			}
			tc.fn(t, s)
		})
	}
}

// testSearchFilters checks searches and counts with a text query against
// every filter the API allows, small and large, alone and combined, on
// both pages directions and with a count bound: whatever plan a store
// picks (walking the word's hits or the filter's conversations), the
// answers are those computed here row by row.
func testSearchFilters(t *testing.T, s store.Store) {
	ctx := context.Background()
	f := newFixture(t, s)
	small := newAssistant(t, s, f.ws, "Small")
	type row struct {
		c    *conversation.Conversation
		text string
	}
	var rows []row
	types := []string{conversation.TypeAPI, conversation.TypeTest, conversation.TypeWidget}
	for i := range 36 {
		text := "nothing to see"
		switch {
		case i == 17:
			text = "a rare zebra"
		case i%9 == 0:
			text = "one café please"
		case i%2 == 0:
			text = "my parcel is late"
		}
		c := f.conv(t, func(c *conversation.Conversation) {
			c.Type = types[i%3]
			if i%6 == 0 {
				c.AssistantID, c.AssistantName = small.ID, small.Name
			}
			if i%4 == 0 {
				c.Status = conversation.StatusEnded
			}
			if i%5 == 0 {
				c.Customer.Phone = "+15550001111"
			}
			if i%7 == 0 {
				c.ExternalIdentifier = fmt.Sprintf("ext-%d", i)
			}
		}, msg(conversation.RoleUser, text, i))
		if i%2 == 0 { // several hits in one conversation
			_, err := s.AppendMessages(ctx, f.ws, c.ID, []*conversation.Message{msg(conversation.RoleAssistant, text+" again", 100+i)})
			must(t, err)
		}
		rows = append(rows, row{c, text})
	}
	from, to := at(10), at(25)
	filters := []conversation.Filter{
		{},
		{Types: []string{conversation.TypeTest}},
		{Types: []string{conversation.TypeAPI, conversation.TypeWidget}, Status: conversation.StatusActive},
		{AssistantID: small.ID},
		{AssistantID: small.ID, Status: conversation.StatusEnded},
		{AssistantID: f.asst.ID, Types: []string{conversation.TypeWidget}},
		{Status: conversation.StatusEnded},
		{CreatedFrom: &from, CreatedTo: &to},
		{CreatedFrom: &from, Status: conversation.StatusActive},
		{CustomerPhone: "+15550001111"},
		{CustomerPhone: "+15550001111", Status: conversation.StatusEnded},
		{ExternalIdentifier: "ext-14"},
		{ExternalIdentifier: "ext-18"},
	}
	keep := func(f conversation.Filter, r row, word string) bool {
		c := r.c
		switch {
		case len(f.Types) > 0 && !slices.Contains(f.Types, c.Type),
			f.AssistantID != "" && c.AssistantID != f.AssistantID,
			f.Status != "" && c.Status != f.Status,
			f.CustomerPhone != "" && c.Customer.Phone != f.CustomerPhone,
			f.ExternalIdentifier != "" && c.ExternalIdentifier != f.ExternalIdentifier,
			f.CreatedFrom != nil && c.CreatedAt.Before(*f.CreatedFrom),
			f.CreatedTo != nil && !c.CreatedAt.Before(*f.CreatedTo):
			return false
		}
		if prefix, ok := strings.CutSuffix(word, "*"); ok {
			return slices.ContainsFunc(strings.Fields(r.text), func(w string) bool { return strings.HasPrefix(w, prefix) })
		}
		return slices.Contains(strings.Fields(r.text), word)
	}
	desc := conversation.Order{Sort: conversation.SortCreatedAt, Desc: true}
	asc := conversation.Order{Sort: conversation.SortCreatedAt}
	for _, flt := range filters {
		for _, word := range []string{"parcel", "zebra", "café", "parc*", "nothing", "absent"} {
			flt := flt
			flt.Query = word
			var want []string
			for i := len(rows) - 1; i >= 0; i-- {
				if keep(flt, rows[i], word) {
					want = append(want, rows[i].c.ID)
				}
			}
			name := fmt.Sprintf("q=%s %+v", word, describeFilter(flt))
			t.Run(name, func(t *testing.T) {
				listAll(t, s, f.ws, flt, desc, want)
				rev := slices.Clone(want)
				slices.Reverse(rev)
				listAll(t, s, f.ws, flt, asc, rev)
				for _, limit := range []int{0, 3} {
					flt.CountLimit = limit
					got, err := s.CountConversations(ctx, f.ws, flt)
					must(t, err)
					total, lower := int64(len(want)), false
					if limit > 0 && total > int64(limit) {
						total, lower = int64(limit), true
					}
					var sum int64
					for _, n := range got.ByType {
						sum += n
					}
					if got.Total != total || got.TotalIsLowerBound != lower || sum != got.Total {
						t.Errorf("count (limit %d): %+v, want total %d, lower bound %v", limit, got, total, lower)
					}
				}
			})
		}
	}
}

func describeFilter(f conversation.Filter) string {
	var parts []string
	if len(f.Types) > 0 {
		parts = append(parts, "type="+strings.Join(f.Types, ","))
	}
	for _, kv := range [][2]string{{"assistant", f.AssistantID}, {"status", f.Status}, {"phone", f.CustomerPhone}, {"ext", f.ExternalIdentifier}} {
		if kv[1] != "" {
			parts = append(parts, kv[0]+"="+kv[1])
		}
	}
	if f.CreatedFrom != nil {
		parts = append(parts, "from="+f.CreatedFrom.Format(time.TimeOnly))
	}
	if f.CreatedTo != nil {
		parts = append(parts, "to="+f.CreatedTo.Format(time.TimeOnly))
	}
	return strings.Join(parts, "&")
}
