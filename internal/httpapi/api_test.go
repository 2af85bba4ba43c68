package httpapi_test

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/parley-dev/parley/internal/apptest"
)

// scenario is one API call and what must come of it.
type scenario struct {
	name     string
	method   string
	path     string
	key      string // "" = no Authorization header; "bad" = a wrong key
	body     any
	status   int
	code     string   // problem code, for error answers
	field    string   // a field that must be named in errors[]
	contains []string // substrings of the body
}

func runScenarios(t *testing.T, s *apptest.Server, cases []scenario) {
	t.Helper()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			key := c.key
			switch key {
			case "own":
				key = s.Key
			case "other":
				key = s.OtherKey
			case "bad":
				key = "pk_notavalidkeyatall000000000000000000000000"
			}
			r := s.Do(c.method, c.path, key, c.body)
			if r.Status != c.status {
				t.Fatalf("status %d, want %d; body %s", r.Status, c.status, r.Body)
			}
			if c.code != "" {
				if ct := r.Header.Get("Content-Type"); ct != "application/problem+json" {
					t.Errorf("Content-Type %q, want application/problem+json", ct)
				}
				if got := r.Str("code"); got != c.code {
					t.Errorf("code %q, want %q; body %s", got, c.code, r.Body)
				}
				if r.Get("status") != float64(c.status) || r.Str("title") == "" || r.Str("detail") == "" || r.Str("type") == "" {
					t.Errorf("incomplete problem: %s", r.Body)
				}
			}
			if c.field != "" {
				found := false
				errs, _ := r.Get("errors").([]any)
				for _, e := range errs {
					if e.(map[string]any)["field"] == c.field {
						found = true
					}
				}
				if !found {
					t.Errorf("errors[] does not name %q: %s", c.field, r.Body)
				}
			}
			for _, sub := range c.contains {
				if !bytes.Contains(r.Body, []byte(sub)) {
					t.Errorf("body lacks %q: %s", sub, r.Body)
				}
			}
		})
	}
}

func newConversation(t *testing.T, s *apptest.Server, key string, body map[string]any) string {
	t.Helper()
	if body == nil {
		body = map[string]any{}
	}
	if _, ok := body["assistant_id"]; !ok {
		body["assistant_id"] = s.DemoAssistant
	}
	r := s.Do("POST", "/api/v1/conversations", key, body).Want(http.StatusCreated)
	return r.Str("id")
}

func TestAuth(t *testing.T) {
	s := apptest.Start(t, testDB(t))
	runScenarios(t, s, []scenario{
		{name: "no key", method: "GET", path: "/api/v1/conversations", status: 401, code: "unauthorized"},
		{name: "wrong key", method: "GET", path: "/api/v1/conversations", key: "bad", status: 401, code: "unauthorized"},
		{name: "own key", method: "GET", path: "/api/v1/conversations", key: "own", status: 200},
		{name: "unknown endpoint", method: "GET", path: "/api/v1/nope", key: "own", status: 404, code: "not_found"},
	})
	r := s.Do("GET", "/api/v1/assistants", "", nil, "Authorization", "Basic abc")
	r.Want(401)
	if r.Header.Get("WWW-Authenticate") == "" {
		t.Error("401 without WWW-Authenticate")
	}
}

