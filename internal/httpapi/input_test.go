package httpapi_test

import (
	"bufio"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/parley-dev/parley/internal/apptest"
)

// TestHostileBytes sends text that PostgreSQL cannot store (NUL) or that is
// not UTF-8: both stores must refuse it the same way, and store nothing.
func TestHostileBytes(t *testing.T) {
	s := apptest.Start(t, testDB(t))
	id := newConversation(t, s, s.Key, nil)
	asst := s.Do("POST", "/api/v1/assistants", s.Key, map[string]any{"name": "Plain"}).Want(201).Str("id")
	conv := "/api/v1/conversations/" + id
	runScenarios(t, s, []scenario{
		// A NUL in any JSON string is a 422 naming the field.
		{name: "nul content", method: "POST", path: conv + "/messages", key: "own", body: `{"content":"a\u0000b"}`, status: 422, code: "validation_failed", field: "content", contains: []string{"NUL"}},
		{name: "nul role", method: "POST", path: conv + "/messages", key: "own", body: `{"content":"hi","role":"user\u0000"}`, status: 422, field: "role"},
		{name: "nul assistant name", method: "POST", path: "/api/v1/assistants", key: "own", body: `{"name":"\u0000"}`, status: 422, field: "name"},
		{name: "nul knowledge", method: "POST", path: "/api/v1/assistants", key: "own", body: `{"name":"x","knowledge":"facts\u0000"}`, status: 422, field: "knowledge"},
		{name: "nul system prompt", method: "PATCH", path: "/api/v1/assistants/" + asst, key: "own", body: `{"system_prompt":"be \u0000 kind"}`, status: 422, field: "system_prompt"},
		{name: "nul variable definition", method: "PATCH", path: "/api/v1/assistants/" + asst, key: "own", body: `{"variables":[{"name":"plan","type":"string","description":"\u0000"}]}`, status: 422, field: "variables[0].description"},
		{name: "nul widget title", method: "PATCH", path: "/api/v1/assistants/" + asst, key: "own", body: `{"widget":{"title":"\u0000"}}`, status: 422, field: "widget.title"},
		{name: "nul model pattern", method: "POST", path: "/api/v1/model-prices", key: "own", body: `{"model_pattern":"gpt\u0000","input_per_mtok":"1","output_per_mtok":"1"}`, status: 422, field: "model_pattern"},
		{name: "nul customer name", method: "POST", path: "/api/v1/conversations", key: "own", body: `{"assistant_id":"` + s.DemoAssistant + `","customer":{"name":"Ada\u0000"}}`, status: 422, field: "customer.name"},
		{name: "nul external identifier", method: "POST", path: "/api/v1/conversations", key: "own", body: `{"assistant_id":"` + s.DemoAssistant + `","external_identifier":"\u0000"}`, status: 422, field: "external_identifier"},
		{name: "nul variable value", method: "POST", path: "/api/v1/conversations", key: "own", body: `{"assistant_id":"` + s.DemoAssistant + `","variables":{"plan":"pro\u0000"}}`, status: 422, field: "variables.plan"},
		{name: "nul variable name", method: "PATCH", path: conv, key: "own", body: `{"variables":{"pl\u0000an":"pro"}}`, status: 422, field: "variables"},
		{name: "nul bulk id", method: "POST", path: "/api/v1/conversations/bulk-delete", key: "own", body: `{"ids":["` + id + `","conv_\u0000"]}`, status: 422, field: "ids[1]"},
		// Invalid UTF-8 in a body is refused, not replaced with U+FFFD.
		{name: "invalid utf-8 body", method: "POST", path: conv + "/messages", key: "own", body: []byte("{\"content\":\"caf\xe9\"}"), status: 400, code: "malformed_request", contains: []string{"UTF-8"}},
		{name: "invalid utf-8 assistant", method: "POST", path: "/api/v1/assistants", key: "own", body: []byte("{\"name\":\"\xff\xfe\"}"), status: 400, code: "malformed_request"},
		// Query parameters and path segments with NUL or invalid UTF-8 are 400 everywhere.
		{name: "nul search", method: "GET", path: "/api/v1/conversations?q=a%00b", key: "own", status: 400, code: "malformed_request", contains: []string{"q"}},
		{name: "invalid utf-8 search", method: "GET", path: "/api/v1/conversations?q=%ff", key: "own", status: 400, code: "malformed_request"},
		{name: "nul filter", method: "GET", path: "/api/v1/conversations?external_identifier=%00", key: "own", status: 400, code: "malformed_request"},
		{name: "nul count filter", method: "GET", path: "/api/v1/conversations/count?customer_phone=%00", key: "own", status: 400, code: "malformed_request"},
		{name: "invalid utf-8 export", method: "GET", path: "/api/v1/conversations/export?q=%c3%28", key: "own", status: 400, code: "malformed_request"},
		{name: "nul parameter name", method: "GET", path: "/api/v1/assistants?per%00page=1", key: "own", status: 400, code: "malformed_request"},
		{name: "nul cursor", method: "GET", path: conv + "/messages?cursor=%00", key: "own", status: 400, code: "malformed_request"},
		{name: "bad escape", method: "GET", path: "/api/v1/conversations?q=%zz", key: "own", status: 400, code: "malformed_request"},
		{name: "nul in path id", method: "GET", path: "/api/v1/conversations/conv_%00", key: "own", status: 400, code: "malformed_request"},
		{name: "invalid utf-8 in path id", method: "DELETE", path: "/api/v1/assistants/asst_%ff", key: "own", status: 400, code: "malformed_request"},
	})
	// Nothing was stored by any of them.
	c := s.Do("GET", "/api/v1/conversations/count", s.Key, nil).Want(200)
	if c.Get("total") != float64(1) {
		t.Errorf("rejected requests created conversations: %s", c.Body)
	}
	g := s.Do("GET", conv, s.Key, nil).Want(200)
	if g.Get("message_count") != float64(1) || len(g.Get("variables").(map[string]any)) != 0 {
		t.Errorf("rejected requests changed the conversation: %s", g.Body)
	}
	a := s.Do("GET", "/api/v1/assistants/"+asst, s.Key, nil).Want(200)
	if a.Str("system_prompt") != "" || a.Str("widget.title") != "Chat with us" || len(a.Get("variables").([]any)) != 0 {
		t.Errorf("rejected patches changed the assistant: %s", a.Body)
	}
	if p := s.Do("GET", "/api/v1/model-prices", s.Key, nil).Want(200); len(p.Get("data").([]any)) != 0 {
		t.Errorf("rejected price stored: %s", p.Body)
	}
	// A backslash followed by "u0000" is ordinary text, and valid UTF-8
	// beyond ASCII is kept as it is.
	ok := s.Do("POST", conv+"/messages", s.Key, map[string]any{"content": `a\u0000b café 東京`, "role": "operator"}).Want(201)
	if ok.Str("message.content") != `a\u0000b café 東京` {
		t.Errorf("content = %q", ok.Str("message.content"))
	}
	s.Do("GET", "/api/v1/conversations?q=caf%C3%A9", s.Key, nil).Want(200)
}

