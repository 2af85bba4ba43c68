package web

import (
	"encoding/csv"
	"encoding/json"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/parley-dev/parley/internal/assistant"
	"github.com/parley-dev/parley/internal/conversation"
	"github.com/parley-dev/parley/internal/fault"
	"github.com/parley-dev/parley/internal/page"
)

// listQuery is the Conversations page's state, read from and written to
// the URL so a view can be shared and the back button restores it.
type listQuery struct {
	Types      []string
	Assistant  string
	Status     string
	Preset     string // today, 7d, 30d, 90d, custom, "" (all time)
	From, To   string // YYYY-MM-DD, with Preset custom
	Phone      string
	Identifier string
	Q          string
	Sort       string
	Order      string
	Cursor     string
}

func readListQuery(v url.Values) listQuery {
	q := listQuery{Types: v["type"], Assistant: v.Get("assistant"), Status: v.Get("status"), Preset: v.Get("preset"),
		From: v.Get("from"), To: v.Get("to"), Phone: strings.TrimSpace(v.Get("phone")),
		Identifier: strings.TrimSpace(v.Get("identifier")), Q: strings.TrimSpace(v.Get("q")),
		Sort: v.Get("sort"), Order: v.Get("order"), Cursor: v.Get("cursor")}
	if q.Sort == "" {
		q.Sort = conversation.SortCreatedAt
	}
	if q.Order != "asc" {
		q.Order = "desc"
	}
	if q.Q != "" {
		q.Sort = conversation.SortCreatedAt // search results are ordered by creation
	}
	return q
}

// values renders the state as a query string, without the cursor unless
// asked for.
func (q listQuery) values(withCursor bool) url.Values {
	v := url.Values{}
	for _, t := range q.Types {
		v.Add("type", t)
	}
	set := func(k, val string) {
		if val != "" {
			v.Set(k, val)
		}
	}
	set("assistant", q.Assistant)
	set("status", q.Status)
	set("preset", q.Preset)
	if q.Preset == "custom" {
		set("from", q.From)
		set("to", q.To)
	}
	set("phone", q.Phone)
	set("identifier", q.Identifier)
	set("q", q.Q)
	if q.Sort != conversation.SortCreatedAt {
		set("sort", q.Sort)
	}
	if q.Order != "desc" {
		set("order", q.Order)
	}
	if withCursor {
		set("cursor", q.Cursor)
	}
	return v
}

// filter turns the state into the service's filter; dates are days of
// the viewer's time zone (loc): "today" starts at their midnight.
func (q listQuery) filter(now time.Time, loc *time.Location) (conversation.Filter, conversation.Order, error) {
	f := conversation.Filter{Types: q.Types, AssistantID: q.Assistant, Status: q.Status, Query: q.Q}
	var v fault.Validation
	if q.Phone != "" {
		if strings.HasPrefix(q.Phone, "+") || strings.IndexFunc(q.Phone, func(r rune) bool { return r < '0' || r > '9' }) < 0 {
			f.CustomerPhone = q.Phone
		} else {
			f.ExternalIdentifier = q.Phone // a WhatsApp user id or other identifier
		}
	}
	if q.Identifier != "" {
		f.ExternalIdentifier = q.Identifier
	}
	y, m, dd := now.In(loc).Date()
	day := time.Date(y, m, dd, 0, 0, 0, 0, loc)
	since := func(days int) *time.Time { t := day.AddDate(0, 0, -days+1); return &t }
	switch q.Preset {
	case "":
	case "today":
		f.CreatedFrom = since(1)
	case "7d":
		f.CreatedFrom = since(7)
	case "30d":
		f.CreatedFrom = since(30)
	case "90d":
		f.CreatedFrom = since(90)
	case "custom":
		if q.From != "" {
			t, err := time.ParseInLocation(time.DateOnly, q.From, loc)
			if err != nil {
				v.Add("from", "must be a date")
			} else {
				f.CreatedFrom = &t
			}
		}
		if q.To != "" {
			t, err := time.ParseInLocation(time.DateOnly, q.To, loc)
			if err != nil {
				v.Add("to", "must be a date")
			} else {
				t = t.AddDate(0, 0, 1) // the whole last day
				f.CreatedTo = &t
			}
		}
	default:
		v.Add("preset", "must be today, 7d, 30d, 90d or custom")
	}
	return f, conversation.Order{Sort: q.Sort, Desc: q.Order == "desc"}, v.Err()
}

