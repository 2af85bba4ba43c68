package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"strings"

	"github.com/parley-dev/parley/internal/conversation"
)

// activityCols are the counted columns of analytics_days, in the order of
// activityValues.
var activityCols = []string{"conversations_started", "conversations_ended",
	"user_messages", "assistant_messages", "operator_messages", "system_messages",
	"input_tokens", "output_tokens", "cached_input_tokens", "reasoning_tokens", "total_tokens",
	"cost", "unpriced_messages", "latency_ms_sum", "latency_count"}

func activityValues(a *conversation.Activity) []any {
	return []any{a.ConversationsStarted, a.ConversationsEnded,
		a.UserMessages, a.AssistantMessages, a.OperatorMessages, a.SystemMessages,
		a.Usage.InputTokens, a.Usage.OutputTokens, a.Usage.CachedInputTokens, a.Usage.ReasoningTokens, a.Usage.TotalTokens,
		int64(a.Cost), a.UnpricedMessages, a.LatencyMSSum, a.LatencyCount}
}

func activityTargets(a *conversation.Activity) []any {
	return []any{&a.ConversationsStarted, &a.ConversationsEnded,
		&a.UserMessages, &a.AssistantMessages, &a.OperatorMessages, &a.SystemMessages,
		&a.Usage.InputTokens, &a.Usage.OutputTokens, &a.Usage.CachedInputTokens, &a.Usage.ReasoningTokens, &a.Usage.TotalTokens,
		&a.Cost, &a.UnpricedMessages, &a.LatencyMSSum, &a.LatencyCount}
}

// addActivitySQL adds one row of an ActivityDelta to analytics_days.
var addActivitySQL = func() string {
	var set []string
	for _, c := range activityCols {
		set = append(set, c+" = "+c+" + excluded."+c)
	}
	return `INSERT INTO analytics_days (workspace_id, day, assistant_id, type, ` + strings.Join(activityCols, ", ") + `)
		VALUES (?, ?, ?, ?` + strings.Repeat(", ?", len(activityCols)) + `)
		ON CONFLICT (workspace_id, day, assistant_id, type) DO UPDATE SET ` + strings.Join(set, ", ")
}()

// addActivity adds what the domain computed (conversation.MessageActivity,
// ConversationActivity) to the workspace's daily analytics, inside tx, row
// by row in a fixed order.
func (db *DB) addActivity(ctx context.Context, tx *sql.Tx, workspaceID string, d conversation.ActivityDelta) error {
	if len(d) == 0 {
		return nil
	}
	stmt, err := db.stmt(ctx, tx, addActivitySQL)
	if err != nil {
		return err
	}
	defer stmt.Close()
	for _, k := range d.Sorted() {
		a := d[k]
		args := append([]any{workspaceID, k.Day, k.AssistantID, k.Type}, activityValues(&a)...)
		if _, err := stmt.ExecContext(ctx, args...); err != nil {
			return fmt.Errorf("add to the daily analytics: %w", err)
		}
	}
	return nil
}

// ActivityRows implements conversation.ActivityStore.
func (db *DB) ActivityRows(ctx context.Context, workspaceID string, f conversation.ActivityFilter) ([]conversation.ActivityRow, error) {
	var b strings.Builder
	b.WriteString(`SELECT d.day, d.assistant_id, coalesce(a.name, ''), d.type, d.` + strings.Join(activityCols, ", d.") + `
		FROM analytics_days d LEFT JOIN assistants a ON a.id = d.assistant_id AND a.workspace_id = d.workspace_id
		WHERE d.workspace_id = ? AND d.day BETWEEN ? AND ?`)
	args := []any{workspaceID, f.FromDay, f.ToDay}
	if f.AssistantID != "" {
		b.WriteString(` AND d.assistant_id = ?`)
		args = append(args, f.AssistantID)
	}
	if len(f.Types) > 0 {
		b.WriteString(` AND d.type IN (?` + strings.Repeat(`, ?`, len(f.Types)-1) + `)`)
		for _, t := range f.Types {
			args = append(args, t)
		}
	}
	rows, err := db.reader(ctx).QueryContext(ctx, b.String(), args...)
	if err != nil {
		return nil, fmt.Errorf("read the daily analytics: %w", err)
	}
	defer rows.Close()
	var out []conversation.ActivityRow
	for rows.Next() {
		var r conversation.ActivityRow
		dest := append([]any{&r.Day, &r.AssistantID, &r.AssistantName, &r.Type}, activityTargets(&r.Activity)...)
		if err := rows.Scan(dest...); err != nil {
			return nil, fmt.Errorf("read the daily analytics: %w", err)
		}
		out = append(out, r)
	}
	return out, rows.Err()
}
