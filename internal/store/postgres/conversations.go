package postgres

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/parley-dev/parley/internal/conversation"
	"github.com/parley-dev/parley/internal/fault"
	"github.com/parley-dev/parley/internal/llm"
	"github.com/parley-dev/parley/internal/money"
	"github.com/parley-dev/parley/internal/page"
	"github.com/parley-dev/parley/internal/store"
)

func moneyOf(v int64) money.Money { return money.Money(v) }

const convCols = `c.seq, c.id, c.workspace_id, c.type, c.status, c.assistant_id,
	coalesce((SELECT a.name FROM assistants a WHERE a.id = c.assistant_id), ''), c.ai_enabled,
	c.external_identifier, c.customer_name, c.customer_phone, c.customer_email, c.sender_id, c.sender_phone,
	c.variables, c.message_count, c.input_tokens, c.output_tokens, c.cached_input_tokens, c.reasoning_tokens, c.total_tokens,
	c.total_cost, c.cost_complete, c.last_message_role, c.last_message_preview, c.last_message_at,
	c.created_at, c.updated_at, c.ended_at, c.customer_whatsapp_user_id, c.customer_whatsapp_username,
	c.customer_message_at, c.channel_cost`

// convFrom reads conversations alone: the assistant's name is a subquery
// of each row returned, not a join, so a list's plan is the walk of one
// index whatever the planner guesses of the keyset's row comparison (it
// guessed one row for "(message_count, seq) < (10, s)" and hashed the
// 50,000 rows that matched, 140 ms, to join them).
const convFrom = ` FROM conversations c `

func scanConversation(row pgx.Row) (*conversation.Conversation, error) {
	var c conversation.Conversation
	var ext, name, phone, email, senderID, senderPhone, lmRole, lmPreview, waUser, waName *string
	var lmAt, ended, customerAt *time.Time
	var cost int64
	var channelCost *int64
	err := row.Scan(&c.Seq, &c.ID, &c.WorkspaceID, &c.Type, &c.Status, &c.AssistantID, &c.AssistantName, &c.AIEnabled,
		&ext, &name, &phone, &email, &senderID, &senderPhone,
		&c.Variables, &c.MessageCount, &c.Usage.InputTokens, &c.Usage.OutputTokens, &c.Usage.CachedInputTokens, &c.Usage.ReasoningTokens, &c.Usage.TotalTokens,
		&cost, &c.CostComplete, &lmRole, &lmPreview, &lmAt, &c.CreatedAt, &c.UpdatedAt, &ended,
		&waUser, &waName, &customerAt, &channelCost)
	if err != nil {
		return nil, err
	}
	c.TotalCost = money.Money(cost)
	c.ExternalIdentifier = str(ext)
	c.Customer = conversation.Customer{Name: str(name), Phone: str(phone), Email: str(email),
		WhatsAppUserID: str(waUser), WhatsAppUsername: str(waName)}
	c.CustomerMessageAt = optTime(customerAt)
	if channelCost != nil {
		cc := money.Money(*channelCost)
		c.ChannelCost = &cc
	}
	c.SenderID, c.SenderPhone = str(senderID), str(senderPhone)
	if c.Variables == nil {
		c.Variables = map[string]conversation.Variable{}
	}
	if lmAt != nil {
		c.LastMessage = &conversation.LastMessage{Role: str(lmRole), Preview: str(lmPreview), CreatedAt: lmAt.UTC()}
	}
	c.CreatedAt, c.UpdatedAt, c.EndedAt = utc(c.CreatedAt), utc(c.UpdatedAt), optTime(ended)
	return &c, nil
}

type querier interface {
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
}

func getConversation(ctx context.Context, q querier, workspaceID, id string, lock bool) (*conversation.Conversation, error) {
	sql := `SELECT ` + convCols + convFrom + `WHERE c.workspace_id = $1 AND c.id = $2`
	if lock {
		sql += ` FOR UPDATE OF c`
	}
	c, err := scanConversation(q.QueryRow(ctx, sql, workspaceID, id))
	return c, notFound(err, "conversation")
}

// GetConversation implements conversation.Store.
func (db *DB) GetConversation(ctx context.Context, workspaceID, id string) (*conversation.Conversation, error) {
	return getConversation(ctx, db.conn(ctx), workspaceID, id, false)
}

