package postgres

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/parley-dev/parley/internal/events"
	"github.com/parley-dev/parley/internal/store"
)

// EventsChannel is the NOTIFY channel that tells every node's listener
// that events have committed.
const EventsChannel = "parley_events"

// visibleSQL keeps the events that can no longer be preceded: those of
// transactions older than the oldest one still running (on the whole
// cluster: transaction ids are). A transaction still to commit has a
// younger id, so its events will sort after every event read now —
// however the writers' commits interleave, no reader can see an event
// and later find one before it. The price: a long transaction that
// writes holds back the events of younger ones, on any database of the
// cluster, until it ends (none are lost).
const visibleSQL = `tx < pg_snapshot_xmin(pg_current_snapshot())`

// posSQL selects an event's position as text (xid8 has no binary
// encoding in pgx) and its sequence number.
const posSQL = `tx::text, seq`

// scanPos reads what posSQL selects.
func scanPos(txt string, seq int64) (events.Pos, error) {
	tx, err := strconv.ParseUint(txt, 10, 64)
	if err != nil {
		return events.Pos{}, fmt.Errorf("event transaction id %q: %w", txt, err)
	}
	return events.Pos{Tx: tx, Seq: seq}, nil
}

// InsertEvents implements events.Store. Listeners are notified once the
// transaction has committed, and only if it has (see notifier). No lock:
// concurrent writers commit in any order (see visibleSQL).
func (db *DB) InsertEvents(ctx context.Context, evs []*events.Event) error {
	tx, ok := store.TxFrom[pgx.Tx](ctx, db)
	if !ok {
		return db.Within(ctx, func(ctx context.Context) error { return db.InsertEvents(ctx, evs) })
	}
	for _, ev := range evs {
		var msg *string
		if ev.MessageID != "" {
			msg = &ev.MessageID
		}
		var txt string
		var seq int64
		err := tx.QueryRow(ctx, `INSERT INTO events (workspace_id, type, conversation_id, message_id, created_at)
			VALUES ($1, $2, $3, $4, $5) RETURNING `+posSQL,
			ev.WorkspaceID, ev.Type, ev.ConversationID, msg, ev.CreatedAt).Scan(&txt, &seq)
		if err != nil {
			return fmt.Errorf("postgres: insert event: %w", db.classify(err))
		}
		if ev.Pos, err = scanPos(txt, seq); err != nil {
			return fmt.Errorf("postgres: insert event: %w", err)
		}
		ev.ID = ev.Pos.ID()
	}
	db.notify.after(ctx, db, EventsChannel, func(ctx context.Context) error {
		_, err := db.pool.Exec(ctx, `SELECT pg_notify($1, '')`, EventsChannel)
		return err
	})
	return nil
}

// Events implements events.Store.
func (db *DB) Events(ctx context.Context, q events.Query) ([]events.Event, error) {
	var b strings.Builder
	b.WriteString(`SELECT ` + posSQL + `, workspace_id, type, conversation_id, coalesce(message_id, ''), created_at
		FROM events WHERE (tx, seq) > ($1::text::xid8, $2) AND ` + visibleSQL)
	args := []any{strconv.FormatUint(q.After.Tx, 10), q.After.Seq}
	add := func(cond string, v any) {
		args = append(args, v)
		b.WriteString(" AND " + strings.ReplaceAll(cond, "$?", "$"+strconv.Itoa(len(args))))
	}
	if q.WorkspaceID != "" {
		add(`workspace_id = $?`, q.WorkspaceID)
	}
	if q.ConversationID != "" {
		add(`conversation_id = $?`, q.ConversationID)
	}
	if len(q.Types) > 0 {
		add(`type = ANY($?)`, q.Types)
	}
	args = append(args, q.Limit)
	b.WriteString(` ORDER BY tx, seq LIMIT $` + strconv.Itoa(len(args)))
	rows, err := db.conn(ctx).Query(ctx, b.String(), args...)
	if err != nil {
		return nil, fmt.Errorf("postgres: events: %w", db.classify(err))
	}
	defer rows.Close()
	var out []events.Event
	for rows.Next() {
		var ev events.Event
		var txt string
		var seq int64
		if err := rows.Scan(&txt, &seq, &ev.WorkspaceID, &ev.Type, &ev.ConversationID, &ev.MessageID, &ev.CreatedAt); err != nil {
			return nil, fmt.Errorf("postgres: events: %w", db.classify(err))
		}
		if ev.Pos, err = scanPos(txt, seq); err != nil {
			return nil, fmt.Errorf("postgres: events: %w", err)
		}
		ev.ID, ev.CreatedAt = ev.Pos.ID(), ev.CreatedAt.UTC()
		out = append(out, ev)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("postgres: events: %w", db.classify(err))
	}
	return out, nil
}

