package postgres

import (
	"context"
	"fmt"
	"slices"

	"github.com/jackc/pgx/v5"

	"github.com/parley-dev/parley/internal/conversation"
	"github.com/parley-dev/parley/internal/store"
)

// conversation_terms (migration 0018) holds each term a conversation's
// messages and customer fields contain once, keyed by workspace, term,
// kind (type and status, store.TermKind) and conversation, so that a count of the conversations with a word
// reads one index entry per counted conversation instead of probing the
// messages' index, which has one per message. Every write that changes a
// conversation's text keeps it.

// addTermsSQL records that a conversation ($3, $4: kind, seq) of workspace
// $1 holds the terms $2.
const addTermsSQL = `INSERT INTO conversation_terms (workspace_seq, term, kind, conversation_seq)
	SELECT w.seq, t, $3, $4 FROM workspaces w, unnest($2::text[]) t WHERE w.id = $1
	ON CONFLICT DO NOTHING`

// queueTerms queues the recording of terms of conversation c in batch.
func queueTerms(batch *pgx.Batch, c *conversation.Conversation, terms []string) {
	if len(terms) > 0 {
		batch.Queue(addTermsSQL, c.WorkspaceID, terms, store.TermKind(c.Type, c.Status), c.Seq)
	}
}

// addTerms records that conversation c holds terms.
func addTerms(ctx context.Context, tx pgx.Tx, c *conversation.Conversation, terms []string) error {
	if len(terms) == 0 {
		return nil
	}
	if _, err := tx.Exec(ctx, addTermsSQL, c.WorkspaceID, terms, store.TermKind(c.Type, c.Status), c.Seq); err != nil {
		return fmt.Errorf("index conversation terms: %w", err)
	}
	return nil
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
		_, err := tx.Exec(ctx, `DELETE FROM conversation_terms
			WHERE workspace_seq = (SELECT seq FROM workspaces WHERE id = $1) AND kind = $2
				AND conversation_seq = $3 AND term = ANY($4)
				AND term NOT IN (SELECT u.lexeme FROM messages m, unnest(m.tsv) u WHERE m.seq BETWEEN $5 AND $6)`,
			c.WorkspaceID, store.TermKind(c.Type, c.Status), c.Seq, gone,
			conversation.MessageSeq(c.Seq, 0), conversation.MessageSeq(c.Seq, maxMessagesPerConversation))
		if err != nil {
			return fmt.Errorf("unindex customer terms: %w", err)
		}
	}
	return addTerms(ctx, tx, c, now)
}

// moveTermsStatus moves the terms of conversation c to its status now
// from its status before (whose customer fields may differ).
func moveTermsStatus(ctx context.Context, tx pgx.Tx, c, before *conversation.Conversation) error {
	_, err := tx.Exec(ctx, `UPDATE conversation_terms SET kind = $2
		WHERE workspace_seq = (SELECT seq FROM workspaces WHERE id = $1) AND kind = $3 AND conversation_seq = $4
			AND (term = ANY($5) OR term IN (SELECT u.lexeme FROM messages m, unnest(m.tsv) u WHERE m.seq BETWEEN $6 AND $7))`,
		c.WorkspaceID, store.TermKind(c.Type, c.Status), store.TermKind(before.Type, before.Status), c.Seq,
		conversation.DistinctSearchTerms(conversation.CustomerText(c), conversation.CustomerText(before)),
		conversation.MessageSeq(c.Seq, 0), conversation.MessageSeq(c.Seq, maxMessagesPerConversation))
	if err != nil {
		return fmt.Errorf("move conversation terms: %w", err)
	}
	return nil
}

// dropConversationTerms forgets every term of conversation c, before its
// messages are deleted: their tsvectors and its customer fields say which.
func dropConversationTerms(ctx context.Context, tx pgx.Tx, c *conversation.Conversation) error {
	_, err := tx.Exec(ctx, `DELETE FROM conversation_terms
		WHERE workspace_seq = (SELECT seq FROM workspaces WHERE id = $1) AND kind = $2 AND conversation_seq = $3
			AND (term = ANY($4) OR term IN (SELECT u.lexeme FROM messages m, unnest(m.tsv) u WHERE m.seq BETWEEN $5 AND $6))`,
		c.WorkspaceID, store.TermKind(c.Type, c.Status), c.Seq, conversation.DistinctSearchTerms(conversation.CustomerText(c)),
		conversation.MessageSeq(c.Seq, 0), conversation.MessageSeq(c.Seq, maxMessagesPerConversation))
	if err != nil {
		return fmt.Errorf("unindex conversation terms: %w", err)
	}
	return nil
}

// countTerms counts the conversations that match f when its query is one
// whole term (conversation.SingleTerm), from conversation_terms, up to
// f.CountLimit; ok is false for any other query. With filters other than
// types, each entry is checked against its conversation's row, or the
// filter's conversations are probed for the term: the planner picks,
// with a custom plan for these values (plan_cache_mode).
func (db *DB) countTerms(ctx context.Context, workspaceID string, f conversation.Filter) (conversation.Counts, bool, error) {
	counts := conversation.NewCounts()
	term, ok := conversation.SingleTerm(f.Query)
	if !ok {
		return counts, false, nil
	}
	var a args
	q := `SELECT t.kind FROM conversation_terms t`
	where := ` WHERE t.workspace_seq = (SELECT seq FROM workspaces WHERE id = ` + a.add(workspaceID) + `)
		AND t.term = ` + a.add(term) + ` AND t.kind = ANY(` + a.add(store.TermKinds(f)) + `)`
	rest := f
	rest.Types, rest.Status, rest.Query = nil, "", ""
	if !rest.IsZero() {
		filter, _, err := db.filterSQL(ctx, &a, workspaceID, rest)
		if err != nil {
			return counts, true, err
		}
		q += ` JOIN conversations c ON c.seq = t.conversation_seq`
		where += ` AND ` + filter
	}
	q += where
	if f.CountLimit > 0 {
		q += ` LIMIT ` + a.add(f.CountLimit+1)
	}
	rows, err := db.conn(ctx).Query(ctx, `SELECT kind, count(*) FROM (`+q+`) s GROUP BY kind`, a...)
	if err != nil {
		return counts, true, fmt.Errorf("count conversations: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var kind int
		var n int64
		if err := rows.Scan(&kind, &n); err != nil {
			return counts, true, err
		}
		counts.Add(store.TermKindType(kind), n)
	}
	if err := rows.Err(); err != nil {
		return counts, true, fmt.Errorf("count conversations: %w", err)
	}
	counts.Bound(f.CountLimit)
	return counts.Only(f.Types), true, nil
}
