package httpapi

import (
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/parley-dev/parley/internal/account"
	"github.com/parley-dev/parley/internal/assistant"
	"github.com/parley-dev/parley/internal/conversation"
	"github.com/parley-dev/parley/internal/events"
	"github.com/parley-dev/parley/internal/fault"
	"github.com/parley-dev/parley/internal/httpx"
	"github.com/parley-dev/parley/internal/page"
	"github.com/parley-dev/parley/internal/whatsapp"
)

// API is the REST API v1. Its handlers are thin: decode, call a service,
// encode.
type API struct {
	Accounts      *account.Service
	Assistants    *assistant.Service
	Conversations *conversation.Service
	// Limiter limits requests per API key; nil means no limit.
	Limiter *httpx.Limiter
	// Cursors signs and checks list cursors; every node must share its key.
	Cursors *page.Codec
	// Events pages and streams the workspace's events.
	Events *events.Feed
	// WhatsApp runs the WhatsApp channel (senders, templates, rates).
	WhatsApp *whatsapp.Service
}

// Register adds the API's routes to mux. Every route must be described in
// openapi.json; a test walks this method's routes to make sure.
func (a *API) Register(mux Router) {
	mux.HandleFunc("GET /api/v1/openapi.json", serveOpenAPI)
	h := func(pattern string, fn http.HandlerFunc) { mux.HandleFunc(pattern, a.authenticate(fn)) }

	h("POST /api/v1/assistants", a.createAssistant)
	h("GET /api/v1/assistants", a.listAssistants)
	h("GET /api/v1/assistants/{id}", a.getAssistant)
	h("PATCH /api/v1/assistants/{id}", a.updateAssistant)
	h("DELETE /api/v1/assistants/{id}", a.deleteAssistant)

	h("POST /api/v1/model-prices", a.createPrice)
	h("GET /api/v1/model-prices", a.listPrices)
	h("GET /api/v1/model-prices/defaults", a.listDefaultPrices)
	h("GET /api/v1/model-prices/{id}", a.getPrice)
	h("PATCH /api/v1/model-prices/{id}", a.updatePrice)
	h("DELETE /api/v1/model-prices/{id}", a.deletePrice)

	h("GET /api/v1/api-keys", a.listAPIKeys)
	h("POST /api/v1/api-keys", a.createAPIKey)
	h("DELETE /api/v1/api-keys/{id}", a.revokeAPIKey)
	h("GET /api/v1/users", a.listUsers)
	h("POST /api/v1/users", a.createUser)
	h("PATCH /api/v1/users/{id}", a.updateUser)
	h("DELETE /api/v1/users/{id}", a.deleteUser)

	h("POST /api/v1/conversations", a.createConversation)
	h("GET /api/v1/conversations", a.listConversations)
	h("GET /api/v1/conversations/count", a.countConversations)
	h("GET /api/v1/conversations/export", a.exportConversations)
	h("POST /api/v1/conversations/bulk-delete", a.bulkDeleteConversations)
	h("GET /api/v1/conversations/{id}", a.getConversation)
	h("PATCH /api/v1/conversations/{id}", a.updateConversation)
	h("DELETE /api/v1/conversations/{id}", a.deleteConversation)
	h("POST /api/v1/conversations/{id}/end", a.endConversation)
	h("GET /api/v1/conversations/{id}/messages", a.listMessages)
	h("POST /api/v1/conversations/{id}/messages", a.postMessage)
	h("POST /api/v1/conversations/{id}/reply", a.replyAgain)
	h("POST /api/v1/conversations/{id}/extract", a.extractVariables)

	h("GET /api/v1/events", a.listEvents)

	h("GET /api/v1/analytics", a.getAnalytics)
	a.registerWhatsApp(h)

	mux.HandleFunc("/api/", func(w http.ResponseWriter, r *http.Request) {
		httpx.WriteProblem(w, r, fault.New(fault.CodeNotFound, "no API endpoint %s %s", r.Method, r.URL.Path))
	})
}