func TestAssistantsAPI(t *testing.T) {
	s := apptest.Start(t, testDB(t))
	created := s.Do("POST", "/api/v1/assistants", s.Key, map[string]any{
		"name": "Support", "system_prompt": "Be kind to {{name}}", "greeting": "Hi {{name}}!",
		"variables": []map[string]any{{"name": "plan", "type": "enum", "description": "plan", "values": []string{"free", "pro"}}},
	}).Want(201)
	id := created.Str("id")
	if !strings.HasPrefix(id, "asst_") || !strings.HasPrefix(created.Str("public_key"), "pub_") {
		t.Fatalf("bad ids: %s", created.Body)
	}
	if created.Str("model") != "offline" || created.Get("ai_enabled") != true || created.Str("widget.mode") != "chat" {
		t.Errorf("defaults not applied: %s", created.Body)
	}
	base := "/api/v1/assistants/"
	runScenarios(t, s, []scenario{
		{name: "get", method: "GET", path: base + id, key: "own", status: 200, contains: []string{`"name":"Support"`}},
		{name: "get other workspace", method: "GET", path: base + id, key: "other", status: 404, code: "not_found"},
		{name: "get garbage id", method: "GET", path: base + "nope", key: "own", status: 404, code: "not_found"},
		{name: "malformed json", method: "POST", path: "/api/v1/assistants", key: "own", body: `{"name":`, status: 400, code: "malformed_request"},
		{name: "unknown field", method: "POST", path: "/api/v1/assistants", key: "own", body: `{"name":"x","colour":"red"}`, status: 400, code: "malformed_request", contains: []string{"colour"}},
		{name: "wrong type", method: "POST", path: "/api/v1/assistants", key: "own", body: `{"name":5}`, status: 422, code: "validation_failed", field: "name"},
		{name: "missing name", method: "POST", path: "/api/v1/assistants", key: "own", body: `{}`, status: 422, code: "validation_failed", field: "name"},
		{name: "bad temperature", method: "POST", path: "/api/v1/assistants", key: "own", body: `{"name":"x","temperature":3}`, status: 422, field: "temperature"},
		{name: "bad variable type", method: "POST", path: "/api/v1/assistants", key: "own", body: `{"name":"x","variables":[{"name":"a","type":"blob"}]}`, status: 422, field: "variables[0].type"},
		{name: "bad origin", method: "POST", path: "/api/v1/assistants", key: "own", body: `{"name":"x","allowed_origins":["example.com/path"]}`, status: 422, field: "allowed_origins[0]"},
		{name: "too large", method: "POST", path: "/api/v1/assistants", key: "own", body: `{"name":"x","knowledge":"` + strings.Repeat("a", 9<<20) + `"}`, status: 413, code: "payload_too_large"},
		{name: "patch other workspace", method: "PATCH", path: base + id, key: "other", body: `{"name":"Hacked"}`, status: 404},
		{name: "patch invalid", method: "PATCH", path: base + id, key: "own", body: `{"name":"Changed","temperature":-1}`, status: 422, field: "temperature"},
		{name: "delete other workspace", method: "DELETE", path: base + id, key: "other", status: 404},
	})
	// Rejected changes changed nothing.
	s.Do("GET", base+id, s.Key, nil).Want(200)
	if got := s.Do("GET", base+id, s.Key, nil).Str("name"); got != "Support" {
		t.Errorf("name = %q after rejected patches", got)
	}
	// A partial patch keeps the other fields.
	p := s.Do("PATCH", base+id, s.Key, map[string]any{"widget": map[string]any{"color": "#22c55e"}}).Want(200)
	if p.Str("widget.color") != "#22c55e" || p.Str("widget.mode") != "chat" || p.Str("system_prompt") != "Be kind to {{name}}" {
		t.Errorf("partial patch: %s", p.Body)
	}
	// Paging: two assistants exist (Demo + Support); page by one.
	first := s.Do("GET", "/api/v1/assistants?per_page=1", s.Key, nil).Want(200)
	next := first.Str("next_cursor")
	if next == "" || first.Get("prev_cursor") != nil {
		t.Fatalf("first page cursors: %s", first.Body)
	}
	second := s.Do("GET", "/api/v1/assistants?per_page=1&cursor="+url.QueryEscape(next), s.Key, nil).Want(200)
	if second.Get("next_cursor") != nil || second.Str("prev_cursor") == "" {
		t.Errorf("second page cursors: %s", second.Body)
	}
	back := s.Do("GET", "/api/v1/assistants?per_page=1&cursor="+url.QueryEscape(second.Str("prev_cursor")), s.Key, nil).Want(200)
	if back.Get("data").([]any)[0].(map[string]any)["id"] != first.Get("data").([]any)[0].(map[string]any)["id"] {
		t.Errorf("prev cursor did not lead back: %s", back.Body)
	}
	runScenarios(t, s, []scenario{
		{name: "per_page too big", method: "GET", path: "/api/v1/assistants?per_page=101", key: "own", status: 422, field: "per_page"},
		{name: "bad cursor", method: "GET", path: "/api/v1/assistants?cursor=zzz", key: "own", status: 422, field: "cursor"},
		{name: "delete", method: "DELETE", path: base + id, key: "own", status: 204},
		{name: "gone", method: "GET", path: base + id, key: "own", status: 404},
	})
}

