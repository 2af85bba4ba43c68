package llm

import "testing"

func TestContextWindow(t *testing.T) {
	for model, want := range map[string]int{"gpt-4o-mini": 128_000, "gpt-4.1-nano": 1_047_576, "llama3": DefaultContextWindow, "offline": 1 << 30} {
		if got := ContextWindow(model); got != want {
			t.Errorf("ContextWindow(%q) = %d, want %d", model, got, want)
		}
	}
}

func TestTrim(t *testing.T) {
	count := func(system string, msgs []Message) int {
		n := len(system)
		for _, m := range msgs {
			n += len(m.Content)
		}
		return n
	}
	msgs := []Message{{Content: "aaaa"}, {Content: "bbbb"}, {Content: "cccc"}}
	if got := Trim("ss", msgs, 10, count); len(got) != 2 || got[0].Content != "bbbb" {
		t.Errorf("Trim = %v", got)
	}
	if got := Trim("ss", msgs, 1, count); len(got) != 1 || got[0].Content != "cccc" {
		t.Errorf("over budget = %v", got)
	}
	if got := Trim("", msgs, 100, count); len(got) != 3 {
		t.Errorf("fits = %v", got)
	}
}

func TestTrimKeepsWholeTurns(t *testing.T) {
	count := func(system string, msgs []Message) int {
		n := len(system)
		for _, m := range msgs {
			n += len(m.Content)
		}
		return n
	}
	u := func(s string) Message { return Message{Role: RoleUser, Content: s} }
	a := func(s string) Message { return Message{Role: RoleAssistant, Content: s} }
	// greeting, then turns; an operator's two replies in a row belong to one turn.
	msgs := []Message{a("Hi!"), u("q1"), a("r1"), a("r1b"), u("q2"), a("r2"), u("q3")}
	cases := []struct {
		budget int
		first  string
		n      int
	}{
		{100, "Hi!", 7}, // fits: unchanged, greeting kept
		{15, "q1", 6},   // greeting dropped, starts at a user turn
		{12, "q2", 3},   // drops the whole first turn, not just "q1"
		{8, "q2", 3},    // q2 r2 q3 = 6 fits
		{5, "q3", 1},    // only the last turn fits
		{1, "q3", 1},    // the last turn stays even over budget
	}
	for _, c := range cases {
		got := Trim("", msgs, c.budget, count)
		if len(got) != c.n || got[0].Content != c.first || got[0].Role != RoleUser && c.n != 7 {
			t.Errorf("budget %d: %v", c.budget, got)
		}
	}
	// The last turn is kept whole, with the reply after its question.
	got := Trim("", []Message{u("aaaa"), a("bbbb"), u("cc"), a("dd")}, 3, count)
	if len(got) != 2 || got[0].Content != "cc" || got[1].Content != "dd" {
		t.Errorf("last turn: %v", got)
	}
}