func nonNilVars(v map[string]conversation.Variable) map[string]conversation.Variable {
	if v == nil {
		return map[string]conversation.Variable{}
	}
	return v
}

// CreateConversation implements conversation.Store.
func (db *DB) CreateConversation(ctx context.Context, c *conversation.Conversation, first []*conversation.Message) error {
	return db.tx(ctx, func(tx pgx.Tx) error {
		err := tx.QueryRow(ctx, `INSERT INTO conversations (id, workspace_id, type, status, assistant_id, ai_enabled,
			external_identifier, customer_name, customer_phone, customer_email, sender_id, sender_phone, variables,
			created_at, updated_at, ended_at, search_tsv, cost_complete, customer_whatsapp_user_id,
			customer_whatsapp_username, customer_message_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17::tsvector, $18, $19, $20, $21) RETURNING seq`,
			c.ID, c.WorkspaceID, c.Type, c.Status, c.AssistantID, c.AIEnabled,
			null(c.ExternalIdentifier), null(c.Customer.Name), null(c.Customer.Phone), null(c.Customer.Email),
			null(c.SenderID), null(c.SenderPhone), nonNilVars(c.Variables), ts(c.CreatedAt), ts(c.UpdatedAt), optTime(c.EndedAt),
			tsvector(conversation.CustomerSearchText(c)), c.CostComplete, null(c.Customer.WhatsAppUserID),
			null(c.Customer.WhatsAppUsername), optTime(c.CustomerMessageAt)).Scan(&c.Seq)
		if isUnique(err) {
			return fault.New(fault.CodeConflict, "a conversation with id %s already exists", c.ID)
		}
		if err != nil {
			return fmt.Errorf("insert conversation: %w", err)
		}
		if _, err := tx.Exec(ctx, `INSERT INTO conversation_sources (workspace_id, assistant_id, sender_phone)
			VALUES ($1, $2, $3) ON CONFLICT DO NOTHING`, c.WorkspaceID, c.AssistantID, c.SenderPhone); err != nil {
			return fmt.Errorf("record conversation source: %w", err)
		}
		if err := addTerms(ctx, tx, c, conversation.DistinctSearchTerms(conversation.CustomerText(c))); err != nil {
			return err
		}
		if err := addActivity(ctx, tx, c.WorkspaceID, conversation.ConversationActivity([]*conversation.Conversation{c}, nil)); err != nil {
			return err
		}
		if len(first) > 0 {
			stored, err := appendMessages(ctx, tx, c, first)
			if err != nil {
				return err
			}
			*c = *stored
		}
		return nil
	})
}

// AppendMessages implements conversation.Store. The conversation row is
// locked first, so concurrent writers on other nodes queue up instead of
// numbering messages twice.
func (db *DB) AppendMessages(ctx context.Context, workspaceID, conversationID string, msgs []*conversation.Message) (*conversation.Conversation, error) {
	var out *conversation.Conversation
	err := db.tx(ctx, func(tx pgx.Tx) error {
		c, err := getConversation(ctx, tx, workspaceID, conversationID, true)
		if err != nil {
			return err
		}
		out, err = appendMessages(ctx, tx, c, msgs)
		return err
	})
	return out, err
}

const maxMessagesPerConversation = conversation.MaxMessages

