// Package apptest starts a real Parley App on a fresh database for tests:
// the real router, real services and a real store.
package apptest

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/parley-dev/parley/internal/app"
	"github.com/parley-dev/parley/internal/config"
	"github.com/parley-dev/parley/internal/jobs"
)

// Server is a running test instance with two workspaces and a key each.
type Server struct {
	T   testing.TB
	App *app.App
	URL string
	// Key and Workspace belong to the bootstrapped workspace, which has
	// the Demo Assistant (DemoAssistant); OtherKey and OtherWorkspace to
	// a second one, for isolation tests.
	Key, Workspace, DemoAssistant string
	OtherKey, OtherWorkspace      string
}

// Hooks wire into the App what a test needs beyond its configuration.
type Hooks struct {
	// LLMHTTPClient carries the OpenAI-compatible client's requests: the
	// client of a provider fake (llmtest.Provider.Client) lets the App
	// use that provider's real base URL (PARLEY_LLM_BASE_URL) and reach
	// the fake.
	LLMHTTPClient *http.Client
}

// Start opens a store at databaseURL (a temporary SQLite file when empty),
// migrates, bootstraps and serves the App with httptest. configure, if
// given, adjusts the configuration first.
func Start(t testing.TB, databaseURL string, configure ...func(*config.Config)) *Server {
	t.Helper()
	return StartWith(t, databaseURL, Hooks{}, configure...)
}

// StartWith is Start with hooks.
func StartWith(t testing.TB, databaseURL string, hooks Hooks, configure ...func(*config.Config)) *Server {
	t.Helper()
	ctx := context.Background()
	if databaseURL == "" {
		databaseURL = filepath.Join(t.TempDir(), "parley.db")
	}
	cfg := &config.Config{
		Addr: "127.0.0.1:0", DatabaseURL: databaseURL, AdminEmail: "admin@example.com",
		AdminPassword: "correct horse battery", LogFormat: "text",
	}
	for _, fn := range configure {
		fn(cfg)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	var opts []app.Option
	if hooks.LLMHTTPClient != nil {
		opts = append(opts, app.WithLLMHTTPClient(hooks.LLMHTTPClient))
	}
	if err := app.CheckConfig(cfg); err != nil {
		t.Fatalf("configuration: %v", err)
	}
	st, err := app.OpenStore(ctx, cfg.DatabaseURL)
	if err != nil {
		t.Fatalf("open store: %v", err)
	}
	// Jobs are looked for often, so tests waiting on them stay fast.
	a, err := app.Build(cfg, st, log, jobs.Config{FetchPoll: 20 * time.Millisecond, FetchCooldown: 5 * time.Millisecond}, opts...)
	if err != nil {
		_ = st.Close()
		t.Fatalf("build app: %v", err)
	}
	t.Cleanup(func() { _ = a.Close() })
	if err := a.Store.Migrate(ctx); err != nil {
		t.Fatalf("migrate: %v", err)
	}
	if err := a.Bootstrap(ctx); err != nil {
		t.Fatalf("bootstrap: %v", err)
	}
	stopJobs, err := a.StartJobs(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		stopJobs(sctx)
	})
	eventsCtx, stopEvents := context.WithCancel(ctx)
	eventsDone := make(chan struct{})
	go func() { a.RunEvents(eventsCtx); close(eventsDone) }()
	t.Cleanup(func() { stopEvents(); <-eventsDone })
	srv := httptest.NewUnstartedServer(nil)
	srv.Config = a.HTTPServer() // the real server's connection limits
	srv.Start()
	t.Cleanup(srv.Close)
	t.Cleanup(func() { // before srv.Close: parked streams are not its own
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = a.Streams.Shutdown(sctx)
	})
	s := &Server{T: t, App: a, URL: srv.URL}
	if s.Workspace, err = a.Accounts.DefaultWorkspace(ctx); err != nil {
		t.Fatal(err)
	}
	if s.Key, _, err = a.Accounts.CreateAPIKey(ctx, s.Workspace, "test"); err != nil {
		t.Fatal(err)
	}
	other, err := a.Accounts.CreateWorkspace(ctx, "Other")
	if err != nil {
		t.Fatal(err)
	}
	s.OtherWorkspace = other.ID
	if s.OtherKey, _, err = a.Accounts.CreateAPIKey(ctx, other.ID, "other"); err != nil {
		t.Fatal(err)
	}
	list := s.Do("GET", "/api/v1/assistants", s.Key, nil)
	list.Want(http.StatusOK)
	s.DemoAssistant = list.JSON["data"].([]any)[0].(map[string]any)["id"].(string)
	return s
}

// Response is a finished request.
type Response struct {
	T      testing.TB
	Status int
	Header http.Header
	Body   []byte
	JSON   map[string]any // the body, when it is a JSON object
}

// Do sends a request. body is sent as is when it is a string or []byte,
// and as JSON otherwise; nil sends no body. The exchange is checked
// against the API's OpenAPI document (see Contract): a mismatch fails the
// test, saying what differs.
func (s *Server) Do(method, path, key string, body any, header ...string) *Response {
	s.T.Helper()
	var sent []byte
	switch b := body.(type) {
	case nil:
	case string:
		sent = []byte(b)
	case []byte:
		sent = b
	default:
		j, err := json.Marshal(b)
		if err != nil {
			s.T.Fatal(err)
		}
		sent = j
	}
	var r io.Reader
	if body != nil {
		r = bytes.NewReader(sent)
	}
	req, err := http.NewRequest(method, s.URL+path, r)
	if err != nil {
		s.T.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		s.T.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	out := &Response{T: s.T, Status: resp.StatusCode, Header: resp.Header}
	out.Body, err = io.ReadAll(resp.Body)
	if err != nil {
		s.T.Fatalf("%s %s: read body: %v", method, path, err)
	}
	_ = json.Unmarshal(out.Body, &out.JSON)
	contract, err := APIContract()
	if err != nil {
		s.T.Fatalf("load the OpenAPI document: %v", err)
	}
	if err := contract.Check(req, sent, out.Status, out.Header, out.Body); err != nil {
		s.T.Errorf("%v", err)
	}
	return out
}

// Want fails the test unless the status is as expected.
func (r *Response) Want(status int) *Response {
	r.T.Helper()
	if r.Status != status {
		r.T.Fatalf("status %d, want %d; body: %s", r.Status, status, r.Body)
	}
	return r
}

// Str returns a string at a dotted path of the JSON body ("a.b").
func (r *Response) Str(path string) string {
	r.T.Helper()
	v, _ := r.Get(path).(string)
	return v
}

// Get returns the value at a dotted path of the JSON body, or nil.
func (r *Response) Get(path string) any {
	var cur any = r.JSON
	for _, part := range strings.Split(path, ".") {
		m, ok := cur.(map[string]any)
		if !ok {
			return nil
		}
		cur = m[part]
	}
	return cur
}