// cursorScope names what a cursor of this list request is valid for: the
// caller's workspace, the path (which names the list and its parent) and
// every query parameter but the paging ones. A cursor is signed for its
// scope, so one from another workspace, list, filter or ordering is
// refused instead of being read as a position in this list.
func cursorScope(r *http.Request) string {
	q := r.URL.Query()
	q.Del("cursor")
	q.Del("per_page")
	return workspaceID(r.Context()) + " " + r.URL.Path + "?" + q.Encode()
}

// listParams reads per_page and cursor. per_page problems go to v; a
// cursor this API did not issue for the same scope is returned as an
// invalid_cursor error.
func (a *API) listParams(r *http.Request, v *fault.Validation) (page.Request, error) {
	q := r.URL.Query()
	req := page.Request{Limit: page.DefaultLimit}
	if q.Has("per_page") {
		s := q.Get("per_page")
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > page.MaxLimit {
			v.Add("per_page", "must be a whole number from 1 to %d", page.MaxLimit)
		} else {
			req.Limit = n
		}
	}
	if s := q.Get("cursor"); s != "" {
		c, err := a.Cursors.Decode(cursorScope(r), s)
		if err != nil {
			return req, httpx.ErrInvalidCursor
		}
		req.Cursor = c
	}
	return req, nil
}

// listRequest reads the page a list request asks for. Problems with its
// other parameters, already collected in v (nil when it has none), are
// answered together with per_page's; a bad cursor is answered alone. It
// reports false when it has written a problem.
func (a *API) listRequest(w http.ResponseWriter, r *http.Request, v *fault.Validation) (page.Request, bool) {
	if v == nil {
		v = &fault.Validation{}
	}
	req, err := a.listParams(r, v)
	if err == nil {
		err = v.Err()
	}
	if err != nil {
		httpx.WriteProblem(w, r, err)
		return req, false
	}
	return req, true
}

// cursorWriter returns the function that renders the cursors of r's list.
func (a *API) cursorWriter(r *http.Request) func(page.Cursor) string {
	scope := cursorScope(r)
	return func(c page.Cursor) string { return a.Cursors.Encode(scope, c) }
}

// listJSON is the envelope of every list.
type listJSON[T any] struct {
	Data       []T     `json:"data"`
	NextCursor *string `json:"next_cursor"`
	PrevCursor *string `json:"prev_cursor"`
}

func newList[S, T any](res page.Result[S], view func(S) T, encode func(page.Cursor) string) listJSON[T] {
	out := listJSON[T]{Data: make([]T, 0, len(res.Items))}
	for _, it := range res.Items {
		out.Data = append(out.Data, view(it))
	}
	if res.Next != nil {
		s := encode(*res.Next)
		out.NextCursor = &s
	}
	if res.Prev != nil {
		s := encode(*res.Prev)
		out.PrevCursor = &s
	}
	return out
}

// pageInMemory pages a short list that is read whole (such as price
// rows) with the same per_page and cursors as lists paged in the
// database, ordered by key, which must be unique.
func pageInMemory[T any](rows []T, req page.Request, key func(T) string) page.Result[T] {
	rows = slices.Clone(rows)
	slices.SortFunc(rows, func(a, b T) int { return strings.Compare(key(a), key(b)) })
	return page.Build(page.Slice(rows, req, key), req, func(x T) page.Cursor { return page.Cursor{Key: key(x)} })
}

// Body size limits, per endpoint: the decoder takes the limit from its
// caller.
const (
	defaultBodyLimit   = 1 << 20 // 1 MiB
	assistantBodyLimit = 8 << 20 // knowledge texts are large
)

// listParam reads a query parameter that may repeat and may hold several
// comma-separated values (?type=a&type=b or ?type=a,b), blanks dropped.
func listParam(q url.Values, name string) []string {
	var out []string
	for _, v := range q[name] {
		for _, part := range strings.Split(v, ",") {
			if part = strings.TrimSpace(part); part != "" {
				out = append(out, part)
			}
		}
	}
	return out
}
