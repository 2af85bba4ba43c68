package widget_test

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/parley-dev/parley/internal/apptest"
	"github.com/parley-dev/parley/internal/config"
	"github.com/parley-dev/parley/internal/widget"
)

const site = "https://shop.example"

// env is a running App with the Demo Assistant set up for the widget.
type env struct {
	*apptest.Server
	pub string
}

func start(t *testing.T, patch map[string]any, limits ...config.WidgetLimits) *env {
	t.Helper()
	srv := apptest.Start(t, testDB(t), func(c *config.Config) {
		if len(limits) > 0 {
			c.Widget = limits[0]
		}
	})
	if patch != nil {
		srv.Do("PATCH", "/api/v1/assistants/"+srv.DemoAssistant, srv.Key, patch).Want(http.StatusOK)
	}
	a := srv.Do("GET", "/api/v1/assistants/"+srv.DemoAssistant, srv.Key, nil).Want(http.StatusOK)
	return &env{Server: srv, pub: a.Str("public_key")}
}

type resp struct {
	status int
	header http.Header
	body   []byte
	json   map[string]any
}

// call sends a widget request from a page on origin ("" sends none).
func (e *env) call(t *testing.T, method, path, origin, token string, body any, header ...string) *resp {
	t.Helper()
	var r io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		r = strings.NewReader(b)
	case []byte:
		r = bytes.NewReader(b)
	default:
		j, _ := json.Marshal(b)
		r = bytes.NewReader(j)
	}
	req, _ := http.NewRequest(method, e.URL+path, r)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if origin != "" {
		req.Header.Set("Origin", origin)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	out := &resp{status: res.StatusCode, header: res.Header}
	out.body, _ = io.ReadAll(res.Body)
	_ = json.Unmarshal(out.body, &out.json)
	return out
}

func (r *resp) want(t *testing.T, status int) *resp {
	t.Helper()
	if r.status != status {
		t.Fatalf("status %d, want %d: %s", r.status, status, r.body)
	}
	return r
}

func (r *resp) str(k string) string { s, _ := r.json[k].(string); return s }

func (e *env) w(p string) string { return "/widget/v1/" + e.pub + p }

func TestWidgetOriginsAndCORS(t *testing.T) {
	e := start(t, map[string]any{"allowed_origins": []string{site}})
	// Allowed: CORS names the origin exactly, never with credentials.
	r := e.call(t, "GET", e.w("/config"), site, "", nil).want(t, 200)
	if r.header.Get("Access-Control-Allow-Origin") != site || r.header.Get("Access-Control-Allow-Credentials") != "" ||
		!strings.Contains(strings.Join(r.header.Values("Vary"), ","), "Origin") {
		t.Errorf("CORS headers %v", r.header)
	}
	if strings.Contains(string(r.body), "identity_secret\"") || strings.Contains(string(r.body), "system_prompt") {
		t.Errorf("config shows more than the look: %s", r.body)
	}
	// Refused: another site, no Origin, a lookalike.
	for _, o := range []string{"https://evil.example", "", "https://shop.example.evil.example", "null"} {
		r := e.call(t, "POST", e.w("/sessions"), o, "", map[string]any{})
		if r.status != 403 || r.header.Get("Access-Control-Allow-Origin") != "" {
			t.Errorf("origin %q: %d %v", o, r.status, r.header.Get("Access-Control-Allow-Origin"))
		}
	}
	// Preflight.
	p := e.call(t, "OPTIONS", e.w("/session/messages"), site, "", nil, "Access-Control-Request-Method", "POST",
		"Access-Control-Request-Headers", "authorization,content-type")
	if p.status != 204 || p.header.Get("Access-Control-Allow-Origin") != site ||
		!strings.Contains(p.header.Get("Access-Control-Allow-Headers"), "Authorization") || p.header.Get("Access-Control-Allow-Credentials") != "" {
		t.Errorf("preflight %d %v", p.status, p.header)
	}
	if p := e.call(t, "OPTIONS", e.w("/sessions"), "https://evil.example", "", nil, "Access-Control-Request-Method", "POST"); p.status != 403 || p.header.Get("Access-Control-Allow-Origin") != "" {
		t.Errorf("preflight from another site: %d %v", p.status, p.header)
	}
	// An unknown key is 404; nothing is created by refused calls.
	e.call(t, "GET", "/widget/v1/pub_nope/config", site, "", nil).want(t, 404)
	if n := e.Do("GET", "/api/v1/conversations/count", e.Key, nil).JSON["by_type"].(map[string]any)["widget"]; n != float64(0) {
		t.Errorf("%v widget conversations after refused calls", n)
	}
}

