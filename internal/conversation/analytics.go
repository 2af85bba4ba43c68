package conversation

import (
	"cmp"
	"context"
	"slices"
	"strings"
	"time"

	"github.com/parley-dev/parley/internal/fault"
)

// Analytics intervals: how a report's series is grouped.
const (
	IntervalDay   = "day"
	IntervalWeek  = "week" // ISO weeks, Monday to Sunday
	IntervalMonth = "month"
)

// Longest ranges a report covers, in days, per interval: enough for a
// year by day, two years by week and five years by month, so a series has
// at most a few hundred points and a report reads a bounded number of rows.
const (
	MaxAnalyticsDaysByDay   = 366
	MaxAnalyticsDaysByWeek  = 2 * 366
	MaxAnalyticsDaysByMonth = 5*366 + 1
)

// DefaultAnalyticsDays is the range of a report that names no start: the
// last 30 days, today included.
const DefaultAnalyticsDays = 30

// AnalyticsQuery asks for a report of a workspace's activity over the UTC
// days From to To, both included (only their dates count). A zero To is
// today; a zero From is DefaultAnalyticsDays before To.
type AnalyticsQuery struct {
	From, To    time.Time
	AssistantID string   // only this assistant's activity when set
	Types       []string // only these conversation types when any
	Interval    string   // IntervalDay (default), IntervalWeek or IntervalMonth
}

// ActivityFilter selects daily analytics rows: days FromDay to ToDay
// (both included), of one assistant when AssistantID is set, of the given
// types when any.
type ActivityFilter struct {
	FromDay, ToDay int64
	AssistantID    string
	Types          []string
}

// ActivityRow is one stored row of the daily analytics, with the name of
// its assistant (empty when the assistant is gone for good).
type ActivityRow struct {
	ActivityKey
	AssistantName string
	Activity
}

// ActivityStore reads the daily analytics. The rows are written by the
// conversation store's own writes (see MessageActivity and
// ConversationActivity), in their transactions.
type ActivityStore interface {
	// ActivityRows returns the workspace's rows that f selects, in any
	// order: O(days × assistants × types) of them at most.
	ActivityRows(ctx context.Context, workspaceID string, f ActivityFilter) ([]ActivityRow, error)
}

// AssistantActivity is the activity of one assistant in a report.
type AssistantActivity struct {
	AssistantID   string
	AssistantName string
	Activity
}

// AnalyticsPoint is one interval of a report's series: the days from
// Start (a day, a Monday or the first of a month) that lie in the report's
// range, in total and per type (every type present).
type AnalyticsPoint struct {
	Start time.Time
	Activity
	ByType map[string]Activity
}

// Analytics is a report of a workspace's activity: totals, totals per
// type (every type present) and per assistant (those with any activity,
// busiest first), and the series over time with every interval of the
// range present, empty ones as zero.
type Analytics struct {
	From, To    time.Time // UTC midnights of the first and last day
	Interval    string
	Totals      Activity
	ByType      map[string]Activity
	ByAssistant []AssistantActivity
	Series      []AnalyticsPoint
}

// Analytics reports the workspace's activity q asks for, from the
// maintained daily aggregates. An assistant of another workspace, or one
// without activity, has an empty report: its id filters, like every list
// filter, and reveals nothing.
func (s *Service) Analytics(ctx context.Context, workspaceID string, q AnalyticsQuery) (*Analytics, error) {
	if q.To.IsZero() {
		q.To = s.now()
	}
	if q.From.IsZero() {
		q.From = DayStart(DayOf(q.To)).AddDate(0, 0, -(DefaultAnalyticsDays - 1))
	}
	from, to, err := q.check()
	if err != nil {
		return nil, err
	}
	rows, err := s.Store.ActivityRows(ctx, workspaceID, ActivityFilter{
		FromDay: DayOf(from), ToDay: DayOf(to), AssistantID: q.AssistantID, Types: q.Types})
	if err != nil {
		return nil, err
	}
	return Report(from, to, q.Interval, rows), nil
}

