package store

import (
	"slices"
	"strconv"
	"strings"

	"github.com/parley-dev/parley/internal/conversation"
)

// Both stores keep conversation_terms (migration 0018): each term a
// conversation's messages and customer fields hold, once, keyed by
// workspace, term, kind and conversation, where the kind packs the
// conversation's type and status into one small integer, so that counts
// with a word and those filters read index ranges and each row stays a
// few bytes. The migrations' backfills spell the same packing in SQL;
// the conformance suite holds them to it.

// TermKind is the kind of a conversation of type typ and status st: the
// type's position in conversation.Types times two, plus one when ended.
func TermKind(typ, st string) int {
	k := slices.Index(conversation.Types, typ) * 2
	if st == conversation.StatusEnded {
		k++
	}
	return k
}

// TermKindType is the conversation type of a kind.
func TermKindType(kind int) string { return conversation.Types[kind/2] }

// TermKinds returns the kinds a count with filter f reads: its types
// (every type when it names none) with its status (both when it names
// none).
func TermKinds(f conversation.Filter) []int {
	types := conversation.Types
	if len(f.Types) > 0 {
		types = f.Types
	}
	var out []int
	for _, t := range types {
		if !slices.Contains(conversation.Types, t) {
			continue
		}
		for _, st := range []string{conversation.StatusActive, conversation.StatusEnded} {
			if f.Status == "" || f.Status == st {
				out = append(out, TermKind(t, st))
			}
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// TermKindSQL is an SQL expression of the kind of the conversation whose
// type and status columns are typ and st (e.g. "c.type", "c.status").
func TermKindSQL(typ, st string) string {
	var b strings.Builder
	b.WriteString("(CASE " + typ)
	for i, t := range conversation.Types {
		b.WriteString(" WHEN '" + t + "' THEN " + strconv.Itoa(i*2))
	}
	b.WriteString(" END + CASE WHEN " + st + " = '" + conversation.StatusEnded + "' THEN 1 ELSE 0 END)")
	return b.String()
}