// appendMessages stores msgs after c's existing messages, writes the
// roll-up the domain computed (Conversation.AddMessages) into the
// conversation row and adds the messages to the daily analytics
// (MessageActivity), inside tx, in one round trip.
func appendMessages(ctx context.Context, tx pgx.Tx, c *conversation.Conversation, msgs []*conversation.Message) (*conversation.Conversation, error) {
	if len(msgs) == 0 {
		return c, nil
	}
	if err := c.AddMessages(msgs); err != nil {
		return nil, err
	}
	batch := &pgx.Batch{}
	for _, m := range msgs {
		var in, out, cached, reasoning, total *int64
		if u := m.Usage; u != nil {
			in, out, cached, reasoning, total = &u.InputTokens, &u.OutputTokens, &u.CachedInputTokens, &u.ReasoningTokens, &u.TotalTokens
		}
		var errCode, errMsg *string
		if m.Error != nil {
			errCode, errMsg = &m.Error.Code, &m.Error.Message
		}
		ch, err := channelColumns(m)
		if err != nil {
			return nil, err
		}
		batch.Queue(`INSERT INTO messages (seq, id, role, content, created_at, model, input_tokens, output_tokens,
			cached_input_tokens, reasoning_tokens, total_tokens, usage_estimated, cost, provider_cost, finish_reason,
			latency_ms, first_token_ms, status, error_code, error_message, template, external_id, tsv,
			pricing_category, pricing_type, channel_cost, channel_data)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, $23::tsvector,
			$24, $25, $26, $27)`,
			m.Seq, m.ID, m.Role, m.Content, ts(m.CreatedAt), null(m.Model), in, out, cached, reasoning, total, m.UsageEstimated,
			optMoney(m.Cost), optMoney(m.ProviderCost), null(m.FinishReason), m.LatencyMS, m.FirstTokenMS, null(m.Status),
			errCode, errMsg, m.Template, null(m.ExternalID), tsvector(conversation.SearchText(m.Content)),
			ch.category, ch.typ, ch.cost, ch.data)
	}
	texts := make([]string, len(msgs))
	for i, m := range msgs {
		texts[i] = m.Content
	}
	queueTerms(batch, c, conversation.DistinctSearchTerms(texts...))
	u := c.Usage
	batch.Queue(`UPDATE conversations SET message_count = $1, input_tokens = $2, output_tokens = $3,
		cached_input_tokens = $4, reasoning_tokens = $5, total_tokens = $6, total_cost = $7, cost_complete = $8,
		last_message_role = $9, last_message_preview = $10, last_message_at = $11, updated_at = $12,
		customer_message_at = $13 WHERE seq = $14`,
		c.MessageCount, u.InputTokens, u.OutputTokens, u.CachedInputTokens, u.ReasoningTokens, u.TotalTokens,
		int64(c.TotalCost), c.CostComplete, c.LastMessage.Role, c.LastMessage.Preview, ts(c.LastMessage.CreatedAt),
		ts(c.UpdatedAt), optTime(c.CustomerMessageAt), c.Seq)
	queueActivity(batch, c.WorkspaceID, conversation.MessageActivity(c, msgs))
	if err := tx.SendBatch(ctx, batch).Close(); err != nil {
		if isUnique(err) {
			return nil, fault.New(fault.CodeConflict, "a message with this id already exists")
		}
		return nil, fmt.Errorf("append messages: %w", err)
	}
	return c, nil
}

// optMoney is an amount as a nullable column value.
func optMoney(m *money.Money) *int64 {
	if m == nil {
		return nil
	}
	v := int64(*m)
	return &v
}

// UpdateConversation implements conversation.Store.
func (db *DB) UpdateConversation(ctx context.Context, workspaceID, id string, u conversation.Update) (after, before *conversation.Conversation, err error) {
	err = db.tx(ctx, func(tx pgx.Tx) error {
		c, err := getConversation(ctx, tx, workspaceID, id, true)
		if err != nil {
			return err
		}
		was := *c
		before = &was
		reindex := c.Apply(u) // the customer search document is rewritten below either way
		_, err = tx.Exec(ctx, `UPDATE conversations SET ai_enabled = $1, customer_name = $2, customer_phone = $3,
			customer_email = $4, external_identifier = $5, status = $6, ended_at = $7, variables = $8, updated_at = $9,
			search_tsv = $11::tsvector, customer_whatsapp_user_id = $12, customer_whatsapp_username = $13,
			customer_message_at = $14
			WHERE seq = $10`, c.AIEnabled, null(c.Customer.Name), null(c.Customer.Phone), null(c.Customer.Email),
			null(c.ExternalIdentifier), c.Status, optTime(c.EndedAt), nonNilVars(c.Variables), ts(c.UpdatedAt), c.Seq,
			tsvector(conversation.CustomerSearchText(c)), null(c.Customer.WhatsAppUserID), null(c.Customer.WhatsAppUsername),
			optTime(c.CustomerMessageAt))
		if err != nil {
			return fmt.Errorf("update conversation: %w", err)
		}
		if c.Status != before.Status {
			if err := moveTermsStatus(ctx, tx, c, before); err != nil {
				return err
			}
		}
		if reindex {
			if err := reindexCustomerTerms(ctx, tx, c, before); err != nil {
				return err
			}
		}
		// An end counts on the day it happened.
		if err := addActivity(ctx, tx, c.WorkspaceID,
			conversation.ConversationActivity([]*conversation.Conversation{c}, []*conversation.Conversation{before})); err != nil {
			return err
		}
		after = c
		return nil
	})
	return after, before, err
}

