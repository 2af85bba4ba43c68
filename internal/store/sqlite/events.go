package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/parley-dev/parley/internal/events"
	"github.com/parley-dev/parley/internal/store"
)

// insertEventsSQL records events in the order of a JSON array of
// [workspace, type, conversation, message or null, created_at] rows.
const insertEventsSQL = `INSERT INTO events (workspace_id, type, conversation_id, message_id, created_at)
	SELECT value ->> 0, value ->> 1, value ->> 2, value ->> 3, value ->> 4 FROM json_each(?) ORDER BY key`

// eventsOnCommit inserts the events of a group-commit batch with one
// statement, just before it commits.
var eventsOnCommit = &store.OnCommit[*sql.Tx, *events.Event]{Write: insertEvents}

// InsertEvents implements events.Store. In a shared transaction (Within)
// the events are inserted with every other caller's just before it
// commits, one statement for the batch: their ID and Pos are set then,
// before the caller's Within returns, not when InsertEvents does.
func (db *DB) InsertEvents(ctx context.Context, evs []*events.Event) error {
	if store.Defer(ctx, db, eventsOnCommit, evs...) {
		return nil
	}
	return db.Within(ctx, func(ctx context.Context) error {
		return db.InsertEvents(ctx, evs)
	})
}

// insertEvents inserts evs, in order, in tx.
func insertEvents(ctx context.Context, tx *sql.Tx, evs []*events.Event) error {
	rows := make([][5]any, len(evs))
	for i, ev := range evs {
		var msg any
		if ev.MessageID != "" {
			msg = ev.MessageID
		}
		rows[i] = [5]any{ev.WorkspaceID, ev.Type, ev.ConversationID, msg, ms(ev.CreatedAt)}
	}
	b, err := json.Marshal(rows)
	if err != nil {
		return fmt.Errorf("sqlite: encode events: %w", err)
	}
	res, err := tx.ExecContext(ctx, insertEventsSQL, string(b))
	if err != nil {
		return fmt.Errorf("sqlite: insert events: %w", err)
	}
	// One statement on the single writer numbers its rows one after
	// another (AUTOINCREMENT), the last of them last_insert_rowid.
	last, err := res.LastInsertId()
	if err != nil {
		return fmt.Errorf("sqlite: insert events: %w", err)
	}
	for i, ev := range evs {
		ev.Pos = events.Pos{Seq: last - int64(len(evs)-1-i)}
		ev.ID = ev.Pos.ID()
	}
	return nil
}

// Events implements events.Store. The single writer commits in sequence
// order, so a reader never sees an event before an earlier one.
func (db *DB) Events(ctx context.Context, q events.Query) ([]events.Event, error) {
	var b strings.Builder
	b.WriteString(`SELECT seq, workspace_id, type, conversation_id, coalesce(message_id, ''), created_at FROM events WHERE seq > ?`)
	args := []any{q.After.Seq}
	if q.WorkspaceID != "" {
		b.WriteString(` AND workspace_id = ?`)
		args = append(args, q.WorkspaceID)
	}
	if q.ConversationID != "" {
		b.WriteString(` AND conversation_id = ?`)
		args = append(args, q.ConversationID)
	}
	if len(q.Types) > 0 {
		b.WriteString(` AND type IN (?` + strings.Repeat(`, ?`, len(q.Types)-1) + `)`)
		for _, t := range q.Types {
			args = append(args, t)
		}
	}
	b.WriteString(` ORDER BY seq LIMIT ?`)
	args = append(args, q.Limit)
	rows, err := db.reader(ctx).QueryContext(ctx, b.String(), args...)
	if err != nil {
		return nil, fmt.Errorf("sqlite: events: %w", db.classify(err))
	}
	defer rows.Close()
	var out []events.Event
	for rows.Next() {
		var ev events.Event
		var created int64
		if err := rows.Scan(&ev.Pos.Seq, &ev.WorkspaceID, &ev.Type, &ev.ConversationID, &ev.MessageID, &created); err != nil {
			return nil, fmt.Errorf("sqlite: events: %w", db.classify(err))
		}
		ev.ID, ev.CreatedAt = ev.Pos.ID(), fromMS(created)
		out = append(out, ev)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite: events: %w", db.classify(err))
	}
	return out, nil
}

// LastEventPos implements events.Store.
func (db *DB) LastEventPos(ctx context.Context) (events.Pos, error) {
	var seq int64
	if err := db.reader(ctx).QueryRowContext(ctx, `SELECT coalesce(max(seq), 0) FROM events`).Scan(&seq); err != nil {
		return events.Pos{}, fmt.Errorf("sqlite: last event: %w", db.classify(err))
	}
	return events.Pos{Seq: seq}, nil
}

// PruneEvents implements events.Store.
func (db *DB) PruneEvents(ctx context.Context, cutoff time.Time) (int, error) {
	var n int64
	err := db.tx(ctx, func(tx *sql.Tx) error {
		var last sql.NullInt64
		if err := tx.QueryRowContext(ctx, `SELECT max(seq) FROM events WHERE created_at < ?`, ms(cutoff)).Scan(&last); err != nil {
			return fmt.Errorf("sqlite: prune events: %w", db.classify(err))
		}
		if !last.Valid {
			return nil
		}
		res, err := tx.ExecContext(ctx, `DELETE FROM events WHERE created_at < ?`, ms(cutoff))
		if err != nil {
			return fmt.Errorf("sqlite: prune events: %w", db.classify(err))
		}
		n, _ = res.RowsAffected()
		_, err = tx.ExecContext(ctx, `INSERT INTO event_horizon (id, seq) VALUES (1, ?)
			ON CONFLICT (id) DO UPDATE SET seq = max(seq, excluded.seq)`, last.Int64)
		if err != nil {
			return fmt.Errorf("sqlite: prune events: %w", db.classify(err))
		}
		return nil
	})
	return int(n), err
}

// EventHorizon implements events.Store.
func (db *DB) EventHorizon(ctx context.Context) (events.Pos, error) {
	var p events.Pos
	err := db.reader(ctx).QueryRowContext(ctx, `SELECT seq FROM event_horizon WHERE id = 1`).Scan(&p.Seq)
	if errors.Is(err, sql.ErrNoRows) {
		return events.Pos{}, nil
	}
	if err != nil {
		return events.Pos{}, fmt.Errorf("sqlite: event horizon: %w", db.classify(err))
	}
	return p, nil
}
