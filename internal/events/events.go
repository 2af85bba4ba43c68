// Package events names the changes Parley records: every change to a
// conversation or a message is an Event, written in the same transaction
// as the change (an outbox) and announced after it commits, so the
// dashboard, the widget, SSE clients and outgoing webhooks all hear of
// exactly the changes that happened.
package events

import "time"

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
	ID             string
	Type           string
	WorkspaceID    string
	ConversationID string
	MessageID      string // message events only
	CreatedAt      time.Time
}
