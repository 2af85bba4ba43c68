package httpx

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"regexp"
	"strings"
	"time"

	"github.com/parley-dev/parley/internal/fault"
	"github.com/parley-dev/parley/internal/ids"
)

type ctxKey int

const keyRequestID ctxKey = iota

// RequestID returns the id Observe gave the request, "" outside it. Logs
// and problems carry it so a client's report can be found in the log.
func RequestID(ctx context.Context) string {
	s, _ := ctx.Value(keyRequestID).(string)
	return s
}

var goodRequestID = regexp.MustCompile(`^[A-Za-z0-9._:-]{1,128}$`)

// HTTPObserver records served requests (the metrics package implements it).
type HTTPObserver interface {
	HTTP(method, route string, code int, d time.Duration)
}

// statusRecorder remembers the status code a handler wrote.
type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (s *statusRecorder) WriteHeader(code int) {
	if s.status == 0 {
		s.status = code
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusRecorder) Write(b []byte) (int, error) {
	if s.status == 0 {
		s.status = http.StatusOK
	}
	return s.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the real writer (to flush).
func (s *statusRecorder) Unwrap() http.ResponseWriter { return s.ResponseWriter }

// Observe wraps a whole handler tree: it gives every request an id
// (honouring a sane incoming X-Request-Id), recovers panics into a 500
// problem, and logs and measures every request by its route pattern.
func Observe(next http.Handler, obs HTTPObserver, log *slog.Logger) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rid := r.Header.Get("X-Request-Id")
		if !goodRequestID.MatchString(rid) {
			rid = strings.TrimPrefix(ids.NewAt("req", start), "req_") // names a request, is never stored
		}
		w.Header().Set("X-Request-Id", rid)
		ctx := context.WithValue(r.Context(), keyRequestID, rid)
		r = r.WithContext(ctx)
		rec := &statusRecorder{ResponseWriter: w}
		defer func() {
			if v := recover(); v != nil {
				if err, ok := v.(error); ok && errors.Is(err, http.ErrAbortHandler) {
					panic(v)
				}
				log.ErrorContext(ctx, "panic serving request", "panic", v, "route", r.Pattern, "request_id", rid)
				if rec.status == 0 {
					WriteProblem(rec, r, fault.New(fault.CodeInternal, "something went wrong on our side; it has been logged"))
				}
			}
			route := r.Pattern
			if route == "" {
				route = "unmatched"
			}
			d := time.Since(start)
			if obs != nil {
				obs.HTTP(r.Method, route, rec.status, d)
			}
			log.LogAttrs(ctx, slog.LevelInfo, "http request",
				slog.String("method", r.Method), slog.String("route", route),
				slog.Int("status", rec.status), slog.Duration("duration", d),
				slog.String("request_id", rid))
		}()
		next.ServeHTTP(rec, r)
	})
}

// BodyDeadline gives every request that announces a body a read deadline
// from the handler's start until the body has been read to its end. There
// net/http lifts it itself (it clears the deadline when it starts the
// background read that watches for the client going away), so a long
// response after the body is never cut; TestBodyDeadlineSparesLongResponses
// holds net/http to that. A handler that answers without reading the body
// (a 401, a 404, a GET) leaves the deadline in place: net/http then
// discards the unread body before it answers, and a client that never
// sends it is cut off at the deadline and its connection closed, instead
// of holding it forever. It wraps a whole handler tree; timeout <= 0
// sets no deadline.
func BodyDeadline(next http.Handler, timeout time.Duration) http.Handler {
	if timeout <= 0 {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Body != nil && r.Body != http.NoBody && r.ContentLength != 0 {
			_ = http.NewResponseController(w).SetReadDeadline(time.Now().Add(timeout))
		}
		next.ServeHTTP(w, r)
	})
}
