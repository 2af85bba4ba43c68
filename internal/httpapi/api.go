package httpapi

import (
	"net/http"
	"net/url"
	"strconv"

	"github.com/parley-dev/parley/internal/account"
	"github.com/parley-dev/parley/internal/assistant"
	"github.com/parley-dev/parley/internal/conversation"
	"github.com/parley-dev/parley/internal/fault"
	"github.com/parley-dev/parley/internal/page"
)

// API is the REST API v1. Its handlers are thin: decode, call a service,
// encode.
type API struct {
	Accounts      *account.Service
	Assistants    *assistant.Service
	Conversations *conversation.Service
	// Limiter limits requests per API key; nil means no limit.
	Limiter *KeyLimiter
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

	mux.HandleFunc("/api/", func(w http.ResponseWriter, r *http.Request) {
		writeProblem(w, r, fault.New(fault.CodeNotFound, "no API endpoint %s %s", r.Method, r.URL.Path))
	})
}

// listParams reads per_page and cursor.
func listParams(q url.Values, v *fault.Validation) page.Request {
	req := page.Request{Limit: page.DefaultLimit}
	if s := q.Get("per_page"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > page.MaxLimit {
			v.Add("per_page", "must be a whole number from 1 to %d", page.MaxLimit)
		} else {
			req.Limit = n
		}
	}
	if s := q.Get("cursor"); s != "" {
		c, err := page.Decode(s)
		if err != nil {
			v.Add("cursor", "is not a cursor this API issued")
		}
		req.Cursor = c
	}
	return req
}

// listJSON is the envelope of every list.
type listJSON[T any] struct {
	Data       []T     `json:"data"`
	NextCursor *string `json:"next_cursor"`
	PrevCursor *string `json:"prev_cursor"`
}

func newList[S, T any](res page.Result[S], view func(S) T) listJSON[T] {
	out := listJSON[T]{Data: make([]T, 0, len(res.Items))}
	for _, it := range res.Items {
		out.Data = append(out.Data, view(it))
	}
	if res.Next != nil {
		s := page.Encode(*res.Next)
		out.NextCursor = &s
	}
	if res.Prev != nil {
		s := page.Encode(*res.Prev)
		out.PrevCursor = &s
	}
	return out
}
