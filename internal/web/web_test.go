package web_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/parley-dev/parley/internal/account"
	"github.com/parley-dev/parley/internal/apptest"
	"github.com/parley-dev/parley/internal/ids"
	"github.com/parley-dev/parley/internal/store/pgtest"
)

// The dashboard's owner, as apptest bootstraps it.
const (
	ownerEmail    = "admin@example.com"
	ownerPassword = "correct horse battery"
)

// start runs a real App on the database of this run (see TestMain).
func start(t *testing.T) *apptest.Server {
	t.Helper()
	return apptest.Start(t, testDB(t))
}

// testDB is the database a test runs on: a temporary SQLite file in the
// first run, a PostgreSQL schema of its own in the second.
var testDB = func(testing.TB) string { return "" }

// onPostgres is true in the second run; browser tests run once, on SQLite.
var onPostgres bool

// TestMain runs every handler test twice when a PostgreSQL test server is
// configured: once on SQLite and once on PostgreSQL.
func TestMain(m *testing.M) {
	code := m.Run()
	if code != 0 {
		os.Exit(code)
	}
	if os.Getenv(pgtest.EnvURL) == "" {
		fmt.Println(pgtest.EnvURL + " is not set: the dashboard tests ran on SQLite only")
		os.Exit(0)
	}
	fmt.Println("== the dashboard tests again, on PostgreSQL")
	testDB, onPostgres = func(t testing.TB) string { return pgtest.SchemaURL(t) }, true
	os.Exit(m.Run())
}

// client is a browser without JavaScript: it keeps no cookies by itself
// and follows no redirects, so tests see each answer.
type client struct {
	t      *testing.T
	base   string
	cookie *http.Cookie
	csrf   string
}

func newClient(t *testing.T, s *apptest.Server) *client { return &client{t: t, base: s.URL} }

type resp struct {
	status int
	header http.Header
	body   string
}

