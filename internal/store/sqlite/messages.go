package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"slices"

	"github.com/parley-dev/parley/internal/conversation"
	"github.com/parley-dev/parley/internal/llm"
	"github.com/parley-dev/parley/internal/money"
	"github.com/parley-dev/parley/internal/page"
)

const messageCols = `seq, id, role, content, created_at, model, input_tokens, output_tokens, cached_input_tokens,
	reasoning_tokens, total_tokens, usage_estimated, cost, provider_cost, finish_reason, latency_ms, first_token_ms,
	status, error_code, error_message, template, external_id, pricing_category, pricing_type, channel_cost, channel_data`

func scanMessage(row interface{ Scan(...any) error }, conversationID string) (*conversation.Message, error) {
	var m conversation.Message
	var created int64
	var model, finish, status, errCode, errMsg, tmpl, ext, pCat, pType, chData sql.NullString
	var in, out, cached, reasoning, total, cost, providerCost, latency, first, chCost sql.NullInt64
	if err := row.Scan(&m.Seq, &m.ID, &m.Role, &m.Content, &created, &model, &in, &out, &cached, &reasoning, &total,
		&m.UsageEstimated, &cost, &providerCost, &finish, &latency, &first, &status, &errCode, &errMsg, &tmpl, &ext,
		&pCat, &pType, &chCost, &chData); err != nil {
		return nil, err
	}
	if pCat.Valid || pType.Valid {
		m.Pricing = &conversation.Pricing{Category: pCat.String, Type: pType.String}
	}
	if chCost.Valid {
		c := money.Money(chCost.Int64)
		m.ChannelCost = &c
	}
	if chData.Valid {
		m.Channel = &conversation.ChannelData{}
		if err := json.Unmarshal([]byte(chData.String), m.Channel); err != nil {
			return nil, fmt.Errorf("message %s: decode channel data: %w", m.ID, err)
		}
	}
	m.ConversationID = conversationID
	m.CreatedAt = fromMS(created)
	m.Model, m.Status, m.ExternalID, m.FinishReason = model.String, status.String, ext.String, finish.String
	if in.Valid {
		m.Usage = &llm.Usage{InputTokens: in.Int64, OutputTokens: out.Int64, CachedInputTokens: cached.Int64,
			ReasoningTokens: reasoning.Int64, TotalTokens: total.Int64}
	}
	if cost.Valid {
		c := money.Money(cost.Int64)
		m.Cost = &c
	}
	if providerCost.Valid {
		c := money.Money(providerCost.Int64)
		m.ProviderCost = &c
	}
	if latency.Valid {
		m.LatencyMS = &latency.Int64
	}
	if first.Valid {
		m.FirstTokenMS = &first.Int64
	}
	if errCode.Valid {
		m.Error = &conversation.MessageError{Code: errCode.String, Message: errMsg.String}
	}
	if tmpl.Valid {
		m.Template = &conversation.Template{}
		if err := json.Unmarshal([]byte(tmpl.String), m.Template); err != nil {
			return nil, fmt.Errorf("message %s: decode template: %w", m.ID, err)
		}
	}
	return &m, nil
}

// conversationSeq finds a workspace's conversation's row number.
func (db *DB) conversationSeq(ctx context.Context, workspaceID, id string) (int64, error) {
	var seq int64
	err := db.reader(ctx).QueryRowContext(ctx, `SELECT seq FROM conversations WHERE workspace_id = ? AND id = ?`, workspaceID, id).Scan(&seq)
	return seq, db.notFound(err, "conversation")
}

func (db *DB) queryMessages(ctx context.Context, conversationID, q string, args ...any) ([]*conversation.Message, error) {
	rows, err := db.reader(ctx).QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("list messages: %w", err)
	}
	defer rows.Close()
	var out []*conversation.Message
	for rows.Next() {
		m, err := scanMessage(rows, conversationID)
		if err != nil {
			return nil, err
		}
		out = append(out, m)
	}
	return out, rows.Err()
}

// ListMessages implements conversation.Store: a range scan of the primary
// key, oldest first.
func (db *DB) ListMessages(ctx context.Context, workspaceID, conversationID string, req page.Request) ([]*conversation.Message, error) {
	seq, err := db.conversationSeq(ctx, workspaceID, conversationID)
	if err != nil {
		return nil, err
	}
	// The cursor only narrows the conversation's own range: whatever it
	// says, no row outside this conversation can be read.
	lo, hi := conversation.MessageSeq(seq, 1), conversation.MessageSeq(seq, maxMessagesPerConversation)
	order := "ASC"
	switch {
	case req.Backward():
		hi, order = min(hi, req.Cursor.Seq-1), "DESC"
	case req.Cursor != nil:
		lo = max(lo, req.Cursor.Seq+1)
	}
	return db.queryMessages(ctx, conversationID, `SELECT `+messageCols+` FROM messages WHERE seq BETWEEN ? AND ?
		ORDER BY seq `+order+` LIMIT ?`, lo, hi, req.Limit+1)
}

