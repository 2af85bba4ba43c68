package web

import (
	"net/http"
	"time"

	"github.com/parley-dev/parley/internal/conversation"
	"github.com/parley-dev/parley/internal/fault"
	"github.com/parley-dev/parley/internal/page"
)

// analytics shows the workspace's activity over time from the maintained
// daily aggregates: totals, a chart per measure, and tables by interval,
// type and assistant. The chart data travels as a JSON data block that
// analytics.js draws with uPlot.
func (d *Dashboard) analytics(w http.ResponseWriter, r *http.Request) {
	ws := workspace(r)
	qv := r.URL.Query()
	preset := qv.Get("preset")
	if preset == "" {
		preset = "30d"
	}
	q := conversation.AnalyticsQuery{AssistantID: qv.Get("assistant"), Types: qv["type"], Interval: qv.Get("interval")}
	// The aggregates are kept per UTC day: the range ends on the UTC
	// day of the viewer's today.
	y, m, dd := d.Now().In(viewerZone(r)).Date()
	today := time.Date(y, m, dd, 0, 0, 0, 0, time.UTC)
	var v fault.Validation
	switch preset {
	case "7d":
		q.From, q.To = today.AddDate(0, 0, -6), today
	case "30d":
		q.From, q.To = today.AddDate(0, 0, -29), today
	case "90d":
		q.From, q.To = today.AddDate(0, 0, -89), today
	case "365d":
		q.From, q.To = today.AddDate(0, 0, -364), today
	case "custom":
		for _, f := range []struct {
			name string
			dst  *time.Time
		}{{"from", &q.From}, {"to", &q.To}} {
			if s := qv.Get(f.name); s != "" {
				t, err := time.Parse(time.DateOnly, s)
				if err != nil {
					v.Add(f.name, "must be a date")
				}
				*f.dst = t
			}
		}
	default:
		v.Add("preset", "must be 7d, 30d, 90d, 365d or custom")
	}
	data := map[string]any{"Preset": preset, "Form": qv, "Types": conversation.Types}
	asst, err := d.Assistants.List(r.Context(), ws, page.Request{Limit: page.MaxLimit})
	if err != nil {
		d.renderError(w, r, err)
		return
	}
	data["Assistants"] = asst.Items
	err = v.Err()
	var rep *conversation.Analytics
	if err == nil {
		rep, err = d.Conversations.Analytics(r.Context(), ws, q)
	}
	if fe := fieldErrors(err); fe != nil {
		data["Errors"] = fe
	} else if err != nil {
		d.renderError(w, r, err)
		return
	}
	if rep != nil {
		data["R"] = rep
		chart := map[string]any{}
		xs, cs, ms, ts, costs := []int64{}, []int64{}, []int64{}, []int64{}, []float64{}
		for _, p := range rep.Series {
			xs = append(xs, p.Start.Unix())
			cs = append(cs, p.ConversationsStarted)
			ms = append(ms, p.UserMessages+p.AssistantMessages+p.OperatorMessages)
			ts = append(ts, p.Usage.TotalTokens)
			costs = append(costs, float64(p.Cost)/1e9)
		}
		chart["x"], chart["conversations"], chart["messages"], chart["tokens"], chart["cost"] = xs, cs, ms, ts, costs
		data["Chart"] = chart
	}
	d.render(w, r, http.StatusOK, "analytics", data)
}
