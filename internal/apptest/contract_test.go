package apptest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/parley-dev/parley/internal/httpapi"
)

const (
	assistantID = "asst_01jd8x3y4z5a6b7c8d9e0f1g2h"
	convID      = "conv_01jd8x3y4z5a6b7c8d9e0f1g2h"
	msgID       = "msg_01jd8x3y4z5a6b7c8d9e0f1g2h"
)

// assistantJSON is an assistant as the API renders one; change, if given,
// edits it first.
func assistantJSON(change func(map[string]any)) string {
	a := map[string]any{
		"id": assistantID, "name": "Support", "model": "offline", "system_prompt": "", "greeting": "",
		"temperature": 0.7, "max_output_tokens": 1024, "knowledge": "", "variables": []any{},
		"skip_default_variables": false, "prechat_form": []any{},
		"widget": map[string]any{"mode": "chat", "title": "Chat with us", "color": "#8b5cf6", "position": "bottom-right",
			"avatar_url": "", "placeholder": "Type a message…", "launcher_text": "Chat"},
		"allowed_origins": []any{}, "ai_enabled": true, "public_key": "pub_abcdefghijklmnopqrstuvwx",
		"created_at": "2026-11-25T10:04:05.120Z", "updated_at": "2026-11-25T10:04:05.120Z",
	}
	if change != nil {
		change(a)
	}
	return mustMarshal(a)
}

func conversationJSON(change func(map[string]any)) string {
	c := map[string]any{
		"id": convID, "type": "api", "status": "active", "assistant": map[string]any{"id": assistantID, "name": "Support"},
		"ai_enabled": true, "external_identifier": nil, "customer": map[string]any{"name": nil, "phone": "+442079460958", "email": nil},
		"variables":     map[string]any{"plan": map[string]any{"value": "pro", "type": "string", "source": "api"}},
		"message_count": 1, "usage": map[string]any{"input_tokens": 1, "output_tokens": 2, "cached_input_tokens": 0, "reasoning_tokens": 0, "total_tokens": 3},
		"total_cost": "0.000000000", "cost_complete": true,
		"last_message": map[string]any{"role": "user", "preview": "hi", "created_at": "2026-11-25T10:04:05.120Z"},
		"created_at":   "2026-11-25T10:04:05.120Z", "updated_at": "2026-11-25T10:04:05.120Z", "ended_at": nil,
		"messages": []any{messageObject()},
	}
	if change != nil {
		change(c)
	}
	return mustMarshal(c)
}

func messageObject() map[string]any {
	return map[string]any{"id": msgID, "conversation_id": convID, "role": "assistant", "content": "Hello",
		"created_at": "2026-11-25T10:04:05.120Z", "model": "offline",
		"usage": map[string]any{"input_tokens": 1, "output_tokens": 2, "cached_input_tokens": 0, "reasoning_tokens": 0, "total_tokens": 3},
		"cost":  nil, "latency_ms": 3, "first_token_ms": 1}
}

func problemJSON(status int, code string) string {
	return mustMarshal(map[string]any{"type": "https://parley.dev/problems/" + strings.ReplaceAll(code, "_", "-"),
		"title": http.StatusText(status), "status": status, "detail": "something", "code": code, "request_id": "r1"})
}

func mustMarshal(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return string(b)
}