// TestEmptyContent: content with nothing visible is empty, and says so.
func TestEmptyContent(t *testing.T) {
	s := apptest.Start(t, testDB(t))
	path := "/api/v1/conversations/" + newConversation(t, s, s.Key, nil) + "/messages"
	for name, content := range map[string]string{
		"nothing":      "",
		"whitespace":   " \t\n\u00a0\u3000",
		"zero-width":   "\u200b\u200c\u200d\u2060",
		"bom":          "\ufeff",
		"bom and tabs": "\ufeff\t\ufeff",
	} {
		t.Run(name, func(t *testing.T) {
			r := s.Do("POST", path, s.Key, map[string]any{"content": content})
			if r.Status != 422 || r.Str("code") != "validation_failed" || !strings.Contains(r.Str("detail"), "content: must contain visible text") {
				t.Errorf("problem: %s", r.Body)
			}
		})
	}
	long := s.Do("POST", path, s.Key, map[string]any{"content": strings.Repeat("a", 4097)}).Want(422)
	if !strings.Contains(long.Str("detail"), "at most 4096 characters") {
		t.Errorf("too long: %s", long.Body)
	}
	// Visible text wrapped in invisible characters is fine, and kept as sent.
	r := s.Do("POST", path, s.Key, map[string]any{"content": "\ufeffhi\u200b", "role": "operator"}).Want(201)
	if r.Str("message.content") != "\ufeffhi\u200b" {
		t.Errorf("content = %q", r.Str("message.content"))
	}
}

