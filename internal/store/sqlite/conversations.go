package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/parley-dev/parley/internal/conversation"
	"github.com/parley-dev/parley/internal/fault"
	"github.com/parley-dev/parley/internal/money"
	"github.com/parley-dev/parley/internal/page"
	"github.com/parley-dev/parley/internal/store"
)

// convCols selects a conversation with its assistant's name; c is the
// conversations alias.
const convCols = `c.seq, c.id, c.workspace_id, c.type, c.status, c.assistant_id, coalesce(a.name, ''), c.ai_enabled,
	c.external_identifier, c.customer_name, c.customer_phone, c.customer_email, c.sender_id, c.sender_phone,
	c.variables, c.message_count, c.input_tokens, c.output_tokens, c.cached_input_tokens, c.reasoning_tokens, c.total_tokens,
	c.total_cost, c.cost_complete, c.last_message_role, c.last_message_preview, c.last_message_at,
	c.created_at, c.updated_at, c.ended_at, c.customer_whatsapp_user_id, c.customer_whatsapp_username,
	c.customer_message_at, c.channel_cost`

const convFrom = ` FROM conversations c LEFT JOIN assistants a ON a.id = c.assistant_id `

func scanConversation(row interface{ Scan(...any) error }) (*conversation.Conversation, error) {
	var c conversation.Conversation
	var ext, name, phone, email, senderID, senderPhone, lmRole, lmPreview, waUser, waName sql.NullString
	var vars string
	var lmAt, ended, customerAt, channelCost sql.NullInt64
	var created, updated int64
	err := row.Scan(&c.Seq, &c.ID, &c.WorkspaceID, &c.Type, &c.Status, &c.AssistantID, &c.AssistantName, &c.AIEnabled,
		&ext, &name, &phone, &email, &senderID, &senderPhone,
		&vars, &c.MessageCount, &c.Usage.InputTokens, &c.Usage.OutputTokens, &c.Usage.CachedInputTokens, &c.Usage.ReasoningTokens, &c.Usage.TotalTokens,
		&c.TotalCost, &c.CostComplete, &lmRole, &lmPreview, &lmAt, &created, &updated, &ended,
		&waUser, &waName, &customerAt, &channelCost)
	if err != nil {
		return nil, err
	}
	c.ExternalIdentifier = ext.String
	c.Customer = conversation.Customer{Name: name.String, Phone: phone.String, Email: email.String,
		WhatsAppUserID: waUser.String, WhatsAppUsername: waName.String}
	c.CustomerMessageAt = fromOptMS(customerAt)
	if channelCost.Valid {
		cc := money.Money(channelCost.Int64)
		c.ChannelCost = &cc
	}
	c.SenderID, c.SenderPhone = senderID.String, senderPhone.String
	if err := json.Unmarshal([]byte(vars), &c.Variables); err != nil {
		return nil, fmt.Errorf("conversation %s: decode variables: %w", c.ID, err)
	}
	if lmAt.Valid {
		c.LastMessage = &conversation.LastMessage{Role: lmRole.String, Preview: lmPreview.String, CreatedAt: fromMS(lmAt.Int64)}
	}
	c.CreatedAt, c.UpdatedAt, c.EndedAt = fromMS(created), fromMS(updated), fromOptMS(ended)
	return &c, nil
}

const getConversationSQL = `SELECT ` + convCols + convFrom + `WHERE c.workspace_id = ? AND c.id = ?`

func (db *DB) getConversation(ctx context.Context, q querier, workspaceID, id string) (*conversation.Conversation, error) {
	c, err := scanConversation(q.QueryRowContext(ctx, getConversationSQL, workspaceID, id))
	return c, db.notFound(err, "conversation")
}

// GetConversation implements conversation.Store.
func (db *DB) GetConversation(ctx context.Context, workspaceID, id string) (*conversation.Conversation, error) {
	return db.getConversation(ctx, db.reader(ctx), workspaceID, id)
}

