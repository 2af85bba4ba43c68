package web

import (
	"math"
	"net/http"
	"strconv"

	"github.com/parley-dev/parley/internal/conversation"
	"github.com/parley-dev/parley/internal/fault"
	"github.com/parley-dev/parley/internal/page"
)

// transcriptPage is how many messages a transcript loads at a time.
const transcriptPage = 50

// conversation shows one conversation: its newest messages (older ones
// load as the reader scrolls up), details, variables and the composer.
// The details panel alone (htmx targeting conv-side: it refreshes itself
// as the conversation changes) reads no messages.
func (d *Dashboard) conversation(w http.ResponseWriter, r *http.Request) {
	ws, id := workspace(r), r.PathValue("id")
	c, err := d.Conversations.Get(r.Context(), ws, id)
	if err != nil {
		d.renderError(w, r, err)
		return
	}
	wa, err := d.whatsAppView(r, c, "")
	if err != nil {
		d.renderError(w, r, err)
		return
	}
	if isHX(r) && r.Header.Get("HX-Target") == "conv-side" {
		d.render(w, r, http.StatusOK, "conversation", map[string]any{"C": c, "WA": wa, "Fragment": "side"})
		return
	}
	res, err := d.Conversations.Messages(r.Context(), ws, id, page.Request{Limit: transcriptPage,
		Cursor: &page.Cursor{Before: true, Seq: math.MaxInt64}})
	if err != nil {
		d.renderError(w, r, err)
		return
	}
	data := map[string]any{"C": c, "Messages": res.Items, "Composer": map[string]any{}, "WA": wa}
	data["Older"], data["Tail"] = olderOf(res), tailOf(res.Items, 0)
	d.render(w, r, http.StatusOK, "conversation", data)
}

// olderOf is the seq before which older messages exist, or 0.
func olderOf(res page.Result[*conversation.Message]) int64 {
	if res.Prev == nil || len(res.Items) == 0 {
		return 0
	}
	return res.Items[0].Seq
}

// tailOf is the seq of the newest message shown (new ones load after it).
func tailOf(msgs []*conversation.Message, def int64) int64 {
	if len(msgs) == 0 {
		return def
	}
	return msgs[len(msgs)-1].Seq
}

// messages answers the transcript's fragments: ?before=SEQ an older page
// (revealed on scroll), ?after=SEQ the messages newer than those shown
// (live updates). The sequence numbers only narrow the range within this
// conversation of this workspace, so any value is safe.
func (d *Dashboard) messages(w http.ResponseWriter, r *http.Request) {
	ws, id := workspace(r), r.PathValue("id")
	qv := r.URL.Query()
	data := map[string]any{"ID": id}
	var req page.Request
	var before bool
	if s := qv.Get("before"); s != "" {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil || n <= 0 {
			d.renderError(w, r, fault.Invalid("before", "must be a message position"))
			return
		}
		req, before = page.Request{Limit: transcriptPage, Cursor: &page.Cursor{Before: true, Seq: n}}, true
	} else {
		n, err := strconv.ParseInt(qv.Get("after"), 10, 64)
		if err != nil || n < 0 {
			d.renderError(w, r, fault.Invalid("after", "must be a message position"))
			return
		}
		req = page.Request{Limit: page.MaxLimit}
		if n > 0 {
			req.Cursor = &page.Cursor{Seq: n}
		}
	}
	res, err := d.Conversations.Messages(r.Context(), ws, id, req)
	if err != nil {
		d.renderError(w, r, err)
		return
	}
	data["Messages"] = res.Items
	if before {
		data["Older"] = olderOf(res)
		data["Fragment"] = "older"
	} else {
		after, _ := strconv.ParseInt(qv.Get("after"), 10, 64)
		data["Tail"] = tailOf(res.Items, after)
		data["Fragment"] = "tail"
	}
	d.render(w, r, http.StatusOK, "conversation", data)
}

// message answers one message, for a live refresh of its delivery
// status, fee or reactions.
func (d *Dashboard) message(w http.ResponseWriter, r *http.Request) {
	m, err := d.Conversations.Message(r.Context(), workspace(r), r.PathValue("id"), r.PathValue("mid"))
	if err != nil {
		d.renderError(w, r, err)
		return
	}
	d.render(w, r, http.StatusOK, "conversation", map[string]any{"Fragment": "onemessage", "M": m})
}

// postOperator sends the composer's text as an operator message on the
// conversation's channel. The transcript picks it up from the live feed
// (or at once, from the tail-refresh trigger).
func (d *Dashboard) postOperator(w http.ResponseWriter, r *http.Request) {
	ws, id := workspace(r), r.PathValue("id")
	content := r.PostFormValue("content")
	_, err := d.Conversations.PostMessage(r.Context(), ws, id, conversation.PostInput{Role: conversation.RoleOperator, Content: content}, nil)
	if fe := fieldErrors(err); fe != nil {
		d.render(w, r, http.StatusUnprocessableEntity, "conversation", map[string]any{"Fragment": "composer",
			"C": &conversation.Conversation{ID: id}, "Composer": map[string]any{"Error": fe["content"], "Content": content}})
		return
	}
	if err != nil {
		d.renderError(w, r, err)
		return
	}
	w.Header().Set("HX-Trigger", "tail-refresh")
	d.render(w, r, http.StatusOK, "conversation", map[string]any{"Fragment": "composer", "C": &conversation.Conversation{ID: id},
		"Composer": map[string]any{}})
}

// setAI turns the assistant's replies on or off for the conversation.
func (d *Dashboard) setAI(w http.ResponseWriter, r *http.Request) {
	on := r.PostFormValue("ai_enabled") == "true"
	if _, err := d.Conversations.Update(r.Context(), workspace(r), r.PathValue("id"), conversation.Patch{AIEnabled: &on}); err != nil {
		d.renderError(w, r, err)
		return
	}
	redirect(w, r, "/conversations/"+r.PathValue("id"))
}

func (d *Dashboard) end(w http.ResponseWriter, r *http.Request) {
	if _, err := d.Conversations.End(r.Context(), workspace(r), r.PathValue("id")); err != nil {
		d.renderError(w, r, err)
		return
	}
	redirect(w, r, "/conversations/"+r.PathValue("id"))
}

func (d *Dashboard) deleteConversation(w http.ResponseWriter, r *http.Request) {
	if err := d.Conversations.Delete(r.Context(), workspace(r), r.PathValue("id")); err != nil {
		d.renderError(w, r, err)
		return
	}
	redirect(w, r, "/conversations")
}

// transcript downloads the whole transcript as plain text.
func (d *Dashboard) transcript(w http.ResponseWriter, r *http.Request) {
	ws, id := workspace(r), r.PathValue("id")
	c, msgs, err := d.Conversations.WithTranscript(r.Context(), ws, id)
	if err != nil {
		d.renderError(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="`+c.ID+`.txt"`)
	w.Header().Set("Cache-Control", "no-store")
	_, _ = w.Write([]byte("Conversation " + c.ID + " (" + c.Type + ", " + c.AssistantName + ")\n\n"))
	for _, m := range msgs {
		_, _ = w.Write([]byte("[" + m.CreatedAt.UTC().Format("2006-01-02 15:04:05 UTC") + "] " + m.Role + ": " + m.Content + "\n\n"))
	}
}