func TestModelPricesAPI(t *testing.T) {
	s := apptest.Start(t, testDB(t))
	r := s.Do("POST", "/api/v1/model-prices", s.Key, map[string]any{
		"model_pattern": "my-model-.*", "input_per_mtok": "2.50", "output_per_mtok": "10", "effective_from": "2026-01-01T00:00:00Z",
	}).Want(201)
	id := r.Str("id")
	if r.Str("input_per_mtok") != "2.500000000" || r.Str("cached_input_per_mtok") != "2.500000000" || r.Str("effective_from") != "2026-01-01T00:00:00.000Z" {
		t.Errorf("created price: %s", r.Body)
	}
	runScenarios(t, s, []scenario{
		{name: "list", method: "GET", path: "/api/v1/model-prices", key: "own", status: 200, contains: []string{id}},
		{name: "defaults", method: "GET", path: "/api/v1/model-prices/defaults?per_page=100", key: "own", status: 200,
			contains: []string{`"model_pattern":"gpt-4o-mini(-\\d{4}-\\d{2}-\\d{2})?"`, `"input_per_mtok":"0.150000000"`, `"builtin":true`}},
		{name: "list other workspace", method: "GET", path: "/api/v1/model-prices", key: "other", status: 200, contains: []string{`"data":[]`}},
		{name: "get other", method: "GET", path: "/api/v1/model-prices/" + id, key: "other", status: 404},
		{name: "float price", method: "POST", path: "/api/v1/model-prices", key: "own", body: `{"model_pattern":"x","input_per_mtok":2.5,"output_per_mtok":"1"}`, status: 422, field: "input_per_mtok"},
		{name: "bad decimal", method: "POST", path: "/api/v1/model-prices", key: "own", body: `{"model_pattern":"x","input_per_mtok":"abc","output_per_mtok":"1"}`, status: 422, field: "input_per_mtok"},
		{name: "too precise", method: "POST", path: "/api/v1/model-prices", key: "own", body: `{"model_pattern":"x","input_per_mtok":"0.0000000001","output_per_mtok":"1"}`, status: 422, field: "input_per_mtok"},
		{name: "bad regex", method: "POST", path: "/api/v1/model-prices", key: "own", body: `{"model_pattern":"gpt-(","input_per_mtok":"1","output_per_mtok":"1"}`, status: 422, field: "model_pattern"},
		{name: "missing output", method: "POST", path: "/api/v1/model-prices", key: "own", body: `{"model_pattern":"x","input_per_mtok":"1"}`, status: 422, field: "output_per_mtok"},
		{name: "bad time", method: "POST", path: "/api/v1/model-prices", key: "own", body: `{"model_pattern":"x","input_per_mtok":"1","output_per_mtok":"1","effective_from":"yesterday"}`, status: 422, field: "effective_from"},
		{name: "patch", method: "PATCH", path: "/api/v1/model-prices/" + id, key: "own", body: `{"output_per_mtok":"12.5"}`, status: 200, contains: []string{`"output_per_mtok":"12.500000000"`, `"input_per_mtok":"2.500000000"`}},
		{name: "delete other", method: "DELETE", path: "/api/v1/model-prices/" + id, key: "other", status: 404},
		{name: "delete", method: "DELETE", path: "/api/v1/model-prices/" + id, key: "own", status: 204},
		{name: "gone", method: "GET", path: "/api/v1/model-prices/" + id, key: "own", status: 404},
	})
}

