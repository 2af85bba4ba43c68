package httpx

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"maps"
	"net/http"
	"strings"

	"github.com/parley-dev/parley/internal/fault"
	"github.com/parley-dev/parley/internal/page"
)

// statusOf maps stable error codes to HTTP status codes, in one place:
// every HTTP surface (REST API, widget, webhooks, dashboard) answers a
// code with the same status.
var statusOf = map[string]int{
	fault.CodeValidation:           http.StatusUnprocessableEntity,
	fault.CodeNotFound:             http.StatusNotFound,
	fault.CodeConflict:             http.StatusConflict,
	fault.CodeUnauthorized:         http.StatusUnauthorized,
	fault.CodeForbidden:            http.StatusForbidden,
	fault.CodeMalformed:            http.StatusBadRequest,
	fault.CodeInvalidCursor:        http.StatusUnprocessableEntity,
	fault.CodeCursorExpired:        http.StatusGone,
	fault.CodeTooLarge:             http.StatusRequestEntityTooLarge,
	fault.CodeRateLimited:          http.StatusTooManyRequests,
	fault.CodeWindowClosed:         http.StatusConflict,
	fault.CodeConversationOver:     http.StatusConflict,
	fault.CodeUnavailable:          http.StatusServiceUnavailable,
	fault.CodeQueryTimeout:         http.StatusServiceUnavailable,
	fault.CodeModelUnavailable:     http.StatusServiceUnavailable,
	fault.CodeModelFailed:          http.StatusBadGateway,
	fault.CodeModelTimeout:         http.StatusGatewayTimeout,
	fault.CodeContextLength:        http.StatusUnprocessableEntity,
	fault.CodeContentFiltered:      http.StatusUnprocessableEntity,
	fault.CodeProviderAuth:         http.StatusServiceUnavailable,
	fault.CodeProviderQuota:        http.StatusServiceUnavailable,
	fault.CodeUnsupportedParameter: http.StatusBadGateway,
	fault.CodeTemplateNotApproved:  http.StatusUnprocessableEntity,
	fault.CodeInvalidPhone:         http.StatusUnprocessableEntity,
	fault.CodeChannelFailed:        http.StatusBadGateway,
	fault.CodeUnsupportedMedia:     http.StatusUnsupportedMediaType,
	fault.CodeInternal:             http.StatusInternalServerError,
}

// StatusCodes returns a copy of the code → status map, for tests that
// check each code is documented under its status.
func StatusCodes() map[string]int { return maps.Clone(statusOf) }

// Problem is an RFC 9457 problem detail with Parley's extensions.
type Problem struct {
	Type      string             `json:"type"`
	Title     string             `json:"title"`
	Status    int                `json:"status"`
	Detail    string             `json:"detail"`
	Code      string             `json:"code"`
	Errors    []fault.FieldError `json:"errors,omitempty"`
	RequestID string             `json:"request_id,omitempty"`
}

// ProblemTypeBase prefixes the "type" URI of every problem; the page it
// names documents the code.
const ProblemTypeBase = "https://parley.dev/problems/"

// ErrInvalidCursor answers a cursor that is forged, damaged, or belongs
// to another list. page.ErrBadCursor is answered with it too.
var ErrInvalidCursor = &fault.Error{Code: fault.CodeInvalidCursor,
	Message: "cursor: is not a cursor this API issued for this list, its filters and its ordering; start again without it",
	Fields:  []fault.FieldError{{Field: "cursor", Message: "is not a cursor of this list, its filters and its ordering"}}}

// ProblemFor turns any error into a problem. Errors that are not
// *fault.Error are internal: their text is logged, never sent.
func ProblemFor(err error) Problem {
	var fe *fault.Error
	if errors.Is(err, page.ErrBadCursor) {
		fe = ErrInvalidCursor
	} else if !errors.As(err, &fe) {
		fe = &fault.Error{Code: fault.CodeInternal, Message: "something went wrong on our side; it has been logged"}
	}
	status, ok := statusOf[fe.Code]
	if !ok {
		status = http.StatusInternalServerError
	}
	return Problem{
		Type:   ProblemTypeBase + strings.ReplaceAll(fe.Code, "_", "-"),
		Title:  http.StatusText(status),
		Status: status,
		Detail: fe.Message,
		Code:   fe.Code,
		Errors: fe.Fields,
	}
}

// UnavailableRetryAfter is the Retry-After, in seconds, of a 503
// service_unavailable: long enough not to hammer a database that is
// restarting, short enough that clients notice its return soon.
const UnavailableRetryAfter = "5"

// WriteProblem answers with the problem for err and logs server-side
// failures with their cause. An outage is not logged here: the store
// logs it once per interval, not once per request.
func WriteProblem(w http.ResponseWriter, r *http.Request, err error) {
	if errors.Is(err, context.Canceled) && r.Context().Err() != nil {
		// The client hung up (for example while its write waited for
		// the writer): nobody reads this answer, and it is no server
		// error. 499 (nginx's "client closed request") keeps it apart
		// from real failures in logs and metrics.
		slog.DebugContext(r.Context(), "client went away", "method", r.Method, "route", r.Pattern)
		w.WriteHeader(StatusClientClosedRequest)
		return
	}
	p := ProblemFor(err)
	p.RequestID = RequestID(r.Context())
	if p.Status >= 500 && p.Code != fault.CodeUnavailable {
		slog.ErrorContext(r.Context(), "request failed", "err", err, "code", p.Code,
			"method", r.Method, "route", r.Pattern, "request_id", p.RequestID)
	}
	if p.Status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Bearer realm="parley"`)
	}
	if p.Code == fault.CodeUnavailable {
		w.Header().Set("Retry-After", UnavailableRetryAfter)
	}
	w.Header().Set("Content-Type", "application/problem+json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(p.Status)
	_ = json.NewEncoder(w).Encode(p)
}

// StatusClientClosedRequest is the status recorded for a request whose
// client left before its answer was ready (nginx's 499).
const StatusClientClosedRequest = 499

// WriteJSON answers with v as JSON, never cached: API answers are
// per-key and change.
func WriteJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