// TestTwoAuthorizationHeaders: which of two keys would count is
// ambiguous, so the request is malformed.
func TestTwoAuthorizationHeaders(t *testing.T) {
	s := apptest.Start(t, testDB(t))
	req, _ := http.NewRequest("GET", s.URL+"/api/v1/assistants", nil)
	req.Header.Add("Authorization", "Bearer "+s.Key)
	req.Header.Add("Authorization", "Bearer "+s.OtherKey)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 400 || !strings.Contains(string(body), `"code":"malformed_request"`) {
		t.Errorf("two Authorization headers: %d %s", resp.StatusCode, body)
	}
}

// TestAcceptNegotiation: the Accept header's q-values decide between a
// stream and JSON.
func TestAcceptNegotiation(t *testing.T) {
	s := apptest.Start(t, testDB(t))

	path := "/api/v1/conversations/" + newConversation(t, s, s.Key, nil) + "/messages"
	for _, tc := range []struct {
		accept string
		stream bool
	}{
		{"", false},
		{"application/json", false},
		{"*/*", false},
		{"text/*", false},
		{"text/event-stream", true},
		{"TEXT/Event-Stream; charset=utf-8", true},
		{"text/event-stream;q=0.1, application/json", false},
		{"application/json;q=0.5, text/event-stream", true},
		{"application/json;q=0.5, text/event-stream;q=0.9", true},
		{"text/event-stream, application/json", true},
		{"text/event-stream;q=0", false},
		{"text/event-stream;q=0.000", false},
		{"text/event-stream;q=0.5, */*", false},
		{"text/event-stream;q=0.5, */*;q=0.1", true},
		{"text/event-stream;q=2", false},   // not a qvalue: the range is ignored
		{"text/event-stream;q=abc", false}, // likewise
	} {
		t.Run(tc.accept, func(t *testing.T) {
			r := s.Do("POST", path, s.Key, map[string]any{"content": "hello", "role": "operator"}, "Accept", tc.accept)
			ct := r.Header.Get("Content-Type")
			if tc.stream && (r.Status != 200 || !strings.HasPrefix(ct, "text/event-stream")) {
				t.Errorf("want a stream, got %d %s", r.Status, ct)
			}
			if !tc.stream && (r.Status != 201 || ct != "application/json") {
				t.Errorf("want JSON, got %d %s", r.Status, ct)
			}
		})
	}
}