// check validates q and returns its first and last days as UTC midnights.
func (q *AnalyticsQuery) check() (from, to time.Time, err error) {
	var v fault.Validation
	if q.Interval == "" {
		q.Interval = IntervalDay
	}
	limit := 0
	switch q.Interval {
	case IntervalDay:
		limit = MaxAnalyticsDaysByDay
	case IntervalWeek:
		limit = MaxAnalyticsDaysByWeek
	case IntervalMonth:
		limit = MaxAnalyticsDaysByMonth
	default:
		v.Add("interval", "must be day, week or month")
	}
	for _, t := range q.Types {
		if !isType(t) {
			v.Add("type", "must be one of %s", strings.Join(Types, ", "))
			break
		}
	}
	from, to = DayStart(DayOf(q.From)), DayStart(DayOf(q.To))
	days := DayOf(to) - DayOf(from) + 1
	switch {
	case days < 1:
		v.Add("to", "must be on or after from")
	case limit > 0 && days > int64(limit):
		v.Add("to", "the range is %d days; by %s it may be at most %d days", days, q.Interval, limit)
	}
	return from, to, v.Err()
}

// Report builds a report over the days from to to (UTC midnights, both
// included) from daily rows; rows outside the range are ignored. It is the
// one place rows are summed, so both stores report alike.
func Report(from, to time.Time, interval string, rows []ActivityRow) *Analytics {
	out := &Analytics{From: from, To: to, Interval: interval, ByType: zeroByType()}
	first, last := DayOf(from), DayOf(to)
	for d := first; d <= last; {
		start := intervalStart(DayStart(d), interval)
		out.Series = append(out.Series, AnalyticsPoint{Start: start, ByType: zeroByType()})
		d = DayOf(intervalNext(start, interval))
	}
	byAssistant := map[string]*AssistantActivity{}
	for _, r := range rows {
		if r.Day < first || r.Day > last {
			continue
		}
		out.Totals.Add(r.Activity)
		sumType(out.ByType, r.Type, r.Activity)
		a := byAssistant[r.AssistantID]
		if a == nil {
			a = &AssistantActivity{AssistantID: r.AssistantID}
			byAssistant[r.AssistantID] = a
		}
		if a.AssistantName == "" {
			a.AssistantName = r.AssistantName
		}
		a.Add(r.Activity)
		start := intervalStart(DayStart(r.Day), interval)
		i, _ := slices.BinarySearchFunc(out.Series, start, func(p AnalyticsPoint, t time.Time) int { return p.Start.Compare(t) })
		p := &out.Series[i]
		p.Add(r.Activity)
		sumType(p.ByType, r.Type, r.Activity)
	}
	for _, a := range byAssistant {
		out.ByAssistant = append(out.ByAssistant, *a)
	}
	slices.SortFunc(out.ByAssistant, func(a, b AssistantActivity) int {
		return cmp.Or(cmp.Compare(b.Messages()+b.ConversationsStarted, a.Messages()+a.ConversationsStarted),
			cmp.Compare(a.AssistantID, b.AssistantID))
	})
	return out
}

func zeroByType() map[string]Activity {
	m := make(map[string]Activity, len(Types))
	for _, t := range Types {
		m[t] = Activity{}
	}
	return m
}

func sumType(m map[string]Activity, typ string, a Activity) {
	sum := m[typ]
	sum.Add(a)
	m[typ] = sum
}

// intervalStart returns the start of the interval day (a UTC midnight)
// falls in.
func intervalStart(day time.Time, interval string) time.Time {
	switch interval {
	case IntervalWeek:
		back := (int(day.Weekday()) + 6) % 7 // days since Monday
		return day.AddDate(0, 0, -back)
	case IntervalMonth:
		return time.Date(day.Year(), day.Month(), 1, 0, 0, 0, 0, time.UTC)
	}
	return day
}

// intervalNext returns the start of the interval after the one starting
// at start.
func intervalNext(start time.Time, interval string) time.Time {
	switch interval {
	case IntervalWeek:
		return start.AddDate(0, 0, 7)
	case IntervalMonth:
		return start.AddDate(0, 1, 0)
	}
	return start.AddDate(0, 0, 1)
}
