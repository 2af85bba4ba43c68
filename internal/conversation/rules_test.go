package conversation

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/parley-dev/parley/internal/assistant"
	"github.com/parley-dev/parley/internal/fault"
)

func TestApply(t *testing.T) {
	t0 := time.Date(2026, 5, 1, 10, 0, 0, 0, time.UTC)
	t1 := t0.Add(time.Minute)
	on, ext, ended := true, "crm-9", StatusEnded
	base := func() *Conversation {
		return &Conversation{ID: "conv_x", Status: StatusActive, UpdatedAt: t0,
			Customer: Customer{Name: "Ada"}, ExternalIdentifier: "crm-1",
			Variables: map[string]Variable{
				"city": {Value: "Oslo", Type: assistant.TypeString, Source: SourcePrechat},
				"age":  {Value: 41.0, Type: assistant.TypeNumber, Source: SourceExtracted},
			}}
	}
	cases := []struct {
		name    string
		u       Update
		edit    func(c *Conversation)
		reindex bool
	}{
		{name: "nothing", u: Update{}, edit: func(*Conversation) {}},
		{name: "ai", u: Update{AIEnabled: &on}, edit: func(c *Conversation) { c.AIEnabled = true }},
		{name: "customer reindexes", u: Update{Customer: &Customer{Phone: "+4712345678"}}, reindex: true,
			edit: func(c *Conversation) { c.Customer = Customer{Phone: "+4712345678"} }},
		{name: "external id reindexes", u: Update{ExternalIdentifier: &ext}, reindex: true,
			edit: func(c *Conversation) { c.ExternalIdentifier = ext }},
		{name: "end", u: Update{Status: &ended, EndedAt: &t1, UpdatedAt: t1},
			edit: func(c *Conversation) { c.Status, c.EndedAt, c.UpdatedAt = ended, &t1, t1 }},
		{name: "recency never goes back", u: Update{UpdatedAt: t0.Add(-time.Hour)}, edit: func(*Conversation) {}},
		{name: "variables merge: set, replace, remove, keep the rest",
			u: Update{Variables: map[string]Variable{
				"plan": {Value: "pro", Type: assistant.TypeEnum, Source: SourceAPI},
				"city": {Value: "Bergen", Type: assistant.TypeString, Source: SourceAPI},
				"age":  {Source: SourceAPI},
				"gone": {Source: SourceAPI},
			}},
			edit: func(c *Conversation) {
				c.Variables = map[string]Variable{
					"city": {Value: "Bergen", Type: assistant.TypeString, Source: SourceAPI},
					"plan": {Value: "pro", Type: assistant.TypeEnum, Source: SourceAPI},
				}
			}},
		{name: "empty variables change nothing", u: Update{Variables: map[string]Variable{}}, edit: func(*Conversation) {}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c, want := base(), base()
			tc.edit(want)
			if got := c.Apply(tc.u); got != tc.reindex {
				t.Errorf("reindex = %v, want %v", got, tc.reindex)
			}
			if d := cmp.Diff(want, c); d != "" {
				t.Errorf("conversation (-want +got):\n%s", d)
			}
		})
	}
}

func TestMergeVariablesLeavesInputAlone(t *testing.T) {
	have := map[string]Variable{"a": {Value: "1", Type: assistant.TypeString, Source: SourcePrechat}}
	got := MergeVariables(have, map[string]Variable{"a": {Source: SourceAPI}, "b": {Value: true, Type: assistant.TypeBoolean, Source: SourceAPI}})
	if _, ok := have["b"]; ok || have["a"].Value != "1" {
		t.Errorf("have was modified: %v", have)
	}
	if d := cmp.Diff(map[string]Variable{"b": {Value: true, Type: assistant.TypeBoolean, Source: SourceAPI}}, got); d != "" {
		t.Errorf("merge (-want +got):\n%s", d)
	}
	if got := MergeVariables(nil, nil); got == nil {
		t.Error("MergeVariables(nil, nil) = nil, want an empty map")
	}
}

