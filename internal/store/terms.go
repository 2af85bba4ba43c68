package store

import (
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/parley-dev/parley/internal/conversation"
)

// Both stores keep conversation_terms (migrations 0018 and 0020): each
// term a conversation's messages and customer fields hold, once, keyed by
// workspace, term, source, kind, creation day and conversation. The kind
// packs the conversation's type and status into one small integer; the
// source is the conversation's (assistant, WhatsApp sender) pair;
// workspaces and sources take small integer keys. Counts with a word and
// any of those filters thus read index ranges, and each row stays a few
// bytes. The migrations' backfills spell the same packing in SQL; the
// conformance suite holds them to it.

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

// TermRange is one part of a count with a word and a created range, as
// conversation_terms answers it: the entries of days [DayFrom, DayTo)
// (nil: unbounded), and, when Exact is set, only those whose conversation
// was created in [CreatedFrom, CreatedTo), checked on its row. The whole
// days of the range need no check; its partial first and last days
// (conversation.Filter.PlanCount) do, so the rows read are at most those
// two days' entries.
type TermRange struct {
	DayFrom, DayTo         *int64
	Exact                  bool
	CreatedFrom, CreatedTo time.Time
}

// TermRanges splits f's created range into the TermRanges that count it:
// one unbounded range without a created filter.
func TermRanges(f conversation.Filter) []TermRange {
	plan := f.PlanCount()
	var out []TermRange
	if plan.FromDay == nil || plan.ToDay == nil || *plan.FromDay < *plan.ToDay {
		out = append(out, TermRange{DayFrom: plan.FromDay, DayTo: plan.ToDay})
	}
	for _, p := range plan.Partial {
		// PlanCount bounds every partial range on both sides.
		lo, hi := conversation.DayOf(*p.CreatedFrom), conversation.DayOf(p.CreatedTo.Add(-time.Millisecond))+1
		out = append(out, TermRange{DayFrom: &lo, DayTo: &hi, Exact: true, CreatedFrom: *p.CreatedFrom, CreatedTo: *p.CreatedTo})
	}
	return out
}

// TermDays is the range of whole days that covers f's created range (nil
// bounds where f has none), its partial first and last days whole: the
// candidates of a search, whose rows' created_at then decides.
func TermDays(f conversation.Filter) TermRange {
	var r TermRange
	if f.CreatedFrom != nil {
		from := conversation.DayOf(*f.CreatedFrom)
		r.DayFrom = &from
	}
	if f.CreatedTo != nil {
		to := conversation.DayOf(f.CreatedTo.Add(-time.Millisecond)) + 1
		r.DayTo = &to
	}
	return r
}
