package store

import (
	"strings"

	"github.com/parley-dev/parley/internal/conversation"
)

// Both stores keep the conversation counters the same way: per type
// (conversation_counts), per day bucket (conversation_buckets: workspace,
// assistant, type, status, WhatsApp sender phone and UTC day) and per
// month bucket (conversation_months, the same with the month's first day),
// each changed by conversation.CountDelta in the transaction of the change.

// BucketTables are the bucket tables and their period column: the day
// buckets, then the month buckets.
var BucketTables = [2]struct{ Table, Period string }{
	{"conversation_buckets", "day"},
	{"conversation_months", "month"},
}

// BucketDeltas returns delta as each table of BucketTables takes it.
func BucketDeltas(delta conversation.CountDelta) [2]conversation.CountDelta {
	return [2]conversation.CountDelta{delta, delta.Months()}
}

// BucketCountSQL is the query that counts, by type, the conversations of
// workspaceID that f selects (a filter conversation.Filter.BucketCountable
// accepts) in the whole days of span, from the buckets span names. add
// binds a value and returns its placeholder.
func BucketCountSQL(workspaceID string, f conversation.Filter, span conversation.BucketSpan, add func(any) string) string {
	t := BucketTables[0]
	if span.Months {
		t = BucketTables[1]
	}
	var b strings.Builder
	b.WriteString(`SELECT type, CAST(sum(n) AS BIGINT) FROM ` + t.Table + ` WHERE workspace_id = ` + add(workspaceID))
	if f.AssistantID != "" {
		b.WriteString(` AND assistant_id = ` + add(f.AssistantID))
	}
	if f.Status != "" {
		b.WriteString(` AND status = ` + add(f.Status))
	}
	if f.WhatsAppSenderPhone != "" {
		b.WriteString(` AND sender_phone = ` + add(f.WhatsAppSenderPhone))
	}
	if len(f.Types) > 0 {
		b.WriteString(` AND type IN (`)
		for i, typ := range f.Types {
			if i > 0 {
				b.WriteString(`, `)
			}
			b.WriteString(add(typ))
		}
		b.WriteString(`)`)
	}
	if span.From != nil {
		b.WriteString(` AND ` + t.Period + ` >= ` + add(*span.From))
	}
	if span.To != nil {
		b.WriteString(` AND ` + t.Period + ` < ` + add(*span.To))
	}
	b.WriteString(` GROUP BY type`)
	return b.String()
}
