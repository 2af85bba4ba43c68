package httpapi

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

const (
	keyRequestID ctxKey = iota
	keyWorkspace
)

func requestID(ctx context.Context) string {
	s, _ := ctx.Value(keyRequestID).(string)
	return s
}

// workspaceID returns the workspace the request's API key belongs to.
func workspaceID(ctx context.Context) string {
	s, _ := ctx.Value(keyWorkspace).(string)
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
					writeProblem(rec, r, fault.New(fault.CodeInternal, "something went wrong on our side; it has been logged"))
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

// authenticate admits requests that carry a valid API key and records the
// key's workspace in the context; a missing or wrong key gets a 401
// problem. Requests that are malformed before any key is looked at get a
// 400: two Authorization headers (which one would count is ambiguous, and
// proxies disagree), or a URL with NUL characters or bytes that are not
// UTF-8 in its path or query (checked here, once, for every API route).
func (a *API) authenticate(next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if len(r.Header.Values("Authorization")) > 1 {
			writeProblem(w, r, fault.New(fault.CodeMalformed, "send one Authorization header, not %d", len(r.Header.Values("Authorization"))))
			return
		}
		if err := checkURL(r.URL); err != nil {
			writeProblem(w, r, err)
			return
		}
		h := r.Header.Get("Authorization")
		scheme, secret, ok := strings.Cut(h, " ")
		if !ok || !strings.EqualFold(scheme, "Bearer") || strings.TrimSpace(secret) == "" {
			writeProblem(w, r, fault.New(fault.CodeUnauthorized, "missing API key: send Authorization: Bearer <key>"))
			return
		}
		key, err := a.Accounts.Authenticate(r.Context(), strings.TrimSpace(secret))
		if err != nil {
			writeProblem(w, r, err)
			return
		}
		if a.Limiter.limited(w, r, key.ID) {
			return
		}
		next(w, r.WithContext(context.WithValue(r.Context(), keyWorkspace, key.WorkspaceID)))
	}
}