// DeleteConversations implements conversation.Store.
func (db *DB) DeleteConversations(ctx context.Context, workspaceID string, ids []string) ([]*conversation.Conversation, error) {
	var deleted []*conversation.Conversation
	err := db.tx(ctx, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `DELETE FROM conversations WHERE workspace_id = $1 AND id = ANY($2)
			RETURNING seq, id, assistant_id, type, status, created_at, coalesce(customer_name, ''),
				coalesce(customer_phone, ''), coalesce(customer_email, ''), coalesce(external_identifier, ''),
				coalesce(sender_phone, '')`, workspaceID, ids)
		if err != nil {
			return fmt.Errorf("delete conversations: %w", err)
		}
		deleted, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (*conversation.Conversation, error) {
			c := &conversation.Conversation{WorkspaceID: workspaceID}
			err := r.Scan(&c.Seq, &c.ID, &c.AssistantID, &c.Type, &c.Status, &c.CreatedAt,
				&c.Customer.Name, &c.Customer.Phone, &c.Customer.Email, &c.ExternalIdentifier, &c.SenderPhone)
			c.CreatedAt = utc(c.CreatedAt)
			return c, err
		})
		if err != nil {
			return err
		}
		for _, c := range deleted {
			if err := dropConversationTerms(ctx, tx, c); err != nil {
				return err
			}
			if _, err := tx.Exec(ctx, `DELETE FROM messages WHERE seq BETWEEN $1 AND $2`,
				conversation.MessageSeq(c.Seq, 0), conversation.MessageSeq(c.Seq, maxMessagesPerConversation)); err != nil {
				return fmt.Errorf("delete messages: %w", err)
			}
		}
		return nil
	})
	return deleted, err
}

// AddCounts implements conversation.Store.
func (db *DB) AddCounts(ctx context.Context, workspaceID string, delta conversation.CountDelta) error {
	if len(delta) == 0 {
		return nil
	}
	return db.tx(ctx, func(tx pgx.Tx) error {
		// In a fixed order, so that concurrent transactions lock the
		// counter rows in the same order and cannot deadlock.
		byType := delta.ByType()
		for _, typ := range slices.Sorted(maps.Keys(byType)) {
			n := byType[typ]
			if n == 0 {
				continue
			}
			if _, err := tx.Exec(ctx, `INSERT INTO conversation_counts (workspace_id, type, n) VALUES ($1, $2, $3)
				ON CONFLICT (workspace_id, type) DO UPDATE SET n = conversation_counts.n + excluded.n`, workspaceID, typ, n); err != nil {
				return fmt.Errorf("count conversations: %w", err)
			}
		}
		for _, t := range store.BucketChanges(delta) {
			q := `INSERT INTO ` + t.Table + ` (workspace_id, assistant_id, type, status, ` + t.Period + `, sender_phone, n)
				VALUES ($1, $2, $3, $4, $5, $6, $7)
				ON CONFLICT (workspace_id, assistant_id, type, status, ` + t.Period + `, sender_phone) DO UPDATE SET n = ` + t.Table + `.n + excluded.n`
			for _, b := range t.Delta.Sorted() {
				if _, err := tx.Exec(ctx, q, workspaceID, b.AssistantID, b.Type, b.Status, b.Day, b.SenderPhone, t.Delta[b]); err != nil {
					return fmt.Errorf("count conversations: %w", err)
				}
			}
		}
		return nil
	})
}

// rareLimit is how many matching messages make a search term "common".
var rareLimit = 2000