func TestNextStatus(t *testing.T) {
	cases := []struct {
		current, reported, want string
		changed                 bool
	}{
		{"", MessageSent, MessageSent, true},
		{MessagePending, MessageSent, MessageSent, true},
		{MessageSent, MessageDelivered, MessageDelivered, true},
		{MessageDelivered, MessageRead, MessageRead, true},
		{MessageSent, MessageRead, MessageRead, true}, // delivered skipped
		{MessagePending, MessageRead, MessageRead, true},
		{MessageRead, MessageDelivered, MessageRead, false}, // late receipt
		{MessageRead, MessageSent, MessageRead, false},
		{MessageDelivered, MessageSent, MessageDelivered, false},
		{MessageSent, MessageSent, MessageSent, false},
		{MessageDelivered, MessagePending, MessageDelivered, false},
		{MessagePending, MessageFailed, MessageFailed, true},
		{MessageSent, MessageFailed, MessageFailed, true},
		{MessageDelivered, MessageFailed, MessageFailed, true},
		{MessageRead, MessageFailed, MessageRead, false}, // a read message was delivered
		{MessageFailed, MessageSent, MessageFailed, false},
		{MessageFailed, MessageRead, MessageFailed, false},
		{MessageFailed, MessageFailed, MessageFailed, false},
		{MessageSent, "deleted", MessageSent, false},
		{MessageSent, "", MessageSent, false},
	}
	for _, tc := range cases {
		got, changed := NextStatus(tc.current, tc.reported)
		if got != tc.want || changed != tc.changed {
			t.Errorf("NextStatus(%q, %q) = %q, %v; want %q, %v", tc.current, tc.reported, got, changed, tc.want, tc.changed)
		}
	}
}

func TestTypedVariables(t *testing.T) {
	schema := []assistant.VariableDef{
		{Name: "plan", Type: assistant.TypeEnum, Values: []string{"free", "pro"}},
		{Name: "seats", Type: assistant.TypeNumber},
		{Name: "vip", Type: assistant.TypeBoolean},
		{Name: "since", Type: assistant.TypeDate},
		{Name: "note", Type: assistant.TypeString},
	}
	cases := []struct {
		name  string
		raw   map[string]any
		want  map[string]Variable
		field string // the field a validation error names; empty when valid
	}{
		{name: "schema types", raw: map[string]any{"plan": "pro", "seats": 3.0, "vip": true, "since": "2026-01-31", "note": "hi"},
			want: map[string]Variable{
				"plan":  {Value: "pro", Type: assistant.TypeEnum, Source: SourceAPI},
				"seats": {Value: 3.0, Type: assistant.TypeNumber, Source: SourceAPI},
				"vip":   {Value: true, Type: assistant.TypeBoolean, Source: SourceAPI},
				"since": {Value: "2026-01-31", Type: assistant.TypeDate, Source: SourceAPI},
				"note":  {Value: "hi", Type: assistant.TypeString, Source: SourceAPI},
			}},
		{name: "inferred types", raw: map[string]any{"a": "x", "b": 1.5, "c": false},
			want: map[string]Variable{
				"a": {Value: "x", Type: assistant.TypeString, Source: SourceAPI},
				"b": {Value: 1.5, Type: assistant.TypeNumber, Source: SourceAPI},
				"c": {Value: false, Type: assistant.TypeBoolean, Source: SourceAPI},
			}},
		{name: "null removes", raw: map[string]any{"plan": nil}, want: map[string]Variable{"plan": {Source: SourceAPI}}},
		{name: "enum outside its values", raw: map[string]any{"plan": "gold"}, field: "variables.plan"},
		{name: "number as string", raw: map[string]any{"seats": "3"}, field: "variables.seats"},
		{name: "boolean as string", raw: map[string]any{"vip": "yes"}, field: "variables.vip"},
		{name: "bad date", raw: map[string]any{"since": "31/01/2026"}, field: "variables.since"},
		{name: "string too long", raw: map[string]any{"note": strings.Repeat("x", 4097)}, field: "variables.note"},
		{name: "object value", raw: map[string]any{"x": map[string]any{}}, field: "variables.x"},
		{name: "bad name", raw: map[string]any{"Bad-Name": "x"}, field: "variables.Bad-Name"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var v fault.Validation
			got := typedVariables(tc.raw, schema, SourceAPI, &v)
			err := v.Err()
			if tc.field == "" {
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				if d := cmp.Diff(tc.want, got); d != "" {
					t.Errorf("variables (-want +got):\n%s", d)
				}
				return
			}
			if err == nil || len(v.Fields) != 1 || v.Fields[0].Field != tc.field {
				t.Errorf("error %v (fields %v), want one naming %s", err, v.Fields, tc.field)
			}
		})
	}
}

// FuzzNormalizePhone checks that every accepted phone number is E.164
// (a + and 7 to 15 digits, not starting with 0) and normalizes to itself.
func FuzzNormalizePhone(f *testing.F) {
	for _, s := range []string{"+1 (555) 123-4567", "0047 123", "+47.123.45.678", "", "+", "++1555", "+1555123456789012", "☎ 555"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		out, ok := NormalizePhone(s)
		if !ok {
			if out != "" {
				t.Fatalf("NormalizePhone(%q) refused but returned %q", s, out)
			}
			return
		}
		if len(out) < 8 || len(out) > 16 || out[0] != '+' || out[1] == '0' {
			t.Fatalf("NormalizePhone(%q) = %q, not E.164", s, out)
		}
		for _, r := range out[1:] {
			if r < '0' || r > '9' {
				t.Fatalf("NormalizePhone(%q) = %q has a non-digit", s, out)
			}
		}
		if again, ok := NormalizePhone(out); !ok || again != out {
			t.Fatalf("NormalizePhone(%q) = %q, %v; want it unchanged", out, again, ok)
		}
	})
}