func (c *client) do(method, path string, form url.Values, header ...string) resp {
	c.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, c.base+path, body)
	if err != nil {
		c.t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	if c.cookie != nil {
		req.AddCookie(c.cookie)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	hc := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	res, err := hc.Do(req)
	if err != nil {
		c.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return resp{res.StatusCode, res.Header, string(b)}
}

var csrfMeta = regexp.MustCompile(`<meta name="csrf-token" content="([^"]+)">`)

// login signs in and keeps the session cookie and CSRF token.
func (c *client) login(email, password string) {
	c.t.Helper()
	r := c.do("POST", "/login", url.Values{"email": {email}, "password": {password}, "next": {"/conversations"}})
	if r.status != http.StatusSeeOther {
		c.t.Fatalf("login: %d %s", r.status, r.body)
	}
	for _, sc := range (&http.Response{Header: r.header}).Cookies() {
		if sc.Name == account.SessionCookie {
			c.cookie = &http.Cookie{Name: sc.Name, Value: sc.Value}
		}
	}
	if c.cookie == nil {
		c.t.Fatal("login set no session cookie")
	}
	page := c.do("GET", "/conversations", nil)
	m := csrfMeta.FindStringSubmatch(page.body)
	if m == nil {
		c.t.Fatalf("no CSRF token on the page: %d %.300s", page.status, page.body)
	}
	c.csrf = m[1]
}

// post sends a form with the session's CSRF token.
func (c *client) post(path string, form url.Values, header ...string) resp {
	c.t.Helper()
	if form == nil {
		form = url.Values{}
	}
	form.Set("csrf", c.csrf)
	return c.do("POST", path, form, header...)
}

func want(t *testing.T, r resp, status int, contains ...string) {
	t.Helper()
	if r.status != status {
		t.Fatalf("status %d, want %d; body: %.600s", r.status, status, r.body)
	}
	for _, s := range contains {
		if !strings.Contains(r.body, s) {
			t.Errorf("body lacks %q: %.1500s", s, r.body)
		}
	}
}

func TestSignInFlow(t *testing.T) {
	s := start(t)
	c := newClient(t, s)
	r := c.do("GET", "/conversations?type=test", nil)
	if r.status != http.StatusSeeOther || r.header.Get("Location") != "/login?next="+url.QueryEscape("/conversations?type=test") {
		t.Fatalf("signed out: %d %s", r.status, r.header.Get("Location"))
	}
	want(t, c.do("GET", "/login", nil), 200, `name="email"`, `name="password"`)
	want(t, c.do("POST", "/login", url.Values{"email": {ownerEmail}, "password": {"wrong password"}}), 401, "Wrong email or password.")
	want(t, c.do("POST", "/login", url.Values{"email": {"nobody@example.com"}, "password": {"wrong password"}}), 401, "Wrong email or password.")

	r = c.do("POST", "/login", url.Values{"email": {"ADMIN@example.com"}, "password": {ownerPassword}, "next": {"//evil.example/x"}})
	if r.status != http.StatusSeeOther || r.header.Get("Location") != "/conversations" {
		t.Fatalf("login: %d to %q", r.status, r.header.Get("Location"))
	}
	sc := (&http.Response{Header: r.header}).Cookies()
	if len(sc) != 1 || sc[0].Name != "parley_session" || !sc[0].HttpOnly || sc[0].SameSite != http.SameSiteLaxMode || sc[0].Secure {
		t.Fatalf("cookie %+v", sc)
	}
	c.login(ownerEmail, ownerPassword)
	home := c.do("GET", "/conversations", nil)
	want(t, home, 200, `data-testid="nav-conversations-count"`, `sse-connect="/events?after=evt_`)
	if csp := home.header.Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'self'") || strings.Contains(csp, "unsafe-inline") {
		t.Errorf("CSP %q", csp)
	}
	// Sign out ends the session on the server, not only in the browser.
	old := *c.cookie
	r = c.post("/logout", nil)
	if r.status != http.StatusSeeOther {
		t.Fatalf("logout: %d", r.status)
	}
	c.cookie = &old
	if r := c.do("GET", "/conversations", nil); r.status != http.StatusSeeOther {
		t.Errorf("old cookie after logout: %d", r.status)
	}
}

// apiConversation creates a conversation through the REST API.
func apiConversation(t *testing.T, s *apptest.Server, key, typ string, extra map[string]any) string {
	t.Helper()
	body := map[string]any{"assistant_id": s.DemoAssistant, "type": typ}
	if key == s.OtherKey {
		list := s.Do("GET", "/api/v1/assistants", key, nil).Want(200)
		if data, _ := list.JSON["data"].([]any); len(data) > 0 {
			body["assistant_id"] = data[0].(map[string]any)["id"]
		} else {
			a := s.Do("POST", "/api/v1/assistants", key, map[string]any{"name": "Other", "model": "offline"}).Want(201)
			body["assistant_id"] = a.Str("id")
		}
	}
	for k, v := range extra {
		body[k] = v
	}
	return s.Do("POST", "/api/v1/conversations", key, body).Want(201).Str("id")
}

var filterCount = regexp.MustCompile(`data-testid="filter-count">([0-9,]+)<`)

func TestConversationsPage(t *testing.T) {
	s := start(t)
	c := newClient(t, s)
	c.login(ownerEmail, ownerPassword)
	want(t, c.do("GET", "/conversations", nil), 200, "No conversations yet")
	a := apiConversation(t, s, s.Key, "api", map[string]any{"customer": map[string]any{"name": "Ада Лавлейс", "phone": "+4915112345678"}})
	apiConversation(t, s, s.Key, "api", nil)
	tc := apiConversation(t, s, s.Key, "test", nil)
	s.Do("POST", "/api/v1/conversations/"+a+"/messages", s.Key, map[string]any{"content": "Do you ship to Zürich?", "role": "user"}).Want(201)
	other := apiConversation(t, s, s.OtherKey, "api", nil)

	all := c.do("GET", "/conversations", nil)
	want(t, all, 200, `data-testid="conversation-row" data-id="`+a+`"`, `data-type="test"`, "Ада Лавлейс", "We roast to order")
	if m := filterCount.FindStringSubmatch(all.body); m == nil || m[1] != "3" {
		t.Errorf("filter count %v, want 3", m)
	}
	if strings.Contains(all.body, other) {
		t.Error("another workspace's conversation is listed")
	}
	// htmx asks for the results fragment only.
	frag := c.do("GET", "/conversations?type=test", nil, "HX-Request", "true", "HX-Target", "results")
	want(t, frag, 200, `data-id="`+tc+`"`)
	if strings.Contains(frag.body, "<html") || strings.Contains(frag.body, `data-id="`+a+`"`) {
		t.Errorf("fragment is a page or unfiltered: %.400s", frag.body)
	}
	if m := filterCount.FindStringSubmatch(frag.body); m == nil || m[1] != "1" {
		t.Errorf("filter count of type=test %v, want 1", m)
	}
	// Search and the phone filter.
	found := c.do("GET", "/conversations?q=z%C3%BCrich", nil)
	if m := filterCount.FindStringSubmatch(found.body); m == nil || m[1] != "1" || !strings.Contains(found.body, a) {
		t.Errorf("search: count %v", m)
	}
	byPhone := c.do("GET", "/conversations?phone=%2B4915112345678", nil)
	if m := filterCount.FindStringSubmatch(byPhone.body); m == nil || m[1] != "1" {
		t.Errorf("phone filter: count %v", m)
	}
	// A bad filter is explained, not a crash, and lists nothing.
	bad := c.do("GET", "/conversations?status=sleeping", nil)
	want(t, bad, 200, "must be active or ended")
	if strings.Contains(bad.body, `data-testid="conversation-row"`) {
		t.Error("rows listed with an invalid filter")
	}
	// Paging: a cursor from page one opens page two; a forged one is refused.
	for i := 0; i < 25; i++ {
		apiConversation(t, s, s.Key, "api", nil)
	}
	p1 := c.do("GET", "/conversations", nil)
	next := regexp.MustCompile(`href="(/conversations\?cursor=[^"]+)"`).FindStringSubmatch(p1.body)
	if next == nil {
		t.Fatalf("no next page link among 28 conversations")
	}
	p2 := c.do("GET", strings.ReplaceAll(next[1], "&amp;", "&"), nil)
	want(t, p2, 200, "Newer")
	if n := strings.Count(p2.body, `data-testid="conversation-row"`); n != 3 {
		t.Errorf("page two has %d rows, want 3", n)
	}
	want(t, c.do("GET", "/conversations?cursor=forged.x", nil), 200, "this page link is out of date")

	// Export of the current filter, with the session (no API key).
	csv := c.do("GET", "/conversations/export?format=csv&type=test", nil)
	want(t, csv, 200, tc)
	if lines := strings.Count(strings.TrimSpace(csv.body), "\n"); lines != 1 || !strings.HasPrefix(csv.body, "id,type,status") {
		t.Errorf("export of type=test has %d data lines: %s", lines, csv.body)
	}
	jsonl := c.do("GET", "/conversations/export?format=jsonl&q=z%C3%BCrich", nil)
	want(t, jsonl, 200, `"Do you ship to Zürich?"`)
}

func TestConversationDetail(t *testing.T) {
	s := start(t)
	c := newClient(t, s)
	c.login(ownerEmail, ownerPassword)
	id := apiConversation(t, s, s.Key, "api", map[string]any{"variables": map[string]any{"plan": "gold"}})
	s.Do("POST", "/api/v1/conversations/"+id+"/messages", s.Key, map[string]any{"content": "What are your opening hours?", "role": "user"}).Want(201)
	page := c.do("GET", "/conversations/"+id, nil)
	want(t, page, 200, `data-testid="message" data-role="user"`, `data-role="assistant"`, `data-testid="composer"`,
		`name="content"`, "Set by API", "gold", `data-live-on="`+id+`"`)

	// Another workspace's conversation is not found, whatever the id.
	other := apiConversation(t, s, s.OtherKey, "api", nil)
	want(t, c.do("GET", "/conversations/"+other, nil), 404)
	want(t, c.do("GET", "/conversations/"+other+"/messages?after=0", nil), 404)
	want(t, c.do("GET", "/conversations/conv_nonsense", nil), 404)
	r := c.post("/conversations/"+other+"/messages", url.Values{"content": {"hi"}})
	want(t, r, 404)

	// The operator composer sends as operator; the tail fragment shows it.
	r = c.post("/conversations/"+id+"/messages", url.Values{"content": {"A human here. 你好"}}, "HX-Request", "true")
	want(t, r, 200, `data-testid="composer"`)
	if r.header.Get("HX-Trigger") != "tail-refresh" {
		t.Errorf("HX-Trigger %q", r.header.Get("HX-Trigger"))
	}
	got := s.Do("GET", "/api/v1/conversations/"+id, s.Key, nil).Want(200)
	msgs := got.JSON["messages"].([]any)
	last := msgs[len(msgs)-1].(map[string]any)
	if last["role"] != "operator" || last["content"] != "A human here. 你好" {
		t.Errorf("last message %v", last)
	}
	tail := c.do("GET", "/conversations/"+id+"/messages?after=0", nil, "HX-Request", "true")
	want(t, tail, 200, `data-role="operator"`, "你好", `id="tail"`)
	// Empty content is refused beside the field and stores nothing.
	r = c.post("/conversations/"+id+"/messages", url.Values{"content": {"  "}}, "HX-Request", "true")
	want(t, r, 422, "visible text")
	if n := len(s.Do("GET", "/api/v1/conversations/"+id, s.Key, nil).JSON["messages"].([]any)); n != len(msgs) {
		t.Errorf("%d messages after a refused send, want %d", n, len(msgs))
	}
	// AI off, end, transcript, delete.
	r = c.post("/conversations/"+id+"/ai", url.Values{"ai_enabled": {"false"}})
	if r.status != http.StatusSeeOther {
		t.Fatalf("ai off: %d %s", r.status, r.body)
	}
	if s.Do("GET", "/api/v1/conversations/"+id, s.Key, nil).JSON["ai_enabled"] != false {
		t.Error("AI still on")
	}
	want(t, c.do("GET", "/conversations/"+id+"/transcript", nil), 200, "operator: A human here.")
	r = c.post("/conversations/"+id+"/delete", nil)
	if r.status != http.StatusSeeOther {
		t.Fatalf("delete: %d", r.status)
	}
	s.Do("GET", "/api/v1/conversations/"+id, s.Key, nil).Want(404)
}

// Unsafe requests need the session's token and must not come from
// another site; a refused one changes nothing.
func TestCSRF(t *testing.T) {
	s := start(t)
	c := newClient(t, s)
	c.login(ownerEmail, ownerPassword)
	id := apiConversation(t, s, s.Key, "api", nil)
	before := len(s.Do("GET", "/api/v1/conversations/"+id, s.Key, nil).JSON["messages"].([]any))
	want(t, c.do("POST", "/conversations/"+id+"/messages", url.Values{"content": {"no token"}}), 403, "Reload the page")
	want(t, c.do("POST", "/conversations/"+id+"/messages", url.Values{"content": {"bad token"}, "csrf": {"nope"}}), 403)
	r := c.do("POST", "/conversations/"+id+"/messages", url.Values{"content": {"cross-site"}, "csrf": {c.csrf}}, "Sec-Fetch-Site", "cross-site")
	want(t, r, 403, "another site")
	r = c.do("POST", "/conversations/"+id+"/messages", url.Values{"content": {"evil origin"}, "csrf": {c.csrf}}, "Origin", "https://evil.example")
	want(t, r, 403)
	if n := len(s.Do("GET", "/api/v1/conversations/"+id, s.Key, nil).JSON["messages"].([]any)); n != before {
		t.Errorf("%d messages after refused posts, want %d", n, before)
	}
	// The token in the htmx header works too.
	r = c.do("POST", "/conversations/"+id+"/messages", url.Values{"content": {"with header"}}, "X-CSRF-Token", c.csrf)
	want(t, r, 200)
}

func TestRoles(t *testing.T) {
	s := start(t)
	ctx := context.Background()
	if _, err := s.App.Accounts.CreateUser(ctx, s.Workspace, "agent@example.com", "agent password", account.RoleAgent); err != nil {
		t.Fatal(err)
	}
	c := newClient(t, s)
	c.login("agent@example.com", "agent password")
	set := c.do("GET", "/settings", nil)
	want(t, set, 200, "read-only for you")
	if strings.Contains(set.body, `action="/settings/keys"`) {
		t.Error("an agent sees the key form")
	}
	want(t, c.post("/settings/keys", url.Values{"name": {"sneaky"}}), 403)
	want(t, c.post("/settings/prices", url.Values{"model_pattern": {"x"}, "input_per_mtok": {"1"}, "output_per_mtok": {"1"}}), 403)
	want(t, c.post("/settings/workspace", url.Values{"name": {"Mine now"}}), 403)
	want(t, c.post("/assistants", url.Values{"name": {"x"}, "model": {"offline"}}), 403)
	want(t, c.post("/assistants/"+s.DemoAssistant+"/delete", nil), 403)
	keys := s.Do("GET", "/api/v1/api-keys", s.Key, nil)
	if keys.Status == 200 {
		for _, k := range keys.JSON["data"].([]any) {
			if k.(map[string]any)["name"] == "sneaky" {
				t.Error("the agent's key was created")
			}
		}
	}
	// Agents still work conversations.
	id := apiConversation(t, s, s.Key, "api", nil)
	want(t, c.post("/conversations/"+id+"/messages", url.Values{"content": {"agent reply"}}), 200)

	// An admin manages keys: the secret is shown once and works.
	if _, err := s.App.Accounts.CreateUser(ctx, s.Workspace, "admin2@example.com", "admin password", account.RoleAdmin); err != nil {
		t.Fatal(err)
	}
	ad := newClient(t, s)
	ad.login("admin2@example.com", "admin password")
	r := ad.post("/settings/keys", url.Values{"name": {"crm"}})
	want(t, r, 200, `data-testid="new-key"`)
	secret := regexp.MustCompile(`pk_[A-Za-z0-9]+`).FindString(r.body)
	s.Do("GET", "/api/v1/assistants", secret, nil).Want(200)
	if strings.Contains(ad.do("GET", "/settings", nil).body, secret) {
		t.Error("the secret is shown again")
	}
	want(t, ad.post("/settings/keys", url.Values{"name": {""}}), 422, "must be 1 to 200 characters")
	want(t, ad.post("/settings/workspace", url.Values{"name": {"Renamed Ltd"}}), 303)
	want(t, ad.do("GET", "/settings", nil), 200, "Renamed Ltd")
	r = ad.post("/settings/prices", url.Values{"model_pattern": {"my-model"}, "input_per_mtok": {"abc"}, "output_per_mtok": {"1"}})
	want(t, r, 422, "must be a decimal amount of USD")
	want(t, ad.post("/settings/prices", url.Values{"model_pattern": {"my-model"}, "input_per_mtok": {"0.15"}, "output_per_mtok": {"0.6"}}), 303)
	want(t, ad.do("GET", "/settings", nil), 200, "my-model", "$0.15")
}

func TestLockout(t *testing.T) {
	s := start(t)
	c := newClient(t, s)
	for i := 0; i < account.LoginIPLimit; i++ {
		want(t, c.do("POST", "/login", url.Values{"email": {ownerEmail}, "password": {"guess " + fmt.Sprint(i)}}), 401)
	}
	// From this address, even the right password waits now.
	r := c.do("POST", "/login", url.Values{"email": {ownerEmail}, "password": {ownerPassword}})
	want(t, r, 429, "Too many failed sign-ins from your address")
	if r.header.Get("Retry-After") == "" {
		t.Error("no Retry-After")
	}
	// Failures from many addresses lock the account everywhere (they are
	// counted in the database, so every node sees them).
	ctx := context.Background()
	for i := 0; i < account.LoginLockLimit; i++ {
		if _, _, err := s.App.Accounts.Login(ctx, "admin@example.com", "wrong", fmt.Sprintf("10.0.0.%d", i)); err == nil {
			t.Fatal("a wrong password signed in")
		}
	}
	if _, _, err := s.App.Accounts.Login(ctx, ownerEmail, ownerPassword, "192.0.2.1"); err == nil || !strings.Contains(err.Error(), "locked") {
		t.Errorf("locked account signed in from a fresh address: %v", err)
	}
}

// An expired session is refused (sent to sign in), and one close to its
// idle limit slides forward when used.
func TestSessionExpiry(t *testing.T) {
	s := start(t)
	ctx := context.Background()
	owner, err := s.App.Store.GetUserByEmail(ctx, ownerEmail)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC().Truncate(time.Millisecond)
	mk := func(token string, created, expires time.Time) {
		t.Helper()
		if err := s.App.Store.CreateSession(ctx, &account.Session{ID: ids.NewAt(ids.Session, created), TokenHash: account.HashSessionToken(token),
			UserID: owner.ID, WorkspaceID: owner.WorkspaceID, CSRFToken: "x", CreatedAt: created, ExpiresAt: expires, LastSeenAt: created}); err != nil {
			t.Fatal(err)
		}
	}
	mk("expired-token", now.Add(-8*24*time.Hour), now.Add(-time.Hour))
	mk("too-old-token", now.Add(-31*24*time.Hour), now.Add(time.Hour))
	mk("live-token", now.Add(-2*time.Hour), now.Add(time.Minute))
	for _, tok := range []string{"expired-token", "too-old-token", "no-such-token"} {
		c := newClient(t, s)
		c.cookie = &http.Cookie{Name: account.SessionCookie, Value: tok}
		if r := c.do("GET", "/conversations", nil); r.status != http.StatusSeeOther || !strings.HasPrefix(r.header.Get("Location"), "/login") {
			t.Errorf("%s: %d %s", tok, r.status, r.header.Get("Location"))
		}
		// htmx requests are told where to go instead.
		if r := c.do("GET", "/conversations", nil, "HX-Request", "true"); r.status != 401 || r.header.Get("HX-Redirect") == "" {
			t.Errorf("%s via htmx: %d %q", tok, r.status, r.header.Get("HX-Redirect"))
		}
	}
	c := newClient(t, s)
	c.cookie = &http.Cookie{Name: account.SessionCookie, Value: "live-token"}
	want(t, c.do("GET", "/conversations", nil), 200)
	sess, err := s.App.Store.GetSessionByHash(ctx, account.HashSessionToken("live-token"))
	if err != nil {
		t.Fatal(err)
	}
	if !sess.ExpiresAt.After(now.Add(6 * 24 * time.Hour)) {
		t.Errorf("used session expires %v, want about a week from now", sess.ExpiresAt)
	}
}

func TestTestChatStream(t *testing.T) {
	s := start(t)
	c := newClient(t, s)
	c.login(ownerEmail, ownerPassword)
	want(t, c.do("GET", "/test-chat", nil), 200, `data-testid="assistant-select"`, "Demo Assistant", `data-testid="composer"`)
	r := c.post("/test-chat/send", url.Values{"assistant_id": {s.DemoAssistant}, "content": {"What are your opening hours?"}},
		"Accept", "text/event-stream")
	want(t, r, 200)
	var evs []string
	sc := bufio.NewScanner(strings.NewReader(r.body))
	for sc.Scan() {
		if ev, ok := strings.CutPrefix(sc.Text(), "event: "); ok {
			if len(evs) == 0 || evs[len(evs)-1] != ev {
				evs = append(evs, ev)
			}
		}
	}
	if strings.Join(evs, ",") != "conversation,delta,user,done" {
		t.Fatalf("events %v; body %.800s", evs, r.body)
	}
	id := regexp.MustCompile(`"id":"(conv_[a-z0-9]+)"`).FindStringSubmatch(r.body)[1]
	conv := s.Do("GET", "/api/v1/conversations/"+id, s.Key, nil).Want(200)
	if conv.Str("type") != "test" || len(conv.JSON["messages"].([]any)) != 3 {
		t.Errorf("test conversation %s", conv.Body)
	}
	if !strings.Contains(r.body, `data-role=\"assistant\"`) || !strings.Contains(r.body, "tokens") {
		t.Errorf("done event lacks the stored reply with tokens: %.600s", r.body)
	}
	// End: extraction runs and the variables are shown.
	end := c.post("/test-chat/"+id+"/end", nil, "HX-Request", "true")
	want(t, end, 200, `data-testid="extracted-variables"`)
	if s.Do("GET", "/api/v1/conversations/"+id, s.Key, nil).Str("status") != "ended" {
		t.Error("not ended")
	}
	// An empty message is refused in the stream.
	r = c.post("/test-chat/send", url.Values{"assistant_id": {s.DemoAssistant}, "content": {" "}}, "Accept", "text/event-stream")
	want(t, r, 200, "event: failed")
}

func TestAssistantForm(t *testing.T) {
	s := start(t)
	c := newClient(t, s)
	c.login(ownerEmail, ownerPassword)
	want(t, c.do("GET", "/assistants", nil), 200, "Demo Assistant")
	want(t, c.do("GET", "/assistants/"+s.DemoAssistant, nil), 200, `name="widget.color"`, `name="variables"`, `name="prechat_form"`, `name="allowed_origins"`)
	form := url.Values{"name": {"Sales bot"}, "model": {"offline"}, "temperature": {"0.5"}, "max_output_tokens": {"500"},
		"variables": {`[{"name":"Bad Name","type":"string","description":"x"}]`}, "prechat_form": {"[]"},
		"widget.mode": {"chat"}, "widget.color": {"purple"}, "widget.position": {"bottom-right"}, "allowed_origins": {"https://shop.example"}, "ai_enabled": {"on"}}
	r := c.post("/assistants", form)
	want(t, r, 422, "must be a colour like #8b5cf6", "variables[0].name")
	if n := len(s.Do("GET", "/api/v1/assistants", s.Key, nil).JSON["data"].([]any)); n != 1 {
		t.Errorf("%d assistants after a refused create", n)
	}
	form.Set("widget.color", "#112233")
	form.Set("variables", `[{"name":"budget","type":"number","description":"Budget in EUR"}]`)
	r = c.post("/assistants", form)
	if r.status != http.StatusSeeOther {
		t.Fatalf("create: %d %.500s", r.status, r.body)
	}
	id := strings.TrimPrefix(strings.Split(r.header.Get("Location"), "?")[0], "/assistants/")
	got := s.Do("GET", "/api/v1/assistants/"+id, s.Key, nil).Want(200)
	if got.Str("widget.color") != "#112233" || got.Str("name") != "Sales bot" || len(got.JSON["allowed_origins"].([]any)) != 1 {
		t.Errorf("created %s", got.Body)
	}
	want(t, c.post("/assistants/"+id+"/delete", nil), 303)
	s.Do("GET", "/api/v1/assistants/"+id, s.Key, nil).Want(404)
}

func TestStaticAndLiveCount(t *testing.T) {
	s := start(t)
	c := newClient(t, s)
	c.login(ownerEmail, ownerPassword)
	page := c.do("GET", "/conversations", nil)
	css := regexp.MustCompile(`href="(/static/app\.[0-9a-f]{12}\.css)"`).FindStringSubmatch(page.body)
	if css == nil {
		t.Fatal("no hashed stylesheet link")
	}
	r := c.do("GET", css[1], nil)
	want(t, r, 200, "--test: #f97316")
	if !strings.Contains(r.header.Get("Cache-Control"), "immutable") {
		t.Errorf("cache %q", r.header.Get("Cache-Control"))
	}
	want(t, c.do("GET", "/static/app.000000000000.css", nil), 404)
	want(t, c.do("GET", "/conversations/count", nil), 200, "0")
	apiConversation(t, s, s.Key, "api", nil)
	want(t, c.do("GET", "/conversations/count", nil), 200, "1")

	// The live feed announces a new conversation to the dashboard.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", s.URL+"/events", nil)
	req.AddCookie(c.cookie)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if res.StatusCode != 200 || !strings.HasPrefix(res.Header.Get("Content-Type"), "text/event-stream") {
		t.Fatalf("events: %d %s", res.StatusCode, res.Header.Get("Content-Type"))
	}
	id := apiConversation(t, s, s.Key, "api", nil)
	other := apiConversation(t, s, s.OtherKey, "api", nil)
	sc := bufio.NewScanner(res.Body)
	var seen []string
	for sc.Scan() {
		line := sc.Text()
		if strings.Contains(line, other) {
			t.Fatal("another workspace's event reached this dashboard")
		}
		if ev, ok := strings.CutPrefix(line, "event: "); ok {
			seen = append(seen, ev)
			if ev == "count" {
				break
			}
		}
	}
	if strings.Join(seen, ",") != "conversations,"+id+",count" {
		t.Errorf("events %v", seen)
	}
}

func TestAnalyticsPage(t *testing.T) {
	s := start(t)
	apiConversation(t, s, s.Key, "test", nil)
	c := newClient(t, s)
	c.login(ownerEmail, ownerPassword)
	r := c.do("GET", "/analytics?preset=7d", nil)
	want(t, r, 200, `data-testid="stat-conversations">1<`, `id="analytics-data"`, `"conversations":[`)
	want(t, c.do("GET", "/analytics?preset=custom&from=2026-13-01", nil), 200, "must be a date")
}

// TestHostileURLs: NUL or bytes that are not UTF-8 in a dashboard URL's
// path or query are a 400 on both stores, never a database error.
func TestHostileURLs(t *testing.T) {
	s := start(t)
	o := newClient(t, s)
	o.login(ownerEmail, ownerPassword)
	for _, p := range []string{"/conversations?q=%00", "/conversations?q=caf%ff", "/conversations/count?q=%00",
		"/conversations?assistant=%00", "/conversations?assistant=asst_%ff", "/conversations/conv_%00",
		"/conversations/export?q=%00", "/whatsapp?x=%ff"} {
		if r := o.do("GET", p, nil); r.status != 400 {
			t.Errorf("%s: %d, want 400; %.300s", p, r.status, r.body)
		}
	}
}