// TestOptionalBodies: end and extract take no fields, so any field is
// unknown; an empty body or {} is fine.
func TestOptionalBodies(t *testing.T) {
	s := apptest.Start(t, testDB(t))
	id := newConversation(t, s, s.Key, nil)
	base := "/api/v1/conversations/" + id
	runScenarios(t, s, []scenario{
		{name: "end unknown field", method: "POST", path: base + "/end", key: "own", body: `{"reason":"done"}`, status: 400, code: "malformed_request", contains: []string{"reason"}},
		{name: "end not json", method: "POST", path: base + "/end", key: "own", body: `reason=done`, status: 400, code: "malformed_request"},
		{name: "end array", method: "POST", path: base + "/end", key: "own", body: `[]`, status: 400, code: "malformed_request"},
		{name: "extract unknown field", method: "POST", path: base + "/extract", key: "own", body: `{"force":true}`, status: 400, code: "malformed_request", contains: []string{"force"}},
		{name: "extract empty object", method: "POST", path: base + "/extract", key: "own", body: `{}`, status: 200},
		{name: "extract empty body", method: "POST", path: base + "/extract", key: "own", status: 200},
	})
	if g := s.Do("GET", base, s.Key, nil).Want(200); g.Str("status") != "active" {
		t.Fatalf("a refused end ended the conversation: %s", g.Body)
	}
	s.Do("POST", base+"/end", s.Key, `{}`).Want(200)
	s.Do("POST", base+"/end", s.Key, "").Want(200)
}

// TestStreamingDoneCarriesMessage: the done event has the same shape as
// the JSON answer, with the stored user message and the reply.
func TestStreamingDoneCarriesMessage(t *testing.T) {
	s := apptest.Start(t, testDB(t))
	path := "/api/v1/conversations/" + newConversation(t, s, s.Key, nil) + "/messages"
	for _, role := range []string{"user", "operator"} {
		done := streamDone(t, s, path, `{"content":"Do you ship abroad?","role":"`+role+`"}`)
		msg, _ := done["message"].(map[string]any)
		if msg == nil || msg["role"] != role || !strings.HasPrefix(msg["id"].(string), "msg_") || msg["content"] != "Do you ship abroad?" {
			t.Errorf("%s: done.message = %v", role, done)
		}
		reply, hasReply := done["reply"]
		if !hasReply {
			t.Errorf("%s: done lacks reply: %v", role, done)
		}
		if role == "user" && (reply == nil || reply.(map[string]any)["role"] != "assistant") {
			t.Errorf("done.reply = %v", reply)
		}
		if role == "operator" && reply != nil {
			t.Errorf("operator message got a reply: %v", reply)
		}
	}
}

// streamDone posts body with Accept: text/event-stream and returns the
// done event's data.
func streamDone(t *testing.T, s *apptest.Server, path, body string) map[string]any {
	t.Helper()
	req, _ := http.NewRequest("POST", s.URL+path, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+s.Key)
	req.Header.Set("Accept", "text/event-stream")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var done map[string]any
	event := ""
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		if e, ok := strings.CutPrefix(sc.Text(), "event: "); ok {
			event = e
		} else if d, ok := strings.CutPrefix(sc.Text(), "data: "); ok && event == "done" {
			if err := json.Unmarshal([]byte(d), &done); err != nil {
				t.Fatalf("done data %q: %v", d, err)
			}
		}
	}
	if done == nil {
		t.Fatalf("no done event (status %d)", resp.StatusCode)
	}
	return done
}

