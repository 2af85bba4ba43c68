package store

import "github.com/parley-dev/parley/internal/conversation"

// ActivityColumns are the counted columns of the analytics_days table,
// the same in both adapters' schemas, in the order of ActivityValues and
// ActivityTargets.
var ActivityColumns = []string{"conversations_started", "conversations_ended",
	"user_messages", "assistant_messages", "operator_messages", "system_messages",
	"input_tokens", "output_tokens", "cached_input_tokens", "reasoning_tokens", "total_tokens",
	"cost", "unpriced_messages", "latency_ms_sum", "latency_count"}

// ActivityValues returns a's counts as query arguments, in the order of
// ActivityColumns.
func ActivityValues(a *conversation.Activity) []any {
	return []any{a.ConversationsStarted, a.ConversationsEnded,
		a.UserMessages, a.AssistantMessages, a.OperatorMessages, a.SystemMessages,
		a.Usage.InputTokens, a.Usage.OutputTokens, a.Usage.CachedInputTokens, a.Usage.ReasoningTokens, a.Usage.TotalTokens,
		int64(a.Cost), a.UnpricedMessages, a.LatencyMSSum, a.LatencyCount}
}

// ActivityTargets returns scan destinations for a's counts, in the order
// of ActivityColumns.
func ActivityTargets(a *conversation.Activity) []any {
	return []any{&a.ConversationsStarted, &a.ConversationsEnded,
		&a.UserMessages, &a.AssistantMessages, &a.OperatorMessages, &a.SystemMessages,
		&a.Usage.InputTokens, &a.Usage.OutputTokens, &a.Usage.CachedInputTokens, &a.Usage.ReasoningTokens, &a.Usage.TotalTokens,
		&a.Cost, &a.UnpricedMessages, &a.LatencyMSSum, &a.LatencyCount}
}
