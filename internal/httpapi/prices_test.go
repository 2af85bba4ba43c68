package httpapi_test

import (
	"testing"

	"github.com/parley-dev/parley/internal/apptest"
	"github.com/parley-dev/parley/internal/llm/llmtest"
)

// OpenAI answers a request for an alias with the dated snapshot it ran; a
// workspace row for the alias the assistant asks for must still apply.
func TestWorkspacePriceByRequestedModel(t *testing.T) {
	s, fake := startWithProvider(t)
	fake.Usage = func(llmtest.Request, string) llmtest.Usage {
		return llmtest.Usage{Prompt: 1000, Completion: 1000}
	}
	fake.Model = "gpt-4o-2024-08-06"
	s.Do("POST", "/api/v1/model-prices", s.Key, map[string]any{
		"model_pattern": "gpt-4o", "input_per_mtok": "1", "output_per_mtok": "2"}).Want(201)
	asst := s.Do("POST", "/api/v1/assistants", s.Key, map[string]any{"name": "Remote", "model": "gpt-4o"}).Want(201).Str("id")
	conv := newConversation(t, s, s.Key, map[string]any{"assistant_id": asst})
	r := s.Do("POST", "/api/v1/conversations/"+conv+"/messages", s.Key, map[string]any{"content": "hi"}).Want(201)
	// 1000*1 + 1000*2 = 3000 USD/M → $0.003 (the built-in gpt-4o price
	// would give 1000*2.5 + 1000*10 → $0.0125).
	if r.Str("reply.model") != "gpt-4o-2024-08-06" || r.Str("reply.cost") != "0.003000000" {
		t.Errorf("reply: %s", r.Body)
	}

	// Another workspace has no row of its own: the built-in price applies.
	other := s.Do("POST", "/api/v1/assistants", s.OtherKey, map[string]any{"name": "Remote", "model": "gpt-4o"}).Want(201).Str("id")
	oc := newConversation(t, s, s.OtherKey, map[string]any{"assistant_id": other})
	r = s.Do("POST", "/api/v1/conversations/"+oc+"/messages", s.OtherKey, map[string]any{"content": "hi"}).Want(201)
	if r.Str("reply.cost") != "0.012500000" {
		t.Errorf("built-in price: %s", r.Body)
	}
}

// Two rows with the same pattern and effective_from are a conflict, on
// create and on update, and the refused request changes nothing.
func TestModelPriceConflict(t *testing.T) {
	s := apptest.Start(t, testDB(t))
	body := map[string]any{"model_pattern": "gpt-4o", "input_per_mtok": "1", "output_per_mtok": "2", "effective_from": "2026-01-01T00:00:00Z"}
	first := s.Do("POST", "/api/v1/model-prices", s.Key, body).Want(201).Str("id")
	later := s.Do("POST", "/api/v1/model-prices", s.Key, map[string]any{
		"model_pattern": "gpt-4o", "input_per_mtok": "3", "output_per_mtok": "4", "effective_from": "2026-02-01T00:00:00Z"}).Want(201).Str("id")
	// The default effective_from is the same for every row too.
	s.Do("POST", "/api/v1/model-prices", s.Key, map[string]any{"model_pattern": "acme", "input_per_mtok": "1", "output_per_mtok": "1"}).Want(201)
	runScenarios(t, s, []scenario{
		{name: "same pattern and time", method: "POST", path: "/api/v1/model-prices", key: "own", body: body,
			status: 409, code: "conflict", field: "effective_from", contains: []string{`model_pattern \"gpt-4o\"`, "2026-01-01T00:00:00.000Z"}},
		{name: "same pattern, default time", method: "POST", path: "/api/v1/model-prices", key: "own",
			body: map[string]any{"model_pattern": "acme", "input_per_mtok": "2", "output_per_mtok": "2"}, status: 409, code: "conflict"},
		{name: "other workspace", method: "POST", path: "/api/v1/model-prices", key: "other", body: body, status: 201},
		{name: "update onto another row", method: "PATCH", path: "/api/v1/model-prices/" + later, key: "own",
			body: map[string]any{"effective_from": "2026-01-01T00:00:00Z", "input_per_mtok": "9"}, status: 409, code: "conflict"},
		{name: "update unchanged", method: "GET", path: "/api/v1/model-prices/" + later, key: "own", status: 200,
			contains: []string{`"effective_from":"2026-02-01T00:00:00.000Z"`, `"input_per_mtok":"3.000000000"`}},
		{name: "update itself", method: "PATCH", path: "/api/v1/model-prices/" + first, key: "own",
			body: map[string]any{"input_per_mtok": "5"}, status: 200},
	})
	list := s.Do("GET", "/api/v1/model-prices", s.Key, nil).Want(200)
	if n := len(list.Get("data").([]any)); n != 3 {
		t.Errorf("%d rows after refused requests, want 3: %s", n, list.Body)
	}
}
