package httpapi

import (
	"net/http"
	"strconv"
	"time"

	"github.com/parley-dev/parley/internal/events"
	"github.com/parley-dev/parley/internal/fault"
	"github.com/parley-dev/parley/internal/httpx"
	"github.com/parley-dev/parley/internal/page"
)

// eventHeartbeat is how often an idle event stream sends a comment, so
// proxies and load balancers do not close it as idle.
const eventHeartbeat = 15 * time.Second

// eventJSON is an event as the API shows it.
type eventJSON struct {
	ID             string    `json:"id"`
	Type           string    `json:"type"`
	CreatedAt      time.Time `json:"created_at"`
	ConversationID string    `json:"conversation_id"`
	MessageID      string    `json:"message_id,omitempty"`
}

func eventView(e events.Event) eventJSON {
	return eventJSON{ID: e.ID, Type: e.Type, CreatedAt: e.CreatedAt, ConversationID: e.ConversationID, MessageID: e.MessageID}
}

// eventQuery reads the filters, the resume point (Last-Event-ID, which a
// reconnecting EventSource sends, wins over after; resume reports whether
// there is one) and per_page.
func eventQuery(r *http.Request) (q events.Query, resume bool, err error) {
	query := r.URL.Query()
	var v fault.Validation
	eq := events.Query{WorkspaceID: workspaceID(r.Context()), ConversationID: query.Get("conversation_id"), Limit: page.DefaultLimit}
	eq.Types = listParam(query, "type")
	if query.Has("per_page") {
		n, err := strconv.Atoi(query.Get("per_page"))
		if err != nil || n < 1 || n > page.MaxLimit {
			v.Add("per_page", "must be a whole number from 1 to %d", page.MaxLimit)
		} else {
			eq.Limit = n
		}
	}
	field, after := "after", query.Get("after")
	if id := r.Header.Get("Last-Event-ID"); id != "" {
		field, after = "Last-Event-ID", id
	}
	if after != "" {
		p, ok := events.ParseID(after)
		if !ok {
			v.Add(field, "must be the id of an event, like evt_000000000000002a")
		}
		eq.After = p
	}
	return eq, after != "", v.Err()
}

// listEvents pages the workspace's events oldest first or, asked for
// text/event-stream, streams them live.
func (a *API) listEvents(w http.ResponseWriter, r *http.Request) {
	q, resume, err := eventQuery(r)
	if err != nil {
		httpx.WriteProblem(w, r, err)
		return
	}
	if httpx.PrefersEventStream(r) {
		a.streamEvents(w, r, q, resume)
		return
	}
	evs, err := a.Events.List(r.Context(), q)
	if err != nil {
		httpx.WriteProblem(w, r, err)
		return
	}
	out := listJSON[eventJSON]{Data: make([]eventJSON, 0, len(evs))}
	for _, e := range evs {
		out.Data = append(out.Data, eventView(e))
	}
	if len(evs) > 0 {
		next := evs[len(evs)-1].ID
		out.NextCursor = &next
	}
	httpx.WriteJSON(w, http.StatusOK, out)
}

// streamEvents sends the events after the resume point from the table
// (without one, it starts at the newest event), then live ones from the
// hub, each once and in order, with a heartbeat comment every
// eventHeartbeat. It subscribes before reading the table, so no event
// falls between the two; live events already sent are skipped. The
// stream ends when the client goes, or when the hub drops it for falling
// behind: the client reconnects with Last-Event-ID and catches up.
func (a *API) streamEvents(w http.ResponseWriter, r *http.Request, q events.Query, resume bool) {
	ctx := r.Context()
	if err := a.Events.Check(ctx, q); err != nil {
		httpx.WriteProblem(w, r, err)
		return
	}
	if !resume {
		p, err := a.Events.Store.LastEventPos(ctx)
		if err != nil {
			httpx.WriteProblem(w, r, err)
			return
		}
		q.After = p
	}
	sub, err := a.Events.Live(ctx, q.WorkspaceID, "live events")
	if err != nil {
		httpx.WriteProblem(w, r, err)
		return
	}
	defer sub.Close()
	sse := httpx.NewSSE(w, r)
	defer sse.Close()
	if sse.Start() != nil {
		return
	}
	sse.Heartbeat(eventHeartbeat)
	q.Limit = page.MaxLimit
	a.Events.Follow(ctx, sub, q, func(e events.Event) bool {
		return sse.SendID(e.ID, e.Type, eventView(e)) == nil
	})
}
