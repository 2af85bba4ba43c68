package app

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"log/slog"
	"net/http"
	"strings"
	"time"
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
// the body (see httpx.BodyDeadline).
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
	// Parked streams are no longer net/http's: Shutdown neither ends nor
	// waits for them. Close them now; Serve waits for them later.
	srv.RegisterOnShutdown(func() {
		ctx, cancel := context.WithTimeout(context.Background(), a.shutdownTimeout())
		defer cancel()
		_ = a.Streams.Shutdown(ctx)
	})
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
