package postgres

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/parley-dev/parley/internal/conversation"
)

// channelCols are the values of a message's channel columns.
type channelCols struct {
	category, typ, data *string
	cost                *int64
}

func channelColumns(m *conversation.Message) (channelCols, error) {
	var out channelCols
	if m.Pricing != nil {
		out.category, out.typ = &m.Pricing.Category, &m.Pricing.Type
	}
	out.cost = optMoney(m.ChannelCost)
	if m.Channel != nil {
		b, err := json.Marshal(m.Channel)
		if err != nil {
			return out, fmt.Errorf("message %s: encode channel data: %w", m.ID, err)
		}
		s := string(b)
		out.data = &s
	}
	return out, nil
}

// UpdateMessage implements conversation.Store. The conversation row is
// locked first, as appending does, so receipts and new messages of one
// conversation queue up instead of overwriting each other's totals.
func (db *DB) UpdateMessage(ctx context.Context, workspaceID, conversationID, messageID string,
	fn func(c *conversation.Conversation, m *conversation.Message) (bool, error)) (*conversation.Conversation, *conversation.Message, error) {
	var c *conversation.Conversation
	var m *conversation.Message
	err := db.tx(ctx, func(tx pgx.Tx) error {
		var err error
		if c, err = getConversation(ctx, tx, workspaceID, conversationID, true); err != nil {
			return err
		}
		if m, err = getMessage(ctx, tx, c.Seq, conversationID, messageID); err != nil {
			return err
		}
		changed, err := fn(c, m)
		if err != nil || !changed {
			return err
		}
		var errCode, errMsg *string
		if m.Error != nil {
			errCode, errMsg = &m.Error.Code, &m.Error.Message
		}
		ch, err := channelColumns(m)
		if err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE messages SET status = $1, error_code = $2, error_message = $3, external_id = $4,
			pricing_category = $5, pricing_type = $6, channel_cost = $7, channel_data = $8 WHERE seq = $9`,
			null(m.Status), errCode, errMsg, null(m.ExternalID), ch.category, ch.typ, ch.cost, ch.data, m.Seq); err != nil {
			return fmt.Errorf("update message: %w", err)
		}
		if _, err := tx.Exec(ctx, `UPDATE conversations SET total_cost = $1, channel_cost = $2 WHERE seq = $3`,
			int64(c.TotalCost), optMoney(c.ChannelCost), c.Seq); err != nil {
			return fmt.Errorf("update conversation costs: %w", err)
		}
		return nil
	})
	if err != nil {
		return nil, nil, err
	}
	return c, m, nil
}
