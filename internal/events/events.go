// Package events names the changes Parley records: every change to a
// conversation or a message is an Event, written in the same transaction
// as the change (an outbox) and announced after it commits, so the
// dashboard, the widget, SSE clients and outgoing webhooks all hear of
// exactly the changes that happened.
package events

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Event types.
const (
	ConversationCreated = "conversation.created"
	ConversationUpdated = "conversation.updated"
	ConversationEnded   = "conversation.ended"
	ConversationDeleted = "conversation.deleted"
	MessageCreated      = "message.created"
	MessageUpdated      = "message.updated"
)

// Types lists every event type.
var Types = []string{ConversationCreated, ConversationUpdated, ConversationEnded, ConversationDeleted, MessageCreated, MessageUpdated}

// Event is one recorded change.
type Event struct {
	// ID orders events: a consumer that resumes after an id gets every
	// event committed since, once. Set by the store.
	ID string
	// Pos is the place ID names. Set by the store.
	Pos            Pos
	Type           string
	WorkspaceID    string
	ConversationID string
	MessageID      string // message events only
	CreatedAt      time.Time
}

// Pos is an event's place in the one order every reader sees: a
// sequence number the store takes as the event is written. The stores
// make sequence order commit order — SQLite's single writer commits one
// transaction at a time; PostgreSQL's event writers take one lock from
// their first event until they commit — so no event can commit after a
// reader has seen a later one.
type Pos struct {
	Seq int64
}

// Less reports whether p comes before q.
func (p Pos) Less(q Pos) bool {
	return p.Seq < q.Seq
}

// idPrefix starts every event id.
const idPrefix = "evt_"

// ID is the public id of the event at p: "evt_" and its sequence number
// as fixed-width hexadecimal, so ids sort as positions do and a resume
// point (after, Last-Event-ID) seeks straight to its place.
func (p Pos) ID() string { return fmt.Sprintf("%s%016x", idPrefix, uint64(p.Seq)) }

// ParseID reads an event id made by Pos.ID.
func ParseID(id string) (Pos, bool) {
	hex, ok := strings.CutPrefix(id, idPrefix)
	if !ok || len(hex) != 16 || strings.ToLower(hex) != hex {
		return Pos{}, false
	}
	seq, err := strconv.ParseUint(hex, 16, 63)
	if err != nil {
		return Pos{}, false
	}
	return Pos{Seq: int64(seq)}, true
}

// Query selects events, oldest first.
type Query struct {
	// WorkspaceID limits the events to one workspace; "" reads all of
	// them (the hub, which serves every workspace).
	WorkspaceID string
	// After is the position to read after (the zero Pos reads from the
	// start).
	After Pos
	// Types and ConversationID filter, when set.
	Types          []string
	ConversationID string
	// Limit is the most events to return.
	Limit int
}

// Store persists events: the outbox the stores implement.
type Store interface {
	// InsertEvents writes evs with the transaction of ctx (one of its own
	// without) and sets their ID and Pos. Until that transaction ends,
	// no other can record events (so positions commit in order). On
	// PostgreSQL it also notifies the other nodes' listeners, on commit.
	InsertEvents(ctx context.Context, evs []*Event) error
	// Events returns committed events matching q, in order of position.
	Events(ctx context.Context, q Query) ([]Event, error)
	// LastEventPos is the position of the newest event Events can return
	// now (the zero Pos when none).
	LastEventPos(ctx context.Context) (Pos, error)
	// PruneEvents deletes the events created before cutoff, records the
	// newest position it deleted as the horizon, and reports how many it
	// deleted.
	PruneEvents(ctx context.Context, cutoff time.Time) (int, error)
	// EventHorizon is the newest position pruning has deleted: a reader
	// resuming before it has missed events (the zero Pos when none).
	EventHorizon(ctx context.Context) (Pos, error)
}