func TestWidgetSessionAndChat(t *testing.T) {
	e := start(t, map[string]any{"prechat_form": []map[string]any{
		{"name": "name", "label": "Name", "type": "text", "required": true},
		{"name": "email", "label": "Email", "type": "email", "required": true},
		{"name": "topic", "label": "Topic", "type": "select", "options": []string{"Sales", "Support"}},
	}})
	// Bad pre-chat answers are refused, each field named, nothing stored.
	bad := e.call(t, "POST", e.w("/sessions"), site, "", map[string]any{"prechat": map[string]string{"email": "nope", "topic": "Other", "x": "y"}}).want(t, 422)
	for _, f := range []string{"prechat.name", "prechat.email", "prechat.topic", "prechat.x"} {
		if !strings.Contains(string(bad.body), f) {
			t.Errorf("problem does not name %s: %s", f, bad.body)
		}
	}
	s := e.call(t, "POST", e.w("/sessions"), site, "", map[string]any{
		"prechat": map[string]string{"name": "Ada", "email": "ada@example.com", "topic": "Sales"}, "variables": map[string]any{"plan": "pro"},
	}).want(t, 201)
	tok, vis, conv := s.str("token"), s.str("visitor_id"), s.json["conversation"].(map[string]any)["id"].(string)
	c := e.Do("GET", "/api/v1/conversations/"+conv, e.Key, nil).Want(200)
	if c.Str("type") != "widget" || c.Str("customer.email") != "ada@example.com" || c.Str("variables.topic.source") != "prechat" || c.Str("variables.plan.value") != "pro" {
		t.Errorf("conversation %s", c.Body)
	}
	// A reply streams.
	r := e.call(t, "POST", e.w("/session/messages"), site, tok, map[string]string{"content": "Do you ship abroad?"}, "Accept", "text/event-stream").want(t, 200)
	if !strings.Contains(string(r.body), "event: delta") || !strings.Contains(string(r.body), "event: done") || strings.Contains(string(r.body), "cost") {
		t.Errorf("stream %s", r.body)
	}
	// Returning visitor: same conversation, with its history.
	again := e.call(t, "POST", e.w("/sessions"), site, "", map[string]any{"visitor_id": vis}).want(t, 200)
	if again.json["conversation"].(map[string]any)["id"] != conv || len(again.json["messages"].([]any)) < 2 || again.json["resumed"] != true {
		t.Errorf("resume %s", again.body)
	}
	// Bad input: NUL, invalid UTF-8, oversize, empty.
	for name, body := range map[string]any{
		"nul":      `{"content":"a\u0000b"}`,
		"utf8":     []byte("{\"content\":\"\xff\xfe\"}"),
		"oversize": map[string]string{"content": strings.Repeat("x", 5000)},
		"huge":     map[string]string{"content": strings.Repeat("x", 40000)},
		"empty":    map[string]string{"content": " \u200b "},
		"unknown":  `{"content":"hi","role":"operator"}`,
	} {
		if r := e.call(t, "POST", e.w("/session/messages"), site, tok, body); r.status < 400 || r.status >= 500 {
			t.Errorf("%s: %d %s", name, r.status, r.body)
		}
	}
	// Tokens: forged, altered, for another assistant, none.
	other := e.Do("POST", "/api/v1/assistants", e.Key, map[string]any{"name": "Other", "model": "offline"}).Want(201)
	otherPub := other.Str("public_key")
	parts := strings.SplitN(tok, ".", 2)
	for name, tc := range map[string]struct{ path, tok string }{
		"forged":          {e.w("/session"), parts[0] + ".AAAA"},
		"none":            {e.w("/session"), ""},
		"other assistant": {"/widget/v1/" + otherPub + "/session", tok},
		"garbage":         {e.w("/session"), "x.y.z"},
	} {
		if r := e.call(t, "GET", tc.path, site, tc.tok, nil); r.status != 401 {
			t.Errorf("%s: %d %s", name, r.status, r.body)
		}
	}
	// Another visitor gets its own conversation and cannot reach the first.
	s2 := e.call(t, "POST", e.w("/sessions"), site, "", map[string]any{"prechat": map[string]string{"name": "Bob", "email": "bob@example.com"}}).want(t, 201)
	if s2.json["conversation"].(map[string]any)["id"] == conv {
		t.Fatal("second visitor got the first one's conversation")
	}
	g := e.call(t, "GET", e.w("/session"), site, s2.str("token"), nil).want(t, 200)
	if strings.Contains(string(g.body), "ship abroad") {
		t.Error("second visitor sees the first one's messages")
	}
	// End: the visitor's next start is a new conversation.
	e.call(t, "POST", e.w("/session/end"), site, tok, nil).want(t, 200)
	e.call(t, "POST", e.w("/session/messages"), site, tok, map[string]string{"content": "hello?"}).want(t, 409)
	n := e.call(t, "POST", e.w("/sessions"), site, "", map[string]any{"visitor_id": vis,
		"prechat": map[string]string{"name": "Ada", "email": "ada@example.com"}}).want(t, 201)
	if n.json["conversation"].(map[string]any)["id"] == conv {
		t.Error("an ended conversation was resumed")
	}
}

