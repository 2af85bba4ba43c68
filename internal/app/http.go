package app

import (
	"crypto/sha256"
	"crypto/subtle"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/parley-dev/parley/internal/config"
)

// HTTPServer returns the server for the whole HTTP surface, with the
// connection limits that keep slow and silent clients from holding
// connections. Serve runs it; tests run it with httptest so they meet
// the same limits.
//
// It has no ReadTimeout or WriteTimeout: replies stream and exports run
// for minutes, and net/http cancels a request's context when a read
// deadline fires while the response is still being written. Headers get
// ReadHeaderTimeout; bodies get a deadline of their own that ends with
// the body (see bodyDeadline).
func (a *App) HTTPServer() *http.Server {
	srv := &http.Server{
		Handler:           a.Handler(),
		ReadHeaderTimeout: 10 * time.Second,
		// Also the wait for a kept-alive connection's next request; it
		// replaces any body deadline left on the connection.
		IdleTimeout: 120 * time.Second,
		ErrorLog:    slog.NewLogLogger(a.Log.Handler(), slog.LevelWarn),
	}
	// Event streams never end by themselves: end them as shutdown
	// begins, so they do not hold it up (clients resume elsewhere).
	srv.RegisterOnShutdown(a.Events.CloseAll)
	return srv
}

// metricsHandler serves /metrics, behind a bearer token when one is
// configured: the metrics show the models and costs of every workspace.
func (a *App) metricsHandler() http.Handler {
	h := a.Metrics.Handler()
	if a.Config.MetricsToken == "" {
		return h
	}
	// Compare hashes, so the comparison takes the same time whatever
	// the length of what was sent.
	want := sha256.Sum256([]byte(a.Config.MetricsToken))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		scheme, token, _ := strings.Cut(r.Header.Get("Authorization"), " ")
		got := sha256.Sum256([]byte(strings.TrimSpace(token)))
		if !strings.EqualFold(scheme, "Bearer") || subtle.ConstantTimeCompare(got[:], want[:]) != 1 {
			w.Header().Set("WWW-Authenticate", `Bearer realm="parley metrics"`)
			http.Error(w, "unauthorized: /metrics needs Authorization: Bearer <PARLEY_METRICS_TOKEN>", http.StatusUnauthorized)
			return
		}
		h.ServeHTTP(w, r)
	})
}

// bodyDeadline gives every request that announces a body a read deadline
// from the handler's start until the body has been read to its end. There
// net/http lifts it itself (it clears the deadline when it starts the
// background read that watches for the client going away), so a long
// response after the body is never cut; TestBodyDeadlineSparesLongResponses
// holds net/http to that. A handler that answers without reading the body
// (a 401, a 404, a GET) leaves the deadline in place: net/http then
// discards the unread body before it answers, and a client that never
// sends it is cut off at the deadline and its connection closed, instead
// of holding it forever.
func bodyDeadline(next http.Handler, timeout time.Duration) http.Handler {
	if timeout <= 0 {
		timeout = config.DefaultBodyReadTimeout
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Body != nil && r.Body != http.NoBody && r.ContentLength != 0 {
			_ = http.NewResponseController(w).SetReadDeadline(time.Now().Add(timeout))
		}
		next.ServeHTTP(w, r)
	})
}
