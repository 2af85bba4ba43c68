package conversation

import (
	"context"
	"fmt"
	"strings"

	"github.com/parley-dev/parley/internal/assistant"
	"github.com/parley-dev/parley/internal/events"
	"github.com/parley-dev/parley/internal/fault"
	"github.com/parley-dev/parley/internal/ids"
)

// The calls below are for channels that write many changes in one
// transaction (a WhatsApp webhook carries messages of many customers).
// Each returns the events of its change instead of recording them: the
// caller records them all with RecordEvents, last in its transaction
// (on PostgreSQL recording takes the events lock, and a lock waited for
// after it could deadlock). Each must run inside Store.Within.

// OpenThread creates a conversation for a channel thread, without a
// greeting (the customer spoke first, or a template opens it).
func (s *Service) OpenThread(ctx context.Context, workspaceID string, in CreateInput) (*Conversation, []events.Event, error) {
	a, err := s.channelAssistant(ctx, workspaceID, in.AssistantID)
	if err != nil {
		return nil, nil, fmt.Errorf("open thread: assistant: %w", err)
	}
	var v fault.Validation
	var cust Customer
	in.Customer.apply(&cust, &v)
	if err := v.Err(); err != nil {
		return nil, nil, err
	}
	now := s.now()
	c := &Conversation{
		ID: ids.NewAt(ids.Conversation, now), WorkspaceID: workspaceID, Type: in.Type,
		Status: StatusActive, AssistantID: a.ID, AssistantName: a.Name, AIEnabled: a.AIEnabled,
		Customer: cust, Variables: map[string]Variable{}, SenderID: in.SenderID, SenderPhone: in.SenderPhone,
		CostComplete: true, CreatedAt: now, UpdatedAt: now,
	}
	if err := s.Store.CreateConversation(ctx, c, nil); err != nil {
		return nil, nil, err
	}
	if err := s.Store.AddCounts(ctx, workspaceID, CountChange([]*Conversation{c}, nil)); err != nil {
		return nil, nil, err
	}
	return c, []events.Event{s.event(events.ConversationCreated, c, "")}, nil
}

// AppendChannel appends messages that arrived on, or leave on, c's
// channel. Outgoing ones are handed to the channel (Deliver); when
// replyTo is one of msgs, the assistant's background reply to it is
// enqueued (AI on, channel replying in the background).
func (s *Service) AppendChannel(ctx context.Context, c *Conversation, msgs []*Message, replyTo *Message) (*Conversation, []events.Event, error) {
	for _, m := range msgs {
		m.Content = StorableText(m.Content)
		if strings.TrimSpace(m.Content) == "" {
			m.Content = "[empty message]"
		}
	}
	s.markPending(c, msgs...)
	after, err := s.Store.AppendMessages(ctx, c.WorkspaceID, c.ID, msgs)
	if err != nil {
		return nil, nil, err
	}
	if err := s.deliver(ctx, after, msgs...); err != nil {
		return nil, nil, err
	}
	if replyTo != nil && after.AIEnabled {
		a, err := s.channelAssistant(ctx, c.WorkspaceID, after.AssistantID)
		switch {
		case fault.Is(err, fault.CodeNotFound):
		case err != nil:
			return nil, nil, err
		default:
			if _, err := s.replyLater(ctx, after, a, replyTo); err != nil {
				return nil, nil, err
			}
		}
	}
	evs := make([]events.Event, 0, len(msgs))
	for _, m := range msgs {
		evs = append(evs, s.event(events.MessageCreated, after, m.ID))
	}
	return after, evs, nil
}

// UpdateChannel applies u to a conversation (a channel learning the
// customer's name or identifiers, or their latest message time).
func (s *Service) UpdateChannel(ctx context.Context, workspaceID, id string, u Update) (*Conversation, []events.Event, error) {
	if u.UpdatedAt.IsZero() {
		u.UpdatedAt = s.now()
	}
	c, _, err := s.Store.UpdateConversation(ctx, workspaceID, id, u)
	if err != nil {
		return nil, nil, err
	}
	return c, []events.Event{s.event(events.ConversationUpdated, c, "")}, nil
}

// UpdateMessage changes one message as fn decides (see
// Store.UpdateMessage); a change is announced as message.updated.
func (s *Service) UpdateMessage(ctx context.Context, workspaceID, conversationID, messageID string,
	fn func(c *Conversation, m *Message) (bool, error)) (*Conversation, *Message, []events.Event, error) {
	changed := false
	c, m, err := s.Store.UpdateMessage(ctx, workspaceID, conversationID, messageID, func(c *Conversation, m *Message) (bool, error) {
		ok, err := fn(c, m)
		changed = ok
		return ok, err
	})
	if err != nil || !changed {
		return c, m, nil, err
	}
	return c, m, []events.Event{s.event(events.MessageUpdated, c, m.ID)}, nil
}

// RecordEvents records events, last in the caller's transaction.
func (s *Service) RecordEvents(ctx context.Context, evs ...events.Event) error {
	return s.record(ctx, evs...)
}

// markPending gives the outgoing ones of msgs their first delivery
// status, pending, when c's channel carries them out.
func (s *Service) markPending(c *Conversation, msgs ...*Message) {
	if s.channel(c.Type) == nil {
		return
	}
	for _, m := range msgs {
		if outgoing(m.Role) && m.Status == "" {
			m.Status = MessagePending
		}
	}
}

type assistantKey struct{}

// WithAssistant returns ctx carrying a, which the caller has just read:
// the channel calls made with it (OpenThread, AppendChannel) use it
// instead of reading the assistant again for every message of a
// delivery, inside the write transaction.
func WithAssistant(ctx context.Context, a *assistant.Assistant) context.Context {
	return context.WithValue(ctx, assistantKey{}, a)
}

// channelAssistant is the assistant ctx carries (WithAssistant), when it
// is this one, or else the stored one.
func (s *Service) channelAssistant(ctx context.Context, workspaceID, id string) (*assistant.Assistant, error) {
	if a, ok := ctx.Value(assistantKey{}).(*assistant.Assistant); ok && a != nil && a.WorkspaceID == workspaceID && a.ID == id {
		return a, nil
	}
	return s.Assistants.Get(ctx, workspaceID, id)
}