func TestCountChange(t *testing.T) {
	day := time.Date(2026, 3, 4, 23, 59, 0, 0, time.UTC)
	a := &Conversation{AssistantID: "asst_a", Type: TypeAPI, Status: StatusActive, CreatedAt: day}
	b := &Conversation{AssistantID: "asst_b", Type: TypeWhatsApp, Status: StatusActive, CreatedAt: day.Add(time.Minute),
		SenderPhone: "+15550001"}
	ended := *a
	ended.Status = StatusEnded
	d0, d1 := DayOf(day), DayOf(day)+1
	cases := []struct {
		name           string
		added, removed []*Conversation
		want           CountDelta
	}{
		{name: "nothing", want: CountDelta{}},
		{name: "created", added: []*Conversation{a, b, a},
			want: CountDelta{{"asst_a", TypeAPI, StatusActive, "", d0}: 2, {"asst_b", TypeWhatsApp, StatusActive, "+15550001", d1}: 1}},
		{name: "deleted", removed: []*Conversation{b},
			want: CountDelta{{"asst_b", TypeWhatsApp, StatusActive, "+15550001", d1}: -1}},
		{name: "ended moves between statuses", added: []*Conversation{&ended}, removed: []*Conversation{a},
			want: CountDelta{{"asst_a", TypeAPI, StatusActive, "", d0}: -1, {"asst_a", TypeAPI, StatusEnded, "", d0}: 1}},
		{name: "unchanged cancels out", added: []*Conversation{a}, removed: []*Conversation{a}, want: CountDelta{}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if d := cmp.Diff(tc.want, CountChange(tc.added, tc.removed)); d != "" {
				t.Errorf("change (-want +got):\n%s", d)
			}
		})
	}
}

func TestDayOf(t *testing.T) {
	for _, tc := range []struct {
		at   time.Time
		want int64
	}{
		{time.Unix(0, 0), 0},
		{time.Unix(86399, 999e6), 0},
		{time.Unix(86400, 0), 1},
		{time.Unix(-1, 0), -1},
		{time.Date(2026, 1, 1, 0, 30, 0, 0, time.FixedZone("x", 3600)), DayOf(time.Date(2025, 12, 31, 0, 0, 0, 0, time.UTC))},
	} {
		if got := DayOf(tc.at); got != tc.want {
			t.Errorf("DayOf(%v) = %d, want %d", tc.at, got, tc.want)
		}
		if s := DayStart(DayOf(tc.at)); tc.at.Before(s) || !tc.at.Before(s.Add(24*time.Hour)) {
			t.Errorf("DayStart(DayOf(%v)) = %v, not the start of its day", tc.at, s)
		}
	}
}

func TestPlanCount(t *testing.T) {
	d := time.Date(2026, 3, 4, 0, 0, 0, 0, time.UTC)
	tm := func(days, hours int) *time.Time {
		x := d.AddDate(0, 0, days).Add(time.Duration(hours) * time.Hour)
		return &x
	}
	day := func(n int) *int64 { x := DayOf(d) + int64(n); return &x }
	rng := func(from, to *time.Time) Filter { return Filter{Status: StatusEnded, CreatedFrom: from, CreatedTo: to} }
	cases := []struct {
		name string
		f    Filter
		want CountPlan
	}{
		{name: "unbounded", f: rng(nil, nil), want: CountPlan{}},
		{name: "whole days", f: rng(tm(0, 0), tm(3, 0)), want: CountPlan{FromDay: day(0), ToDay: day(3)}},
		{name: "partial ends", f: rng(tm(0, 5), tm(3, 7)), want: CountPlan{FromDay: day(1), ToDay: day(3),
			Partial: []Filter{rng(tm(0, 5), tm(1, 0)), rng(tm(3, 0), tm(3, 7))}}},
		{name: "from only", f: rng(tm(0, 5), nil), want: CountPlan{FromDay: day(1), Partial: []Filter{rng(tm(0, 5), tm(1, 0))}}},
		{name: "to only", f: rng(nil, tm(2, 1)), want: CountPlan{ToDay: day(2), Partial: []Filter{rng(tm(2, 0), tm(2, 1))}}},
		{name: "within a day", f: rng(tm(0, 5), tm(0, 7)), want: CountPlan{FromDay: day(0), ToDay: day(0), Partial: []Filter{rng(tm(0, 5), tm(0, 7))}}},
		{name: "across midnight", f: rng(tm(0, 5), tm(1, 7)), want: CountPlan{FromDay: day(1), ToDay: day(1), Partial: []Filter{rng(tm(0, 5), tm(1, 7))}}},
		{name: "empty range", f: rng(tm(1, 0), tm(0, 5)), want: CountPlan{FromDay: day(0), ToDay: day(0)}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, tc.f.PlanCount()); diff != "" {
				t.Errorf("plan (-want +got):\n%s", diff)
			}
		})
	}
}

