package conversation

import (
	"testing"
	"time"

	"github.com/parley-dev/parley/internal/fault"
	"github.com/parley-dev/parley/internal/llm"
	"github.com/parley-dev/parley/internal/money"
)

// TestReport checks how daily rows are summed: into the totals, per type
// and per assistant (busiest first), and into day, week and month series
// with every interval present; rows outside the range are left out.
func TestReport(t *testing.T) {
	day := func(y int, m time.Month, d int) int64 { return DayOf(time.Date(y, m, d, 0, 0, 0, 0, time.UTC)) }
	row := func(d int64, asst, typ string, a Activity) ActivityRow {
		return ActivityRow{ActivityKey: ActivityKey{Day: d, AssistantID: asst, Type: typ}, AssistantName: "name " + asst, Activity: a}
	}
	rows := []ActivityRow{
		row(day(2030, 5, 31), "a", TypeAPI, Activity{ConversationsStarted: 100}), // before the range
		row(day(2030, 6, 1), "a", TypeAPI, Activity{ConversationsStarted: 1, UserMessages: 2, Cost: money.Money(5),
			Usage: llm.Usage{InputTokens: 10, TotalTokens: 12}, LatencyMSSum: 300, LatencyCount: 2}),
		row(day(2030, 6, 2), "b", TypeTest, Activity{ConversationsStarted: 3, AssistantMessages: 4, UnpricedMessages: 1}),
		row(day(2030, 6, 3), "a", TypeTest, Activity{ConversationsEnded: 1, LatencyMSSum: 101, LatencyCount: 1}),
		row(day(2030, 7, 1), "b", TypeWidget, Activity{OperatorMessages: 1}),
		row(day(2030, 7, 2), "b", TypeWidget, Activity{ConversationsStarted: 100}), // after the range
	}
	from, to := DayStart(day(2030, 6, 1)), DayStart(day(2030, 7, 1))
	r := Report(from, to, IntervalDay, rows)
	if r.Totals.ConversationsStarted != 4 || r.Totals.Messages() != 7 || r.Totals.Cost != 5 || r.Totals.CostComplete() {
		t.Errorf("totals %+v", r.Totals)
	}
	if avg, ok := r.Totals.AverageLatencyMS(); !ok || avg != 134 { // 401 / 3, rounded
		t.Errorf("average latency %d %v", avg, ok)
	}
	if len(r.ByType) != len(Types) || r.ByType[TypeTest].ConversationsStarted != 3 || r.ByType[TypeWhatsApp] != (Activity{}) {
		t.Errorf("by type %+v", r.ByType)
	}
	if len(r.ByAssistant) != 2 || r.ByAssistant[0].AssistantID != "b" || r.ByAssistant[0].AssistantName != "name b" ||
		r.ByAssistant[1].ConversationsEnded != 1 {
		t.Errorf("by assistant %+v", r.ByAssistant)
	}
	if len(r.Series) != 31 || !r.Series[0].Start.Equal(from) || r.Series[1].ByType[TypeTest].AssistantMessages != 4 ||
		r.Series[30].OperatorMessages != 1 || r.Series[10].Messages() != 0 {
		t.Errorf("daily series: %d points, %+v", len(r.Series), r.Series[:2])
	}
	// 2030-06-01 is a Saturday: its week (with Sunday the 2nd) starts on
	// Monday 2030-05-27, and only the days in the range count.
	w := Report(from, to, IntervalWeek, rows)
	if len(w.Series) != 6 || !w.Series[0].Start.Equal(DayStart(day(2030, 5, 27))) || w.Series[0].ConversationsStarted != 4 ||
		w.Series[1].ConversationsEnded != 1 || w.Series[5].OperatorMessages != 1 {
		t.Errorf("weekly series: %+v", w.Series)
	}
	m := Report(from, to, IntervalMonth, rows)
	if len(m.Series) != 2 || m.Series[0].ConversationsStarted != 4 || m.Series[1].OperatorMessages != 1 ||
		!m.Series[1].Start.Equal(DayStart(day(2030, 7, 1))) {
		t.Errorf("monthly series: %+v", m.Series)
	}
}

// TestAnalyticsQueryLimits checks the range limits per interval.
func TestAnalyticsQueryLimits(t *testing.T) {
	d := func(y int, m time.Month, dd int) time.Time { return time.Date(y, m, dd, 15, 0, 0, 0, time.UTC) }
	for _, tc := range []struct {
		q  AnalyticsQuery
		ok bool
	}{
		{AnalyticsQuery{From: d(2030, 1, 1), To: d(2030, 1, 1)}, true},
		{AnalyticsQuery{From: d(2029, 1, 1), To: d(2030, 1, 1)}, true}, // 366 days
		{AnalyticsQuery{From: d(2029, 1, 1), To: d(2030, 1, 2)}, false},
		{AnalyticsQuery{From: d(2030, 1, 2), To: d(2030, 1, 1)}, false},
		{AnalyticsQuery{From: d(2028, 1, 1), To: d(2029, 12, 31), Interval: IntervalWeek}, true},
		{AnalyticsQuery{From: d(2025, 1, 1), To: d(2029, 12, 31), Interval: IntervalMonth}, true},
		{AnalyticsQuery{From: d(2020, 1, 1), To: d(2029, 12, 31), Interval: IntervalMonth}, false},
		{AnalyticsQuery{From: d(2030, 1, 1), To: d(2030, 1, 1), Interval: "hour"}, false},
		{AnalyticsQuery{From: d(2030, 1, 1), To: d(2030, 1, 1), Types: []string{"fax"}}, false},
	} {
		q := tc.q
		from, to, err := q.check()
		if (err == nil) != tc.ok || (err != nil && !fault.Is(err, fault.CodeValidation)) {
			t.Errorf("%+v: %v", tc.q, err)
		}
		if err == nil && (from.Hour() != 0 || to.Hour() != 0) {
			t.Errorf("%+v: days %v %v are not midnights", tc.q, from, to)
		}
	}
}
