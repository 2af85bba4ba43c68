package app_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/parley-dev/parley/internal/apptest"
	"github.com/parley-dev/parley/internal/config"
	"github.com/parley-dev/parley/internal/store/pgtest"
)

// TestMetricsToken: with PARLEY_METRICS_TOKEN set, /metrics (which shows
// every workspace's models and costs) answers only to that bearer token.
func TestMetricsToken(t *testing.T) {
	s := apptest.Start(t, "", func(c *config.Config) { c.MetricsToken = "m3trics-t0ken" })
	for _, auth := range []string{"", "Bearer wrong", "Bearer m3trics-t0ke", "Basic m3trics-t0ken", "Bearer m3trics-t0ken-and-more"} {
		r := s.Do("GET", "/metrics", "", nil, "Authorization", auth)
		if r.Status != http.StatusUnauthorized || strings.Contains(string(r.Body), "parley_") ||
			!strings.HasPrefix(r.Header.Get("WWW-Authenticate"), "Bearer") {
			t.Errorf("Authorization %q: %d %.100s", auth, r.Status, r.Body)
		}
	}
	r := s.Do("GET", "/metrics", "", nil, "Authorization", "Bearer m3trics-t0ken").Want(http.StatusOK)
	if !strings.Contains(string(r.Body), "parley_http_requests_total") {
		t.Errorf("metrics: %.300s", r.Body)
	}
}

// TestDatabaseMetrics: /metrics reports the store's connection pools and
// its failed queries by kind, read at each scrape, on both stores.
func TestDatabaseMetrics(t *testing.T) {
	for _, tc := range []struct{ driver, url string }{{"sqlite", ""}, {"postgres", "pg"}} {
		t.Run(tc.driver, func(t *testing.T) {
			dbURL := tc.url
			if dbURL == "pg" {
				dbURL = pgtest.SchemaURL(t)
			}
			s := apptest.Start(t, dbURL)
			body := string(s.Do("GET", "/metrics", "", nil).Want(http.StatusOK).Body)
			d := `driver="` + tc.driver + `"`
			for _, want := range []string{
				`parley_database_connections{` + d + `,pool=`, `state="in_use"}`, `state="idle"}`, `state="open"}`,
				`parley_database_connections_max{` + d, `parley_database_connection_waits_total{` + d,
				`parley_database_connection_wait_seconds_total{` + d,
				`parley_database_errors_total{` + d + `,kind="unavailable"} 0`,
				`parley_database_errors_total{` + d + `,kind="constraint"} 0`,
			} {
				if !strings.Contains(body, want) {
					t.Errorf("metrics lack %s", want)
				}
			}
			// A duplicate owner is a constraint error the store turns into
			// a conflict; it still counts as one failed query.
			if _, err := s.App.Accounts.CreateUser(t.Context(), s.Workspace, "admin@example.com", "long enough", "agent"); err == nil {
				t.Fatal("duplicate user created")
			}
			body = string(s.Do("GET", "/metrics", "", nil).Want(http.StatusOK).Body)
			if want := `parley_database_errors_total{` + d + `,kind="constraint"} 1`; !strings.Contains(body, want) {
				t.Errorf("metrics lack %s", want)
			}
		})
	}
}