// matches finds the conversations whose messages or customer fields match
// a text query, when there are few of them; common reports that there are
// too many to list, and the query should walk conversations instead.
func (db *DB) matches(ctx context.Context, workspaceID, tsq string) (seqs []int64, common bool, err error) {
	rows, err := db.conn(ctx).Query(ctx, `SELECT seq >> 24 FROM messages WHERE tsv @@ $1::tsquery LIMIT $2`, tsq, rareLimit+1)
	if err != nil {
		return nil, false, fmt.Errorf("search: %w", err)
	}
	hits, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	if err != nil {
		return nil, false, fmt.Errorf("search: %w", err)
	}
	if len(hits) > rareLimit {
		return nil, true, nil
	}
	rows, err = db.conn(ctx).Query(ctx, `SELECT seq FROM conversations WHERE workspace_id = $1 AND search_tsv @@ $2::tsquery LIMIT $3`,
		workspaceID, tsq, rareLimit+1)
	if err != nil {
		return nil, false, fmt.Errorf("search: %w", err)
	}
	byCustomer, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	if err != nil {
		return nil, false, fmt.Errorf("search: %w", err)
	}
	if len(byCustomer) > rareLimit {
		return nil, true, nil
	}
	seen := map[int64]bool{}
	for _, s := range append(hits, byCustomer...) {
		if !seen[s] {
			seen[s] = true
			seqs = append(seqs, s)
		}
	}
	return seqs, false, nil
}

// filterSQL renders the filters as a WHERE clause on alias c, including
// the text query. A search picks its plan by how common its words are:
// rare words are looked up in the GIN indexes first and the few matching
// conversations fetched by key; common words walk conversations in list
// order and stop at a full page, checking each one's messages.
func (db *DB) filterSQL(ctx context.Context, a *args, workspaceID string, f conversation.Filter) (string, bool, error) {
	var b strings.Builder
	b.WriteString(`c.workspace_id = ` + a.add(workspaceID))
	if len(f.Types) > 0 {
		b.WriteString(` AND c.type = ANY(` + a.add(f.Types) + `)`)
	}
	for _, eq := range []struct{ col, val string }{
		{"assistant_id", f.AssistantID}, {"status", f.Status}, {"customer_phone", f.CustomerPhone},
		{"external_identifier", f.ExternalIdentifier}, {"sender_phone", f.WhatsAppSenderPhone},
	} {
		if eq.val != "" {
			b.WriteString(` AND c.` + eq.col + ` = ` + a.add(eq.val))
		}
	}
	if f.CreatedFrom != nil {
		b.WriteString(` AND c.created_at >= ` + a.add(ts(*f.CreatedFrom)))
	}
	if f.CreatedTo != nil {
		b.WriteString(` AND c.created_at < ` + a.add(ts(*f.CreatedTo)))
	}
	if f.Query != "" {
		q, ok := tsQuery(f.Query)
		if !ok {
			return "", false, nil
		}
		if term, ok := conversation.SingleTerm(f.Query); ok {
			cond, err := db.holdsTermSQL(ctx, a, workspaceID, term, f)
			if err != nil {
				return "", false, err
			}
			b.WriteString(` AND ` + cond)
			return b.String(), true, nil
		}
		seqs, common, err := db.matches(ctx, workspaceID, q)
		if err != nil {
			return "", false, err
		}
		if !common {
			b.WriteString(` AND c.seq = ANY(` + a.add(seqs) + `)`)
			return b.String(), true, nil
		}
		// Each conversation's few messages are read by key and checked
		// one by one: OFFSET 0 keeps the planner from ANDing in a scan of
		// the whole GIN index per conversation, which it picks when it
		// underestimates a phrase (a CJK word) and which cost 13 ms a
		// conversation at 100k conversations.
		p := a.add(q)
		b.WriteString(` AND (c.search_tsv @@ ` + p + `::tsquery OR EXISTS (SELECT 1 FROM (SELECT tsv FROM messages
			WHERE seq BETWEEN c.seq << 24 AND (c.seq << 24) | 16777215 OFFSET 0) m WHERE m.tsv @@ ` + p + `::tsquery))`)
	}
	return b.String(), true, nil
}

// tsQuery turns what a person typed into a tsquery in which every word
// must appear, a word of several terms (CJK bigrams) as a phrase of them
// side by side; a last word asked for as a prefix ("parc*") matches as
// one. It is used as a tsquery value (not parsed by to_tsquery), so the
// terms are exactly those conversation.SearchTerms indexed, whatever the
// database's text search parser and locale, and input never injects
// syntax.
func tsQuery(text string) (string, bool) {
	words := conversation.SearchWords(text)
	if len(words) == 0 {
		return "", false
	}
	var b strings.Builder
	for i, w := range words {
		if i > 0 {
			b.WriteString(" & ")
		}
		b.WriteByte('(')
		for j, t := range w.Terms {
			if j > 0 {
				b.WriteString(" <-> ")
			}
			b.WriteString(lexeme(t))
		}
		if w.Prefix {
			b.WriteString(":*")
		}
		b.WriteByte(')')
	}
	return b.String(), true
}

