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

// The bucket tables and their period columns.
const (
	dayBuckets, dayPeriod     = "conversation_buckets", "day"
	monthBuckets, monthPeriod = "conversation_months", "month"
)

// BucketChange is the change a conversation.CountDelta makes to one
// bucket table: Delta's buckets (their Day the value of Period) added to
// Table.
type BucketChange struct {
	Table, Period string
	Delta         conversation.CountDelta
}

// BucketChanges returns what delta changes in each bucket table: the day
// buckets, then the month buckets.
func BucketChanges(delta conversation.CountDelta) []BucketChange {
	return []BucketChange{{dayBuckets, dayPeriod, delta}, {monthBuckets, monthPeriod, delta.Months()}}
}

// BucketCountSQL is the query that counts, by type, the conversations of
// workspaceID that f selects (a filter conversation.Filter.BucketCountable
// accepts) in the whole days of span, from the buckets span names. add
// binds a value and returns its placeholder.
func BucketCountSQL(workspaceID string, f conversation.Filter, span conversation.BucketSpan, add func(any) string) string {
	table, period := dayBuckets, dayPeriod
	if span.Months {
		table, period = monthBuckets, monthPeriod
	}
	var b strings.Builder
	b.WriteString(`SELECT type, CAST(sum(n) AS BIGINT) FROM ` + table + ` WHERE workspace_id = ` + add(workspaceID))
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
		b.WriteString(` AND ` + period + ` >= ` + add(*span.From))
	}
	if span.To != nil {
		b.WriteString(` AND ` + period + ` < ` + add(*span.To))
	}
	b.WriteString(` GROUP BY type`)
	return b.String()
}
