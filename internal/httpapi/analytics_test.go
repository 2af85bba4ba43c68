package httpapi_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/parley-dev/parley/internal/apptest"
)

// TestAnalytics drives conversations through the API over three days and
// checks the report against the transcripts the API itself returns: per
// day, per type, per assistant, by week and month, with its filters, and
// after a delete (which takes nothing away). Another workspace sees none
// of it, even naming this workspace's assistant.
func TestAnalytics(t *testing.T) {
	s := apptest.Start(t, testDB(t))
	day := func(d int) time.Time { return time.Date(2030, 6, d, 10, 0, 0, 0, time.UTC) }
	now := day(1)
	s.App.Now = func() time.Time { return now }

	// Roles of every message, per type, from the transcripts.
	roles := map[string]map[string]float64{}
	count := func(typ, id string) {
		g := s.Do("GET", "/api/v1/conversations/"+id, s.Key, nil).Want(200)
		if roles[typ] == nil {
			roles[typ] = map[string]float64{}
		}
		for _, m := range g.Get("messages").([]any) {
			roles[typ][m.(map[string]any)["role"].(string)]++
		}
	}
	api := newConversation(t, s, s.Key, map[string]any{"type": "api"})
	s.Do("POST", "/api/v1/conversations/"+api+"/messages", s.Key, map[string]any{"content": "When are you open?"}).Want(201)
	count("api", api)
	now = day(2)
	test := newConversation(t, s, s.Key, map[string]any{"type": "test"})
	s.Do("POST", "/api/v1/conversations/"+test+"/messages", s.Key, map[string]any{"content": "Hello, a human here", "role": "operator"}).Want(201)
	second := s.Do("POST", "/api/v1/assistants", s.Key, map[string]any{"name": "Second", "model": "offline"}).Want(201).Str("id")
	other := newConversation(t, s, s.Key, map[string]any{"type": "api", "assistant_id": second})
	count("api", other)
	now = day(3)
	s.Do("POST", "/api/v1/conversations/"+test+"/end", s.Key, nil).Want(200)
	// The extraction the end enqueued adds its note (a system message) on day 3.
	waitFor(t, s, test, func(r *apptest.Response) bool { return r.Get("last_message.role") == "system" })
	count("test", test)
	s.Do("DELETE", "/api/v1/conversations/"+api, s.Key, nil).Want(204)

	const rng = "/api/v1/analytics?from=2030-06-01&to=2030-06-03"
	r := s.Do("GET", rng, s.Key, nil).Want(200)
	wantNum := func(r *apptest.Response, path string, want float64) {
		t.Helper()
		if got := r.Get(path); got != want {
			t.Errorf("%s = %v, want %v in %s", path, got, want, r.Body)
		}
	}
	wantNum(r, "totals.conversations_started", 3) // the deleted one too
	wantNum(r, "totals.conversations_ended", 1)
	for typ, byRole := range roles {
		total := 0.0
		for role, n := range byRole {
			wantNum(r, "by_type."+typ+".messages."+role, n)
			total += n
		}
		wantNum(r, "by_type."+typ+".messages.total", total)
	}
	wantNum(r, "by_type.widget.conversations_started", 0)
	if r.Get("totals.cost") != "0.000000000" || r.Get("totals.cost_complete") != true {
		t.Errorf("offline replies cost nothing, completely: %s", r.Body)
	}
	if n, _ := r.Get("totals.reply_latency.count").(float64); n < 1 || r.Get("totals.reply_latency.average_ms") == nil {
		t.Errorf("the offline reply was not timed: %s", r.Body)
	}
	if n, _ := r.Get("totals.usage.total_tokens").(float64); n < 1 {
		t.Errorf("no tokens counted: %s", r.Body)
	}
	series := r.Get("series").([]any)
	if len(series) != 3 {
		t.Fatalf("series of %d days: %s", len(series), r.Body)
	}
	for i, want := range []float64{1, 2, 0} {
		p := series[i].(map[string]any)
		if p["start"] != fmt.Sprintf("2030-06-0%d", i+1) || p["conversations_started"] != want {
			t.Errorf("day %d: %v, want %v started", i+1, p, want)
		}
	}
	if ended := series[2].(map[string]any)["by_type"].(map[string]any)["test"].(map[string]any)["conversations_ended"]; ended != 1.0 {
		t.Errorf("the test conversation ended on day 3, by_type says %v", ended)
	}
	byAsst := r.Get("by_assistant").([]any)
	if len(byAsst) != 2 {
		t.Fatalf("by_assistant: %v", byAsst)
	}
	names := map[string]string{}
	for _, a := range byAsst {
		ref := a.(map[string]any)["assistant"].(map[string]any)
		names[ref["id"].(string)] = ref["name"].(string)
	}
	if names[second] != "Second" || names[s.DemoAssistant] != "Demo Assistant" {
		t.Errorf("by_assistant names: %v", names)
	}

	// Filters.
	r = s.Do("GET", rng+"&type=test", s.Key, nil).Want(200)
	wantNum(r, "totals.conversations_started", 1)
	wantNum(r, "by_type.api.conversations_started", 0)
	r = s.Do("GET", rng+"&assistant_id="+second, s.Key, nil).Want(200)
	wantNum(r, "totals.conversations_started", 1)
	r = s.Do("GET", rng+"&type=api&type=test&assistant_id="+s.DemoAssistant, s.Key, nil).Want(200)
	wantNum(r, "totals.conversations_started", 2)
	r = s.Do("GET", "/api/v1/analytics?from=2030-06-02&to=2030-06-02", s.Key, nil).Want(200)
	wantNum(r, "totals.conversations_started", 2)
	wantNum(r, "totals.conversations_ended", 0)
	for _, key := range []string{s.OtherKey} {
		for _, q := range []string{rng, rng + "&assistant_id=" + s.DemoAssistant} {
			r = s.Do("GET", q, key, nil).Want(200)
			wantNum(r, "totals.conversations_started", 0)
			wantNum(r, "totals.messages.total", 0)
			if n := len(r.Get("by_assistant").([]any)); n != 0 {
				t.Errorf("another workspace sees assistants: %s", r.Body)
			}
		}
	}

	// Intervals: 2030-06-01 is a Saturday.
	r = s.Do("GET", rng+"&interval=week", s.Key, nil).Want(200)
	series = r.Get("series").([]any)
	if len(series) != 2 || series[0].(map[string]any)["start"] != "2030-05-27" || series[1].(map[string]any)["start"] != "2030-06-03" ||
		series[0].(map[string]any)["conversations_started"] != 3.0 || series[1].(map[string]any)["conversations_ended"] != 1.0 {
		t.Errorf("by week: %s", r.Body)
	}
	r = s.Do("GET", "/api/v1/analytics?from=2030-05-15&to=2030-07-02&interval=month", s.Key, nil).Want(200)
	series = r.Get("series").([]any)
	if len(series) != 3 || series[1].(map[string]any)["start"] != "2030-06-01" || series[1].(map[string]any)["conversations_started"] != 3.0 {
		t.Errorf("by month: %s", r.Body)
	}
	// The default range: the last 30 days, today included.
	r = s.Do("GET", "/api/v1/analytics", s.Key, nil).Want(200)
	if r.Get("from") != "2030-05-05" || r.Get("to") != "2030-06-03" || len(r.Get("series").([]any)) != 30 {
		t.Errorf("default range: from %v to %v", r.Get("from"), r.Get("to"))
	}
	r = s.Do("GET", "/api/v1/analytics?from=2029-06-03&to=2030-06-03", s.Key, nil).Want(200) // 366 days
	wantNum(r, "totals.conversations_started", 3)
}