// CreateConversation implements conversation.Store.
func (db *DB) CreateConversation(ctx context.Context, c *conversation.Conversation, first []*conversation.Message) error {
	vars, err := json.Marshal(nonNilVars(c.Variables))
	if err != nil {
		return err
	}
	return db.tx(ctx, func(tx *sql.Tx) error {
		err := tx.QueryRowContext(ctx, `INSERT INTO conversations (id, workspace_id, type, status, assistant_id, ai_enabled,
			external_identifier, customer_name, customer_phone, customer_email, sender_id, sender_phone, variables,
			cost_complete, created_at, updated_at, ended_at, customer_whatsapp_user_id, customer_whatsapp_username,
			customer_message_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING seq`,
			c.ID, c.WorkspaceID, c.Type, c.Status, c.AssistantID, c.AIEnabled,
			null(c.ExternalIdentifier), null(c.Customer.Name), null(c.Customer.Phone), null(c.Customer.Email),
			null(c.SenderID), null(c.SenderPhone), string(vars), c.CostComplete, ms(c.CreatedAt), ms(c.UpdatedAt), optMS(c.EndedAt),
			null(c.Customer.WhatsAppUserID), null(c.Customer.WhatsAppUsername), optMS(c.CustomerMessageAt)).Scan(&c.Seq)
		if isUnique(err) {
			return fault.New(fault.CodeConflict, "a conversation with id %s already exists", c.ID)
		}
		if err != nil {
			return fmt.Errorf("insert conversation: %w", err)
		}
		if err := indexCustomer(ctx, tx, c); err != nil {
			return err
		}
		if err := addSource(ctx, tx, c); err != nil {
			return err
		}
		if err := db.addTerms(ctx, tx, c, conversation.DistinctSearchTerms(conversation.CustomerText(c))); err != nil {
			return err
		}
		if err := db.addActivity(ctx, tx, c.WorkspaceID, conversation.ConversationActivity([]*conversation.Conversation{c}, nil)); err != nil {
			return err
		}
		if len(first) > 0 {
			stored, err := db.appendMessages(ctx, tx, c, first)
			if err != nil {
				return err
			}
			*c = *stored
		}
		return nil
	})
}

func nonNilVars(v map[string]conversation.Variable) map[string]conversation.Variable {
	if v == nil {
		return map[string]conversation.Variable{}
	}
	return v
}

// indexCustomer (re)writes the conversation's customer search document.
func indexCustomer(ctx context.Context, tx *sql.Tx, c *conversation.Conversation) error {
	rowid := searchRowid(c.Seq, 0)
	if err := unindexSearch(ctx, tx, rowid, rowid); err != nil {
		return fmt.Errorf("unindex customer: %w", err)
	}
	doc := conversation.CustomerSearchText(c) // as migration 0005 builds it in SQL
	if doc == "" {
		return nil
	}
	if err := stageSearch(ctx, tx, rowid, doc); err != nil {
		return fmt.Errorf("index customer: %w", err)
	}
	return nil
}

// AppendMessages implements conversation.Store.
func (db *DB) AppendMessages(ctx context.Context, workspaceID, conversationID string, msgs []*conversation.Message) (*conversation.Conversation, error) {
	var out *conversation.Conversation
	err := db.tx(ctx, func(tx *sql.Tx) error {
		c, err := scanConversation(tx.QueryRowContext(ctx, getConversationSQL, workspaceID, conversationID))
		if err != nil {
			return db.notFound(err, "conversation")
		}
		out, err = db.appendMessages(ctx, tx, c, msgs)
		return err
	})
	return out, err
}

