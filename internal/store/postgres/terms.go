package postgres

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/parley-dev/parley/internal/conversation"
	"github.com/parley-dev/parley/internal/store"
)

// conversation_terms (migrations 0018 and 0020) holds each term a
// conversation's messages and customer fields contain once, keyed by
// workspace, term, source (assistant and WhatsApp sender), kind (type and
// status, store.TermKind), creation day and conversation, so that a count of the conversations
// with a word reads one index entry per counted conversation instead of
// probing the messages' index, which has one per message, and the filters
// in the key narrow the entries read. Every write that changes a
// conversation's text keeps it.

// termKeySQL is the key of a conversation's entries but the term, from
// its workspace id $1, assistant id $2, sender phone $3 (” for none), kind
// $4, day $5 and seq $6 (see migration 0020 for the source).
const termKeySQL = `(SELECT seq FROM workspaces WHERE id = $1),
	(SELECT seq FROM conversation_sources WHERE workspace_id = $1 AND assistant_id = $2 AND sender_phone = $3),
	$4::smallint, $5::bigint, $6::bigint`

// termKeyArgs returns the arguments of termKeySQL for conversation c with
// kind k.
func termKeyArgs(c *conversation.Conversation, k int) []any {
	return []any{c.WorkspaceID, c.AssistantID, c.SenderPhone, k, conversation.DayOf(c.CreatedAt), c.Seq}
}

// ofKeySQL selects the entries of one conversation (termKeySQL's
// arguments) among terms $6.
const ofKeySQL = `(workspace_seq, source_seq, kind, day, conversation_seq) = (` + termKeySQL + `) AND term = ANY($7)`

// addTermsSQL records that a conversation (termKeySQL's arguments) holds
// the terms $7.
const addTermsSQL = `INSERT INTO conversation_terms (workspace_seq, source_seq, kind, day, conversation_seq, term)
	SELECT ` + termKeySQL + `, t FROM unnest($7::text[]) t
	ON CONFLICT DO NOTHING`

// queueTerms queues the recording of terms of conversation c in batch.
func queueTerms(batch *pgx.Batch, c *conversation.Conversation, terms []string) {
	if len(terms) > 0 {
		batch.Queue(addTermsSQL, append(termKeyArgs(c, store.TermKind(c.Type, c.Status)), terms)...)
	}
}

// addTerms records that conversation c holds terms.
func addTerms(ctx context.Context, tx pgx.Tx, c *conversation.Conversation, terms []string) error {
	if len(terms) == 0 {
		return nil
	}
	if _, err := tx.Exec(ctx, addTermsSQL, append(termKeyArgs(c, store.TermKind(c.Type, c.Status)), terms)...); err != nil {
		return fmt.Errorf("index conversation terms: %w", err)
	}
	return nil
}

// messageTermsSQL is the terms of the messages of seqs $8 to $9.
const messageTermsSQL = `(SELECT u.lexeme FROM messages m, unnest(m.tsv) u WHERE m.seq BETWEEN $8 AND $9)`

// allTermsSQL is the terms $7 and those of the messages of seqs $8 to $9,
// as an array, so that the index seeks each (an OR of the two would not).
const allTermsSQL = `ARRAY(SELECT unnest($7::text[]) UNION SELECT u.lexeme FROM messages m, unnest(m.tsv) u
	WHERE m.seq BETWEEN $8 AND $9)`

// messageRange returns the arguments of messageTermsSQL for conversation c.
func messageRange(c *conversation.Conversation) []any {
	return []any{conversation.MessageSeq(c.Seq, 0), conversation.MessageSeq(c.Seq, maxMessagesPerConversation)}
}

// reindexCustomerTerms updates the terms of c after its customer fields
// changed from those of before: terms only the old fields had are
// dropped unless a message still holds them.
func reindexCustomerTerms(ctx context.Context, tx pgx.Tx, c, before *conversation.Conversation) error {
	now := conversation.DistinctSearchTerms(conversation.CustomerText(c))
	var gone []string
	for _, t := range conversation.DistinctSearchTerms(conversation.CustomerText(before)) {
		if _, found := slices.BinarySearch(now, t); !found {
			gone = append(gone, t)
		}
	}
	if len(gone) > 0 {
		args := append(termKeyArgs(c, store.TermKind(c.Type, c.Status)), gone)
		_, err := tx.Exec(ctx, `DELETE FROM conversation_terms WHERE `+ofKeySQL+` AND term NOT IN `+messageTermsSQL,
			append(args, messageRange(c)...)...)
		if err != nil {
			return fmt.Errorf("unindex customer terms: %w", err)
		}
	}
	return addTerms(ctx, tx, c, now)
}

