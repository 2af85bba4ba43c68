package httpapi

import (
	"net/http"
	"time"

	"github.com/parley-dev/parley/internal/conversation"
	"github.com/parley-dev/parley/internal/fault"
	"github.com/parley-dev/parley/internal/httpx"
	"github.com/parley-dev/parley/internal/llm"
	"github.com/parley-dev/parley/internal/money"
)

func (a *API) getAnalytics(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	var v fault.Validation
	aq := conversation.AnalyticsQuery{AssistantID: q.Get("assistant_id"), Interval: q.Get("interval")}
	aq.Types = listParam(q, "type")
	for _, p := range []struct {
		name string
		dst  *time.Time
	}{{"from", &aq.From}, {"to", &aq.To}} {
		if s := q.Get(p.name); s != "" {
			t, err := time.Parse(time.DateOnly, s)
			if err != nil {
				v.Add(p.name, "must be a date like 2026-01-31")
				continue
			}
			*p.dst = t
		}
	}
	if err := v.Err(); err != nil {
		httpx.WriteProblem(w, r, err)
		return
	}
	rep, err := a.Conversations.Analytics(r.Context(), workspaceID(r.Context()), aq)
	if err != nil {
		httpx.WriteProblem(w, r, err)
		return
	}
	httpx.WriteJSON(w, http.StatusOK, analyticsView(rep))
}

type messageCountsJSON struct {
	Total     int64 `json:"total"`
	User      int64 `json:"user"`
	Assistant int64 `json:"assistant"`
	Operator  int64 `json:"operator"`
	System    int64 `json:"system"`
}

type latencyJSON struct {
	Count     int64  `json:"count"`
	TotalMS   int64  `json:"total_ms"`
	AverageMS *int64 `json:"average_ms"`
}

// activityJSON is the metrics of one slice of a report.
type activityJSON struct {
	ConversationsStarted int64             `json:"conversations_started"`
	ConversationsEnded   int64             `json:"conversations_ended"`
	Messages             messageCountsJSON `json:"messages"`
	Usage                llm.Usage         `json:"usage"`
	Cost                 money.Money       `json:"cost"`
	CostComplete         bool              `json:"cost_complete"`
	UnpricedMessages     int64             `json:"unpriced_messages"`
	ReplyLatency         latencyJSON       `json:"reply_latency"`
}

func activityView(a conversation.Activity) activityJSON {
	lat := latencyJSON{Count: a.LatencyCount, TotalMS: a.LatencyMSSum}
	if avg, ok := a.AverageLatencyMS(); ok {
		lat.AverageMS = &avg
	}
	return activityJSON{
		ConversationsStarted: a.ConversationsStarted, ConversationsEnded: a.ConversationsEnded,
		Messages: messageCountsJSON{Total: a.Messages(), User: a.UserMessages, Assistant: a.AssistantMessages,
			Operator: a.OperatorMessages, System: a.SystemMessages},
		Usage: a.Usage, Cost: a.Cost, CostComplete: a.CostComplete(), UnpricedMessages: a.UnpricedMessages,
		ReplyLatency: lat,
	}
}

func byTypeView(m map[string]conversation.Activity) map[string]activityJSON {
	out := make(map[string]activityJSON, len(m))
	for t, a := range m {
		out[t] = activityView(a)
	}
	return out
}

type assistantActivityJSON struct {
	Assistant refJSON `json:"assistant"`
	activityJSON
}

type analyticsPointJSON struct {
	Start string `json:"start"`
	activityJSON
	ByType map[string]activityJSON `json:"by_type"`
}

type analyticsJSON struct {
	From        string                  `json:"from"`
	To          string                  `json:"to"`
	Interval    string                  `json:"interval"`
	TimeZone    string                  `json:"time_zone"`
	Totals      activityJSON            `json:"totals"`
	ByType      map[string]activityJSON `json:"by_type"`
	ByAssistant []assistantActivityJSON `json:"by_assistant"`
	Series      []analyticsPointJSON    `json:"series"`
}

func analyticsView(rep *conversation.Analytics) analyticsJSON {
	out := analyticsJSON{
		From: rep.From.Format(time.DateOnly), To: rep.To.Format(time.DateOnly), Interval: rep.Interval, TimeZone: "UTC",
		Totals: activityView(rep.Totals), ByType: byTypeView(rep.ByType),
		ByAssistant: make([]assistantActivityJSON, 0, len(rep.ByAssistant)),
		Series:      make([]analyticsPointJSON, 0, len(rep.Series)),
	}
	for _, a := range rep.ByAssistant {
		out.ByAssistant = append(out.ByAssistant, assistantActivityJSON{
			Assistant: refJSON{ID: a.AssistantID, Name: a.AssistantName}, activityJSON: activityView(a.Activity)})
	}
	for _, p := range rep.Series {
		out.Series = append(out.Series, analyticsPointJSON{Start: p.Start.Format(time.DateOnly),
			activityJSON: activityView(p.Activity), ByType: byTypeView(p.ByType)})
	}
	return out
}
