package httpapi

import (
	"encoding/csv"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/parley-dev/parley/internal/conversation"
	"github.com/parley-dev/parley/internal/fault"
	"github.com/parley-dev/parley/internal/httpx"
	"github.com/parley-dev/parley/internal/llm"
	"github.com/parley-dev/parley/internal/page"
)

// messageBodyLimit fits a 4096-character message with room to spare, so
// an over-long message gets a 422 that says so rather than a 413.
const messageBodyLimit = 64 << 10

// customerInput is the customer as the API takes it. Every field is
// optional: a given one replaces the stored one, and null (like "")
// clears it.
type customerInput struct {
	Name  httpx.Optional[string] `json:"name"`
	Phone httpx.Optional[string] `json:"phone"`
	Email httpx.Optional[string] `json:"email"`
}

func (c *customerInput) patch() *conversation.CustomerPatch {
	if c == nil {
		return nil
	}
	return &conversation.CustomerPatch{Name: textPatch(c.Name), Phone: textPatch(c.Phone), Email: textPatch(c.Email)}
}

// clearCustomer is the patch that null sends for the whole customer.
func clearCustomer() *conversation.CustomerPatch {
	empty := ""
	return &conversation.CustomerPatch{Name: &empty, Phone: &empty, Email: &empty}
}

type createConversationInput struct {
	AssistantID        string         `json:"assistant_id"`
	Type               string         `json:"type"`
	ExternalIdentifier string         `json:"external_identifier"`
	Customer           *customerInput `json:"customer"`
	Variables          map[string]any `json:"variables"`
}

func (a *API) createConversation(w http.ResponseWriter, r *http.Request) {
	in := createConversationInput{Type: conversation.TypeAPI}
	if err := httpx.Decode(w, r, defaultBodyLimit, &in); err != nil {
		httpx.WriteProblem(w, r, err)
		return
	}
	if in.Type != conversation.TypeAPI && in.Type != conversation.TypeTest {
		httpx.WriteProblem(w, r, fault.Invalid("type", "must be api or test: other types are created by their channels"))
		return
	}
	ci := conversation.CreateInput{
		AssistantID: in.AssistantID, Type: in.Type, ExternalIdentifier: in.ExternalIdentifier,
		Variables: in.Variables, VariableSource: conversation.SourceAPI,
	}
	if p := in.Customer.patch(); p != nil {
		ci.Customer = *p
	}
	c, msgs, err := a.Conversations.Create(r.Context(), workspaceID(r.Context()), ci)
	if err != nil {
		httpx.WriteProblem(w, r, err)
		return
	}
	httpx.WriteJSON(w, http.StatusCreated, conversationDetailJSON{a.convView(r)(c), messagesView(msgs)})
}

// filterParams reads the filters shared by list, count and export.
func filterParams(q url.Values, v *fault.Validation) conversation.Filter {
	f := conversation.Filter{
		AssistantID:         q.Get("assistant_id"),
		Status:              q.Get("status"),
		CustomerPhone:       q.Get("customer_phone"),
		ExternalIdentifier:  q.Get("external_identifier"),
		WhatsAppSenderPhone: q.Get("whatsapp_sender_phone"),
		Query:               q.Get("q"),
	}
	f.Types = listParam(q, "type")
	for _, p := range []struct {
		name string
		dst  **time.Time
	}{{"created_from", &f.CreatedFrom}, {"created_to", &f.CreatedTo}} {
		s := q.Get(p.name)
		if s == "" {
			continue
		}
		t, err := parseTimeParam(s)
		if err != nil {
			v.Add(p.name, "must be an RFC 3339 time or a date like 2026-01-31")
			continue
		}
		*p.dst = &t
	}
	return f
}

func parseTimeParam(s string) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t, nil
	}
	return time.Parse(time.DateOnly, s)
}

func orderParams(q url.Values, v *fault.Validation) conversation.Order {
	o := conversation.Order{Sort: conversation.SortCreatedAt, Desc: true}
	if s := q.Get("sort"); s != "" {
		o.Sort = s
	}
	switch q.Get("order") {
	case "", "desc":
	case "asc":
		o.Desc = false
	default:
		v.Add("order", "must be asc or desc")
	}
	return o
}

