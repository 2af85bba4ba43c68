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

// Trim drops the oldest messages until the prompt fits budget tokens as
// counted by count; the system prompt is always kept, and so is the last
// message even if it alone is over budget (the provider then says so).
func Trim(system string, msgs []Message, budget int, count func(string, []Message) int) []Message {
	for len(msgs) > 1 && count(system, msgs) > budget {
		msgs = msgs[1:]
	}
	return msgs
}