// TestDecodeErrors: the decoder's problems name nested fields precisely,
// say "integer" for integers, refuse numbers that would lose precision and
// treat a null body like any other non-object.
func TestDecodeErrors(t *testing.T) {
	s := apptest.Start(t, testDB(t))
	id := newConversation(t, s, s.Key, nil)
	conv := "/api/v1/conversations/" + id
	runScenarios(t, s, []scenario{
		{name: "fraction for an integer", method: "POST", path: "/api/v1/assistants", key: "own", body: `{"name":"x","max_output_tokens":1.5}`, status: 422, field: "max_output_tokens", contains: []string{"must be an integer"}},
		{name: "huge integer", method: "POST", path: "/api/v1/assistants", key: "own", body: `{"name":"x","max_output_tokens":1e30}`, status: 422, field: "max_output_tokens", contains: []string{"must be an integer"}},
		{name: "integer beyond int64", method: "POST", path: "/api/v1/assistants", key: "own", body: `{"name":"x","max_output_tokens":99999999999999999999}`, status: 422, field: "max_output_tokens"},
		{name: "string for an integer", method: "POST", path: "/api/v1/assistants", key: "own", body: `{"name":"x","max_output_tokens":"5"}`, status: 422, field: "max_output_tokens", contains: []string{"must be an integer, not a string"}},
		{name: "number overflow", method: "POST", path: "/api/v1/assistants", key: "own", body: `{"name":"x","temperature":1e400}`, status: 422, field: "temperature"},
		{name: "nested in array", method: "POST", path: "/api/v1/assistants", key: "own", body: `{"name":"x","variables":[{"name":"a","type":"string"},{"name":5}]}`, status: 422, field: "variables[1].name"},
		{name: "nested object", method: "PATCH", path: "/api/v1/assistants/" + s.DemoAssistant, key: "own", body: `{"widget":{"title":7}}`, status: 422, field: "widget.title"},
		{name: "array element", method: "POST", path: "/api/v1/conversations/bulk-delete", key: "own", body: `{"ids":["` + id + `",2]}`, status: 422, field: "ids[1]", contains: []string{"must be a string, not a number"}},
		{name: "customer field", method: "PATCH", path: conv, key: "own", body: `{"customer":{"phone":5}}`, status: 422, field: "customer.phone"},
		{name: "imprecise variable", method: "PATCH", path: conv, key: "own", body: `{"variables":{"n":9007199254740993}}`, status: 422, field: "variables.n", contains: []string{"9007199254740991"}},
		{name: "overflowing variable", method: "PATCH", path: conv, key: "own", body: `{"variables":{"n":-1e999}}`, status: 422, field: "variables.n"},
		{name: "null body", method: "PATCH", path: conv, key: "own", body: `null`, status: 400, code: "malformed_request", contains: []string{"JSON object"}},
		{name: "array body", method: "POST", path: conv + "/messages", key: "own", body: `[{"content":"x"}]`, status: 400, code: "malformed_request"},
		{name: "string body", method: "POST", path: "/api/v1/assistants", key: "own", body: `"x"`, status: 400, code: "malformed_request"},
		{name: "message body over 64 KiB", method: "POST", path: conv + "/messages", key: "own", body: map[string]any{"content": strings.Repeat("a", 64<<10)}, status: 413, code: "payload_too_large"},
		{name: "nested unknown field", method: "POST", path: "/api/v1/assistants", key: "own", body: `{"name":"x","widget":{"colour":"red"}}`, status: 400, code: "malformed_request", contains: []string{"colour"}},
	})
	// Numbers a double holds exactly are fine.
	p := s.Do("PATCH", conv, s.Key, map[string]any{"variables": map[string]any{"n": 9007199254740991, "f": 0.25}}).Want(200)
	if p.Get("variables.n.value") != float64(9007199254740991) || p.Get("variables.f.value") != 0.25 {
		t.Errorf("variables: %s", p.Body)
	}
}