// An operator's message reaches the visitor's live stream, and a stream
// resumed with Last-Event-ID gets what it missed.
func TestWidgetEventsLiveAndResume(t *testing.T) {
	e := start(t, map[string]any{"ai_enabled": false})
	s := e.call(t, "POST", e.w("/sessions"), site, "", map[string]any{}).want(t, 201)
	tok, conv := s.str("token"), s.json["conversation"].(map[string]any)["id"].(string)
	req, _ := http.NewRequest("GET", e.URL+e.w("/session/events"), nil)
	req.Header.Set("Authorization", "Bearer "+tok)
	req.Header.Set("Origin", site)
	res, err := http.DefaultClient.Do(req)
	if err != nil || res.StatusCode != 200 {
		t.Fatalf("events: %v %v", err, res)
	}
	defer res.Body.Close()
	// Idle after its headers, the stream is parked: off net/http, framed
	// by closing the connection.
	if !res.Close || len(res.TransferEncoding) != 0 {
		t.Errorf("stream framing: close %v, transfer-encoding %v", res.Close, res.TransferEncoding)
	}
	for deadline := time.Now().Add(5 * time.Second); e.App.Streams.Parked() != 1; time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("%d streams parked, want 1", e.App.Streams.Parked())
		}
	}
	// With AI off the visitor's message waits; the operator answers via the API.
	p := e.call(t, "POST", e.w("/session/messages"), site, tok, map[string]string{"content": "anyone there?"}).want(t, 201)
	if p.json["reply"] != nil {
		t.Errorf("a reply with AI off: %s", p.body)
	}
	e.Do("POST", "/api/v1/conversations/"+conv+"/messages", e.Key, map[string]string{"role": "operator", "content": "Hi, I am **Sam**."}).Want(201)
	sc := bufio.NewScanner(res.Body)
	var ids []string
	deadline := time.AfterFunc(5*time.Second, func() { res.Body.Close() })
	defer deadline.Stop()
	got := ""
	for sc.Scan() {
		line := sc.Text()
		if id, ok := strings.CutPrefix(line, "id: "); ok {
			ids = append(ids, id)
		}
		if strings.HasPrefix(line, "data: ") && strings.Contains(line, `"operator"`) {
			got = line
			break
		}
	}
	if !strings.Contains(got, "Sam") || len(ids) < 2 {
		t.Fatalf("operator message not streamed; ids %v, line %q", ids, got)
	}
	// Resume after the visitor's own message: the operator's comes again.
	req2, _ := http.NewRequest("GET", e.URL+e.w("/session/events"), nil)
	req2.Header.Set("Authorization", "Bearer "+tok)
	req2.Header.Set("Last-Event-ID", ids[0])
	res2, err := http.DefaultClient.Do(req2)
	if err != nil || res2.StatusCode != 200 {
		t.Fatalf("resume: %v %v", err, res2)
	}
	defer res2.Body.Close()
	t2 := time.AfterFunc(5*time.Second, func() { res2.Body.Close() })
	defer t2.Stop()
	sc2 := bufio.NewScanner(res2.Body)
	found := false
	for sc2.Scan() {
		if strings.Contains(sc2.Text(), "Sam") {
			found = true
			break
		}
	}
	if !found {
		t.Error("resumed stream missed the operator message")
	}
}