func TestConversationLifecycle(t *testing.T) {
	s := apptest.Start(t, testDB(t))
	r := s.Do("POST", "/api/v1/conversations", s.Key, map[string]any{
		"assistant_id": s.DemoAssistant, "external_identifier": "crm-42",
		"customer":  map[string]any{"name": "Ada Lovelace", "phone": "+44 20 7946 0958", "email": "ada@example.com"},
		"variables": map[string]any{"plan": "pro", "seats": 3},
	}).Want(201)
	id := r.Str("id")
	if !strings.HasPrefix(id, "conv_") || r.Str("type") != "api" || r.Str("status") != "active" ||
		r.Str("assistant.name") != "Demo Assistant" || r.Str("customer.phone") != "+442079460958" {
		t.Fatalf("created: %s", r.Body)
	}
	if r.Str("variables.plan.source") != "api" || r.Get("variables.seats.value") != float64(3) {
		t.Errorf("variables: %s", r.Body)
	}
	msgs := r.Get("messages").([]any)
	if len(msgs) != 1 || msgs[0].(map[string]any)["role"] != "assistant" {
		t.Fatalf("greeting missing: %s", r.Body)
	}

	// A user message gets a reply from the offline model with real usage.
	p := s.Do("POST", "/api/v1/conversations/"+id+"/messages", s.Key, map[string]any{"content": "When are you open?"}).Want(201)
	if p.Str("message.role") != "user" || p.Str("reply.role") != "assistant" || p.Str("reply.model") != "offline" {
		t.Fatalf("post: %s", p.Body)
	}
	if p.Str("reply.cost") != "0.000000000" || p.Get("reply.usage.output_tokens").(float64) <= 0 ||
		p.Get("reply.usage.input_tokens").(float64) <= 0 || p.Get("reply.latency_ms") == nil {
		t.Errorf("reply accounting: %s", p.Body)
	}
	if !strings.Contains(strings.ToLower(p.Str("reply.content")), "open") {
		t.Errorf("reply does not answer from knowledge: %q", p.Str("reply.content"))
	}
	g := s.Do("GET", "/api/v1/conversations/"+id, s.Key, nil).Want(200)
	if g.Get("message_count") != float64(3) || g.Str("total_cost") != "0.000000000" || g.Get("cost_complete") != true {
		t.Errorf("roll-up: %s", g.Body)
	}
	in, out := p.Get("reply.usage.input_tokens").(float64), p.Get("reply.usage.output_tokens").(float64)
	if g.Get("usage.input_tokens") != in || g.Get("usage.output_tokens") != out || g.Get("usage.total_tokens") != in+out {
		t.Errorf("usage roll-up %v, reply %v/%v", g.Get("usage"), in, out)
	}
	if g.Str("last_message.role") != "assistant" || len(g.Get("messages").([]any)) != 3 {
		t.Errorf("transcript: %s", g.Body)
	}
	// Operators' messages are stored and not answered.
	op := s.Do("POST", "/api/v1/conversations/"+id+"/messages", s.Key, map[string]any{"content": "A human here.", "role": "operator"}).Want(201)
	if op.Get("reply") != nil {
		t.Errorf("operator message got a reply: %s", op.Body)
	}

	base := "/api/v1/conversations/" + id
	runScenarios(t, s, []scenario{
		{name: "empty content", method: "POST", path: base + "/messages", key: "own", body: `{"content":""}`, status: 422, field: "content"},
		{name: "too long", method: "POST", path: base + "/messages", key: "own", body: map[string]any{"content": strings.Repeat("é", 4097)}, status: 422, field: "content"},
		{name: "bad role", method: "POST", path: base + "/messages", key: "own", body: `{"content":"x","role":"system"}`, status: 422, field: "role"},
		{name: "content wrong type", method: "POST", path: base + "/messages", key: "own", body: `{"content":42}`, status: 422, field: "content"},
		{name: "unknown field", method: "POST", path: base + "/messages", key: "own", body: `{"content":"x","mood":"happy"}`, status: 400},
		{name: "two objects", method: "POST", path: base + "/messages", key: "own", body: `{"content":"x"}{"content":"y"}`, status: 400},
		{name: "other workspace post", method: "POST", path: base + "/messages", key: "other", body: `{"content":"hi"}`, status: 404},
		{name: "other workspace get", method: "GET", path: base, key: "other", status: 404},
		{name: "other workspace patch", method: "PATCH", path: base, key: "other", body: `{"ai_enabled":false}`, status: 404},
		{name: "other workspace end", method: "POST", path: base + "/end", key: "other", status: 404},
		{name: "other workspace delete", method: "DELETE", path: base, key: "other", status: 404},
		{name: "other workspace messages", method: "GET", path: base + "/messages", key: "other", status: 404},
		{name: "unknown id", method: "GET", path: "/api/v1/conversations/conv_01jbzzzzzzzzzzzzzzzzzzzzzz", key: "own", status: 404},
		{name: "bad phone", method: "PATCH", path: base, key: "own", body: `{"customer":{"phone":"call me"}}`, status: 422, field: "customer.phone"},
		{name: "bad variable", method: "PATCH", path: base, key: "own", body: `{"variables":{"Bad-Name":1}}`, status: 422},
		{name: "object variable", method: "PATCH", path: base, key: "own", body: `{"variables":{"x":{"a":1}}}`, status: 422, field: "variables.x"},
	})
	after := s.Do("GET", base, s.Key, nil).Want(200)
	if after.Get("message_count") != float64(4) || after.Get("ai_enabled") != true || after.Str("customer.phone") != "+442079460958" {
		t.Errorf("rejected requests changed the conversation: %s", after.Body)
	}

	// PATCH merges variables (null removes) and turns AI off.
	pt := s.Do("PATCH", base, s.Key, map[string]any{"ai_enabled": false, "variables": map[string]any{"plan": nil, "vip": true}, "customer": map[string]any{"name": "Ada King"}}).Want(200)
	if pt.Get("ai_enabled") != false || pt.Get("variables.plan") != nil || pt.Get("variables.vip.value") != true || pt.Get("variables.seats.value") != float64(3) {
		t.Errorf("patch: %s", pt.Body)
	}
	if pt.Str("customer.name") != "Ada King" || pt.Str("customer.email") != "ada@example.com" {
		t.Errorf("customer patch: %s", pt.Body)
	}
	noAI := s.Do("POST", base+"/messages", s.Key, map[string]any{"content": "hello?"}).Want(201)
	if noAI.Get("reply") != nil {
		t.Errorf("reply while AI is off: %s", noAI.Body)
	}

	// Paged transcript, both ways.
	m1 := s.Do("GET", base+"/messages?per_page=2", s.Key, nil).Want(200)
	m2 := s.Do("GET", base+"/messages?per_page=2&cursor="+url.QueryEscape(m1.Str("next_cursor")), s.Key, nil).Want(200)
	m3 := s.Do("GET", base+"/messages?per_page=2&cursor="+url.QueryEscape(m2.Str("next_cursor")), s.Key, nil).Want(200)
	if n := len(m3.Get("data").([]any)); n != 1 || m3.Get("next_cursor") != nil {
		t.Errorf("last transcript page: %s", m3.Body)
	}
	back := s.Do("GET", base+"/messages?per_page=2&cursor="+url.QueryEscape(m2.Str("prev_cursor")), s.Key, nil).Want(200)
	if string(mustJSON(back.Get("data"))) != string(mustJSON(m1.Get("data"))) {
		t.Errorf("prev page differs:\n%s\n%s", back.Body, m1.Body)
	}

	// Ending is idempotent; an ended conversation takes no new messages.
	e := s.Do("POST", base+"/end", s.Key, nil).Want(200)
	if e.Str("status") != "ended" || e.Str("ended_at") == "" {
		t.Errorf("end: %s", e.Body)
	}
	s.Do("POST", base+"/end", s.Key, nil).Want(200)
	runScenarios(t, s, []scenario{
		{name: "post after end", method: "POST", path: base + "/messages", key: "own", body: `{"content":"hi"}`, status: 409, code: "conversation_ended"},
		{name: "delete", method: "DELETE", path: base, key: "own", status: 204},
		{name: "deleted", method: "GET", path: base, key: "own", status: 404},
		{name: "delete again", method: "DELETE", path: base, key: "own", status: 404},
	})
}