// scope names what a list cursor is valid for.
func (q listQuery) scope(workspaceID string) string {
	return "web:conversations:" + workspaceID + "?" + q.values(false).Encode()
}

// pageSize of the Conversations table.
const pageSize = 25

func (d *Dashboard) conversations(w http.ResponseWriter, r *http.Request) {
	ws := workspace(r)
	q := readListQuery(r.URL.Query())
	data := map[string]any{"Q": q, "Types": conversation.Types, "Zone": viewerZone(r).String()}
	asst, err := d.Assistants.List(r.Context(), ws, page.Request{Limit: page.MaxLimit})
	if err != nil {
		d.renderError(w, r, err)
		return
	}
	data["Assistants"] = asst.Items
	f, o, err := q.filter(d.Now(), viewerZone(r))
	req := page.Request{Limit: pageSize}
	if err == nil && q.Cursor != "" {
		c, cerr := d.Cursors.Decode(q.scope(ws), q.Cursor)
		if cerr != nil {
			err = fault.Invalid("cursor", "this page link is out of date; start from the first page")
		}
		req.Cursor = c
	}
	if err == nil {
		var res page.Result[*conversation.Conversation]
		res, err = d.Conversations.List(r.Context(), ws, f, o, req)
		if err == nil {
			data["Rows"] = res.Items
			if res.Next != nil {
				n := q
				n.Cursor = d.Cursors.Encode(q.scope(ws), *res.Next)
				data["NextURL"] = "/conversations?" + n.values(true).Encode()
			}
			if res.Prev != nil {
				p := q
				p.Cursor = d.Cursors.Encode(q.scope(ws), *res.Prev)
				data["PrevURL"] = "/conversations?" + p.values(true).Encode()
			}
		}
	}
	if err == nil {
		var counts conversation.Counts
		counts, err = d.Conversations.Count(r.Context(), ws, f)
		data["Count"] = counts
	}
	if err != nil {
		if fe := fieldErrors(err); fe != nil {
			data["Errors"] = fe
		} else {
			d.renderError(w, r, err)
			return
		}
	}
	self := q.values(true).Encode()
	data["SelfURL"] = "/conversations?" + self
	data["ExportQuery"] = q.values(false).Encode()
	d.liveState(r, data, ws, q, f, self)
	if isHX(r) && r.Header.Get("HX-Target") == "results" {
		data["Fragment"] = "results"
	}
	d.render(w, r, http.StatusOK, "conversations", data)
}

// liveState sets what the list's live refresh needs. Every page refreshes
// in place: the first shows the newest rows; a later page keeps its
// cursor, so its rows stay put, and says how many conversations of the
// filter arrived since it was opened ("N new — show newest"), leaving the
// reader where they are. The rows checked for bulk deletion are sent with
// each refresh (id=…) and stay checked, those that moved off the page
// included.
func (d *Dashboard) liveState(r *http.Request, data map[string]any, ws string, q listQuery, f conversation.Filter, self string) {
	qv := r.URL.Query()
	checked := map[string]bool{}
	for _, id := range qv["id"] {
		checked[id] = true
	}
	rows, _ := data["Rows"].([]*conversation.Conversation)
	var away []string
	for id := range checked {
		found := false
		for _, c := range rows {
			found = found || c.ID == id
		}
		if !found {
			away = append(away, id)
		}
	}
	sort.Strings(away)
	data["Checked"], data["CheckedAway"] = checked, away
	if q.Cursor == "" {
		data["RefreshURL"] = data["SelfURL"]
		return
	}
	since := d.Now().UTC()
	if ms, err := strconv.ParseInt(qv.Get("since"), 10, 64); err == nil && ms > 0 {
		since = time.UnixMilli(ms).UTC()
	}
	data["RefreshURL"] = "/conversations?" + self + "&since=" + strconv.FormatInt(since.UnixMilli(), 10)
	if _, bad := data["Errors"]; bad {
		return
	}
	nf := f
	if nf.CreatedFrom == nil || nf.CreatedFrom.Before(since) {
		nf.CreatedFrom = &since
	}
	if n, err := d.Conversations.Count(r.Context(), ws, nf); err == nil && n.Total > 0 {
		data["NewCount"], data["NewestURL"] = n.Total, "/conversations?"+q.values(false).Encode()
	}
}