func TestContractChecksExchanges(t *testing.T) {
	c, err := APIContract()
	if err != nil {
		t.Fatal(err)
	}
	jsonType := http.Header{"Content-Type": {"application/json"}}
	problemType := http.Header{"Content-Type": {"application/problem+json"}}
	sse := http.Header{"Content-Type": {"text/event-stream"}}
	ndjson := http.Header{"Content-Type": {"application/x-ndjson"}, "Content-Disposition": {`attachment; filename="conversations-20261125-100405.jsonl"`}}
	msg := mustMarshal(messageObject())
	cases := []struct {
		name         string
		method, path string
		reqBody      string
		status       int
		header       http.Header
		body         string
		want         string // a part of the error; "" = no error
	}{
		{name: "a documented answer", method: "GET", path: "/api/v1/assistants/" + assistantID, status: 200, header: jsonType, body: assistantJSON(nil)},
		{name: "an undeclared property", method: "GET", path: "/api/v1/assistants/" + assistantID, status: 200, header: jsonType,
			body: assistantJSON(func(a map[string]any) { a["colour"] = "red" }), want: "colour"},
		{name: "a missing required property", method: "GET", path: "/api/v1/assistants/" + assistantID, status: 200, header: jsonType,
			body: assistantJSON(func(a map[string]any) { delete(a, "public_key") }), want: "public_key"},
		{name: "a wrong id prefix", method: "GET", path: "/api/v1/assistants/" + assistantID, status: 200, header: jsonType,
			body: assistantJSON(func(a map[string]any) { a["id"] = "conv_01jd8x3y4z5a6b7c8d9e0f1g2h" }), want: "id"},
		{name: "a time without milliseconds", method: "GET", path: "/api/v1/assistants/" + assistantID, status: 200, header: jsonType,
			body: assistantJSON(func(a map[string]any) { a["created_at"] = "2026-11-25T10:04:05Z" }), want: "created_at"},
		{name: "money as a number", method: "GET", path: "/api/v1/conversations/" + convID, status: 200, header: jsonType,
			body: conversationJSON(func(c map[string]any) { c["total_cost"] = 0.5 }), want: "total_cost"},
		{name: "a detailed conversation", method: "GET", path: "/api/v1/conversations/" + convID, status: 200, header: jsonType, body: conversationJSON(nil)},
		{name: "an undocumented status", method: "GET", path: "/api/v1/assistants/" + assistantID, status: 418, header: problemType,
			body: problemJSON(418, "internal_error"), want: "418"},
		{name: "an undocumented media type", method: "GET", path: "/api/v1/assistants/" + assistantID, status: 200,
			header: http.Header{"Content-Type": {"text/html"}}, body: "<p>hi</p>", want: "text/html"},
		{name: "a problem with the code of another status", method: "GET", path: "/api/v1/assistants?per_page=0", status: 422, header: problemType,
			body: problemJSON(422, "not_found"), want: "code"},
		{name: "a documented problem", method: "GET", path: "/api/v1/assistants?per_page=0", status: 422, header: problemType,
			body: problemJSON(422, "validation_failed")},
		{name: "a problem sent as JSON", method: "GET", path: "/api/v1/assistants/" + assistantID, status: 404, header: jsonType,
			body: problemJSON(404, "not_found"), want: "application/json"},
		{name: "429 without Retry-After", method: "GET", path: "/api/v1/assistants", status: 429, header: problemType,
			body: problemJSON(429, "rate_limited"), want: "Retry-After"},
		{name: "an undocumented route that answers", method: "GET", path: "/api/v1/widgets", status: 200, header: jsonType,
			body: `{}`, want: "not in the OpenAPI document"},
		{name: "an undocumented method that answers", method: "PUT", path: "/api/v1/assistants/" + assistantID, status: 200, header: jsonType,
			body: assistantJSON(nil), want: "not in the OpenAPI document"},
		{name: "an undocumented route's 404", method: "GET", path: "/api/v1/widgets", status: 404, header: problemType, body: problemJSON(404, "not_found")},
		{name: "an undocumented route's bad 404", method: "GET", path: "/api/v1/widgets", status: 404, header: problemType,
			body: `{"error":"nope"}`, want: "no such route"},
		{name: "the document describing itself", method: "GET", path: "/api/v1/openapi.json", status: 200, header: jsonType, body: string(httpapi.OpenAPI())},
		{name: "a broken self-description", method: "GET", path: "/api/v1/openapi.json", status: 200, header: jsonType,
			body: `{"openapi":"3.1.0","paths":{}}`, want: "not valid"},
		{name: "outside the API", method: "GET", path: "/", status: 200, header: http.Header{"Content-Type": {"text/html"}}, body: "<html>"},
		{name: "an accepted request the document forbids", method: "POST", path: "/api/v1/conversations/" + convID + "/messages",
			reqBody: `{"content":"hi","mood":"happy"}`, status: 201, header: jsonType,
			body: fmt.Sprintf(`{"message":%s,"reply":null}`, msg), want: "accepted (201) a request"},
		{name: "a refused request the document forbids", method: "POST", path: "/api/v1/conversations/" + convID + "/messages",
			reqBody: `{"content":"hi","mood":"happy"}`, status: 400, header: problemType, body: problemJSON(400, "malformed_request")},
		{name: "a stream", method: "POST", path: "/api/v1/conversations/" + convID + "/messages", reqBody: `{"content":"hi"}`,
			status: 200, header: sse, body: "event: delta\ndata: {\"content\":\"Hel\"}\n\nevent: delta\ndata: {\"content\":\"lo\"}\n\nevent: done\ndata: " + fmt.Sprintf(`{"message":%s,"reply":%s}`, msg, msg) + "\n\n"},
		{name: "a stream that fails", method: "POST", path: "/api/v1/conversations/" + convID + "/reply",
			status: 200, header: sse, body: "event: delta\ndata: {\"content\":\"Hel\"}\n\nevent: error\ndata: " + problemJSON(502, "model_failed") + "\n\n"},
		{name: "an undocumented event", method: "POST", path: "/api/v1/conversations/" + convID + "/messages", reqBody: `{"content":"hi"}`,
			status: 200, header: sse, body: "event: progress\ndata: {}\n\n", want: `"progress"`},
		{name: "an event with bad data", method: "POST", path: "/api/v1/conversations/" + convID + "/messages", reqBody: `{"content":"hi"}`,
			status: 200, header: sse, body: "event: delta\ndata: {\"text\":\"Hel\"}\n\n", want: "event 1 (delta)"},
		{name: "a cut stream", method: "POST", path: "/api/v1/conversations/" + convID + "/messages", reqBody: `{"content":"hi"}`,
			status: 200, header: sse, body: "event: delta\ndata: {\"content\":\"Hel\"}\n", want: "ends inside an event"},
		{name: "an export", method: "GET", path: "/api/v1/conversations/export", status: 200, header: ndjson,
			body: conversationJSON(nil) + "\n" + conversationJSON(nil) + "\n"},
		{name: "an export with a bad line", method: "GET", path: "/api/v1/conversations/export", status: 200, header: ndjson,
			body: conversationJSON(nil) + "\n" + conversationJSON(func(c map[string]any) { delete(c, "messages") }) + "\n", want: "line 2"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			req := httptest.NewRequest(tc.method, tc.path, strings.NewReader(tc.reqBody))
			if tc.reqBody != "" {
				req.Header.Set("Content-Type", "application/json")
			}
			req.Header.Set("Authorization", "Bearer key")
			err := c.Check(req, []byte(tc.reqBody), tc.status, tc.header, []byte(tc.body))
			switch {
			case tc.want == "" && err != nil:
				t.Errorf("unexpected mismatch: %v", err)
			case tc.want != "" && err == nil:
				t.Errorf("mismatch not found (want one mentioning %q)", tc.want)
			case tc.want != "" && !strings.Contains(err.Error(), tc.want):
				t.Errorf("error does not mention %q: %v", tc.want, err)
			}
		})
	}
}