// The statements every message goes through (the writer's statement cache,
// stmtcache.go, prepares each once).
const (
	insertMessageSQL = `INSERT INTO messages (seq, id, role, content, created_at, model,
		input_tokens, output_tokens, cached_input_tokens, reasoning_tokens, total_tokens, usage_estimated, cost,
		provider_cost, finish_reason, latency_ms, first_token_ms, status, error_code, error_message, template, external_id,
		pricing_category, pricing_type, channel_cost, channel_data)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`
	rollupSQL = `UPDATE conversations SET message_count = ?, input_tokens = ?, output_tokens = ?,
		cached_input_tokens = ?, reasoning_tokens = ?, total_tokens = ?, total_cost = ?, cost_complete = ?,
		last_message_role = ?, last_message_preview = ?, last_message_at = ?, updated_at = ?, customer_message_at = ? WHERE seq = ?`
)

const maxMessagesPerConversation = conversation.MaxMessages

// appendMessages stores msgs after c's existing messages, indexes them,
// writes the roll-up the domain computed (Conversation.AddMessages) into
// the conversation row and adds the messages to the daily analytics
// (MessageActivity), inside tx.
func (db *DB) appendMessages(ctx context.Context, tx *sql.Tx, c *conversation.Conversation, msgs []*conversation.Message) (*conversation.Conversation, error) {
	if len(msgs) == 0 {
		return c, nil
	}
	first := c.MessageCount + 1
	if err := c.AddMessages(msgs); err != nil {
		return nil, err
	}
	for i, m := range msgs {
		var in, out, cached, reasoning, total any
		if u := m.Usage; u != nil {
			in, out, cached, reasoning, total = u.InputTokens, u.OutputTokens, u.CachedInputTokens, u.ReasoningTokens, u.TotalTokens
		}
		var cost, providerCost, tmpl, errCode, errMsg any
		if m.Cost != nil {
			cost = int64(*m.Cost)
		}
		if m.ProviderCost != nil {
			providerCost = int64(*m.ProviderCost)
		}
		if m.Template != nil {
			b, err := json.Marshal(m.Template)
			if err != nil {
				return nil, err
			}
			tmpl = string(b)
		}
		if m.Error != nil {
			errCode, errMsg = m.Error.Code, m.Error.Message
		}
		ch, err := channelColumns(m)
		if err != nil {
			return nil, err
		}
		if _, err := tx.ExecContext(ctx, insertMessageSQL, m.Seq, m.ID, m.Role, m.Content, ms(m.CreatedAt), null(m.Model),
			in, out, cached, reasoning, total, m.UsageEstimated, cost, providerCost, null(m.FinishReason), m.LatencyMS, m.FirstTokenMS,
			null(m.Status), errCode, errMsg, tmpl, null(m.ExternalID), ch[0], ch[1], ch[2], ch[3]); err != nil {
			if isUnique(err) {
				return nil, fault.New(fault.CodeConflict, "message %s already exists", m.ID)
			}
			return nil, fmt.Errorf("insert message: %w", err)
		}
		if err := stageSearch(ctx, tx, searchRowid(c.Seq, first+int64(i)), conversation.SearchText(m.Content)); err != nil {
			return nil, fmt.Errorf("index message: %w", err)
		}
	}
	texts := make([]string, len(msgs))
	for i, m := range msgs {
		texts[i] = m.Content
	}
	if err := db.addTerms(ctx, tx, c, conversation.DistinctSearchTerms(texts...)); err != nil {
		return nil, err
	}
	u := c.Usage
	_, err := tx.ExecContext(ctx, rollupSQL,
		c.MessageCount, u.InputTokens, u.OutputTokens, u.CachedInputTokens, u.ReasoningTokens, u.TotalTokens,
		c.TotalCost, c.CostComplete, c.LastMessage.Role, c.LastMessage.Preview, ms(c.LastMessage.CreatedAt),
		ms(c.UpdatedAt), optMS(c.CustomerMessageAt), c.Seq)
	if err != nil {
		return nil, fmt.Errorf("roll up messages: %w", err)
	}
	if err := db.addActivity(ctx, tx, c.WorkspaceID, conversation.MessageActivity(c, msgs)); err != nil {
		return nil, err
	}
	return c, nil
}

