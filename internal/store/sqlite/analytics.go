package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"strings"

	"github.com/parley-dev/parley/internal/conversation"
	"github.com/parley-dev/parley/internal/store"
)

// addActivitySQL adds one row of an ActivityDelta to analytics_days.
var addActivitySQL = func() string {
	var set []string
	for _, c := range store.ActivityColumns {
		set = append(set, c+" = "+c+" + excluded."+c)
	}
	return `INSERT INTO analytics_days (workspace_id, day, assistant_id, type, ` + strings.Join(store.ActivityColumns, ", ") + `)
		VALUES (?, ?, ?, ?` + strings.Repeat(", ?", len(store.ActivityColumns)) + `)
		ON CONFLICT (workspace_id, day, assistant_id, type) DO UPDATE SET ` + strings.Join(set, ", ")
}()

// addActivity adds what the domain computed (conversation.MessageActivity,
// ConversationActivity) to the workspace's daily analytics, inside tx, row
// by row in a fixed order.
func (db *DB) addActivity(ctx context.Context, tx *sql.Tx, workspaceID string, d conversation.ActivityDelta) error {
	if len(d) == 0 {
		return nil
	}
	for _, k := range d.Sorted() {
		a := d[k]
		args := append([]any{workspaceID, k.Day, k.AssistantID, k.Type}, store.ActivityValues(&a)...)
		if _, err := tx.ExecContext(ctx, addActivitySQL, args...); err != nil {
			return fmt.Errorf("add to the daily analytics: %w", err)
		}
	}
	return nil
}

// ActivityRows implements conversation.ActivityStore.
func (db *DB) ActivityRows(ctx context.Context, workspaceID string, f conversation.ActivityFilter) ([]conversation.ActivityRow, error) {
	var b strings.Builder
	b.WriteString(`SELECT d.day, d.assistant_id, coalesce(a.name, ''), d.type, d.` + strings.Join(store.ActivityColumns, ", d.") + `
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
		dest := append([]any{&r.Day, &r.AssistantID, &r.AssistantName, &r.Type}, store.ActivityTargets(&r.Activity)...)
		if err := rows.Scan(dest...); err != nil {
			return nil, fmt.Errorf("read the daily analytics: %w", err)
		}
		out = append(out, r)
	}
	return out, rows.Err()
}