func TestWidgetIdentity(t *testing.T) {
	secret := "s3cret-identity-key-0123"
	e := start(t, map[string]any{"widget": map[string]any{"identity_secret": secret}})
	a := e.Do("GET", "/api/v1/assistants/"+e.DemoAssistant, e.Key, nil).Want(200)
	if strings.Contains(string(a.Body), secret) || a.Get("widget.identity_secret_set") != true {
		t.Fatalf("assistant shows its secret or not that it has one: %s", a.Body)
	}
	id := map[string]string{"user_id": "u-42", "user_hash": widget.UserHash("u-42", secret), "name": "Ada"}
	s := e.call(t, "POST", e.w("/sessions"), site, "", map[string]any{"identity": id}).want(t, 201)
	conv := s.json["conversation"].(map[string]any)["id"]
	// Another device (no visitor id) with the same verified user resumes.
	d := e.call(t, "POST", e.w("/sessions"), site, "", map[string]any{"identity": id}).want(t, 200)
	if d.json["conversation"].(map[string]any)["id"] != conv {
		t.Error("verified user did not resume on another device")
	}
	// Wrong or missing hashes are refused.
	for name, bad := range map[string]map[string]string{
		"wrong":   {"user_id": "u-42", "user_hash": widget.UserHash("u-43", secret)},
		"missing": {"user_id": "u-42"},
		"other":   {"user_id": "u-42", "user_hash": widget.UserHash("u-42", "another-secret-0123456")},
	} {
		if r := e.call(t, "POST", e.w("/sessions"), site, "", map[string]any{"identity": bad}); r.status != 403 {
			t.Errorf("%s hash: %d %s", name, r.status, r.body)
		}
	}
	// Removing the secret: a user id is then only a customer field.
	e.Do("PATCH", "/api/v1/assistants/"+e.DemoAssistant, e.Key, map[string]any{"widget": map[string]any{"identity_secret": nil}}).Want(200)
	u := e.call(t, "POST", e.w("/sessions"), site, "", map[string]any{"identity": map[string]string{"user_id": "u-42"}}).want(t, 201)
	if u.json["conversation"].(map[string]any)["id"] == conv {
		t.Error("an unverified user id reached the verified user's conversation")
	}
}

func TestWidgetRateLimits(t *testing.T) {
	e := start(t, nil, config.WidgetLimits{PerIP: 600, PerVisitor: 1, Starts: 2})
	s := e.call(t, "POST", e.w("/sessions"), site, "", map[string]any{}).want(t, 201)
	for range 12 { // bursts of at least 10
		e.call(t, "POST", e.w("/sessions"), site, "", map[string]any{})
	}
	r := e.call(t, "POST", e.w("/sessions"), site, "", map[string]any{})
	if r.status != 429 || r.header.Get("Retry-After") == "" {
		t.Errorf("starts: %d %v", r.status, r.header)
	}
	var last *resp
	for range 12 {
		last = e.call(t, "POST", e.w("/session/messages"), site, s.str("token"), map[string]string{"content": "hi"})
	}
	if last.status != 429 || last.header.Get("Retry-After") == "" {
		t.Errorf("messages: %d", last.status)
	}
}

