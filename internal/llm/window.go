package llm

import "strings"

// DefaultContextWindow is assumed for models Parley does not know: small
// enough to be safe on most local model servers.
const DefaultContextWindow = 8192

// contextWindows are the context sizes, in tokens, of common models, by
// name prefix (longest match wins).
var contextWindows = map[string]int{
	"gpt-4o":        128_000,
	"gpt-4.1":       1_047_576,
	"gpt-5":         400_000,
	"o3":            200_000,
	"o4-mini":       200_000,
	"gpt-3.5-turbo": 16_385,
	"offline":       1 << 30,
}

// ContextWindow returns the context size of a model in tokens.
func ContextWindow(model string) int {
	best, n := DefaultContextWindow, 0
	for prefix, size := range contextWindows {
		if strings.HasPrefix(model, prefix) && len(prefix) > n {
			best, n = size, len(prefix)
		}
	}
	return best
}

// Trim drops the oldest turns until the prompt fits budget tokens as
// counted by count. It keeps whole turns (a user message with the replies
// that follow it), so the model never sees an answer without its question,
// and a trimmed history starts at a user message, which models expect and
// some servers require. The system prompt is always kept (it is not part
// of msgs), and so is the last turn even if it alone is over budget (the
// provider then says so). A history that fits is returned unchanged.
func Trim(system string, msgs []Message, budget int, count func(string, []Message) int) []Message {
	if len(msgs) == 0 || count(system, msgs) <= budget {
		return msgs
	}
	var starts []int
	for i, m := range msgs {
		if i > 0 && m.Role == RoleUser {
			starts = append(starts, i)
		}
	}
	if len(starts) == 0 {
		if msgs[0].Role == RoleUser {
			return msgs // one turn: it stays whole
		}
		// No user turn to start at (a history of notes only): drop the
		// oldest messages one by one, keeping the last.
		for len(msgs) > 1 && count(system, msgs) > budget {
			msgs = msgs[1:]
		}
		return msgs
	}
	for _, s := range starts {
		if count(system, msgs[s:]) <= budget {
			return msgs[s:]
		}
	}
	return msgs[starts[len(starts)-1]:]
}