// TestVariablesAgainstSchema: variables set through the API are checked
// against the assistant's schema; others keep an inferred type.
func TestVariablesAgainstSchema(t *testing.T) {
	s := apptest.Start(t, testDB(t))
	asst := s.Do("POST", "/api/v1/assistants", s.Key, map[string]any{"name": "Typed", "variables": []map[string]any{
		{"name": "seats", "type": "number"}, {"name": "vip", "type": "boolean"},
		{"name": "plan", "type": "enum", "values": []string{"free", "pro"}}, {"name": "renewal", "type": "date"},
		{"name": "note", "type": "string"},
	}}).Want(201).Str("id")
	create := func(vars string) string {
		return `{"assistant_id":"` + asst + `","variables":` + vars + `}`
	}
	id := newConversation(t, s, s.Key, map[string]any{"assistant_id": asst})
	conv := "/api/v1/conversations/" + id
	var cases []scenario
	for _, c := range []struct{ name, vars, field string }{
		{"number as string", `{"seats":"42"}`, "variables.seats"},
		{"boolean as word", `{"vip":"maybe"}`, "variables.vip"},
		{"boolean as string", `{"vip":"true"}`, "variables.vip"},
		{"enum outside values", `{"plan":"gold"}`, "variables.plan"},
		{"enum wrong case", `{"plan":"Pro"}`, "variables.plan"},
		{"impossible date", `{"renewal":"2026-13-45"}`, "variables.renewal"},
		{"date with time", `{"renewal":"2026-01-31T10:00:00Z"}`, "variables.renewal"},
		{"string as number", `{"note":5}`, "variables.note"},
		{"default status", `{"status":"maybe"}`, "variables.status"},
		{"default summary", `{"summary":false}`, "variables.summary"},
		{"free object", `{"other":{"a":1}}`, "variables.other"},
	} {
		cases = append(cases,
			scenario{name: "create " + c.name, method: "POST", path: "/api/v1/conversations", key: "own", body: create(c.vars), status: 422, code: "validation_failed", field: c.field},
			scenario{name: "patch " + c.name, method: "PATCH", path: conv, key: "own", body: `{"variables":` + c.vars + `}`, status: 422, code: "validation_failed", field: c.field})
	}
	runScenarios(t, s, cases)
	if c := s.Do("GET", "/api/v1/conversations/count", s.Key, nil).Want(200); c.Get("total") != float64(1) {
		t.Errorf("rejected creates stored: %s", c.Body)
	}
	r := s.Do("POST", "/api/v1/conversations", s.Key, create(`{"seats":42,"vip":false,"plan":"pro","renewal":"2026-02-28","note":"n","status":"resolved","free_text":"x","free_num":1.5,"free_bool":true}`)).Want(201)
	for path, want := range map[string]any{
		"variables.seats.type": "number", "variables.seats.value": float64(42), "variables.vip.value": false,
		"variables.plan.value": "pro", "variables.plan.type": "enum", "variables.renewal.type": "date",
		"variables.status.type": "enum", "variables.free_text.type": "string", "variables.free_num.type": "number",
		"variables.free_bool.type": "boolean",
	} {
		if got := r.Get(path); got != want {
			t.Errorf("%s = %v, want %v", path, got, want)
		}
	}
}