// LastEventPos implements events.Store.
func (db *DB) LastEventPos(ctx context.Context) (events.Pos, error) {
	var txt string
	var seq int64
	err := db.conn(ctx).QueryRow(ctx, `SELECT `+posSQL+` FROM events WHERE `+visibleSQL+` ORDER BY tx DESC, seq DESC LIMIT 1`).Scan(&txt, &seq)
	if errors.Is(err, pgx.ErrNoRows) {
		return events.Pos{}, nil
	} else if err != nil {
		return events.Pos{}, fmt.Errorf("postgres: last event: %w", db.classify(err))
	}
	return scanPos(txt, seq)
}

// PruneEvents implements events.Store. Several nodes may prune at once:
// each deletes what is left and the horizon only moves forward.
func (db *DB) PruneEvents(ctx context.Context, cutoff time.Time) (int, error) {
	var n int
	err := db.tx(ctx, func(tx pgx.Tx) error {
		var lastTx *string
		var lastSeq *int64
		err := tx.QueryRow(ctx, `WITH d AS (DELETE FROM events WHERE created_at < $1 RETURNING tx, seq),
			n AS (SELECT count(*) AS n FROM d)
			SELECT n.n, last.tx::text, last.seq FROM n LEFT JOIN (SELECT tx, seq FROM d ORDER BY tx DESC, seq DESC LIMIT 1) last ON true`,
			cutoff).Scan(&n, &lastTx, &lastSeq)
		if err != nil {
			return fmt.Errorf("postgres: prune events: %w", db.classify(err))
		}
		if lastTx == nil {
			return nil
		}
		_, err = tx.Exec(ctx, `INSERT INTO event_horizon (id, tx, seq) VALUES (1, $1::text::xid8, $2)
			ON CONFLICT (id) DO UPDATE SET tx = excluded.tx, seq = excluded.seq
			WHERE (event_horizon.tx, event_horizon.seq) < (excluded.tx, excluded.seq)`, *lastTx, *lastSeq)
		if err != nil {
			return fmt.Errorf("postgres: prune events: %w", db.classify(err))
		}
		return nil
	})
	return n, err
}

// EventHorizon implements events.Store.
func (db *DB) EventHorizon(ctx context.Context) (events.Pos, error) {
	var txt string
	var seq int64
	err := db.conn(ctx).QueryRow(ctx, `SELECT `+posSQL+` FROM event_horizon WHERE id = 1`).Scan(&txt, &seq)
	if errors.Is(err, pgx.ErrNoRows) {
		return events.Pos{}, nil
	}
	if err != nil {
		return events.Pos{}, fmt.Errorf("postgres: event horizon: %w", db.classify(err))
	}
	return scanPos(txt, seq)
}

// ListenEvents holds one dedicated connection that LISTENs for committed
// events from every node and calls wake for each notification, until ctx
// ends. A lost connection is opened again, with a growing pause; wake is
// also called after each (re)connection, for what was missed meanwhile.
func (db *DB) ListenEvents(ctx context.Context, wake func(), log *slog.Logger) {
	pause := 100 * time.Millisecond
	for ctx.Err() == nil {
		began := time.Now()
		err := db.listen(ctx, wake)
		if ctx.Err() != nil {
			return
		}
		if time.Since(began) > time.Minute {
			pause = 100 * time.Millisecond // it had been working: retry soon
		}
		log.Warn("events: listener lost its connection; reconnecting", "err", err, "in", pause)
		select {
		case <-ctx.Done():
			return
		case <-time.After(pause):
		}
		pause = min(pause*2, 30*time.Second)
	}
}

func (db *DB) listen(ctx context.Context, wake func()) error {
	conn, err := pgx.ConnectConfig(ctx, db.pool.Config().ConnConfig)
	if err != nil {
		return fmt.Errorf("connect: %w", err)
	}
	defer func() { _ = conn.Close(context.WithoutCancel(ctx)) }()
	if _, err := conn.Exec(ctx, `LISTEN `+EventsChannel); err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	wake()
	for {
		if _, err := conn.WaitForNotification(ctx); err != nil {
			return fmt.Errorf("wait: %w", err)
		}
		wake()
	}
}