// maxPosition is the largest word position a tsvector holds; PostgreSQL
// clamps larger ones to it.
const maxPosition = 16383

// tsvector renders the terms of a conversation.SearchText document as a
// tsvector value with their positions, so the index holds exactly the
// terms Go made (phrase searches for CJK words need the positions).
func tsvector(doc string) string {
	var b strings.Builder
	pos := 0
	for t := range strings.SplitSeq(doc, " ") {
		if t == "" {
			continue
		}
		pos = min(pos+1, maxPosition)
		if b.Len() > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(lexeme(t))
		b.WriteByte(':')
		b.WriteString(strconv.Itoa(pos))
	}
	return b.String()
}

// lexeme quotes a term for tsvector and tsquery input. Terms hold only
// letters, digits and marks; quoting is belt and braces.
func lexeme(t string) string {
	if strings.ContainsAny(t, `'\`) {
		t = strings.ReplaceAll(strings.ReplaceAll(t, `\`, `\\`), `'`, `''`)
	}
	return "'" + t + "'"
}

// ListConversations implements conversation.Store.
func (db *DB) ListConversations(ctx context.Context, workspaceID string, f conversation.Filter, o conversation.Order, req page.Request) ([]*conversation.Conversation, error) {
	if req.Cursor != nil && req.Cursor.Sort != o.Key() {
		return nil, page.ErrBadCursor
	}
	if f.Query != "" && o.Sort != conversation.SortCreatedAt {
		return nil, fault.Invalid("sort", "must be created_at when q is given")
	}
	ctx, done := db.opts.Budget(ctx)
	leave, err := db.heavy.Read(ctx, f)
	if err != nil {
		return nil, done(err)
	}
	defer leave()
	out, err := db.listConversations(ctx, workspaceID, f, o, req)
	return out, done(err)
}

func (db *DB) listConversations(ctx context.Context, workspaceID string, f conversation.Filter, o conversation.Order, req page.Request) ([]*conversation.Conversation, error) {
	var a args
	where, ok, err := db.filterSQL(ctx, &a, workspaceID, f)
	if err != nil || !ok {
		return nil, err
	}
	col := o.Column()
	desc := o.Desc != req.Backward()
	cmp, dir := ">", "ASC"
	if desc {
		cmp, dir = "<", "DESC"
	}
	if req.Cursor != nil {
		var v any = req.Cursor.Value
		if col == "created_at" || col == "updated_at" {
			v = time.UnixMilli(req.Cursor.Value).UTC()
		}
		where += fmt.Sprintf(` AND (c.%s, c.seq) %s (%s, %s)`, col, cmp, a.add(v), a.add(req.Cursor.Seq))
	}
	q := `SELECT ` + convCols + convFrom + `WHERE ` + where +
		fmt.Sprintf(` ORDER BY c.%s %s, c.seq %s LIMIT %s`, col, dir, dir, a.add(req.Limit+1))
	rows, err := db.conn(ctx).Query(ctx, q, a...)
	if err != nil {
		return nil, fmt.Errorf("list conversations: %w", err)
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (*conversation.Conversation, error) { return scanConversation(r) })
}

// CountConversations implements conversation.Store.
func (db *DB) CountConversations(ctx context.Context, workspaceID string, f conversation.Filter) (conversation.Counts, error) {
	ctx, done := db.opts.Budget(ctx)
	leave, err := db.heavy.Read(ctx, f)
	if err != nil {
		return conversation.NewCounts(), done(err)
	}
	defer leave()
	counts, err := db.countConversations(ctx, workspaceID, f)
	return counts, done(err)
}

