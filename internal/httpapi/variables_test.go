package httpapi_test

import (
	"fmt"
	"testing"

	"github.com/parley-dev/parley/internal/apptest"
	"github.com/parley-dev/parley/internal/conversation"
)

// TestVariableLimitCountsTheMerge fills a conversation to MaxVariables and
// checks that the limit applies to the merged result: swapping one
// variable for another is allowed, adding one more is refused and changes
// nothing.
func TestVariableLimitCountsTheMerge(t *testing.T) {
	s := apptest.Start(t, testDB(t))
	vars := map[string]any{}
	for i := range conversation.MaxVariables {
		vars[fmt.Sprintf("v%d", i)] = "x"
	}
	c := s.Do("POST", "/api/v1/conversations", s.Key, map[string]any{"assistant_id": s.DemoAssistant, "type": "api", "variables": vars}).Want(201)
	path := "/api/v1/conversations/" + c.Str("id")
	swap := s.Do("PATCH", path, s.Key, map[string]any{"variables": map[string]any{"v0": nil, "fresh": "y"}}).Want(200)
	if swap.Get("variables.fresh.value") != "y" || swap.Get("variables.v0") != nil {
		t.Errorf("swap: %s", swap.Body)
	}
	s.Do("PATCH", path, s.Key, map[string]any{"variables": map[string]any{"one_more": "z"}}).Want(422)
	if got := s.Do("GET", path, s.Key, nil).Want(200).Get("variables.one_more"); got != nil {
		t.Errorf("a refused update was stored: %v", got)
	}
}