// RecentMessages implements conversation.Store.
func (db *DB) RecentMessages(ctx context.Context, workspaceID, conversationID string, n int) ([]*conversation.Message, error) {
	seq, err := db.conversationSeq(ctx, workspaceID, conversationID)
	if err != nil {
		return nil, err
	}
	msgs, err := db.queryMessages(ctx, conversationID, `SELECT `+messageCols+` FROM messages WHERE seq BETWEEN ? AND ?
		ORDER BY seq DESC LIMIT ?`, conversation.MessageSeq(seq, 1), conversation.MessageSeq(seq, maxMessagesPerConversation), n)
	if err != nil {
		return nil, err
	}
	slices.Reverse(msgs)
	return msgs, nil
}

// GetMessage implements conversation.Store: the message id's index,
// bounded to the conversation's own rows.
func (db *DB) GetMessage(ctx context.Context, workspaceID, conversationID, messageID string) (*conversation.Message, error) {
	seq, err := db.conversationSeq(ctx, workspaceID, conversationID)
	if err != nil {
		return nil, err
	}
	return db.getMessage(ctx, db.reader(ctx), seq, conversationID, messageID)
}

// getMessage reads one message of the conversation numbered seq on q.
func (db *DB) getMessage(ctx context.Context, q querier, seq int64, conversationID, messageID string) (*conversation.Message, error) {
	m, err := scanMessage(q.QueryRowContext(ctx, `SELECT `+messageCols+` FROM messages WHERE id = ? AND seq BETWEEN ? AND ?`,
		messageID, conversation.MessageSeq(seq, 1), conversation.MessageSeq(seq, maxMessagesPerConversation)), conversationID)
	return m, db.notFound(err, "message")
}

// channelColumns returns the values of a message's channel columns:
// pricing category and type, channel cost, channel data (JSON).
func channelColumns(m *conversation.Message) ([4]any, error) {
	var out [4]any
	if m.Pricing != nil {
		out[0], out[1] = m.Pricing.Category, m.Pricing.Type
	}
	if m.ChannelCost != nil {
		out[2] = int64(*m.ChannelCost)
	}
	if m.Channel != nil {
		b, err := json.Marshal(m.Channel)
		if err != nil {
			return out, fmt.Errorf("message %s: encode channel data: %w", m.ID, err)
		}
		out[3] = string(b)
	}
	return out, nil
}

// UpdateMessage implements conversation.Store.
func (db *DB) UpdateMessage(ctx context.Context, workspaceID, conversationID, messageID string,
	fn func(c *conversation.Conversation, m *conversation.Message) (bool, error)) (*conversation.Conversation, *conversation.Message, error) {
	var c *conversation.Conversation
	var m *conversation.Message
	err := db.tx(ctx, func(tx *sql.Tx) error {
		var err error
		if c, err = db.getConversation(ctx, tx, workspaceID, conversationID); err != nil {
			return err
		}
		if m, err = db.getMessage(ctx, tx, c.Seq, conversationID, messageID); err != nil {
			return err
		}
		changed, err := fn(c, m)
		if err != nil || !changed {
			return err
		}
		var errCode, errMsg any
		if m.Error != nil {
			errCode, errMsg = m.Error.Code, m.Error.Message
		}
		ch, err := channelColumns(m)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE messages SET status = ?, error_code = ?, error_message = ?, external_id = ?,
			pricing_category = ?, pricing_type = ?, channel_cost = ?, channel_data = ? WHERE seq = ?`,
			null(m.Status), errCode, errMsg, null(m.ExternalID), ch[0], ch[1], ch[2], ch[3], m.Seq); err != nil {
			return fmt.Errorf("update message: %w", err)
		}
		var channelCost any
		if c.ChannelCost != nil {
			channelCost = int64(*c.ChannelCost)
		}
		if _, err := tx.ExecContext(ctx, `UPDATE conversations SET total_cost = ?, channel_cost = ? WHERE seq = ?`,
			c.TotalCost, channelCost, c.Seq); err != nil {
			return fmt.Errorf("update conversation costs: %w", err)
		}
		return nil
	})
	if err != nil {
		return nil, nil, err
	}
	return c, m, nil
}