// countConversations is CountConversations within its time budget.
func (db *DB) countConversations(ctx context.Context, workspaceID string, f conversation.Filter) (conversation.Counts, error) {
	counts := conversation.NewCounts()
	var q string
	var a args
	switch {
	case f.CountsFromCounters():
		q = `SELECT type, n FROM conversation_counts WHERE workspace_id = ` + a.add(workspaceID)
	case f.BucketCountable():
		return db.countFromBuckets(ctx, workspaceID, f)
	case f.Query != "":
		if counts, ok, err := db.countTerms(ctx, workspaceID, f); ok {
			return counts, err
		}
		where, ok, err := db.filterSQL(ctx, &a, workspaceID, f)
		if err != nil || !ok {
			return counts, err
		}
		q = `SELECT c.type FROM conversations c WHERE ` + where
		if f.CountLimit > 0 {
			q += ` LIMIT ` + a.add(f.CountLimit+1)
		}
		if err := db.countBounded(ctx, &counts, f.CountLimit, q, a); err != nil {
			return counts, err
		}
		return counts.Only(f.Types), nil
	default:
		var ok bool
		var err error
		q, ok, err = db.countRowsSQL(ctx, &a, workspaceID, f)
		if err != nil || !ok {
			return counts, err
		}
	}
	if err := db.addCounts(ctx, &counts, q, a); err != nil {
		return counts, err
	}
	return counts.Only(f.Types), nil
}

// countRowsSQL counts matching rows by type; ok is false when nothing can
// match.
func (db *DB) countRowsSQL(ctx context.Context, a *args, workspaceID string, f conversation.Filter) (string, bool, error) {
	where, ok, err := db.filterSQL(ctx, a, workspaceID, f)
	if err != nil || !ok {
		return "", ok, err
	}
	return `SELECT c.type, count(*) FROM conversations c WHERE ` + where + ` GROUP BY c.type`, true, nil
}

// countFromBuckets answers a count the buckets can (see
// conversation.Filter.PlanCount and CountPlan.Spans): whole months from
// the month buckets, other whole days from the day buckets, partial days
// from the rows through the created_at indexes.
func (db *DB) countFromBuckets(ctx context.Context, workspaceID string, f conversation.Filter) (conversation.Counts, error) {
	counts := conversation.NewCounts()
	plan := f.PlanCount()
	for _, span := range plan.Spans() {
		var a args
		q := store.BucketCountSQL(workspaceID, f, span, a.add)
		if err := db.addCounts(ctx, &counts, q, a); err != nil {
			return counts, err
		}
	}
	for _, p := range plan.Partial {
		var a args
		q, ok, err := db.countRowsSQL(ctx, &a, workspaceID, p)
		if err != nil {
			return counts, err
		}
		if !ok {
			continue
		}
		if err := db.addCounts(ctx, &counts, q, a); err != nil {
			return counts, err
		}
	}
	return counts.Only(f.Types), nil
}

