package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/parley-dev/parley/internal/events"
)

// insertEventSQL records one event; it runs with every change (the
// writer's statement cache keeps it prepared).
const insertEventSQL = `INSERT INTO events (workspace_id, type, conversation_id, message_id, created_at)
	VALUES (?, ?, ?, ?, ?) RETURNING seq`

// InsertEvents implements events.Store.
func (db *DB) InsertEvents(ctx context.Context, evs []*events.Event) error {
	return db.tx(ctx, func(tx *sql.Tx) error {
		for _, ev := range evs {
			var seq int64
			err := tx.QueryRowContext(ctx, insertEventSQL,
				ev.WorkspaceID, ev.Type, ev.ConversationID, sql.NullString{String: ev.MessageID, Valid: ev.MessageID != ""}, ms(ev.CreatedAt)).Scan(&seq)
			if err != nil {
				return fmt.Errorf("sqlite: insert event: %w", db.classify(err))
			}
			ev.Pos = events.Pos{Seq: seq}
			ev.ID = ev.Pos.ID()
		}
		return nil
	})
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