func TestCreateConversationValidation(t *testing.T) {
	s := apptest.Start(t, testDB(t))
	other := s.Do("POST", "/api/v1/assistants", s.OtherKey, map[string]any{"name": "Theirs"}).Want(201).Str("id")
	runScenarios(t, s, []scenario{
		{name: "no assistant", method: "POST", path: "/api/v1/conversations", key: "own", body: `{}`, status: 422, field: "assistant_id"},
		{name: "other workspace's assistant", method: "POST", path: "/api/v1/conversations", key: "own", body: `{"assistant_id":"` + other + `"}`, status: 422, field: "assistant_id"},
		{name: "channel type", method: "POST", path: "/api/v1/conversations", key: "own", body: `{"assistant_id":"` + s.DemoAssistant + `","type":"whatsapp"}`, status: 422, field: "type"},
		{name: "bad email", method: "POST", path: "/api/v1/conversations", key: "own", body: `{"assistant_id":"` + s.DemoAssistant + `","customer":{"email":"nope"}}`, status: 422, field: "customer.email"},
	})
	c := s.Do("GET", "/api/v1/conversations/count", s.Key, nil).Want(200)
	if c.Get("total") != float64(0) {
		t.Errorf("rejected creates stored something: %s", c.Body)
	}
}

func TestStreamingReply(t *testing.T) {
	s := apptest.Start(t, testDB(t))
	id := newConversation(t, s, s.Key, nil)
	req, _ := http.NewRequest("POST", s.URL+"/api/v1/conversations/"+id+"/messages", strings.NewReader(`{"content":"Do you ship abroad?"}`))
	req.Header.Set("Authorization", "Bearer "+s.Key)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "text/event-stream")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") {
		t.Fatalf("status %d, type %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	var deltas strings.Builder
	var done map[string]any
	sc := bufio.NewScanner(resp.Body)
	event := ""
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "event: "):
			event = strings.TrimPrefix(line, "event: ")
		case strings.HasPrefix(line, "data: "):
			var v map[string]any
			if err := json.Unmarshal([]byte(strings.TrimPrefix(line, "data: ")), &v); err != nil {
				t.Fatalf("bad data line %q: %v", line, err)
			}
			switch event {
			case "delta":
				deltas.WriteString(v["content"].(string))
			case "done":
				done = v
			default:
				t.Fatalf("unexpected event %q", event)
			}
		}
	}
	reply, _ := done["reply"].(map[string]any)
	if reply == nil || reply["role"] != "assistant" || reply["content"] != deltas.String() || deltas.Len() == 0 {
		t.Fatalf("done %v, deltas %q", done, deltas.String())
	}
	g := s.Do("GET", "/api/v1/conversations/"+id, s.Key, nil).Want(200)
	if g.Get("message_count") != float64(3) {
		t.Errorf("streamed reply not stored: %s", g.Body)
	}
}

