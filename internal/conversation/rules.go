package conversation

import (
	"fmt"
	"time"

	"github.com/parley-dev/parley/internal/money"
)

// Apply changes c as u says: the rules of an update, which every store
// persists and none computes. Fields u leaves nil stay. Variables merge
// by name: a variable with a nil Value removes that name, any other
// replaces it whole (its Type and Source with it), and names u does not
// mention are kept. UpdatedAt only moves forward, so a late writer cannot
// make a conversation look older. Apply reports whether a field the
// customer search document is built from changed, so the store knows to
// rewrite that document.
func (c *Conversation) Apply(u Update) (reindex bool) {
	if u.AIEnabled != nil {
		c.AIEnabled = *u.AIEnabled
	}
	if u.Customer != nil {
		c.Customer, reindex = *u.Customer, true
	}
	if u.ExternalIdentifier != nil {
		c.ExternalIdentifier, reindex = *u.ExternalIdentifier, true
	}
	if u.Status != nil {
		c.Status = *u.Status
	}
	if u.EndedAt != nil {
		at := u.EndedAt.UTC()
		c.EndedAt = &at
	}
	if u.Variables != nil {
		c.Variables = MergeVariables(c.Variables, u.Variables)
	}
	if at := u.CustomerMessageAt; at != nil && (c.CustomerMessageAt == nil || at.After(*c.CustomerMessageAt)) {
		t := at.UTC()
		c.CustomerMessageAt = &t
	}
	if u.UpdatedAt.After(c.UpdatedAt) {
		c.UpdatedAt = u.UpdatedAt.UTC()
	}
	return reindex
}

// MergeVariables returns the variables of have changed by set: a nil
// Value removes the name, any other value replaces it. have is not
// modified; the result is never nil, so it stores as an empty object.
func MergeVariables(have, set map[string]Variable) map[string]Variable {
	out := make(map[string]Variable, len(have)+len(set))
	for name, v := range have {
		out[name] = v
	}
	for name, v := range set {
		if v.Value == nil {
			delete(out, name)
		} else {
			out[name] = v
		}
	}
	return out
}

// Message delivery statuses of outbound channel messages, in the order a
// message moves through them. Failed is terminal.
const (
	MessagePending   = "pending"
	MessageSent      = "sent"
	MessageDelivered = "delivered"
	MessageRead      = "read"
	MessageFailed    = "failed"
)

// statusRank orders the forward statuses; failed is handled apart.
var statusRank = map[string]int{MessagePending: 1, MessageSent: 2, MessageDelivered: 3, MessageRead: 4}

// NextStatus returns the status a message with status current takes when
// reported is reported for it (a channel's receipt), and whether that is a
// change. Statuses only move forward — pending, sent, delivered, read —
// and may skip steps, because receipts arrive late and out of order (a
// "delivered" after a "read" must not make a read message unread). Failed
// ends a message that was not yet read; nothing leaves failed. An unknown
// reported status changes nothing. An empty current status counts as
// pending.
func NextStatus(current, reported string) (string, bool) {
	if current == "" {
		current = MessagePending
	}
	if current == MessageFailed {
		return current, false
	}
	if reported == MessageFailed {
		if current == MessageRead {
			return current, false
		}
		return MessageFailed, true
	}
	have, ok := statusRank[current]
	want, known := statusRank[reported]
	if !ok || !known || want <= have {
		return current, false
	}
	return reported, true
}

// AddChannelCost prices an outbound channel message once: m's fee is set
// and added to c's channel cost and total cost. A message already priced
// keeps its fee (receipts repeat), which it reports as no change.
func (c *Conversation) AddChannelCost(m *Message, fee money.Money) (bool, error) {
	if m.ChannelCost != nil {
		return false, nil
	}
	if fee < 0 {
		return false, fmt.Errorf("negative channel fee %d", fee)
	}
	total, err := money.Add(c.TotalCost, fee)
	if err != nil {
		return false, overflow(c, err)
	}
	var channel money.Money
	if c.ChannelCost != nil {
		channel = *c.ChannelCost
	}
	if channel, err = money.Add(channel, fee); err != nil {
		return false, overflow(c, err)
	}
	c.TotalCost, c.ChannelCost, m.ChannelCost = total, &channel, &fee
	return true, nil
}

// CountChange returns the change to a workspace's maintained counters
// when the conversations in added are counted and those in removed are
// not any more. A create adds the new conversation; a delete removes the
// deleted one; a change of a counted field (an end moves a conversation
// from active to ended) removes the conversation as it was and adds it as
// it is, so one rule covers every change. Each conversation counts once in
// its bucket (see BucketOf); changes that cancel out are dropped. Stores
// add the result to their counters (AddCounts) in the transaction of the
// change, so the counters and the rows agree.
func CountChange(added, removed []*Conversation) CountDelta {
	d := CountDelta{}
	for _, c := range added {
		d[BucketOf(c)]++
	}
	for _, c := range removed {
		d[BucketOf(c)]--
	}
	for b, n := range d {
		if n == 0 {
			delete(d, b)
		}
	}
	return d
}