// TestAnalyticsRefusals checks that bad ranges and values are refused
// with a problem naming the field.
func TestAnalyticsRefusals(t *testing.T) {
	s := apptest.Start(t, testDB(t))
	const p = "/api/v1/analytics"
	runScenarios(t, s, []scenario{
		{name: "bad date", method: "GET", key: "own", path: p + "?from=2030-13-01", status: 422, code: "validation_failed", field: "from"},
		{name: "a time is not a date", method: "GET", key: "own", path: p + "?to=2030-01-01T10:00:00Z", status: 422, field: "to"},
		{name: "reversed", method: "GET", key: "own", path: p + "?from=2030-02-01&to=2030-01-31", status: 422, field: "to", contains: []string{"on or after"}},
		{name: "too long by day", method: "GET", key: "own", path: p + "?from=2029-01-01&to=2030-01-02", status: 422, contains: []string{"367 days", "366"}},
		{name: "long by week", method: "GET", key: "own", path: p + "?from=2029-01-01&to=2030-06-30&interval=week", status: 200},
		{name: "too long by week", method: "GET", key: "own", path: p + "?from=2020-01-01&to=2030-06-30&interval=week", status: 422},
		{name: "five years by month", method: "GET", key: "own", path: p + "?from=2025-07-01&to=2030-06-30&interval=month", status: 200},
		{name: "bad interval", method: "GET", key: "own", path: p + "?interval=hour", status: 422, field: "interval"},
		{name: "bad type", method: "GET", key: "own", path: p + "?type=fax", status: 422, field: "type"},
		{name: "no key", method: "GET", path: p, status: 401},
	})
}