// countBounded counts the matches q returns (their types), up to limit
// (see conversation.Counts.AddBounded).
func (db *DB) countBounded(ctx context.Context, counts *conversation.Counts, limit int, q string, a args) error {
	rows, err := db.conn(ctx).Query(ctx, q, a...)
	if err != nil {
		return fmt.Errorf("count conversations: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var t string
		if err := rows.Scan(&t); err != nil {
			return err
		}
		if !counts.AddBounded(t, limit) {
			break
		}
	}
	return rows.Err()
}

// addCounts adds the (type, n) rows q returns to counts.
func (db *DB) addCounts(ctx context.Context, counts *conversation.Counts, q string, a args) error {
	rows, err := db.conn(ctx).Query(ctx, q, a...)
	if err != nil {
		return fmt.Errorf("count conversations: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var t string
		var n int64
		if err := rows.Scan(&t, &n); err != nil {
			return err
		}
		counts.Add(t, n)
	}
	return rows.Err()
}

const messageCols = `seq, id, role, content, created_at, model, input_tokens, output_tokens, cached_input_tokens,
	reasoning_tokens, total_tokens, usage_estimated, cost, provider_cost, finish_reason, latency_ms, first_token_ms,
	status, error_code, error_message, template, external_id, pricing_category, pricing_type, channel_cost, channel_data`

func scanMessage(row pgx.Row, conversationID string) (*conversation.Message, error) {
	var m conversation.Message
	var model, finish, status, errCode, errMsg, ext, pCat, pType, chData *string
	var in, out, cached, reasoning, total, cost, providerCost, chCost *int64
	var tmpl []byte
	if err := row.Scan(&m.Seq, &m.ID, &m.Role, &m.Content, &m.CreatedAt, &model, &in, &out, &cached, &reasoning, &total,
		&m.UsageEstimated, &cost, &providerCost, &finish, &m.LatencyMS, &m.FirstTokenMS, &status, &errCode, &errMsg, &tmpl, &ext,
		&pCat, &pType, &chCost, &chData); err != nil {
		return nil, err
	}
	if pCat != nil || pType != nil {
		m.Pricing = &conversation.Pricing{Category: str(pCat), Type: str(pType)}
	}
	if chCost != nil {
		c := money.Money(*chCost)
		m.ChannelCost = &c
	}
	if chData != nil {
		m.Channel = &conversation.ChannelData{}
		if err := json.Unmarshal([]byte(*chData), m.Channel); err != nil {
			return nil, fmt.Errorf("message %s: decode channel data: %w", m.ID, err)
		}
	}
	m.ConversationID = conversationID
	m.CreatedAt = utc(m.CreatedAt)
	m.Model, m.Status, m.ExternalID, m.FinishReason = str(model), str(status), str(ext), str(finish)
	if in != nil {
		m.Usage = &llm.Usage{InputTokens: *in, OutputTokens: *out, CachedInputTokens: *cached, TotalTokens: *total}
		if reasoning != nil {
			m.Usage.ReasoningTokens = *reasoning
		}
	}
	if cost != nil {
		c := money.Money(*cost)
		m.Cost = &c
	}
	if providerCost != nil {
		c := money.Money(*providerCost)
		m.ProviderCost = &c
	}
	if errCode != nil {
		m.Error = &conversation.MessageError{Code: *errCode, Message: str(errMsg)}
	}
	if tmpl != nil {
		m.Template = &conversation.Template{}
		if err := json.Unmarshal(tmpl, m.Template); err != nil {
			return nil, fmt.Errorf("message %s: decode template: %w", m.ID, err)
		}
	}
	return &m, nil
}

func (db *DB) conversationSeq(ctx context.Context, workspaceID, id string) (int64, error) {
	var seq int64
	err := db.conn(ctx).QueryRow(ctx, `SELECT seq FROM conversations WHERE workspace_id = $1 AND id = $2`, workspaceID, id).Scan(&seq)
	return seq, notFound(err, "conversation")
}

func (db *DB) queryMessages(ctx context.Context, conversationID, q string, a ...any) ([]*conversation.Message, error) {
	rows, err := db.conn(ctx).Query(ctx, q, a...)
	if err != nil {
		return nil, fmt.Errorf("list messages: %w", err)
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (*conversation.Message, error) { return scanMessage(r, conversationID) })
}

// ListMessages implements conversation.Store.
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
	return db.queryMessages(ctx, conversationID, `SELECT `+messageCols+` FROM messages WHERE seq BETWEEN $1 AND $2
		ORDER BY seq `+order+` LIMIT $3`, lo, hi, req.Limit+1)
}

// GetMessage implements conversation.Store: the message id's index,
// bounded to the conversation's own rows.
func (db *DB) GetMessage(ctx context.Context, workspaceID, conversationID, messageID string) (*conversation.Message, error) {
	seq, err := db.conversationSeq(ctx, workspaceID, conversationID)
	if err != nil {
		return nil, err
	}
	return getMessage(ctx, db.conn(ctx), seq, conversationID, messageID)
}

// getMessage reads one message of the conversation numbered seq on q.
func getMessage(ctx context.Context, q executor, seq int64, conversationID, messageID string) (*conversation.Message, error) {
	m, err := scanMessage(q.QueryRow(ctx, `SELECT `+messageCols+` FROM messages WHERE id = $1 AND seq BETWEEN $2 AND $3`,
		messageID, conversation.MessageSeq(seq, 1), conversation.MessageSeq(seq, maxMessagesPerConversation)), conversationID)
	return m, notFound(err, "message")
}

// RecentMessages implements conversation.Store.
func (db *DB) RecentMessages(ctx context.Context, workspaceID, conversationID string, n int) ([]*conversation.Message, error) {
	seq, err := db.conversationSeq(ctx, workspaceID, conversationID)
	if err != nil {
		return nil, err
	}
	msgs, err := db.queryMessages(ctx, conversationID, `SELECT `+messageCols+` FROM messages WHERE seq BETWEEN $1 AND $2
		ORDER BY seq DESC LIMIT $3`, conversation.MessageSeq(seq, 1), conversation.MessageSeq(seq, maxMessagesPerConversation), n)
	if err != nil {
		return nil, err
	}
	slices.Reverse(msgs)
	return msgs, nil
}