// UpdateConversation implements conversation.Store.
func (db *DB) UpdateConversation(ctx context.Context, workspaceID, id string, u conversation.Update) (after, before *conversation.Conversation, err error) {
	err = db.tx(ctx, func(tx *sql.Tx) error {
		c, err := db.getConversation(ctx, tx, workspaceID, id)
		if err != nil {
			return err
		}
		was := *c
		before = &was
		reindex := c.Apply(u)
		vars, err := json.Marshal(nonNilVars(c.Variables))
		if err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `UPDATE conversations SET ai_enabled = ?, customer_name = ?, customer_phone = ?,
			customer_email = ?, external_identifier = ?, status = ?, ended_at = ?, variables = ?, updated_at = ?,
			customer_whatsapp_user_id = ?, customer_whatsapp_username = ?, customer_message_at = ?
			WHERE seq = ?`, c.AIEnabled, null(c.Customer.Name), null(c.Customer.Phone), null(c.Customer.Email),
			null(c.ExternalIdentifier), c.Status, optMS(c.EndedAt), string(vars), ms(c.UpdatedAt),
			null(c.Customer.WhatsAppUserID), null(c.Customer.WhatsAppUsername), optMS(c.CustomerMessageAt), c.Seq)
		if err != nil {
			return fmt.Errorf("update conversation: %w", err)
		}
		if c.Status != before.Status {
			if err := db.moveTermsStatus(ctx, tx, c, before); err != nil {
				return err
			}
		}
		if reindex {
			if err := indexCustomer(ctx, tx, c); err != nil {
				return err
			}
			if err := db.reindexCustomerTerms(ctx, tx, c, before); err != nil {
				return err
			}
		}
		// An end counts on the day it happened.
		if err := db.addActivity(ctx, tx, c.WorkspaceID,
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
	err := db.tx(ctx, func(tx *sql.Tx) error {
		deleted = nil
		for _, id := range ids {
			var seq, created int64
			var name, phone, email, ext, sender sql.NullString
			c := &conversation.Conversation{ID: id, WorkspaceID: workspaceID}
			err := tx.QueryRowContext(ctx, `DELETE FROM conversations WHERE workspace_id = ? AND id = ?
				RETURNING seq, assistant_id, type, status, created_at, customer_name, customer_phone, customer_email,
					external_identifier, sender_phone`,
				workspaceID, id).Scan(&seq, &c.AssistantID, &c.Type, &c.Status, &created, &name, &phone, &email, &ext, &sender)
			if err == sql.ErrNoRows {
				continue
			}
			if err != nil {
				return fmt.Errorf("delete conversation: %w", err)
			}
			c.Seq, c.CreatedAt = seq, time.UnixMilli(created).UTC()
			c.Customer.Name, c.Customer.Phone, c.Customer.Email, c.ExternalIdentifier = name.String, phone.String, email.String, ext.String
			c.SenderPhone = sender.String
			if err := db.dropConversationTerms(ctx, tx, c); err != nil {
				return err
			}
			lo, hi := conversation.MessageSeq(seq, 0), conversation.MessageSeq(seq, maxMessagesPerConversation)
			if _, err := tx.ExecContext(ctx, `DELETE FROM messages WHERE seq BETWEEN ? AND ?`, lo, hi); err != nil {
				return fmt.Errorf("delete messages: %w", err)
			}
			if err := unindexSearch(ctx, tx, searchRowid(seq, 0), searchRowid(seq, maxMessagesPerConversation)); err != nil {
				return fmt.Errorf("unindex messages: %w", err)
			}
			deleted = append(deleted, c)
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
	return db.tx(ctx, func(tx *sql.Tx) error {
		byType := delta.ByType()
		for _, typ := range slices.Sorted(maps.Keys(byType)) {
			n := byType[typ]
			if n == 0 {
				continue
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO conversation_counts (workspace_id, type, n) VALUES (?, ?, ?)
				ON CONFLICT (workspace_id, type) DO UPDATE SET n = n + excluded.n`, workspaceID, typ, n); err != nil {
				return fmt.Errorf("count conversations: %w", err)
			}
		}
		for _, t := range store.BucketChanges(delta) {
			q := `INSERT INTO ` + t.Table + ` (workspace_id, assistant_id, type, status, ` + t.Period + `, sender_phone, n)
				VALUES (?, ?, ?, ?, ?, ?, ?)
				ON CONFLICT (workspace_id, assistant_id, type, status, ` + t.Period + `, sender_phone) DO UPDATE SET n = n + excluded.n`
			for _, b := range t.Delta.Sorted() {
				if _, err := tx.ExecContext(ctx, q, workspaceID, b.AssistantID, b.Type, b.Status, b.Day, b.SenderPhone, t.Delta[b]); err != nil {
					return fmt.Errorf("count conversations: %w", err)
				}
			}
		}
		return nil
	})
}

// ListConversations implements conversation.Store.
func (db *DB) ListConversations(ctx context.Context, workspaceID string, f conversation.Filter, o conversation.Order, req page.Request) ([]*conversation.Conversation, error) {
	if req.Cursor != nil && req.Cursor.Sort != o.Key() {
		return nil, page.ErrBadCursor
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
	if f.Query != "" {
		return db.search(ctx, workspaceID, f, o, req)
	}
	var out []*conversation.Conversation
	for _, q := range listQueries(workspaceID, f, o, req) {
		rows, err := db.queryConversations(ctx, q.sql, append(q.args, req.Limit+1-len(out))...)
		if err != nil {
			return nil, err
		}
		if out = append(out, rows...); len(out) > req.Limit {
			break
		}
	}
	return out, nil
}

// listQuery is one statement of a list page; the row limit is its last
// argument, added when it runs.
type listQuery struct {
	sql  string
	args []any
}

// listQueries returns the statements that read a list page, in order,
// each to be run until the page is full. Past a cursor that is two: the
// rows that tie with the cursor's value, after its seq, then the rows
// past the value. One row-value comparison (value, seq) > (?, ?) would
// be simpler, but SQLite seeks it on the value alone and then steps over
// every tie before the cursor's seq, which on a sort with many equal
// values (message_count, total_cost) is most of the table; split, each
// statement seeks its index exactly (the ties through the rowid that ends
// every index).
func listQueries(workspaceID string, f conversation.Filter, o conversation.Order, req page.Request) []listQuery {
	col := o.Column()
	where, args := filterSQL(workspaceID, f)
	// The direction rows are read in: the list's own order, or its reverse
	// when paging backwards.
	desc := o.Desc != req.Backward()
	cmp, dir := ">", "ASC"
	if desc {
		cmp, dir = "<", "DESC"
	}
	order := fmt.Sprintf(` ORDER BY c.%s %s, c.seq %s LIMIT ?`, col, dir, dir)
	if req.Cursor == nil {
		return []listQuery{{`SELECT ` + convCols + convFrom + `WHERE ` + where + order, args}}
	}
	ties := listQuery{`SELECT ` + convCols + convFrom + `WHERE ` + where +
		fmt.Sprintf(` AND c.%s = ? AND c.seq %s ? ORDER BY c.seq %s LIMIT ?`, col, cmp, dir),
		append(slices.Clone(args), req.Cursor.Value, req.Cursor.Seq)}
	past := listQuery{`SELECT ` + convCols + convFrom + `WHERE ` + where +
		fmt.Sprintf(` AND c.%s %s ?`, col, cmp) + order,
		append(slices.Clone(args), req.Cursor.Value)}
	return []listQuery{ties, past}
}

func (db *DB) queryConversations(ctx context.Context, q string, args ...any) ([]*conversation.Conversation, error) {
	return queryConversations(ctx, db.reader(ctx), q, args...)
}

// queryConversations reads the conversations q returns on qr.
func queryConversations(ctx context.Context, qr querier, q string, args ...any) ([]*conversation.Conversation, error) {
	rows, err := qr.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("list conversations: %w", err)
	}
	defer rows.Close()
	var out []*conversation.Conversation
	for rows.Next() {
		c, err := scanConversation(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// filterSQL renders every filter but the text query as a WHERE clause on
// alias c.
func filterSQL(workspaceID string, f conversation.Filter) (string, []any) {
	return filterSQLPrefixed(workspaceID, f, "c.")
}

// filterSQLPrefixed is filterSQL with a column prefix: "+c." keeps the
// planner from using an index for the filter, for queries that must look
// rows up by seq instead.
func filterSQLPrefixed(workspaceID string, f conversation.Filter, c string) (string, []any) {
	var b strings.Builder
	args := []any{workspaceID}
	b.WriteString(c + `workspace_id = ?`)
	if len(f.Types) > 0 {
		b.WriteString(` AND ` + c + `type IN (?` + strings.Repeat(`, ?`, len(f.Types)-1) + `)`)
		for _, t := range f.Types {
			args = append(args, t)
		}
	}
	for _, eq := range []struct{ col, val string }{
		{"assistant_id", f.AssistantID}, {"status", f.Status}, {"customer_phone", f.CustomerPhone},
		{"external_identifier", f.ExternalIdentifier}, {"sender_phone", f.WhatsAppSenderPhone},
	} {
		if eq.val != "" {
			b.WriteString(` AND ` + c + eq.col + ` = ?`)
			args = append(args, eq.val)
		}
	}
	if f.CreatedFrom != nil {
		b.WriteString(` AND ` + c + `created_at >= ?`)
		args = append(args, ms(*f.CreatedFrom))
	}
	if f.CreatedTo != nil {
		b.WriteString(` AND ` + c + `created_at < ?`)
		args = append(args, ms(*f.CreatedTo))
	}
	return b.String(), args
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
	var args []any
	switch {
	case f.CountsFromCounters():
		q, args = `SELECT type, n FROM conversation_counts WHERE workspace_id = ?`, []any{workspaceID}
	case f.BucketCountable():
		return db.countFromBuckets(ctx, workspaceID, f)
	case f.Query != "":
		if counts, ok, err := db.countTerms(ctx, workspaceID, f); ok {
			return counts, err
		}
		return db.countSearch(ctx, workspaceID, f)
	default:
		q, args = countRowsSQL(workspaceID, f)
	}
	if err := db.addCounts(ctx, &counts, q, args); err != nil {
		return counts, err
	}
	return counts.Only(f.Types), nil
}

// countRowsSQL counts matching rows by type.
func countRowsSQL(workspaceID string, f conversation.Filter) (string, []any) {
	where, args := filterSQL(workspaceID, f)
	// +c.type: grouping must not make the planner walk the type index
	// instead of the index of a selective filter (a phone, a day).
	return `SELECT c.type, count(*) FROM conversations c WHERE ` + where + ` GROUP BY +c.type`, args
}

// countFromBuckets answers a count the buckets can (see
// conversation.Filter.PlanCount and CountPlan.Spans): whole months from
// the month buckets, other whole days from the day buckets, partial days
// from the rows through the created_at indexes.
func (db *DB) countFromBuckets(ctx context.Context, workspaceID string, f conversation.Filter) (conversation.Counts, error) {
	counts := conversation.NewCounts()
	plan := f.PlanCount()
	for _, span := range plan.Spans() {
		var args []any
		q := store.BucketCountSQL(workspaceID, f, span, func(v any) string { args = append(args, v); return "?" })
		if err := db.addCounts(ctx, &counts, q, args); err != nil {
			return counts, err
		}
	}
	for _, p := range plan.Partial {
		q, args := countRowsSQL(workspaceID, p)
		if err := db.addCounts(ctx, &counts, q, args); err != nil {
			return counts, err
		}
	}
	return counts.Only(f.Types), nil
}

// addCounts adds the (type, n) rows q returns to counts.
func (db *DB) addCounts(ctx context.Context, counts *conversation.Counts, q string, args []any) error {
	rows, err := db.reader(ctx).QueryContext(ctx, q, args...)
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