func TestWidgetScript(t *testing.T) {
	e := start(t, nil)
	r := e.call(t, "GET", "/widget.js", "", "", nil).want(t, 200)
	if !strings.Contains(r.header.Get("Cache-Control"), "max-age=300") || !strings.Contains(r.header.Get("Content-Type"), "javascript") {
		t.Errorf("loader headers %v", r.header)
	}
	i := strings.Index(string(r.body), "/widget/assets/panel.")
	if i < 0 {
		t.Fatal("loader does not name the panel")
	}
	name := string(r.body[i:])
	name = name[:strings.Index(name, `"`)]
	p := e.call(t, "GET", name, "", "", nil).want(t, 200)
	if !strings.Contains(p.header.Get("Cache-Control"), "immutable") {
		t.Errorf("panel headers %v", p.header)
	}
	e.call(t, "GET", "/widget/assets/panel.000000000000.js", "", "", nil).want(t, 404)

	// Compressed when the client takes gzip, with its own length and tag.
	for _, path := range []string{"/widget.js", name} {
		raw := e.call(t, "GET", path, "", "", nil, "Accept-Encoding", "identity").want(t, 200)
		gz := e.call(t, "GET", path, "", "", nil, "Accept-Encoding", "gzip, deflate, br").want(t, 200)
		off := e.call(t, "GET", path, "", "", nil, "Accept-Encoding", "br, gzip;q=0").want(t, 200)
		if raw.header.Get("Content-Encoding") != "" || off.header.Get("Content-Encoding") != "" || gz.header.Get("Content-Encoding") != "gzip" {
			t.Fatalf("%s: encodings %q %q %q", path, raw.header.Get("Content-Encoding"), gz.header.Get("Content-Encoding"), off.header.Get("Content-Encoding"))
		}
		zr, err := gzip.NewReader(bytes.NewReader(gz.body))
		if err != nil {
			t.Fatal(err)
		}
		unzipped, _ := io.ReadAll(zr)
		if !bytes.Equal(unzipped, raw.body) || len(gz.body) >= len(raw.body) {
			t.Errorf("%s: gzipped body is not the script", path)
		}
		for _, r := range []*resp{raw, gz} {
			if r.header.Get("Content-Length") != strconv.Itoa(len(r.body)) || !strings.Contains(strings.Join(r.header.Values("Vary"), ","), "Accept-Encoding") {
				t.Errorf("%s: length %s for %d bytes, vary %v", path, r.header.Get("Content-Length"), len(r.body), r.header.Values("Vary"))
			}
		}
		if raw.header.Get("ETag") == "" || raw.header.Get("ETag") == gz.header.Get("ETag") {
			t.Errorf("%s: tags %q and %q", path, raw.header.Get("ETag"), gz.header.Get("ETag"))
		}
		if r := e.call(t, "GET", path, "", "", nil, "Accept-Encoding", "gzip", "If-None-Match", gz.header.Get("ETag")); r.status != 304 || len(r.body) != 0 {
			t.Errorf("%s: revalidation %d", path, r.status)
		}
		if r := e.call(t, "GET", path, "", "", nil, "Accept-Encoding", "identity", "If-None-Match", gz.header.Get("ETag")); r.status != 200 {
			t.Errorf("%s: the gzip tag matched the plain script: %d", path, r.status)
		}
	}
	l, lz, pn, pz := widget.Sizes()
	t.Logf("widget.js %d bytes (%d gzipped), panel %d bytes (%d gzipped)", l, lz, pn, pz)
	if lz+pz > 30<<10 {
		t.Errorf("the widget is %d bytes gzipped, over 30 KB", lz+pz)
	}
}

// Behind a trusted proxy each visitor's address (X-Forwarded-For) has its
// own limits; from any other peer the header is ignored.
func TestWidgetRateLimitsBehindProxy(t *testing.T) {
	limits := config.WidgetLimits{PerIP: 600, PerVisitor: 30, Starts: 1}
	for _, c := range []struct {
		proxies string
		want    int // the status of a start from a second forwarded address
	}{{"127.0.0.1, ::1", 201}, {"", 429}, {"10.0.0.0/8", 429}} {
		e := start(t, map[string]any{"prechat_form": []any{}}, limits)
		e.App.Config.TrustedProxiesList = c.proxies // read when the handler is built
		srv := httptest.NewServer(e.App.Handler())
		e.URL = srv.URL
		var last *resp
		for range 12 { // bursts of at least 10
			last = e.call(t, "POST", e.w("/sessions"), site, "", map[string]any{}, "X-Forwarded-For", "198.51.100.1")
		}
		if last.status != 429 {
			t.Fatalf("proxies %q: the first address was not limited: %d", c.proxies, last.status)
		}
		if r := e.call(t, "POST", e.w("/sessions"), site, "", map[string]any{}, "X-Forwarded-For", "198.51.100.2"); r.status != c.want {
			t.Errorf("proxies %q: a second forwarded address got %d, want %d", c.proxies, r.status, c.want)
		}
		srv.Close()
	}
}
