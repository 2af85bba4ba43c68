package store_test

import (
	"slices"
	"testing"

	"github.com/parley-dev/parley/internal/conversation"
	"github.com/parley-dev/parley/internal/store"
)

func TestTermKinds(t *testing.T) {
	seen := map[int]bool{}
	for _, typ := range conversation.Types {
		for _, st := range []string{conversation.StatusActive, conversation.StatusEnded} {
			k := store.TermKind(typ, st)
			if seen[k] || store.TermKindType(k) != typ {
				t.Errorf("TermKind(%s, %s) = %d: taken, or its type is %s", typ, st, k, store.TermKindType(k))
			}
			seen[k] = true
		}
	}
	for _, tc := range []struct {
		f    conversation.Filter
		want []int
	}{
		{conversation.Filter{}, []int{0, 1, 2, 3, 4, 5, 6, 7}},
		{conversation.Filter{Status: conversation.StatusEnded}, []int{1, 3, 5, 7}},
		{conversation.Filter{Types: []string{conversation.TypeAPI, conversation.TypeTest, conversation.TypeAPI}}, []int{0, 1, 6, 7}},
		{conversation.Filter{Types: []string{conversation.TypeWidget}, Status: conversation.StatusActive}, []int{2}},
		{conversation.Filter{Types: []string{"fax"}}, nil},
	} {
		if got := store.TermKinds(tc.f); !slices.Equal(got, tc.want) {
			t.Errorf("TermKinds(%+v) = %v, want %v", tc.f, got, tc.want)
		}
	}
}
