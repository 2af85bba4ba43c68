package web

import (
	"net/http"
	"time"

	"github.com/parley-dev/parley/internal/events"
	"github.com/parley-dev/parley/internal/httpx"
)

// events streams live changes of the viewer's workspace to the page, as
// triggers only (no data worth hiding): "conversations" on any change,
// the conversation's id for changes to one conversation, and "count"
// when the total may have changed. Pages then fetch what they show with
// the viewer's own session, so nothing reaches a page that its user could
// not load.
func (d *Dashboard) events(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	sub, err := d.Events.Live(ctx, workspace(r), "live updates")
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
	for {
		select {
		case <-ctx.Done():
			return
		case e, ok := <-sub.C:
			if !ok {
				return // dropped for falling behind: the browser reconnects
			}
			if sse.Send("conversations", e.ConversationID) != nil {
				return
			}
			if e.ConversationID != "" && sse.Send(e.ConversationID, e.Type) != nil {
				return
			}
			if e.Type == events.ConversationCreated || e.Type == events.ConversationDeleted {
				if sse.Send("count", e.Type) != nil {
					return
				}
			}
		}
	}
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