// fakeTB records the errors a check reports instead of failing.
type fakeTB struct {
	testing.TB
	errors []string
}

func (f *fakeTB) Errorf(format string, args ...any) {
	f.errors = append(f.errors, fmt.Sprintf(format, args...))
}

// TestDoChecksTheContract runs a real server against a document that
// lacks a field the API sends: Do must report it.
func TestDoChecksTheContract(t *testing.T) {
	s := Start(t, "")
	var doc map[string]any
	if err := json.Unmarshal(httpapi.OpenAPI(), &doc); err != nil {
		t.Fatal(err)
	}
	assistant := doc["components"].(map[string]any)["schemas"].(map[string]any)["Assistant"].(map[string]any)
	delete(assistant["properties"].(map[string]any), "public_key")
	b, _ := json.Marshal(doc)
	drifted, err := NewContract(b)
	if err != nil {
		t.Fatal(err)
	}
	old := apiContract
	apiContract = func() (*Contract, error) { return drifted, nil }
	defer func() { apiContract = old }()
	rec := &fakeTB{TB: t}
	s.T = rec
	s.Do("GET", "/api/v1/assistants/"+s.DemoAssistant, s.Key, nil).Want(200)
	s.T = t
	if len(rec.errors) != 1 || !strings.Contains(rec.errors[0], "public_key") {
		t.Errorf("Do reported %q, want the undeclared public_key", rec.errors)
	}
}

func TestNewContractRefusesAnInvalidDocument(t *testing.T) {
	for name, doc := range map[string]string{
		"not JSON":        `{"openapi":`,
		"no info":         `{"openapi":"3.1.0","paths":{}}`,
		"a bad operation": `{"openapi":"3.1.0","info":{"title":"x","version":"1"},"paths":{"/a":{"get":{"responses":{"200":{"description":"ok","content":{"application/json":{"description":"media types have none"}}}}}}}}`,
	} {
		if _, err := NewContract([]byte(doc)); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}
