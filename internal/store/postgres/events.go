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

// eventsLock serialises the transactions that record events, from their
// first event to their end, so they take sequence numbers in the order
// they commit: a reader that has seen an event can never later find one
// before it. The key is per schema, so installations (and tests) sharing
// a database do not wait for each other. Only the tail of a write waits
// (services record events last), and Parley's transactions are short; a
// transaction that lingers after recording an event holds up the others'
// events until it ends. Readers take no lock.
const eventsLock = `SELECT pg_advisory_xact_lock(hashtext('parley.events:' || current_schema()))`

// InsertEvents implements events.Store. Listeners are notified once the
// transaction has committed, and only if it has (see notifier).
func (db *DB) InsertEvents(ctx context.Context, evs []*events.Event) error {
	tx, ok := store.TxFrom[pgx.Tx](ctx, db)
	if !ok {
		return db.Within(ctx, func(ctx context.Context) error { return db.InsertEvents(ctx, evs) })
	}
	if _, err := tx.Exec(ctx, eventsLock); err != nil {
		return fmt.Errorf("postgres: lock events: %w", db.classify(err))
	}
	for _, ev := range evs {
		var msg *string
		if ev.MessageID != "" {
			msg = &ev.MessageID
		}
		err := tx.QueryRow(ctx, `INSERT INTO events (workspace_id, type, conversation_id, message_id, created_at)
			VALUES ($1, $2, $3, $4, $5) RETURNING seq`,
			ev.WorkspaceID, ev.Type, ev.ConversationID, msg, ev.CreatedAt).Scan(&ev.Pos.Seq)
		if err != nil {
			return fmt.Errorf("postgres: insert event: %w", db.classify(err))
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
	b.WriteString(`SELECT seq, workspace_id, type, conversation_id, coalesce(message_id, ''), created_at
		FROM events WHERE seq > $1`)
	args := []any{q.After.Seq}
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
	b.WriteString(` ORDER BY seq LIMIT $` + strconv.Itoa(len(args)))
	rows, err := db.conn(ctx).Query(ctx, b.String(), args...)
	if err != nil {
		return nil, fmt.Errorf("postgres: events: %w", db.classify(err))
	}
	defer rows.Close()
	var out []events.Event
	for rows.Next() {
		var ev events.Event
		if err := rows.Scan(&ev.Pos.Seq, &ev.WorkspaceID, &ev.Type, &ev.ConversationID, &ev.MessageID, &ev.CreatedAt); err != nil {
			return nil, fmt.Errorf("postgres: events: %w", db.classify(err))
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
	var p events.Pos
	if err := db.conn(ctx).QueryRow(ctx, `SELECT coalesce(max(seq), 0) FROM events`).Scan(&p.Seq); err != nil {
		return events.Pos{}, fmt.Errorf("postgres: last event: %w", db.classify(err))
	}
	return p, nil
}

// PruneEvents implements events.Store. Several nodes may prune at once:
// each deletes what is left and the horizon only moves forward.
func (db *DB) PruneEvents(ctx context.Context, cutoff time.Time) (int, error) {
	var n int
	err := db.tx(ctx, func(tx pgx.Tx) error {
		var last *int64
		err := tx.QueryRow(ctx, `WITH d AS (DELETE FROM events WHERE created_at < $1 RETURNING seq)
			SELECT count(*), max(seq) FROM d`, cutoff).Scan(&n, &last)
		if err != nil {
			return fmt.Errorf("postgres: prune events: %w", db.classify(err))
		}
		if last == nil {
			return nil
		}
		_, err = tx.Exec(ctx, `INSERT INTO event_horizon (id, seq) VALUES (1, $1)
			ON CONFLICT (id) DO UPDATE SET seq = greatest(event_horizon.seq, excluded.seq)`, *last)
		if err != nil {
			return fmt.Errorf("postgres: prune events: %w", db.classify(err))
		}
		return nil
	})
	return n, err
}

// EventHorizon implements events.Store.
func (db *DB) EventHorizon(ctx context.Context) (events.Pos, error) {
	var p events.Pos
	err := db.conn(ctx).QueryRow(ctx, `SELECT seq FROM event_horizon WHERE id = 1`).Scan(&p.Seq)
	if errors.Is(err, pgx.ErrNoRows) {
		return events.Pos{}, nil
	}
	if err != nil {
		return events.Pos{}, fmt.Errorf("postgres: event horizon: %w", db.classify(err))
	}
	return p, nil
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