// bulkDelete deletes the checked conversations (the page asked for
// confirmation), then shows the list again.
func (d *Dashboard) bulkDelete(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		d.renderError(w, r, fault.New(fault.CodeMalformed, "unreadable form"))
		return
	}
	list := r.PostForm["id"]
	if len(list) == 0 {
		d.renderError(w, r, fault.Invalid("id", "select at least one conversation"))
		return
	}
	if _, err := d.Conversations.BulkDelete(r.Context(), workspace(r), list); err != nil {
		d.renderError(w, r, err)
		return
	}
	back := "/conversations"
	if ret := r.PostFormValue("return"); strings.HasPrefix(ret, "/conversations") {
		back = ret
	}
	redirect(w, r, back)
}

// export streams the conversations of the current filter as CSV or JSONL
// (with transcripts), like the API's export.
func (d *Dashboard) export(w http.ResponseWriter, r *http.Request) {
	q := readListQuery(r.URL.Query())
	f, o, err := q.filter(d.Now(), viewerZone(r))
	if err != nil {
		d.renderError(w, r, err)
		return
	}
	format := r.URL.Query().Get("format")
	if format != "csv" && format != "jsonl" {
		d.renderError(w, r, fault.Invalid("format", "must be csv or jsonl"))
		return
	}
	name := "conversations-" + d.Now().UTC().Format("20060102-150405") + "." + format
	w.Header().Set("Content-Disposition", `attachment; filename="`+name+`"`)
	w.Header().Set("Cache-Control", "no-store")
	var cw *csv.Writer
	if format == "csv" {
		w.Header().Set("Content-Type", "text/csv; charset=utf-8")
		cw = csv.NewWriter(w)
		_ = cw.Write([]string{"id", "type", "status", "assistant", "customer_name", "customer_phone", "customer_email",
			"external_identifier", "message_count", "total_tokens", "total_cost", "created_at", "updated_at", "variables"})
	} else {
		w.Header().Set("Content-Type", "application/x-ndjson; charset=utf-8")
	}
	enc := json.NewEncoder(w)
	err = d.Conversations.Export(r.Context(), workspace(r), f, o, func(c *conversation.Conversation, msgs []*conversation.Message) error {
		if cw != nil {
			vars, _ := json.Marshal(c.Variables)
			if err := cw.Write([]string{c.ID, c.Type, c.Status, c.AssistantName, csvSafe(c.Customer.Name), csvSafe(c.Customer.Phone),
				csvSafe(c.Customer.Email), csvSafe(c.ExternalIdentifier), strconv.FormatInt(c.MessageCount, 10),
				strconv.FormatInt(c.Usage.TotalTokens, 10), c.TotalCost.String(), c.CreatedAt.Format(time.RFC3339Nano),
				c.UpdatedAt.Format(time.RFC3339Nano), csvSafe(string(vars))}); err != nil {
				return err
			}
			cw.Flush()
			return cw.Error()
		}
		return enc.Encode(exportJSON(c, msgs))
	})
	if err != nil {
		// Headers are gone; the download ends short and the log says why.
		d.Log.WarnContext(r.Context(), "dashboard export stopped", "err", err)
	}
}

// csvSafe keeps a spreadsheet from reading a cell as a formula.
func csvSafe(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}

func exportJSON(c *conversation.Conversation, msgs []*conversation.Message) map[string]any {
	type msg struct {
		ID        string    `json:"id"`
		Role      string    `json:"role"`
		Content   string    `json:"content"`
		CreatedAt time.Time `json:"created_at"`
	}
	out := make([]msg, 0, len(msgs))
	for _, m := range msgs {
		out = append(out, msg{m.ID, m.Role, m.Content, m.CreatedAt})
	}
	return map[string]any{"id": c.ID, "type": c.Type, "status": c.Status,
		"assistant": map[string]string{"id": c.AssistantID, "name": c.AssistantName},
		"customer":  c.Customer, "external_identifier": c.ExternalIdentifier, "variables": c.Variables,
		"message_count": c.MessageCount, "usage": c.Usage, "total_cost": c.TotalCost, "cost_complete": c.CostComplete,
		"created_at": c.CreatedAt, "updated_at": c.UpdatedAt, "ended_at": c.EndedAt, "messages": out}
}

var _ = assistant.Defaults