func (a *API) listConversations(w http.ResponseWriter, r *http.Request) {
	var v fault.Validation
	q := r.URL.Query()
	f, o := filterParams(q, &v), orderParams(q, &v)
	req, ok := a.listRequest(w, r, &v)
	if !ok {
		return
	}
	res, err := a.Conversations.List(r.Context(), workspaceID(r.Context()), f, o, req)
	if err != nil {
		httpx.WriteProblem(w, r, err)
		return
	}
	httpx.WriteJSON(w, http.StatusOK, newList(res, a.convView(r), a.cursorWriter(r)))
}

func (a *API) countConversations(w http.ResponseWriter, r *http.Request) {
	var v fault.Validation
	f := filterParams(r.URL.Query(), &v)
	if err := v.Err(); err != nil {
		httpx.WriteProblem(w, r, err)
		return
	}
	counts, err := a.Conversations.Count(r.Context(), workspaceID(r.Context()), f)
	if err != nil {
		httpx.WriteProblem(w, r, err)
		return
	}
	httpx.WriteJSON(w, http.StatusOK, counts)
}

func (a *API) getConversation(w http.ResponseWriter, r *http.Request) {
	ws, id := workspaceID(r.Context()), r.PathValue("id")
	c, msgs, err := a.Conversations.WithTranscript(r.Context(), ws, id)
	if err != nil {
		httpx.WriteProblem(w, r, err)
		return
	}
	httpx.WriteJSON(w, http.StatusOK, conversationDetailJSON{a.convView(r)(c), messagesView(msgs)})
}

func (a *API) listMessages(w http.ResponseWriter, r *http.Request) {
	req, ok := a.listRequest(w, r, nil)
	if !ok {
		return
	}
	res, err := a.Conversations.Messages(r.Context(), workspaceID(r.Context()), r.PathValue("id"), req)
	if err != nil {
		httpx.WriteProblem(w, r, err)
		return
	}
	httpx.WriteJSON(w, http.StatusOK, newList(res, messageView, a.cursorWriter(r)))
}

type postMessageInput struct {
	Content string `json:"content"`
	Role    string `json:"role"`
}

// postMessage stores a message and answers with the reply. With Accept:
// text/event-stream the reply streams as "delta" events and ends with a
// "done" event carrying {"message", "reply"} like the JSON answer; errors
// found before the first byte is streamed are ordinary problem responses.
func (a *API) postMessage(w http.ResponseWriter, r *http.Request) {
	in := postMessageInput{Role: conversation.RoleUser}
	if err := httpx.Decode(w, r, messageBodyLimit, &in); err != nil {
		httpx.WriteProblem(w, r, err)
		return
	}
	ws, id := workspaceID(r.Context()), r.PathValue("id")
	in2 := conversation.PostInput{Role: in.Role, Content: in.Content}
	respond(w, r, http.StatusCreated, func(onDelta llm.DeltaFunc) (*conversation.Posted, error) {
		return a.Conversations.PostMessage(r.Context(), ws, id, in2, onDelta)
	})
}

// replyAgain asks the assistant to answer the latest user message again,
// after a failed reply.
func (a *API) replyAgain(w http.ResponseWriter, r *http.Request) {
	ws, id := workspaceID(r.Context()), r.PathValue("id")
	respond(w, r, http.StatusOK, func(onDelta llm.DeltaFunc) (*conversation.Posted, error) {
		return a.Conversations.Reply(r.Context(), ws, id, onDelta)
	})
}

// respond runs a call that may produce a streamed reply, answering with
// JSON, or with server-sent events when the client accepts them.
func respond(w http.ResponseWriter, r *http.Request, status int, call func(llm.DeltaFunc) (*conversation.Posted, error)) {
	if !httpx.PrefersEventStream(r) {
		out, err := call(nil)
		if err != nil {
			httpx.WriteProblem(w, r, err)
			return
		}
		httpx.WriteJSON(w, status, postedView(out))
		return
	}
	sse := httpx.NewSSE(w, r)
	defer sse.Close()
	out, err := call(func(chunk string) error {
		return sse.Send("delta", map[string]string{"content": chunk})
	})
	if err != nil {
		if !sse.Started() {
			httpx.WriteProblem(w, r, err)
			return
		}
		p := httpx.ProblemFor(err)
		p.RequestID = httpx.RequestID(r.Context())
		_ = sse.Send("error", p)
		return
	}
	_ = sse.Send("done", postedView(out))
}

func postedView(p *conversation.Posted) map[string]any {
	out := map[string]any{"message": messageView(p.Message), "reply": nil}
	if p.Reply != nil {
		out["reply"] = messageView(p.Reply)
	}
	return out
}