// moveTermsStatus moves the terms of conversation c to its status now
// ($10) from its status before (whose customer fields may differ).
func moveTermsStatus(ctx context.Context, tx pgx.Tx, c, before *conversation.Conversation) error {
	args := append(termKeyArgs(before, store.TermKind(before.Type, before.Status)),
		conversation.DistinctSearchTerms(conversation.CustomerText(c), conversation.CustomerText(before)))
	args = append(append(args, messageRange(c)...), store.TermKind(c.Type, c.Status))
	_, err := tx.Exec(ctx, `UPDATE conversation_terms SET kind = $10
		WHERE (workspace_seq, source_seq, kind, day, conversation_seq) = (`+termKeySQL+`)
			AND term = ANY(`+allTermsSQL+`)`, args...)
	if err != nil {
		return fmt.Errorf("move conversation terms: %w", err)
	}
	return nil
}

// dropConversationTerms forgets every term of conversation c, before its
// messages are deleted: their tsvectors and its customer fields say which.
func dropConversationTerms(ctx context.Context, tx pgx.Tx, c *conversation.Conversation) error {
	args := append(termKeyArgs(c, store.TermKind(c.Type, c.Status)), conversation.DistinctSearchTerms(conversation.CustomerText(c)))
	_, err := tx.Exec(ctx, `DELETE FROM conversation_terms
		WHERE (workspace_seq, source_seq, kind, day, conversation_seq) = (`+termKeySQL+`)
			AND term = ANY(`+allTermsSQL+`)`, append(args, messageRange(c)...)...)
	if err != nil {
		return fmt.Errorf("unindex conversation terms: %w", err)
	}
	return nil
}

// countTerms counts the conversations that match f when its query is one
// whole term (conversation.SingleTerm), from conversation_terms, up to
// f.CountLimit; ok is false for any other query. Types, status,
// assistant, sender and created range are parts of the entries' key, so
// with no other filter the count reads index ranges only (and the rows of
// a range's partial first and last days, store.TermRanges). With other
// filters (a phone, an external id) each entry is checked against its
// conversation's row, or the filter's conversations are probed for the
// term: the planner picks, with a custom plan for these values
// (plan_cache_mode).
func (db *DB) countTerms(ctx context.Context, workspaceID string, f conversation.Filter) (conversation.Counts, bool, error) {
	counts := conversation.NewCounts()
	term, ok := conversation.SingleTerm(f.Query)
	if !ok {
		return counts, false, nil
	}
	rest := f
	rest.Types, rest.Status, rest.Query, rest.CreatedFrom, rest.CreatedTo = nil, "", "", nil, nil
	rest.AssistantID, rest.WhatsAppSenderPhone = "", ""
	var a0 = args{workspaceID}
	sources := sourcesSQL(&a0, "$1", f)
	for _, r := range store.TermRanges(f) {
		a := slices.Clone(a0)
		q := `SELECT t.kind FROM conversation_terms t`
		where := ` WHERE t.workspace_seq = (SELECT seq FROM workspaces WHERE id = $1) AND t.term = ` + a.add(term) + `
			AND t.source_seq = ANY(` + sources + `) AND t.kind = ANY(` + a.add(store.TermKinds(f)) + `)`
		if r.DayFrom != nil {
			where += ` AND t.day >= ` + a.add(*r.DayFrom)
		}
		if r.DayTo != nil {
			where += ` AND t.day < ` + a.add(*r.DayTo)
		}
		g := rest
		if r.Exact {
			g.CreatedFrom, g.CreatedTo = &r.CreatedFrom, &r.CreatedTo
		}
		if !g.IsZero() {
			filter, _, err := db.filterSQL(ctx, &a, workspaceID, g)
			if err != nil {
				return counts, true, err
			}
			q += ` JOIN conversations c ON c.seq = t.conversation_seq`
			where += ` AND ` + filter
		}
		q += where
		if f.CountLimit > 0 {
			q += ` LIMIT ` + a.add(int64(f.CountLimit)+1-counts.Total)
		}
		if err := db.addKindCounts(ctx, &counts, `SELECT kind, count(*) FROM (`+q+`) s GROUP BY kind`, a); err != nil {
			return counts, true, err
		}
		if counts.Bound(f.CountLimit) {
			break
		}
	}
	return counts.Only(f.Types), true, nil
}

