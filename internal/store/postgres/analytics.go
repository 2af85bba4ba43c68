package postgres

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/parley-dev/parley/internal/conversation"
	"github.com/parley-dev/parley/internal/store"
)

// activityShards is how many rows one (workspace, day, assistant, type)
// of analytics_days is split into (migration 0022): a connection adds to
// the shard of its backend, and a read sums them.
const activityShards = 16

// addActivitySQL adds one row of an ActivityDelta to analytics_days, in
// the shard of the connection.
var addActivitySQL = func() string {
	var set, params []string
	for i, c := range store.ActivityColumns {
		set = append(set, c+" = analytics_days."+c+" + excluded."+c)
		params = append(params, "$"+strconv.Itoa(i+5))
	}
	return `INSERT INTO analytics_days (workspace_id, day, assistant_id, type, shard, ` + strings.Join(store.ActivityColumns, ", ") + `)
		VALUES ($1, $2, $3, $4, pg_backend_pid() % ` + strconv.Itoa(activityShards) + `, ` + strings.Join(params, ", ") + `)
		ON CONFLICT (workspace_id, day, assistant_id, type, shard) DO UPDATE SET ` + strings.Join(set, ", ")
}()

// queueActivity queues what the domain computed (conversation.MessageActivity,
// ConversationActivity) for the workspace's daily analytics on batch, row
// by row in a fixed order, so concurrent writers lock rows alike.
func queueActivity(batch *pgx.Batch, workspaceID string, d conversation.ActivityDelta) {
	for _, k := range d.Sorted() {
		a := d[k]
		batch.Queue(addActivitySQL, append([]any{workspaceID, k.Day, k.AssistantID, k.Type}, store.ActivityValues(&a)...)...)
	}
}

// addActivity adds d to the workspace's daily analytics, inside tx.
func addActivity(ctx context.Context, tx pgx.Tx, workspaceID string, d conversation.ActivityDelta) error {
	if len(d) == 0 {
		return nil
	}
	batch := &pgx.Batch{}
	queueActivity(batch, workspaceID, d)
	if err := tx.SendBatch(ctx, batch).Close(); err != nil {
		return fmt.Errorf("add to the daily analytics: %w", err)
	}
	return nil
}

// ActivityRows implements conversation.ActivityStore.
func (db *DB) ActivityRows(ctx context.Context, workspaceID string, f conversation.ActivityFilter) ([]conversation.ActivityRow, error) {
	var a args
	var b strings.Builder
	b.WriteString(`SELECT d.day, d.assistant_id, coalesce(min(s.name), ''), d.type, sum(d.` + strings.Join(store.ActivityColumns, ")::bigint, sum(d.") + `)::bigint
		FROM analytics_days d LEFT JOIN assistants s ON s.id = d.assistant_id AND s.workspace_id = d.workspace_id
		WHERE d.workspace_id = ` + a.add(workspaceID) + ` AND d.day BETWEEN ` + a.add(f.FromDay) + ` AND ` + a.add(f.ToDay))
	if f.AssistantID != "" {
		b.WriteString(` AND d.assistant_id = ` + a.add(f.AssistantID))
	}
	if len(f.Types) > 0 {
		b.WriteString(` AND d.type = ANY(` + a.add(f.Types) + `)`)
	}
	b.WriteString(` GROUP BY d.day, d.assistant_id, d.type`)
	rows, err := db.conn(ctx).Query(ctx, b.String(), a...)
	if err != nil {
		return nil, fmt.Errorf("read the daily analytics: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (conversation.ActivityRow, error) {
		var r conversation.ActivityRow
		err := row.Scan(append([]any{&r.Day, &r.AssistantID, &r.AssistantName, &r.Type}, store.ActivityTargets(&r.Activity)...)...)
		return r, err
	})
	if err != nil {
		return nil, fmt.Errorf("read the daily analytics: %w", err)
	}
	return out, nil
}