// updateConversationInput is a conversation PATCH. ai_enabled is
// required (it has no default of its own), so null on it is refused;
// null on customer, external_identifier or variables empties them; inside
// variables, null removes that one variable.
type updateConversationInput struct {
	AIEnabled          httpx.Optional[bool]           `json:"ai_enabled"`
	Variables          httpx.Optional[map[string]any] `json:"variables"`
	Customer           httpx.Optional[customerInput]  `json:"customer"`
	ExternalIdentifier httpx.Optional[string]         `json:"external_identifier"`
}

func (a *API) updateConversation(w http.ResponseWriter, r *http.Request) {
	var in updateConversationInput
	if err := httpx.Decode(w, r, defaultBodyLimit, &in); err != nil {
		httpx.WriteProblem(w, r, err)
		return
	}
	var v fault.Validation
	p := conversation.Patch{
		AIEnabled: in.AIEnabled.Ptr("ai_enabled", &v), ExternalIdentifier: textPatch(in.ExternalIdentifier),
		Variables: in.Variables.Value, ClearVariables: in.Variables.Null,
	}
	switch {
	case in.Customer.Null:
		p.Customer = clearCustomer()
	case in.Customer.Set:
		p.Customer = in.Customer.Value.patch()
	}
	if err := v.Err(); err != nil {
		httpx.WriteProblem(w, r, err)
		return
	}
	c, err := a.Conversations.Update(r.Context(), workspaceID(r.Context()), r.PathValue("id"), p)
	if err != nil {
		httpx.WriteProblem(w, r, err)
		return
	}
	httpx.WriteJSON(w, http.StatusOK, a.convView(r)(c))
}

// endConversation ends a conversation. It takes no fields: an empty body
// or {} is fine, any field is unknown.
func (a *API) endConversation(w http.ResponseWriter, r *http.Request) {
	if err := httpx.DecodeOptional(w, r, defaultBodyLimit, &struct{}{}); err != nil {
		httpx.WriteProblem(w, r, err)
		return
	}
	c, err := a.Conversations.End(r.Context(), workspaceID(r.Context()), r.PathValue("id"))
	if err != nil {
		httpx.WriteProblem(w, r, err)
		return
	}
	httpx.WriteJSON(w, http.StatusOK, a.convView(r)(c))
}

// extractVariables runs variable extraction now, on demand, and answers
// with the updated conversation. Like end, it takes no fields.
func (a *API) extractVariables(w http.ResponseWriter, r *http.Request) {
	if err := httpx.DecodeOptional(w, r, defaultBodyLimit, &struct{}{}); err != nil {
		httpx.WriteProblem(w, r, err)
		return
	}
	c, err := a.Conversations.Extract(r.Context(), workspaceID(r.Context()), r.PathValue("id"))
	if err != nil {
		httpx.WriteProblem(w, r, err)
		return
	}
	httpx.WriteJSON(w, http.StatusOK, a.convView(r)(c))
}

