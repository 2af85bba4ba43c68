package httpapi_test

import (
	"testing"

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
