package widget

import (
	"context"

	"github.com/parley-dev/parley/internal/conversation"
)

// Channel is the conversation.Channel of widget conversations. The
// widget's live stream reads the message.created events, so delivering a
// message is recording it; replies run inside the visitor's request, so
// they stream to it.
type Channel struct{}

// Accept implements conversation.Channel: the widget can always carry a
// message (a visitor who is away sees it when it comes back).
func (Channel) Accept(context.Context, *conversation.Conversation, *conversation.Message) error {
	return nil
}

// Deliver implements conversation.Channel: the event is the delivery.
func (Channel) Deliver(context.Context, *conversation.Conversation, *conversation.Message) error {
	return nil
}

// RepliesInBackground implements conversation.Channel.
func (Channel) RepliesInBackground() bool { return false }
