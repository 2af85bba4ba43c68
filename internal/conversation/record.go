package conversation

import (
	"context"
	"fmt"

	"github.com/parley-dev/parley/internal/events"
)

// ExtractArgs asks for the variables of an ended conversation to be
// extracted (see ExtractJob).
type ExtractArgs struct {
	WorkspaceID    string `json:"workspace_id"`
	ConversationID string `json:"conversation_id"`
}

// Kind implements JobArgs.
func (ExtractArgs) Kind() string { return JobExtract }

// Workspace files the job under its workspace.
func (a ExtractArgs) Workspace() string { return a.WorkspaceID }

// Every change the service makes goes through the helpers below: one
// transaction (Store.Within) holding the change, the jobs it causes and
// the events that announce it.

// record records events of the change in ctx (none without a recorder).
func (s *Service) record(ctx context.Context, evs ...events.Event) error {
	if s.Events == nil || len(evs) == 0 {
		return nil
	}
	if err := s.Events.Record(ctx, evs...); err != nil {
		return fmt.Errorf("record events: %w", err)
	}
	return nil
}

// event is an event of type typ about conversation c (and message msgID).
func (s *Service) event(typ string, c *Conversation, msgID string) events.Event {
	return events.Event{Type: typ, WorkspaceID: c.WorkspaceID, ConversationID: c.ID, MessageID: msgID, CreatedAt: s.now()}
}

// enqueue enqueues jobs with the change in ctx.
func (s *Service) enqueue(ctx context.Context, args ...JobArgs) error {
	if s.Queue == nil {
		return fmt.Errorf("enqueue %s: no job queue", args[0].Kind())
	}
	if err := s.Queue.Enqueue(ctx, args...); err != nil {
		return fmt.Errorf("enqueue %s: %w", args[0].Kind(), err)
	}
	return nil
}

// appendMessages stores msgs in conversation id, with their
// message.created events and the delivery of the outgoing ones on the
// conversation's channel, in one transaction.
func (s *Service) appendMessages(ctx context.Context, workspaceID, id string, msgs ...*Message) (*Conversation, error) {
	var after *Conversation
	err := s.Store.Within(ctx, func(ctx context.Context) error {
		c, err := s.Store.AppendMessages(ctx, workspaceID, id, msgs)
		if err != nil {
			return err
		}
		after = c
		evs := make([]events.Event, 0, len(msgs))
		for _, m := range msgs {
			evs = append(evs, s.event(events.MessageCreated, c, m.ID))
		}
		if err := s.deliver(ctx, c, msgs...); err != nil {
			return err
		}
		// Last: on PostgreSQL recording holds the events lock until commit.
		return s.record(ctx, evs...)
	})
	return after, err
}