// addKindCounts adds to counts the (kind, count) rows of query q.
func (db *DB) addKindCounts(ctx context.Context, counts *conversation.Counts, q string, a args) error {
	rows, err := db.conn(ctx).Query(ctx, q, a...)
	if err != nil {
		return fmt.Errorf("count conversations: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var kind int
		var n int64
		if err := rows.Scan(&kind, &n); err != nil {
			return err
		}
		counts.Add(store.TermKindType(kind), n)
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("count conversations: %w", err)
	}
	return nil
}

// sourcesSQL is an array of the keys of the conversation sources (see
// migration 0020) of f's assistant and sender, or of all the sources of
// the workspace whose id is parameter ws.
func sourcesSQL(a *args, ws string, f conversation.Filter) string {
	q := `ARRAY(SELECT seq FROM conversation_sources WHERE workspace_id = ` + ws
	if f.AssistantID != "" {
		q += ` AND assistant_id = ` + a.add(f.AssistantID)
	}
	if f.WhatsAppSenderPhone != "" {
		q += ` AND sender_phone = ` + a.add(f.WhatsAppSenderPhone)
	}
	return q + `)`
}

// daySQL is the SQL of the UTC day (conversation.DayOf) of the timestamp
// expression t, as migration 0020 computes it.
func daySQL(t string) string { return `floor(extract(epoch FROM ` + t + `) / 86400)::bigint` }

// holdsTermSQL returns the condition that the conversation of alias c,
// one of those filter f selects, holds term (a one-term search,
// conversation.SingleTerm). When the entries of conversation_terms in f's
// key range (its types, status, assistant, sender and the days of its
// created range) are few, they are the candidates, fetched by key; else
// the query walks the filter's conversations in list order and checks
// each one by a seek on the entries' whole key. Either way the messages'
// full-text index is not read: finding how many messages hold a word
// from it (a bitmap of every match) took longer than the search.
func (db *DB) holdsTermSQL(ctx context.Context, a *args, workspaceID, term string, f conversation.Filter) (string, error) {
	var m args
	q := `SELECT t.conversation_seq FROM conversation_terms t
		WHERE t.workspace_seq = (SELECT seq FROM workspaces WHERE id = ` + m.add(workspaceID) + `)
			AND t.term = ` + m.add(term) + ` AND t.source_seq = ANY(` + sourcesSQL(&m, "$1", f) + `)
			AND t.kind = ANY(` + m.add(store.TermKinds(f)) + `)`
	// The created range's days, its partial first and last days whole:
	// the rows' created_at decides those.
	if f.CreatedFrom != nil {
		q += ` AND t.day >= ` + m.add(conversation.DayOf(*f.CreatedFrom))
	}
	if f.CreatedTo != nil {
		q += ` AND t.day < ` + m.add(conversation.DayOf(f.CreatedTo.Add(-time.Millisecond))+1)
	}
	rows, err := db.conn(ctx).Query(ctx, q+` LIMIT `+m.add(rareLimit+1), m...)
	if err != nil {
		return "", fmt.Errorf("search: %w", err)
	}
	seqs, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	if err != nil {
		return "", fmt.Errorf("search: %w", err)
	}
	if len(seqs) <= rareLimit {
		return `c.seq = ANY(` + a.add(seqs) + `)`, nil
	}
	// OFFSET 0 keeps the probe a per-row check: pulled up into a join,
	// it hashed the whole workspace's conversations.
	return `EXISTS (SELECT 1 FROM conversation_terms t
		WHERE t.workspace_seq = (SELECT seq FROM workspaces WHERE id = ` + a.add(workspaceID) + `)
			AND t.term = ` + a.add(term) + `
			AND t.source_seq = (SELECT s.seq FROM conversation_sources s WHERE s.workspace_id = c.workspace_id
				AND s.assistant_id = c.assistant_id AND s.sender_phone = coalesce(c.sender_phone, ''))
			AND t.kind = ` + store.TermKindSQL("c.type", "c.status") + ` AND t.day = ` + daySQL("c.created_at") + `
			AND t.conversation_seq = c.seq OFFSET 0)`, nil
}