// TestPatchNull: one rule for null in every PATCH: absent keeps, null
// resets an optional field to its default, null on a required field is a
// 422.
func TestPatchNull(t *testing.T) {
	s := apptest.Start(t, testDB(t))
	asst := s.Do("POST", "/api/v1/assistants", s.Key, map[string]any{
		"name": "Custom", "model": "gpt-4o", "system_prompt": "Be brief", "temperature": 1.5, "max_output_tokens": 99,
		"variables": []map[string]any{{"name": "plan", "type": "string"}}, "allowed_origins": []string{"https://example.com"},
		"ai_enabled": false, "widget": map[string]any{"title": "Help", "color": "#000000"},
	}).Want(201).Str("id")
	path := "/api/v1/assistants/" + asst
	runScenarios(t, s, []scenario{
		{name: "null name", method: "PATCH", path: path, key: "own", body: `{"name":null}`, status: 422, field: "name", contains: []string{"cannot be null"}},
		{name: "null model", method: "PATCH", path: path, key: "own", body: `{"model":null,"system_prompt":null}`, status: 422, field: "model"},
		{name: "null name on create", method: "POST", path: "/api/v1/assistants", key: "own", body: `{"name":null}`, status: 422, field: "name", contains: []string{"cannot be null"}},
	})
	if g := s.Do("GET", path, s.Key, nil).Want(200); g.Str("name") != "Custom" || g.Str("system_prompt") != "Be brief" {
		t.Fatalf("refused patch changed the assistant: %s", g.Body)
	}
	// Absent fields stay.
	p := s.Do("PATCH", path, s.Key, `{"greeting":"Hi"}`).Want(200)
	if p.Str("system_prompt") != "Be brief" || p.Get("temperature") != 1.5 || p.Str("widget.title") != "Help" {
		t.Errorf("absent fields changed: %s", p.Body)
	}
	// Null resets optional fields to their defaults, nested ones too.
	p = s.Do("PATCH", path, s.Key, `{"system_prompt":null,"temperature":null,"max_output_tokens":null,"variables":null,
		"allowed_origins":null,"ai_enabled":null,"widget":{"title":null}}`).Want(200)
	if p.Str("name") != "Custom" || p.Str("model") != "gpt-4o" || p.Str("system_prompt") != "" || p.Get("temperature") != 0.7 ||
		p.Get("max_output_tokens") != float64(1024) || len(p.Get("variables").([]any)) != 0 ||
		len(p.Get("allowed_origins").([]any)) != 0 || p.Get("ai_enabled") != true ||
		p.Str("widget.title") != "Chat with us" || p.Str("widget.color") != "#000000" || p.Str("greeting") != "Hi" {
		t.Errorf("null did not reset: %s", p.Body)
	}
	p = s.Do("PATCH", path, s.Key, `{"widget":null}`).Want(200)
	if p.Str("widget.color") != "#8b5cf6" {
		t.Errorf("widget null: %s", p.Body)
	}

	// Conversations.
	id := newConversation(t, s, s.Key, map[string]any{"external_identifier": "crm-1",
		"customer": map[string]any{"name": "Ada", "email": "ada@example.com"}, "variables": map[string]any{"a": "1", "b": "2"}})
	conv := "/api/v1/conversations/" + id
	runScenarios(t, s, []scenario{
		{name: "null ai_enabled", method: "PATCH", path: conv, key: "own", body: `{"ai_enabled":null}`, status: 422, field: "ai_enabled", contains: []string{"cannot be null"}},
	})
	c := s.Do("PATCH", conv, s.Key, `{"customer":{"name":null},"variables":{"a":null}}`).Want(200)
	if c.Get("customer.name") != nil || c.Str("customer.email") != "ada@example.com" || c.Get("variables.a") != nil ||
		c.Str("variables.b.value") != "2" || c.Str("external_identifier") != "crm-1" {
		t.Errorf("conversation patch: %s", c.Body)
	}
	c = s.Do("PATCH", conv, s.Key, `{"external_identifier":null,"customer":null,"variables":null}`).Want(200)
	if c.Get("external_identifier") != nil || c.Get("customer.email") != nil || len(c.Get("variables").(map[string]any)) != 0 {
		t.Errorf("conversation null patch: %s", c.Body)
	}

	// Model prices.
	price := s.Do("POST", "/api/v1/model-prices", s.Key, map[string]any{"model_pattern": "m", "input_per_mtok": "2",
		"output_per_mtok": "3", "cached_input_per_mtok": "1", "effective_from": "2026-01-01T00:00:00Z"}).Want(201)
	pp := "/api/v1/model-prices/" + price.Str("id")
	runScenarios(t, s, []scenario{
		{name: "null pattern", method: "PATCH", path: pp, key: "own", body: `{"model_pattern":null}`, status: 422, field: "model_pattern", contains: []string{"cannot be null"}},
		{name: "null input", method: "PATCH", path: pp, key: "own", body: `{"input_per_mtok":null}`, status: 422, field: "input_per_mtok"},
	})
	created := s.Do("POST", "/api/v1/model-prices", s.Key, map[string]any{"model_pattern": "n", "input_per_mtok": "2", "output_per_mtok": "3"}).Want(201)
	r := s.Do("PATCH", pp, s.Key, `{"cached_input_per_mtok":null,"effective_from":null}`).Want(200)
	if r.Str("cached_input_per_mtok") != "2.000000000" || r.Str("effective_from") != created.Str("effective_from") || r.Str("model_pattern") != "m" {
		t.Errorf("price null patch: %s (defaults %s)", r.Body, created.Body)
	}
}
