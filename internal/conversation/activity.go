package conversation

import (
	"cmp"
	"slices"

	"github.com/parley-dev/parley/internal/llm"
	"github.com/parley-dev/parley/internal/money"
)

// The daily analytics are maintained aggregates: one row per workspace ×
// UTC day × assistant × conversation type, changed in the transaction of
// every create, end and message append, so a report over any range reads
// O(days × assistants × types) rows and never scans conversations or
// messages. The rules of what a change adds are here; the stores call
// them and persist the result.
//
// Analytics are a history of activity: deleting a conversation takes
// nothing away from them. Its messages were sent, its tokens spent and its
// cost incurred, so last month's report does not change when a transcript
// is erased. Live counts of the conversations that still exist come from
// the maintained counters (CountConversations), not from here.

// ActivityKey names one row of the daily analytics.
type ActivityKey struct {
	Day         int64 // UTC day, see DayOf
	AssistantID string
	Type        string
}

// Activity is what happened in one ActivityKey, or in a sum of them.
// Messages count by role; usage, cost and latency are those the messages
// carry. UnpricedMessages counts model messages whose cost is unknown, so
// a report can say whether Cost is complete.
type Activity struct {
	ConversationsStarted int64
	ConversationsEnded   int64
	UserMessages         int64
	AssistantMessages    int64
	OperatorMessages     int64
	SystemMessages       int64
	Usage                llm.Usage
	Cost                 money.Money
	UnpricedMessages     int64
	// LatencyMSSum and LatencyCount are the total and number of reply
	// latencies (Message.LatencyMS), kept apart so averages combine.
	LatencyMSSum int64
	LatencyCount int64
}

// Messages is the number of messages of every role.
func (a Activity) Messages() int64 {
	return a.UserMessages + a.AssistantMessages + a.OperatorMessages + a.SystemMessages
}

// CostComplete reports whether every model message in a was priced.
func (a Activity) CostComplete() bool { return a.UnpricedMessages == 0 }

// AverageLatencyMS is the mean reply latency, rounded to the nearest
// millisecond; ok is false when no reply was timed.
func (a Activity) AverageLatencyMS() (ms int64, ok bool) {
	if a.LatencyCount == 0 {
		return 0, false
	}
	return (a.LatencyMSSum + a.LatencyCount/2) / a.LatencyCount, true
}

// IsZero reports whether a records no activity at all.
func (a Activity) IsZero() bool { return a == Activity{} }

// Add adds b to a. Sums are plain int64 additions: a single conversation's
// totals are refused before they overflow (AddMessages), and a workspace's
// would need over nine billion USD, or 9·10^18 tokens, in one report.
func (a *Activity) Add(b Activity) {
	a.ConversationsStarted += b.ConversationsStarted
	a.ConversationsEnded += b.ConversationsEnded
	a.UserMessages += b.UserMessages
	a.AssistantMessages += b.AssistantMessages
	a.OperatorMessages += b.OperatorMessages
	a.SystemMessages += b.SystemMessages
	a.Usage.InputTokens += b.Usage.InputTokens
	a.Usage.OutputTokens += b.Usage.OutputTokens
	a.Usage.CachedInputTokens += b.Usage.CachedInputTokens
	a.Usage.ReasoningTokens += b.Usage.ReasoningTokens
	a.Usage.TotalTokens += b.Usage.TotalTokens
	a.Cost += b.Cost
	a.UnpricedMessages += b.UnpricedMessages
	a.LatencyMSSum += b.LatencyMSSum
	a.LatencyCount += b.LatencyCount
}

// ActivityDelta is a change to the daily analytics, per row.
type ActivityDelta map[ActivityKey]Activity

func (d ActivityDelta) add(k ActivityKey, a Activity) {
	sum := d[k]
	sum.Add(a)
	if sum.IsZero() {
		delete(d, k)
		return
	}
	d[k] = sum
}

// Sorted returns the rows of d in a fixed order, so that concurrent
// transactions lock analytics rows in the same order and cannot deadlock.
func (d ActivityDelta) Sorted() []ActivityKey {
	out := make([]ActivityKey, 0, len(d))
	for k := range d {
		out = append(out, k)
	}
	slices.SortFunc(out, func(a, b ActivityKey) int {
		return cmp.Or(cmp.Compare(a.Day, b.Day), cmp.Compare(a.AssistantID, b.AssistantID), cmp.Compare(a.Type, b.Type))
	})
	return out
}

// MessageActivity returns what appending msgs to c adds to the analytics:
// each message counts on the UTC day it was created, for c's assistant and
// type, with its usage, cost and latency. Call it after c.AddMessages, so
// each message's usage carries its computed total.
func MessageActivity(c *Conversation, msgs []*Message) ActivityDelta {
	d := ActivityDelta{}
	for _, m := range msgs {
		var a Activity
		switch m.Role {
		case RoleUser:
			a.UserMessages = 1
		case RoleAssistant:
			a.AssistantMessages = 1
		case RoleOperator:
			a.OperatorMessages = 1
		default:
			a.SystemMessages = 1
		}
		if m.Usage != nil {
			a.Usage = *m.Usage
		}
		if m.Cost != nil {
			a.Cost = *m.Cost
		}
		if m.Unpriced() {
			a.UnpricedMessages = 1
		}
		if m.LatencyMS != nil {
			a.LatencyMSSum, a.LatencyCount = *m.LatencyMS, 1
		}
		d.add(ActivityKey{Day: DayOf(m.CreatedAt), AssistantID: c.AssistantID, Type: c.Type}, a)
	}
	return d
}

// ConversationActivity returns what a change to conversations adds to the
// analytics, in the way of CountChange: added are counted as they are now
// and removed as they were. A conversation counts as started on the day it
// was created and, once ended, as ended on the day it ended; so a create
// adds a start, and an end (added: the ended conversation, removed: it as
// it was) adds only the end. Deletes are not passed here: analytics keep
// their history.
func ConversationActivity(added, removed []*Conversation) ActivityDelta {
	d := ActivityDelta{}
	count := func(c *Conversation, sign int64) {
		d.add(ActivityKey{Day: DayOf(c.CreatedAt), AssistantID: c.AssistantID, Type: c.Type},
			Activity{ConversationsStarted: sign})
		if c.Status == StatusEnded && c.EndedAt != nil {
			d.add(ActivityKey{Day: DayOf(*c.EndedAt), AssistantID: c.AssistantID, Type: c.Type},
				Activity{ConversationsEnded: sign})
		}
	}
	for _, c := range added {
		count(c, 1)
	}
	for _, c := range removed {
		count(c, -1)
	}
	return d
}

// Merge adds the rows of o to d.
func (d ActivityDelta) Merge(o ActivityDelta) ActivityDelta {
	for k, a := range o {
		d.add(k, a)
	}
	return d
}