func (a *API) deleteConversation(w http.ResponseWriter, r *http.Request) {
	if err := a.Conversations.Delete(r.Context(), workspaceID(r.Context()), r.PathValue("id")); err != nil {
		httpx.WriteProblem(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (a *API) bulkDeleteConversations(w http.ResponseWriter, r *http.Request) {
	var in struct {
		IDs []string `json:"ids"`
	}
	if err := httpx.Decode(w, r, defaultBodyLimit, &in); err != nil {
		httpx.WriteProblem(w, r, err)
		return
	}
	n, err := a.Conversations.BulkDelete(r.Context(), workspaceID(r.Context()), in.IDs)
	if err != nil {
		httpx.WriteProblem(w, r, err)
		return
	}
	httpx.WriteJSON(w, http.StatusOK, map[string]int{"deleted": n})
}

// exportConversations streams matching conversations with their
// transcripts. Once streaming has begun a failure cannot change the
// status, so the connection is aborted instead: the client sees a broken
// transfer, never a silently short file.
func (a *API) exportConversations(w http.ResponseWriter, r *http.Request) {
	var v fault.Validation
	q := r.URL.Query()
	f, o := filterParams(q, &v), orderParams(q, &v)
	format := q.Get("format")
	if format == "" {
		format = "jsonl"
	}
	if format != "jsonl" && format != "csv" {
		v.Add("format", "must be jsonl or csv")
	}
	if err := v.Err(); err != nil {
		httpx.WriteProblem(w, r, err)
		return
	}
	ws := workspaceID(r.Context())
	// Validate the filter before any byte is written.
	if _, err := a.Conversations.List(r.Context(), ws, f, o, page.Request{Limit: 1}); err != nil {
		httpx.WriteProblem(w, r, err)
		return
	}
	name := "conversations-" + time.Now().UTC().Format("20060102-150405")
	var write func(*conversation.Conversation, []*conversation.Message) error
	var flush func() error
	if format == "jsonl" {
		w.Header().Set("Content-Type", "application/x-ndjson")
		w.Header().Set("Content-Disposition", `attachment; filename="`+name+`.jsonl"`)
		enc := json.NewEncoder(w)
		view := a.convView(r)
		write = func(c *conversation.Conversation, msgs []*conversation.Message) error {
			return enc.Encode(conversationDetailJSON{view(c), messagesView(msgs)})
		}
		flush = func() error { return nil }
	} else {
		w.Header().Set("Content-Type", "text/csv; charset=utf-8")
		w.Header().Set("Content-Disposition", `attachment; filename="`+name+`.csv"`)
		cw := csv.NewWriter(w)
		_ = cw.Write(csvHeader)
		write = func(c *conversation.Conversation, msgs []*conversation.Message) error {
			return cw.Write(csvRow(c, msgs))
		}
		flush = func() error { cw.Flush(); return cw.Error() }
	}
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
	err := a.Conversations.Export(r.Context(), ws, f, o, write)
	if err == nil {
		err = flush()
	}
	if err != nil {
		if !errors.Is(err, r.Context().Err()) {
			slog.ErrorContext(r.Context(), "export failed", "err", err, "request_id", httpx.RequestID(r.Context()))
		}
		panic(http.ErrAbortHandler)
	}
}

var csvHeader = []string{
	"id", "type", "status", "assistant_id", "assistant_name", "external_identifier",
	"customer_name", "customer_phone", "customer_email", "message_count",
	"input_tokens", "output_tokens", "cached_input_tokens", "total_tokens", "total_cost",
	"cost_complete", "created_at", "updated_at", "ended_at", "variables", "transcript",
}

func csvRow(c *conversation.Conversation, msgs []*conversation.Message) []string {
	vars, _ := json.Marshal(conversationView(c).Variables)
	var t strings.Builder
	for i, m := range msgs {
		if i > 0 {
			t.WriteByte('\n')
		}
		t.WriteString("[" + m.CreatedAt.UTC().Format(TimeFormat) + "] " + m.Role + ": " + m.Content)
	}
	ended := ""
	if c.EndedAt != nil {
		ended = c.EndedAt.UTC().Format(TimeFormat)
	}
	i := func(n int64) string { return strconv.FormatInt(n, 10) }
	row := []string{
		c.ID, c.Type, c.Status, c.AssistantID, c.AssistantName, c.ExternalIdentifier,
		c.Customer.Name, c.Customer.Phone, c.Customer.Email, i(c.MessageCount),
		i(c.Usage.InputTokens), i(c.Usage.OutputTokens), i(c.Usage.CachedInputTokens), i(c.Usage.TotalTokens),
		c.TotalCost.String(), strconv.FormatBool(c.CostComplete),
		c.CreatedAt.UTC().Format(TimeFormat), c.UpdatedAt.UTC().Format(TimeFormat), ended,
		string(vars), t.String(),
	}
	// One rule for every cell, so no column that carries text (today or
	// added later) is missed; ids, numbers and times never trigger it.
	for k := range row {
		row[k] = csvText(row[k])
	}
	return row
}

// csvText defuses text that a spreadsheet would run as a formula, per
// OWASP's CSV injection guidance: a cell starting with = + - @, a tab, a
// carriage return or NUL gets a leading ' (which spreadsheets read as
// "this is text" and do not show). A cell whose first non-blank character
// is = + - @ is defused too, since some spreadsheets trim leading blanks
// on import. Separators and quotes inside a cell are encoding/csv's job.
func csvText(s string) string {
	if s == "" {
		return s
	}
	if strings.ContainsRune("=+-@\t\r\x00", rune(s[0])) {
		return "'" + s
	}
	if t := strings.TrimLeft(s, " \t\r\n"); t != "" && strings.ContainsRune("=+-@", rune(t[0])) {
		return "'" + s
	}
	return s
}
