package web

import (
	"net/http"
	"strings"
	"time"

	"github.com/parley-dev/parley/internal/conversation"
	"github.com/parley-dev/parley/internal/fault"
	"github.com/parley-dev/parley/internal/httpx"
	"github.com/parley-dev/parley/internal/page"
)

// testChat lets the viewer talk to an assistant as a customer would; each
// session is a conversation of type test. ?c= resumes one.
func (d *Dashboard) testChat(w http.ResponseWriter, r *http.Request) {
	ws := workspace(r)
	list, err := d.Assistants.List(r.Context(), ws, page.Request{Limit: page.MaxLimit})
	if err != nil {
		d.renderError(w, r, err)
		return
	}
	data := map[string]any{"Assistants": list.Items}
	if id := r.URL.Query().Get("c"); id != "" {
		c, err := d.Conversations.Get(r.Context(), ws, id)
		if err != nil || c.Type != conversation.TypeTest {
			d.renderError(w, r, fault.NotFound("test conversation"))
			return
		}
		msgs, err := d.Conversations.Messages(r.Context(), ws, id, page.Request{Limit: page.MaxLimit,
			Cursor: &page.Cursor{Before: true, Seq: 1 << 62}})
		if err != nil {
			d.renderError(w, r, err)
			return
		}
		data["C"], data["Messages"] = c, msgs.Items
	}
	d.render(w, r, http.StatusOK, "testchat", data)
}

// testChatSend posts the tester's message (starting a test conversation
// with the chosen assistant when there is none yet) and, for the page's
// script (Accept: text/event-stream), streams the reply: "conversation"
// (its id and any greeting, once), "user" (the stored message), "delta"
// (reply text as it comes), then "done" (the stored reply) or "failed".
// Without the script the form posts normally and the page reloads.
func (d *Dashboard) testChatSend(w http.ResponseWriter, r *http.Request) {
	ws := workspace(r)
	content := r.PostFormValue("content")
	convID := r.PostFormValue("conversation_id")
	stream := httpx.PrefersEventStream(r)
	var sse *httpx.SSE
	if stream {
		sse = httpx.NewSSE(w, r)
		defer sse.Close()
	}
	fail := func(err error) {
		if !stream {
			d.renderError(w, r, err)
			return
		}
		p := httpx.ProblemFor(err)
		msg := p.Detail
		if fe := fieldErrors(err); fe != nil {
			for _, v := range fe {
				msg = v
			}
		}
		_ = sse.Send("failed", map[string]string{"message": msg})
	}
	if strings.TrimSpace(content) == "" {
		fail(fault.Invalid("content", "type a message first"))
		return
	}
	if convID == "" {
		c, first, err := d.Conversations.Create(r.Context(), ws, conversation.CreateInput{
			AssistantID: r.PostFormValue("assistant_id"), Type: conversation.TypeTest})
		if err != nil {
			fail(err)
			return
		}
		convID = c.ID
		if stream {
			var html strings.Builder
			for _, m := range first {
				html.WriteString(d.fragment("conversation", "message", m))
			}
			if sse.Send("conversation", map[string]string{"id": c.ID, "html": html.String()}) != nil {
				return
			}
		}
	}
	start := time.Now()
	var onDelta func(string) error
	if stream {
		onDelta = func(s string) error { return sse.Send("delta", map[string]string{"text": s}) }
	}
	// The user's message is stored before the model is asked; show it
	// as soon as the reply starts (or fails).
	posted, err := d.Conversations.PostMessage(r.Context(), ws, convID, conversation.PostInput{Role: conversation.RoleUser, Content: content}, onDelta)
	if err != nil {
		fail(err)
		return
	}
	if !stream {
		http.Redirect(w, r, "/test-chat?c="+convID, http.StatusSeeOther)
		return
	}
	_ = sse.Send("user", map[string]string{"html": d.fragment("conversation", "message", posted.Message)})
	done := map[string]any{"elapsed_ms": time.Since(start).Milliseconds()}
	if posted.Reply != nil {
		done["html"] = d.fragment("conversation", "message", posted.Reply)
	}
	_ = sse.Send("done", done)
}

// testChatEnd ends the session, which runs variable extraction, and shows
// what was extracted.
func (d *Dashboard) testChatEnd(w http.ResponseWriter, r *http.Request) {
	c, err := d.Conversations.End(r.Context(), workspace(r), r.PathValue("id"))
	if err != nil {
		d.renderError(w, r, err)
		return
	}
	d.render(w, r, http.StatusOK, "testchat", map[string]any{"Fragment": "ended", "C": c})
}

// fragment renders one named template of a page to a string (for
// streamed HTML); a failure is logged and renders nothing.
func (d *Dashboard) fragment(page, name string, data any) string {
	var b strings.Builder
	if err := d.pages[page].ExecuteTemplate(&b, name, data); err != nil {
		d.Log.Error("dashboard: render fragment", "template", name, "err", err)
		return ""
	}
	return b.String()
}

// testChatEnded re-renders the extracted variables; the panel asks again
// whenever the conversation changes, since extraction runs as a job.
func (d *Dashboard) testChatEnded(w http.ResponseWriter, r *http.Request) {
	c, err := d.Conversations.Get(r.Context(), workspace(r), r.PathValue("id"))
	if err != nil {
		d.renderError(w, r, err)
		return
	}
	d.render(w, r, http.StatusOK, "testchat", map[string]any{"Fragment": "ended", "C": c})
}
