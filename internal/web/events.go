package web

import (
	"net/http"
	"time"

	"github.com/parley-dev/parley/internal/events"
	"github.com/parley-dev/parley/internal/httpx"
	"github.com/parley-dev/parley/internal/page"
)

// events streams live changes of the viewer's workspace to the page, as
// triggers only (no data worth hiding): "conversations" on any change,
// the conversation's id for changes to one conversation,
// "message-updated" with the ids of a message that changed (its delivery
// status, say; app.js reloads it if shown), and "count" when the
// total may have changed. Pages then fetch what they show with the
// viewer's own session, so nothing reaches a page that its user could not
// load.
//
// Each event's triggers end with a "pos" message carrying the event's id.
// The stream resumes after the id in Last-Event-ID (which the browser's
// EventSource sends when it reconnects by itself) or in ?after= (which
// pages carry: the newest event when the page was rendered, moved forward
// by app.js as events arrive, for the new EventSource the htmx extension
// opens after a failed connection), so a page misses no change between
// its rendering and its stream, nor across reconnects. A resume point
// pruning has passed, or none, starts at the newest event and tells the
// page to refresh.
func (d *Dashboard) events(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	q, fresh := d.resumePoint(r)
	if fresh {
		p, err := d.Events.Store.LastEventPos(ctx)
		if err != nil {
			d.renderError(w, r, err)
			return
		}
		q.After = p
	}
	sub, err := d.Events.Live(ctx, q.WorkspaceID, "live updates")
	if err != nil {
		w.Header().Set("Retry-After", "5")
		http.Error(w, "live updates are not available yet", http.StatusServiceUnavailable)
		return
	}
	defer sub.Close()
	sse := httpx.NewSSE(w, r)
	defer sse.Close()
	if sse.Start() != nil {
		return
	}
	sse.Heartbeat(15 * time.Second)
	if fresh && r.URL.Query().Get("after")+r.Header.Get("Last-Event-ID") != "" {
		// The page's point is lost: whatever it shows may be stale.
		if sse.Send("conversations", "") != nil || sse.Send("count", "") != nil {
			return
		}
	}
	d.Events.Follow(ctx, sub, q, func(e events.Event) bool { return sendTriggers(sse, e) == nil })
}

// resumePoint reads where a stream resumes: fresh is true when it starts
// at the newest event instead (no point given, an unreadable one, or one
// older than the retention).
func (d *Dashboard) resumePoint(r *http.Request) (q events.Query, fresh bool) {
	q = events.Query{WorkspaceID: workspace(r), Limit: page.MaxLimit}
	id := r.Header.Get("Last-Event-ID")
	if id == "" {
		id = r.URL.Query().Get("after")
	}
	p, ok := events.ParseID(id)
	if !ok {
		return q, true
	}
	q.After = p
	if d.Events.Check(r.Context(), q) != nil {
		return q, true
	}
	return q, false
}

// sendTriggers writes the page triggers of one event, then its position.
func sendTriggers(sse *httpx.SSE, e events.Event) error {
	if err := sse.Send("conversations", e.ConversationID); err != nil {
		return err
	}
	if e.ConversationID != "" {
		if err := sse.Send(e.ConversationID, e.Type); err != nil {
			return err
		}
	}
	if e.Type == events.MessageUpdated && e.MessageID != "" {
		if err := sse.Send("message-updated", map[string]string{"conversation": e.ConversationID, "message": e.MessageID}); err != nil {
			return err
		}
	}
	if e.Type == events.ConversationCreated || e.Type == events.ConversationDeleted {
		if err := sse.Send("count", e.Type); err != nil {
			return err
		}
	}
	return sse.SendID(e.ID, "pos", e.ID)
}

// navCount answers the navigation badge's number (O(1): counters).
func (d *Dashboard) navCount(w http.ResponseWriter, r *http.Request) {
	c, err := d.Conversations.Count(r.Context(), workspace(r), zeroFilter)
	if err != nil {
		d.renderError(w, r, err)
		return
	}
	httpx.HTMLHeaders(w.Header())
	w.Header().Set("Cache-Control", "no-store")
	_, _ = w.Write([]byte(num(c.Total)))
}
