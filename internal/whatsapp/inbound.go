package whatsapp

import (
	"strings"
	"time"

	"github.com/parley-dev/parley/internal/conversation"
)

// Change is one change of a webhook delivery (entry[].changes[].value),
// parsed into the channel's terms by the cloudapi adapter.
type Change struct {
	WABAID        string
	Field         string // "messages", "message_template_status_update", …
	PhoneNumberID string
	DisplayPhone  string
	Contacts      []Contact
	Messages      []Inbound
	Statuses      []Status
	Template      *TemplateUpdate
	Errors        []APIError
	// Raw is the change as received, kept when no sender claims it.
	Raw []byte
	// Unreadable names the parts of the change that could not be read
	// (left out of it); the change is then kept for inspection, and the
	// rest of it stored.
	Unreadable string
}

// Unread notes a part of the change that could not be read (the first
// few: the change itself is kept whole).
func (ch *Change) Unread(what string) {
	if strings.HasSuffix(ch.Unreadable, "…") {
		return
	}
	if len(ch.Unreadable) > 900 {
		what = "…"
	}
	if ch.Unreadable != "" {
		ch.Unreadable += "; "
	}
	ch.Unreadable += what
}

// Contact is a customer as a webhook names them. Since 2026 Phone may be
// empty for users with a username; UserID (the BSUID) is always there.
type Contact struct {
	Phone    string // E.164 with +
	UserID   string
	Username string
	Name     string
}

// Inbound message kinds beyond Meta's own types.
const (
	KindSystem   = "system"
	KindReaction = "reaction"
)

// Inbound is a customer's message.
type Inbound struct {
	ID         string // wamid
	From       string // E.164 phone with +, when shared
	FromUserID string
	Timestamp  time.Time
	Type       string // Meta's type: text, image, …, or "unknown"
	// Content is the readable text the transcript shows: the text, or a
	// placeholder with the caption for media, a location, …
	Content string
	Media   *conversation.Media
	// ReactionTo and Emoji are set on reactions (empty emoji: removed).
	ReactionTo, Emoji string
	// Context is the wamid of the message this one replies to.
	Context string
	System  *SystemChange
	Errors  []APIError
	// Unread marks a type Parley does not read (an order, a welcome
	// request, a new interactive kind): Content is only a placeholder.
	Unread bool
}

// Conversational reports whether the assistant should answer the
// message: a customer message it can read. Reactions and system notices
// are not; neither are messages Meta could not pass on (type
// "unsupported", "unknown" before v24, or any message carrying errors,
// such as a view-once photo or a poll), nor messages of a type Parley
// does not read: the assistant would only see the placeholder and answer
// beside the point. Those are stored, logged and
// shown to operators, who can answer them.
func (m *Inbound) Conversational() bool {
	switch {
	case m.Type == KindReaction, m.Type == KindSystem, m.System != nil:
		return false
	case m.Type == "unsupported", m.Type == "unknown", len(m.Errors) > 0, m.Unread:
		return false
	}
	return true
}

// SystemChange is a user_changed_number / user_changed_user_id notice.
type SystemChange struct {
	Type      string
	NewPhone  string
	NewUserID string
	// PreviousUserID is the user id the customer had (Meta sends it with
	// user_changed_user_id, whose webhook may carry no other identifier).
	PreviousUserID string
	Body           string
}

// Status is a receipt of an outbound message.
type Status struct {
	ID              string // wamid
	Status          string // sent, delivered, read, failed
	Timestamp       time.Time
	RecipientPhone  string
	RecipientUserID string
	Pricing         *conversation.Pricing
	Errors          []APIError
}

// TemplateUpdate is a message_template_status_update.
type TemplateUpdate struct {
	Event      string // APPROVED, REJECTED, PAUSED, DISABLED, …
	TemplateID string
	Name       string
	Language   string
	Reason     string
}

// APIError is an error Meta reports in a webhook.
type APIError struct {
	Code    int
	Title   string
	Message string
	Details string
}
