package app_test

import (
	"bytes"
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"regexp"
	"testing"

	"github.com/parley-dev/parley/internal/app"
	"github.com/parley-dev/parley/internal/config"
)

// TestGeneratedPasswordSignsIn: the owner's password that the first start
// generates and logs once signs in to the dashboard.
func TestGeneratedPasswordSignsIn(t *testing.T) {
	ctx := context.Background()
	var logs bytes.Buffer
	log := slog.New(slog.NewTextHandler(&logs, nil))
	cfg := &config.Config{Addr: "127.0.0.1:0", DatabaseURL: filepath.Join(t.TempDir(), "parley.db"), AdminEmail: "owner@example.com", LogFormat: "text"}
	a, err := app.New(ctx, cfg, log)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	must(t, a.Store.Migrate(ctx))
	must(t, a.Bootstrap(ctx))
	m := regexp.MustCompile(`generated_password=(\S+)`).FindStringSubmatch(logs.String())
	if m == nil {
		t.Fatalf("no generated password in the log: %s", logs.String())
	}
	srv := httptest.NewServer(a.Handler())
	defer srv.Close()
	hc := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	res, err := hc.PostForm(srv.URL+"/login", url.Values{"email": {"owner@example.com"}, "password": {m[1]}})
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/conversations" || len(res.Cookies()) != 1 {
		t.Fatalf("sign-in with the logged password: %d %s %v", res.StatusCode, res.Header.Get("Location"), res.Cookies())
	}
}