func TestListFilterCountExport(t *testing.T) {
	s := apptest.Start(t, testDB(t))
	a := newConversation(t, s, s.Key, map[string]any{"type": "test", "customer": map[string]any{"phone": "+15550001111", "name": "Grace Hopper"}})
	b := newConversation(t, s, s.Key, map[string]any{"external_identifier": "order-7"})
	c := newConversation(t, s, s.Key, nil)
	s.Do("POST", "/api/v1/conversations/"+b+"/messages", s.Key, map[string]any{"content": "my parcel is lost, zebrafish"}).Want(201)
	newConversation(t, s, s.OtherKey, map[string]any{"assistant_id": s.Do("POST", "/api/v1/assistants", s.OtherKey, map[string]any{"name": "x"}).Want(201).Str("id")})

	ids := func(r *apptest.Response) []string {
		var out []string
		for _, d := range r.Get("data").([]any) {
			out = append(out, d.(map[string]any)["id"].(string))
		}
		return out
	}
	cases := []struct {
		query string
		want  []string
	}{
		{"", []string{c, b, a}},
		{"order=asc", []string{a, b, c}},
		{"type=test", []string{a}},
		{"type=api&type=test", []string{c, b, a}},
		{"type=api", []string{c, b}},
		{"customer_phone=%2B1%20555%20000%201111", []string{a}},
		{"external_identifier=order-7", []string{b}},
		{"q=zebrafish", []string{b}},
		{"q=grace", []string{a}},
		{"q=nothingmatchesthis", nil},
		{"sort=message_count", []string{b, c, a}},
		{"sort=updated_at", []string{b, c, a}},
		{"assistant_id=" + s.DemoAssistant + "&status=active", []string{c, b, a}},
		{"status=ended", nil},
	}
	for _, tc := range cases {
		r := s.Do("GET", "/api/v1/conversations?"+tc.query, s.Key, nil).Want(200)
		if got := ids(r); fmt.Sprint(got) != fmt.Sprint(tc.want) {
			t.Errorf("?%s = %v, want %v", tc.query, got, tc.want)
		}
	}
	runScenarios(t, s, []scenario{
		{name: "bad type", method: "GET", path: "/api/v1/conversations?type=fax", key: "own", status: 422, field: "type"},
		{name: "bad sort", method: "GET", path: "/api/v1/conversations?sort=name", key: "own", status: 422, field: "sort"},
		{name: "search with other sort", method: "GET", path: "/api/v1/conversations?q=x&sort=total_cost", key: "own", status: 422, field: "sort"},
		{name: "bad order", method: "GET", path: "/api/v1/conversations?order=up", key: "own", status: 422, field: "order"},
		{name: "bad date", method: "GET", path: "/api/v1/conversations?created_from=soon", key: "own", status: 422, field: "created_from"},
		{name: "bad phone", method: "GET", path: "/api/v1/conversations?customer_phone=abc", key: "own", status: 422, field: "customer_phone"},
		{name: "bad format", method: "GET", path: "/api/v1/conversations/export?format=xml", key: "own", status: 422, field: "format"},
	})

	// Cursors from one ordering are refused by another.
	p1 := s.Do("GET", "/api/v1/conversations?per_page=1", s.Key, nil).Want(200)
	s.Do("GET", "/api/v1/conversations?per_page=1&sort=total_cost&cursor="+url.QueryEscape(p1.Str("next_cursor")), s.Key, nil).Want(422)

	count := s.Do("GET", "/api/v1/conversations/count", s.Key, nil).Want(200)
	if count.Get("total") != float64(3) || count.Get("by_type.api") != float64(2) || count.Get("by_type.test") != float64(1) || count.Get("by_type.widget") != float64(0) {
		t.Errorf("count: %s", count.Body)
	}
	fc := s.Do("GET", "/api/v1/conversations/count?type=test", s.Key, nil).Want(200)
	if fc.Get("total") != float64(1) {
		t.Errorf("filtered count: %s", fc.Body)
	}

	// Export: JSONL with transcripts, CSV with a header.
	ex := s.Do("GET", "/api/v1/conversations/export?format=jsonl", s.Key, nil).Want(200)
	lines := strings.Split(strings.TrimSpace(string(ex.Body)), "\n")
	if len(lines) != 3 {
		t.Fatalf("jsonl lines = %d: %s", len(lines), ex.Body)
	}
	var first map[string]any
	if err := json.Unmarshal([]byte(lines[1]), &first); err != nil || first["id"] != b || len(first["messages"].([]any)) != 3 {
		t.Errorf("jsonl row: %v %s", err, lines[1])
	}
	cx := s.Do("GET", "/api/v1/conversations/export?format=csv&type=test", s.Key, nil).Want(200)
	rows, err := csv.NewReader(bytes.NewReader(cx.Body)).ReadAll()
	if err != nil || len(rows) != 2 || rows[0][0] != "id" || rows[1][0] != a {
		t.Errorf("csv: %v %q", err, cx.Body)
	}

	// Bulk delete takes only this workspace's conversations.
	bd := s.Do("POST", "/api/v1/conversations/bulk-delete", s.OtherKey, map[string]any{"ids": []string{a, b}}).Want(200)
	if bd.Get("deleted") != float64(0) {
		t.Errorf("other workspace deleted: %s", bd.Body)
	}
	bd = s.Do("POST", "/api/v1/conversations/bulk-delete", s.Key, map[string]any{"ids": []string{a, b}}).Want(200)
	if bd.Get("deleted") != float64(2) {
		t.Errorf("bulk delete: %s", bd.Body)
	}
	s.Do("POST", "/api/v1/conversations/bulk-delete", s.Key, map[string]any{"ids": []string{}}).Want(422)
	count = s.Do("GET", "/api/v1/conversations/count", s.Key, nil).Want(200)
	if count.Get("total") != float64(1) || count.Get("by_type.test") != float64(0) {
		t.Errorf("count after delete: %s", count.Body)
	}
	if got := ids(s.Do("GET", "/api/v1/conversations?q=zebrafish", s.Key, nil)); len(got) != 0 {
		t.Errorf("deleted conversation still found: %v", got)
	}
}

func mustJSON(v any) []byte {
	b, _ := json.Marshal(v)
	return b
}
