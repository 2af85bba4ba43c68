package conversation

import (
	"context"
	"fmt"
	"time"

	"github.com/parley-dev/parley/internal/fault"
)

// Visitor keys name who a widget conversation belongs to, so that it can be
// found again: a browser (its visitor id, kept in the browser) or a user
// the site vouched for (its user id, verified with the assistant's identity
// secret). The two never mix: an unverified user id is no key at all.
const (
	visitorPrefix = "v:"
	userPrefix    = "u:"
)

// VisitorKey is the key of a browser's visitor id.
func VisitorKey(visitorID string) string { return visitorPrefix + visitorID }

// UserKey is the key of a verified user id.
func UserKey(userID string) string { return userPrefix + userID }

// OpenFor returns the open conversation one of keys points at, trying
// them in order: one of the assistant's widget conversations that has not
// ended and has had a message within idle. It returns nil when there is
// none, so the caller starts a new one.
func (s *Service) OpenFor(ctx context.Context, workspaceID, assistantID string, keys []string, idle time.Duration) (*Conversation, error) {
	now := s.now()
	for _, key := range keys {
		id, err := s.Store.VisitorConversation(ctx, workspaceID, assistantID, key)
		if err != nil {
			return nil, fmt.Errorf("find the visitor's conversation: %w", err)
		}
		if id == "" {
			continue
		}
		c, err := s.Get(ctx, workspaceID, id)
		if fault.Is(err, fault.CodeNotFound) {
			continue // deleted
		} else if err != nil {
			return nil, err
		}
		if c.Status != StatusActive || c.AssistantID != assistantID || c.Type != TypeWidget {
			continue
		}
		if idle > 0 && now.Sub(c.UpdatedAt) > idle {
			continue
		}
		return c, nil
	}
	return nil, nil
}

// Link points keys at conversation c (a widget conversation), so that the
// visitor, or the verified user, finds it again.
func (s *Service) Link(ctx context.Context, c *Conversation, keys []string) error {
	if len(keys) == 0 {
		return nil
	}
	now := s.now()
	return s.Store.Within(ctx, func(ctx context.Context) error {
		for _, k := range keys {
			if err := s.Store.LinkVisitor(ctx, c.WorkspaceID, c.AssistantID, k, c.ID, now); err != nil {
				return fmt.Errorf("link the visitor to its conversation: %w", err)
			}
		}
		return nil
	})
}

// Message returns one message of a conversation (the live widget stream
// reads each new message once its event arrives; a send job reads the
// message it sends).
func (s *Service) Message(ctx context.Context, workspaceID, conversationID, messageID string) (*Message, error) {
	return s.Store.GetMessage(ctx, workspaceID, conversationID, messageID)
}
