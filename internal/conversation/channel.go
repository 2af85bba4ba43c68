package conversation

import (
	"context"
	"fmt"

	"github.com/parley-dev/parley/internal/assistant"
	"github.com/parley-dev/parley/internal/fault"
)

// Channel is how messages leave Parley on one type of conversation: the
// web widget, WhatsApp. Conversations of a type with no channel (the API,
// Test Chat) deliver nothing: the caller reads the answer.
type Channel interface {
	// Accept refuses, before anything is stored, an outgoing message the
	// channel cannot carry now — a free-form WhatsApp message outside the
	// 24-hour window is a fault with CodeWindowClosed.
	Accept(ctx context.Context, c *Conversation, m *Message) error
	// Deliver arranges the delivery of m, which is being stored in the
	// transaction of ctx: it enqueues a send job (so the message goes out
	// exactly when the change commits), or does nothing where the
	// message.created event is the delivery (the widget's live stream).
	Deliver(ctx context.Context, c *Conversation, m *Message) error
	// RepliesInBackground reports whether AI replies on this channel run
	// as background jobs (ReplyArgs) instead of inside the request that
	// stored the customer's message.
	RepliesInBackground() bool
}

// ReplyNotifier is a Channel that tells the customer their message is
// being answered while the model works (WhatsApp: a read receipt and a
// typing indicator). It is best effort: a failure must not stop the
// reply, so Replying returns nothing and logs what it must.
type ReplyNotifier interface {
	Replying(ctx context.Context, c *Conversation, m *Message)
}

// ReplyArgs asks for the assistant's reply to a customer message on a
// channel whose replies run in the background.
type ReplyArgs struct {
	WorkspaceID    string `json:"workspace_id"`
	ConversationID string `json:"conversation_id"`
	// MessageID is the customer message to answer; the job does nothing
	// when a later message has been answered meanwhile.
	MessageID string `json:"message_id"`
}

// JobReply is the kind of ReplyArgs jobs.
const JobReply = "conversation.reply"

// Kind implements JobArgs.
func (ReplyArgs) Kind() string { return JobReply }

// Workspace files the job under its workspace.
func (a ReplyArgs) Workspace() string { return a.WorkspaceID }

// channel returns the channel of a conversation type, or nil.
func (s *Service) channel(typ string) Channel {
	if s.Channels == nil {
		return nil
	}
	return s.Channels[typ]
}

// outgoing reports whether a message of this role leaves on the channel.
func outgoing(role string) bool { return role == RoleAssistant || role == RoleOperator }

// deliver hands the outgoing ones of msgs, stored in the transaction of
// ctx, to c's channel.
func (s *Service) deliver(ctx context.Context, c *Conversation, msgs ...*Message) error {
	ch := s.channel(c.Type)
	if ch == nil {
		return nil
	}
	for _, m := range msgs {
		if !outgoing(m.Role) {
			continue
		}
		if err := ch.Deliver(ctx, c, m); err != nil {
			return fmt.Errorf("deliver message %s on %s: %w", m.ID, c.Type, err)
		}
	}
	return nil
}

// ReplyJob answers a customer message in the background, through the same
// engine path as a reply inside a request. It is idempotent: a message
// that already has an answer (the job ran before, or an operator or a
// later reply answered) is left alone.
func (s *Service) ReplyJob(ctx context.Context, args ReplyArgs) error {
	c, err := s.Get(ctx, args.WorkspaceID, args.ConversationID)
	if fault.Is(err, fault.CodeNotFound) {
		return nil // deleted meanwhile
	} else if err != nil {
		return err
	}
	if c.Status == StatusEnded || !c.AIEnabled {
		return nil
	}
	last, err := s.lastSpoken(ctx, args.WorkspaceID, args.ConversationID)
	if err != nil {
		return err
	}
	if last == nil || last.ID != args.MessageID {
		return nil // answered, or a newer message has its own job
	}
	a, err := s.Assistants.Get(ctx, args.WorkspaceID, c.AssistantID)
	if fault.Is(err, fault.CodeNotFound) {
		return nil
	} else if err != nil {
		return err
	}
	if !a.AIEnabled {
		return nil
	}
	if err := s.acceptReply(ctx, c); fault.Is(err, fault.CodeWindowClosed) {
		return nil // the window closed while the job waited: the model is not asked for a reply that cannot go out
	} else if err != nil {
		return err
	}
	if n, ok := s.channel(c.Type).(ReplyNotifier); ok {
		n.Replying(ctx, c, last)
	}
	if _, _, err = s.reply(ctx, c, a, nil); err != nil && !retryable(err) {
		return fault.Permanent(err) // recorded on the conversation; asking again will not help
	}
	return err
}

// acceptReply asks c's channel whether it can carry an assistant reply
// now (a WhatsApp window may have closed), before the model is asked and
// paid for one.
func (s *Service) acceptReply(ctx context.Context, c *Conversation) error {
	ch := s.channel(c.Type)
	if ch == nil {
		return nil
	}
	return ch.Accept(ctx, c, &Message{Role: RoleAssistant, CreatedAt: s.now()})
}

// replyLater enqueues the background reply to m when c's channel replies
// in the background and AI is on; it reports whether it did.
func (s *Service) replyLater(ctx context.Context, c *Conversation, a *assistant.Assistant, m *Message) (bool, error) {
	ch := s.channel(c.Type)
	if ch == nil || !ch.RepliesInBackground() {
		return false, nil
	}
	if !c.AIEnabled || a == nil || !a.AIEnabled {
		return true, nil
	}
	return true, s.enqueue(ctx, ReplyArgs{WorkspaceID: c.WorkspaceID, ConversationID: c.ID, MessageID: m.ID})
}
