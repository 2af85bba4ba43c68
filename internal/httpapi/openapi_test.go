package httpapi_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/parley-dev/parley/internal/apptest"
	"github.com/parley-dev/parley/internal/httpapi"
	"github.com/parley-dev/parley/internal/llm/llmtest"
)

func TestOpenAPIServed(t *testing.T) {
	s := apptest.Start(t, testDB(t))
	r := s.Do("GET", "/api/v1/openapi.json", "", nil).Want(200)
	if ct := r.Header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type %q", ct)
	}
	if cc := r.Header.Get("Cache-Control"); cc != "public, max-age=300" {
		t.Errorf("Cache-Control %q", cc)
	}
	if !bytes.Equal(r.Body, httpapi.OpenAPI()) {
		t.Error("served document differs from the embedded one")
	}
	if v := r.Str("openapi"); !strings.HasPrefix(v, "3.1.") {
		t.Errorf("openapi version %q, want 3.1.x", v)
	}
	// It is valid OpenAPI 3.1 (NewContract validates it against the
	// specification's schema).
	if _, err := apptest.NewContract(r.Body); err != nil {
		t.Fatal(err)
	}
	// A key is not needed, but a wrong one does not stop it either.
	s.Do("GET", "/api/v1/openapi.json", "bad-key", nil).Want(200)
	// The operations endpoints it describes answer as described (Do
	// checks them).
	s.Do("GET", "/healthz", "", nil).Want(200)
	s.Do("GET", "/readyz", "", nil).Want(200)
	s.Do("GET", "/metrics", "", nil).Want(200)
}

// routeRecorder collects the patterns Register adds.
type routeRecorder []string

func (r *routeRecorder) HandleFunc(pattern string, _ func(http.ResponseWriter, *http.Request)) {
	*r = append(*r, pattern)
}

// TestOpenAPIDescribesEveryRoute checks that every route Register adds
// is an operation of the document, and every operation under /api/ is
// a route.
func TestOpenAPIDescribesEveryRoute(t *testing.T) {
	var rec routeRecorder
	(&httpapi.API{}).Register(&rec)
	var routes []string
	for _, p := range rec {
		if method, _, ok := strings.Cut(p, " "); ok && method != "" {
			routes = append(routes, p)
		} else if p != "/api/" {
			t.Errorf("route %q has no method: only the /api/ catch-all may", p)
		}
	}
	var doc struct {
		Paths map[string]map[string]json.RawMessage `json:"paths"`
	}
	if err := json.Unmarshal(httpapi.OpenAPI(), &doc); err != nil {
		t.Fatal(err)
	}
	var documented []string
	for path, item := range doc.Paths {
		for method := range item {
			switch method {
			case "get", "put", "post", "delete", "options", "head", "patch", "trace":
				if strings.HasPrefix(path, "/api/") {
					documented = append(documented, strings.ToUpper(method)+" "+path)
				}
			}
		}
	}
	for _, r := range routes {
		if !slices.Contains(documented, r) {
			t.Errorf("route %q is not in openapi.json", r)
		}
	}
	for _, d := range documented {
		if !slices.Contains(routes, d) {
			t.Errorf("openapi.json documents %q, which Register does not add", d)
		}
	}
	if len(routes) < 20 {
		t.Errorf("only %d routes recorded: %v", len(routes), routes)
	}
}

// TestStreamsMatchOpenAPI streams every kind of answer through Do, which
// checks each event against the document.
func TestStreamsMatchOpenAPI(t *testing.T) {
	s, fake := startWithProvider(t)
	asst := s.Do("POST", "/api/v1/assistants", s.Key, map[string]any{"name": "Remote", "model": "gpt-4o"}).Want(201).Str("id")
	conv := newConversation(t, s, s.Key, map[string]any{"assistant_id": asst})
	stream := []string{"Accept", "text/event-stream"}
	base := "/api/v1/conversations/" + conv
	r := s.Do("POST", base+"/messages", s.Key, map[string]any{"content": "hi"}, stream...).Want(200)
	if !strings.Contains(string(r.Body), "event: delta") || !strings.Contains(string(r.Body), "event: done") {
		t.Errorf("stream: %s", r.Body)
	}
	// An operator's message has no reply to stream: done alone.
	r = s.Do("POST", base+"/messages", s.Key, map[string]any{"content": "a human", "role": "operator"}, stream...).Want(200)
	if strings.Contains(string(r.Body), "event: delta") || !strings.Contains(string(r.Body), `"reply":null`) {
		t.Errorf("operator stream: %s", r.Body)
	}
	// A failed reply, answered again as a stream.
	fake.FailNext(llmtest.Failure{Status: 500}, llmtest.Failure{Status: 500}, llmtest.Failure{Status: 500})
	s.Do("POST", base+"/messages", s.Key, map[string]any{"content": "again?"}, stream...).Want(502)
	r = s.Do("POST", base+"/reply", s.Key, nil, stream...).Want(200)
	if !strings.Contains(string(r.Body), "event: done") {
		t.Errorf("reply stream: %s", r.Body)
	}
	s.Do("POST", base+"/reply", s.Key, nil, stream...).Want(409)
	// Errors before the stream starts are problems.
	s.Do("POST", base+"/end", s.Key, nil).Want(200)
	s.Do("POST", base+"/messages", s.Key, map[string]any{"content": "late"}, stream...).Want(409)
}
