package postgres

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"unicode/utf8"

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
// whole term (conversation.SingleTerm) or a prefix of a few terms
// (conversation.SinglePrefix), from conversation_terms, up to
// f.CountLimit; ok is false for any other query. Types, status,
// assistant, sender and created range are parts of the entries' key, so
// with no other filter the count reads index ranges only (and the rows of
// a range's partial first and last days, store.TermRanges). With other
// filters (a phone, an external id: selective) the filter's
// conversations are checked for the term, one seek each.
func (db *DB) countTerms(ctx context.Context, workspaceID string, f conversation.Filter) (conversation.Counts, bool, error) {
	counts := conversation.NewCounts()
	rest := f
	rest.Types, rest.Status, rest.Query, rest.CreatedFrom, rest.CreatedTo = nil, "", "", nil, nil
	rest.AssistantID, rest.WhatsAppSenderPhone = "", ""
	var a0 = args{workspaceID}
	sources := sourcesSQL(&a0, "$1", f)
	term, ok := conversation.SingleTerm(f.Query)
	if prefix, isPrefix := conversation.SinglePrefix(f.Query); isPrefix {
		// A prefix stands for the terms of the workspace it starts: one
		// is counted as that term; a few, with no filter off the key, as
		// their union; more, or other filters, keep the full-text path.
		terms, ok, err := db.termsWithPrefix(ctx, workspaceID, prefix, maxPrefixTerms)
		switch {
		case err != nil:
			return counts, true, err
		case !ok:
			return counts, false, nil
		case len(terms) == 0:
			return counts.Only(f.Types), true, nil
		case len(terms) == 1:
			term = terms[0]
		case len(terms) <= maxPrefixTerms && rest.IsZero():
			return db.countTermUnion(ctx, workspaceID, terms, sources, a0, f)
		default:
			return counts, false, nil
		}
	} else if !ok {
		return counts, false, nil
	}
	if !rest.IsZero() {
		// A phone or an external id selects few conversations: each is
		// checked for the term by one seek (driven from the term's
		// entries, the planner, misjudging how many a common word has,
		// hashed the filter's few rows and read them all).
		g := f
		g.Query = ""
		var a args
		filter, _, err := db.filterSQL(ctx, &a, workspaceID, g)
		if err != nil {
			return counts, true, err
		}
		q := `SELECT c.type FROM conversations c WHERE ` + filter + ` AND ` + termProbeSQL(&a, workspaceID, term)
		if f.CountLimit > 0 {
			q += ` LIMIT ` + a.add(f.CountLimit+1)
		}
		if err := db.countBounded(ctx, &counts, f.CountLimit, q, a); err != nil {
			return counts, true, err
		}
		return counts.Only(f.Types), true, nil
	}
	for _, r := range store.TermRanges(f) {
		a := slices.Clone(a0)
		q := termRangeSQL(&a, "t.kind", term, sources, f, r)
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
	m := args{workspaceID}
	q := termRangeSQL(&m, "t.conversation_seq", term, sourcesSQL(&m, "$1", f), f, store.TermDays(f))
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
	return termProbeSQL(a, workspaceID, term), nil
}

// termProbeSQL is the condition that the conversation of alias c holds
// term: one seek on the whole key of conversation_terms. OFFSET 0 keeps
// it a check of each row: pulled up into a join, it hashed the whole
// workspace's conversations.
func termProbeSQL(a *args, workspaceID, term string) string {
	return `EXISTS (SELECT 1 FROM conversation_terms t
		WHERE t.workspace_seq = (SELECT seq FROM workspaces WHERE id = ` + a.add(workspaceID) + `)
			AND t.term = ` + a.add(term) + `
			AND t.source_seq = (SELECT s.seq FROM conversation_sources s WHERE s.workspace_id = c.workspace_id
				AND s.assistant_id = c.assistant_id AND s.sender_phone = coalesce(c.sender_phone, ''))
			AND t.kind = ` + store.TermKindSQL("c.type", "c.status") + ` AND t.day = ` + daySQL("c.created_at") + `
			AND t.conversation_seq = c.seq OFFSET 0)`
}

// termRangeSQL selects cols of the entries of term in range r whose key
// filter f selects (its types and status; sources is sourcesSQL's array,
// the workspace id is $1 of a): an index range, joined with the
// conversations only to check a partial day's creation times.
func termRangeSQL(a *args, cols, term, sources string, f conversation.Filter, r store.TermRange) string {
	q := `SELECT ` + cols + ` FROM conversation_terms t`
	where := ` WHERE t.workspace_seq = (SELECT seq FROM workspaces WHERE id = $1) AND t.term = ` + a.add(term) + `
		AND t.source_seq = ANY(` + sources + `) AND t.kind = ANY(` + a.add(store.TermKinds(f)) + `)`
	if r.DayFrom != nil {
		where += ` AND t.day >= ` + a.add(*r.DayFrom)
	}
	if r.DayTo != nil {
		where += ` AND t.day < ` + a.add(*r.DayTo)
	}
	if r.Exact {
		q += ` JOIN conversations c ON c.seq = t.conversation_seq`
		where += ` AND c.created_at >= ` + a.add(ts(r.CreatedFrom)) + ` AND c.created_at < ` + a.add(ts(r.CreatedTo))
	}
	return q + where
}

// maxPrefixTerms is how many terms a prefix may start and still be
// counted from conversation_terms, as their union.
const maxPrefixTerms = 16

// termsWithPrefix returns the workspace's terms that start with prefix,
// in order, up to limit+1 of them: one index seek each (a loose index
// scan). ok is false when the database does not sort text bytewise, as
// the range of terms a prefix starts is then not one index range.
func (db *DB) termsWithPrefix(ctx context.Context, workspaceID, prefix string, limit int) (terms []string, ok bool, err error) {
	if !db.bytewise {
		return nil, false, nil
	}
	// Every term that starts with prefix sorts (bytewise) between the
	// prefix itself and the prefix followed by the largest rune.
	rows, err := db.conn(ctx).Query(ctx, `WITH RECURSIVE ws AS (SELECT seq FROM workspaces WHERE id = $1),
		p(term) AS (
			(SELECT term FROM conversation_terms WHERE workspace_seq = (SELECT seq FROM ws) AND term >= $2 AND term < $3
				ORDER BY term LIMIT 1)
			UNION ALL
			SELECT (SELECT t.term FROM conversation_terms t WHERE t.workspace_seq = (SELECT seq FROM ws)
				AND t.term > p.term AND t.term < $3 ORDER BY t.term LIMIT 1)
			FROM p WHERE p.term IS NOT NULL)
		SELECT term FROM p WHERE term IS NOT NULL LIMIT $4`,
		workspaceID, prefix, prefix+string(utf8.MaxRune), limit+1)
	if err != nil {
		return nil, true, fmt.Errorf("count conversations: %w", err)
	}
	terms, err = pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, true, fmt.Errorf("count conversations: %w", err)
	}
	return terms, true, nil
}