func TestCountPlanSpans(t *testing.T) {
	day := func(y int, m time.Month, d int) int64 { return DayOf(time.Date(y, m, d, 0, 0, 0, 0, time.UTC)) }
	p := func(v int64) *int64 { return &v }
	for _, tc := range []struct {
		name     string
		from, to *int64
		want     []BucketSpan
	}{
		{"unbounded", nil, nil, []BucketSpan{{Months: true}}},
		{"whole months", p(day(2026, 3, 1)), p(day(2026, 6, 1)),
			[]BucketSpan{{Months: true, From: p(day(2026, 3, 1)), To: p(day(2026, 6, 1))}}},
		{"days around months", p(day(2026, 2, 20)), p(day(2026, 6, 3)), []BucketSpan{
			{Months: true, From: p(day(2026, 3, 1)), To: p(day(2026, 6, 1))},
			{From: p(day(2026, 2, 20)), To: p(day(2026, 3, 1))},
			{From: p(day(2026, 6, 1)), To: p(day(2026, 6, 3))}}},
		{"no whole month", p(day(2026, 3, 2)), p(day(2026, 4, 30)),
			[]BucketSpan{{From: p(day(2026, 3, 2)), To: p(day(2026, 4, 30))}}},
		{"from only", p(day(2026, 4, 9)), nil, []BucketSpan{
			{Months: true, From: p(day(2026, 5, 1))}, {From: p(day(2026, 4, 9)), To: p(day(2026, 5, 1))}}},
		{"to only", nil, p(day(2026, 5, 15)), []BucketSpan{
			{Months: true, To: p(day(2026, 5, 1))}, {From: p(day(2026, 5, 1)), To: p(day(2026, 5, 15))}}},
		{"across a year, before 1970", p(day(1969, 12, 31)), p(day(1970, 2, 1)), []BucketSpan{
			{Months: true, From: p(day(1970, 1, 1)), To: p(day(1970, 2, 1))},
			{From: p(day(1969, 12, 31)), To: p(day(1970, 1, 1))}}},
		{"empty", p(day(2026, 4, 1)), p(day(2026, 4, 1)), nil},
	} {
		if diff := cmp.Diff(tc.want, CountPlan{FromDay: tc.from, ToDay: tc.to}.Spans()); diff != "" {
			t.Errorf("%s (-want +got):\n%s", tc.name, diff)
		}
	}
	if got, want := MonthOf(day(1969, 12, 31)), day(1969, 12, 1); got != want {
		t.Errorf("MonthOf(1969-12-31) = %d, want %d", got, want)
	}
	d := CountDelta{{Type: "api", Day: day(2026, 3, 2)}: 2, {Type: "api", Day: day(2026, 3, 30)}: -2,
		{Type: "api", Day: day(2026, 4, 1)}: 1}
	if diff := cmp.Diff(CountDelta{{Type: "api", Day: day(2026, 4, 1)}: 1}, d.Months()); diff != "" {
		t.Errorf("Months (-want +got):\n%s", diff)
	}
}

// TestPricingFree: the type decides; an older payload without a type is
// free only when Meta says billable false.
func TestPricingFree(t *testing.T) {
	no, yes := false, true
	for _, c := range []struct {
		p    Pricing
		free bool
	}{
		{Pricing{Category: "utility", Type: "regular"}, false},
		{Pricing{Category: "service", Type: "free_customer_service"}, true},
		{Pricing{Category: "marketing", Type: "free_entry_point"}, true},
		{Pricing{Category: "utility", Type: "regular", Billable: &no}, false},
		{Pricing{Category: "service", Billable: &no}, true},
		{Pricing{Category: "marketing", Billable: &yes}, false},
		{Pricing{Category: "marketing"}, false},
	} {
		if got := c.p.Free(); got != c.free {
			t.Errorf("%+v: Free() = %v, want %v", c.p, got, c.free)
		}
	}
}
