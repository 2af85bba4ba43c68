package conversation

import (
	"errors"

	"github.com/parley-dev/parley/internal/fault"
	"github.com/parley-dev/parley/internal/llm"
	"github.com/parley-dev/parley/internal/money"
)

// MaxMessages is the most messages one conversation holds: the low
// MessageSeqBits bits of a message's Seq number it.
const MaxMessages = 1<<MessageSeqBits - 1

// ErrTotalsOverflow reports token or money sums that would not fit in an
// int64. They are refused, never wrapped: a wrapped total is silently
// and hugely wrong.
var ErrTotalsOverflow = errors.New("conversation totals overflow")

// AddMessages appends msgs to c: it numbers them after c's messages and
// rolls them up into c — message count, usage, cost, cost completeness,
// last message, recency, and the time of the customer's latest message on
// a channel (a customer message carrying ChannelData, by its timestamp:
// CustomerMessageAt only moves forward). These are the rules every store
// persists; stores compute none of them. On an error c and msgs are
// unchanged.
func (c *Conversation) AddMessages(msgs []*Message) error {
	if len(msgs) == 0 {
		return nil
	}
	if c.MessageCount+int64(len(msgs)) > MaxMessages {
		return fault.New(fault.CodeConflict, "conversation %s is full (%d messages)", c.ID, MaxMessages)
	}
	next := *c
	usages := make([]*llm.Usage, len(msgs))
	for i, m := range msgs {
		if m.Usage != nil {
			u := *m.Usage
			if u.TotalTokens == 0 {
				sum, err := llm.Sum(llm.Usage{InputTokens: u.InputTokens}, llm.Usage{InputTokens: u.OutputTokens})
				if err != nil {
					return overflow(c, err)
				}
				u.TotalTokens = sum.InputTokens
			}
			sum, err := llm.Sum(next.Usage, u)
			if err != nil {
				return overflow(c, err)
			}
			next.Usage, usages[i] = sum, &u
		}
		if m.Cost != nil {
			sum, err := money.Add(next.TotalCost, *m.Cost)
			if err != nil || *m.Cost < 0 {
				return overflow(c, err)
			}
			next.TotalCost = sum
		}
		if m.Unpriced() {
			next.CostComplete = false
		}
		if m.CreatedAt.After(next.UpdatedAt) {
			next.UpdatedAt = m.CreatedAt
		}
		if m.Role == RoleUser && m.Channel != nil && (next.CustomerMessageAt == nil || m.CreatedAt.After(*next.CustomerMessageAt)) {
			at := m.CreatedAt
			next.CustomerMessageAt = &at
		}
	}
	for i, m := range msgs {
		m.Seq = MessageSeq(c.Seq, c.MessageCount+int64(i)+1)
		m.ConversationID = c.ID
		if usages[i] != nil {
			m.Usage = usages[i]
		}
	}
	last := msgs[len(msgs)-1]
	next.MessageCount += int64(len(msgs))
	next.LastMessage = &LastMessage{Role: last.Role, Preview: Preview(last.Content), CreatedAt: last.CreatedAt}
	*c = next
	return nil
}

func overflow(c *Conversation, err error) error {
	if err == nil {
		err = money.ErrOverflow
	}
	return &fault.Error{Code: fault.CodeConflict, Err: errors.Join(ErrTotalsOverflow, err),
		Message: "the conversation's token or cost totals would overflow; the message was not stored"}
}