// rowQuerier runs a query for one row: a pool or a connection.
type rowQuerier interface {
	QueryRow(context.Context, string, ...any) pgx.Row
}

// checkBytewise is sortsBytewise; tests replace it.
var checkBytewise = sortsBytewise

// sortsBytewise reports whether the database's default collation, that
// of conversation_terms.term, orders text as its UTF-8 bytes do: it is
// named C, POSIX or C.UTF-8 and orders a few telling pairs that way (a
// language's collation, libc's en_US.UTF-8 or ICU's, puts "a" before "B"
// and "é" before "z").
func sortsBytewise(ctx context.Context, q rowQuerier) (bool, error) {
	var coll string
	var orders bool
	err := q.QueryRow(ctx, `SELECT datcollate, 'B' < 'a' AND 'Z' < '_' AND 'z' < 'é' AND 'é' < '中'
		FROM pg_database WHERE datname = current_database()`).Scan(&coll, &orders)
	if err != nil {
		return false, fmt.Errorf("read the database's collation: %w", err)
	}
	switch strings.ToLower(strings.ReplaceAll(coll, "-", "")) {
	case "c", "posix", "c.utf8":
		return orders, nil
	}
	return false, nil
}

// countTermUnion counts, by type and up to f.CountLimit, the conversations
// that hold any of terms and whose entries' key f selects (f has no
// filter off the key; sources is sourcesSQL's array in a0's arguments).
// Each term's entries are read up to the bound, in Go, so a term that
// alone passes it ends the count (a DISTINCT over the terms in SQL read
// every entry of every term first).
func (db *DB) countTermUnion(ctx context.Context, workspaceID string, terms []string, sources string, a0 args, f conversation.Filter) (conversation.Counts, bool, error) {
	counts := conversation.NewCounts()
	seen := map[int64]bool{}
	for _, r := range store.TermRanges(f) {
		for _, term := range terms {
			a := slices.Clone(a0)
			q := termRangeSQL(&a, "t.conversation_seq, t.kind", term, sources, f, r)
			if f.CountLimit > 0 {
				q += ` LIMIT ` + a.add(int64(f.CountLimit)+1)
			}
			rows, err := db.conn(ctx).Query(ctx, q, a...)
			if err != nil {
				return counts, true, fmt.Errorf("count conversations: %w", err)
			}
			var seq int64
			var kind int
			_, err = pgx.ForEachRow(rows, []any{&seq, &kind}, func() error {
				if !seen[seq] {
					seen[seq] = true
					counts.Add(store.TermKindType(kind), 1)
				}
				return nil
			})
			if err != nil {
				return counts, true, fmt.Errorf("count conversations: %w", err)
			}
			if counts.Bound(f.CountLimit) {
				return counts.Only(f.Types), true, nil
			}
		}
	}
	return counts.Only(f.Types), true, nil
}
