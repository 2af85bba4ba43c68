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