// BucketOf returns the counter bucket a conversation counts in: its
// assistant, type, status, WhatsApp sender and the UTC day it was created.
func BucketOf(c *Conversation) Bucket {
	return Bucket{AssistantID: c.AssistantID, Type: c.Type, Status: c.Status, SenderPhone: c.SenderPhone,
		Day: DayOf(c.CreatedAt)}
}

// DayOf returns the UTC day t falls in, in days since 1970-01-01.
func DayOf(t time.Time) int64 {
	ms := t.UnixMilli()
	d := ms / dayMS
	if ms%dayMS < 0 {
		d-- // floor, for times before 1970
	}
	return d
}

// dayMS is the length of a UTC day in milliseconds (no leap seconds).
const dayMS = 24 * 60 * 60 * 1000

// DayStart returns the first instant of a day DayOf numbers.
func DayStart(day int64) time.Time { return time.UnixMilli(day * dayMS).UTC() }

// CountPlan is how a count with a created date range is answered from the
// day buckets: whole days [FromDay, ToDay) from the buckets, and the
// partial first and last days (Partial, filters of at most a day each)
// from the rows, so the work is bounded whatever the range.
type CountPlan struct {
	FromDay, ToDay *int64 // nil: unbounded on that side
	Partial        []Filter
}

// MonthOf returns the first day (numbered as DayOf does) of the UTC month
// that day falls in.
func MonthOf(day int64) int64 {
	t := DayStart(day)
	return DayOf(time.Date(t.Year(), t.Month(), 1, 0, 0, 0, 0, time.UTC))
}

// nextMonth returns the first day of the month after the one month (a
// month's first day) begins.
func nextMonth(month int64) int64 {
	t := DayStart(month)
	return DayOf(time.Date(t.Year(), t.Month()+1, 1, 0, 0, 0, 0, time.UTC))
}

// BucketSpan is a range of whole days [From, To) (nil: unbounded on that
// side) read from one kind of bucket: the month buckets when Months is set
// (then From and To are months' first days), else the day buckets.
type BucketSpan struct {
	Months   bool
	From, To *int64
}

// Spans splits the plan's whole days into the whole months among them,
// read from the month buckets, and the days before and after those, read
// from the day buckets; a count then reads at most about two months of
// day buckets whatever its range, and month buckets for the rest. None
// when the plan has no whole day.
func (p CountPlan) Spans() []BucketSpan {
	lo, hi := p.FromDay, p.ToDay
	if lo != nil && hi != nil && *lo >= *hi {
		return nil
	}
	// The whole months [mlo, mhi) within [lo, hi).
	var mlo, mhi *int64
	if lo != nil {
		m := MonthOf(*lo)
		if m < *lo {
			m = nextMonth(m)
		}
		mlo = &m
	}
	if hi != nil {
		m := MonthOf(*hi)
		mhi = &m
	}
	if mlo != nil && mhi != nil && *mlo >= *mhi {
		return []BucketSpan{{From: lo, To: hi}}
	}
	spans := []BucketSpan{{Months: true, From: mlo, To: mhi}}
	if lo != nil && *lo < *mlo {
		spans = append(spans, BucketSpan{From: lo, To: mlo})
	}
	if hi != nil && *mhi < *hi {
		spans = append(spans, BucketSpan{From: mhi, To: hi})
	}
	return spans
}

// PlanCount splits f's created range into whole days and partial days.
// Only filters the buckets can answer are planned (BucketCountable).
func (f Filter) PlanCount() CountPlan {
	var p CountPlan
	from, to := f.CreatedFrom, f.CreatedTo
	var lo, hi int64 // whole days [lo, hi)
	if from != nil {
		lo = DayOf(*from)
		if !DayStart(lo).Equal(from.UTC()) {
			lo++ // the first day is partial
		}
	}
	if to != nil {
		hi = DayOf(*to) // the day of to is partial (to is exclusive), or empty
	}
	if from != nil && to != nil && lo >= hi {
		// No whole day: the range lies within at most two days' rows.
		if from.Before(*to) {
			p.Partial = append(p.Partial, f)
		}
		empty := hi
		p.FromDay, p.ToDay = &empty, &empty
		return p
	}
	if from != nil {
		p.FromDay = &lo
		if s := DayStart(lo); from.Before(s) {
			g := f
			g.CreatedTo = &s
			p.Partial = append(p.Partial, g)
		}
	}
	if to != nil {
		p.ToDay = &hi
		if s := DayStart(hi); s.Before(*to) {
			g := f
			g.CreatedFrom = &s
			p.Partial = append(p.Partial, g)
		}
	}
	return p
}
