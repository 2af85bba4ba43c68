package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/parley-dev/parley/internal/conversation"
	"github.com/parley-dev/parley/internal/store"
)

// conversation_terms (migration 0018) holds each term a conversation's
// messages and customer fields contain once, keyed by workspace, term,
// kind (type and status, store.TermKind) and conversation, so that a
// count of the conversations with a word reads one index entry per
// counted conversation; the full-text index has one per message, and a
// common word is in most of a conversation's messages. Every write that
// changes a conversation's text keeps it.

func init() {
	// The terms of a text as a JSON array, for json_each: the writes pass
	// the terms they computed, and migration 0018 computes them in SQL.
	registerTextFunc("parley_search_terms", func(text string) string {
		return termsJSON(conversation.DistinctSearchTerms(text))
	})
}

// termsJSON renders terms as a JSON array.
func termsJSON(terms []string) string {
	b, _ := json.Marshal(terms) // strings always marshal
	return string(b)
}

// sourceSQL is the key of a conversation's source (see migration 0020):
// arguments workspace id, assistant id and sender phone (” for none).
const sourceSQL = `(SELECT seq FROM conversation_sources WHERE workspace_id = ? AND assistant_id = ? AND sender_phone = ?)`

const (
	addTermsSQL = `INSERT OR IGNORE INTO conversation_terms (workspace_seq, term, source_seq, kind, day, conversation_seq)
		SELECT ?, value, ` + sourceSQL + `, ?, ?, ? FROM json_each(?)`
	workspaceSeqSQL = `SELECT seq FROM workspaces WHERE id = ?`
)

// workspaceSeq returns the integer key of a workspace (its seq), which
// never changes, so it is remembered.
func (db *DB) workspaceSeq(ctx context.Context, q querier, workspaceID string) (int64, error) {
	if v, ok := db.wsSeqs.Load(workspaceID); ok {
		return v.(int64), nil
	}
	var seq sql.NullInt64
	if err := q.QueryRowContext(ctx, workspaceSeqSQL, workspaceID).Scan(&seq); err != nil {
		return 0, db.notFound(err, "workspace")
	}
	if !seq.Valid {
		return 0, fmt.Errorf("workspace %s has no seq", workspaceID)
	}
	db.wsSeqs.Store(workspaceID, seq.Int64)
	return seq.Int64, nil
}

// addSource records the source of a new conversation c (its assistant and
// sender), if its workspace has no conversation from it yet.
func addSource(ctx context.Context, tx *sql.Tx, c *conversation.Conversation) error {
	if _, err := tx.ExecContext(ctx, `INSERT INTO conversation_sources (workspace_id, assistant_id, sender_phone)
		VALUES (?, ?, ?) ON CONFLICT DO NOTHING`, c.WorkspaceID, c.AssistantID, c.SenderPhone); err != nil {
		return fmt.Errorf("record conversation source: %w", err)
	}
	return nil
}

// termKeyArgs returns the arguments of the conversation_terms key of
// conversation c but the term, as termsOfKeySQL and addTermsSQL take them.
func (db *DB) termKeyArgs(ctx context.Context, q querier, c *conversation.Conversation) ([]any, error) {
	ws, err := db.workspaceSeq(ctx, q, c.WorkspaceID)
	if err != nil {
		return nil, err
	}
	return []any{ws, c.WorkspaceID, c.AssistantID, c.SenderPhone, store.TermKind(c.Type, c.Status),
		conversation.DayOf(c.CreatedAt), c.Seq}, nil
}

// addTerms records that conversation c holds terms.
func (db *DB) addTerms(ctx context.Context, tx *sql.Tx, c *conversation.Conversation, terms []string) error {
	if len(terms) == 0 || db.termsDeferred(ctx, c) {
		return nil
	}
	args, err := db.termKeyArgs(ctx, tx, c)
	if err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, addTermsSQL, append(args, termsJSON(terms))...); err != nil {
		return fmt.Errorf("index conversation terms: %w", err)
	}
	return nil
}

// termsOfKeySQL selects the entries of one conversation (termKeyArgs, then
// the terms as a JSON array).
const termsOfKeySQL = `workspace_seq = ? AND source_seq = ` + sourceSQL + ` AND kind = ? AND day = ? AND conversation_seq = ?
	AND term IN (SELECT value FROM json_each(?))`

// dropTerms forgets that conversation c holds terms.
func (db *DB) dropTerms(ctx context.Context, tx *sql.Tx, c *conversation.Conversation, terms []string) error {
	if len(terms) == 0 {
		return nil
	}
	args, err := db.termKeyArgs(ctx, tx, c)
	if err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM conversation_terms WHERE `+termsOfKeySQL,
		append(args, termsJSON(terms))...); err != nil {
		return fmt.Errorf("unindex conversation terms: %w", err)
	}
	return nil
}

// reindexCustomerTerms updates the terms of c after its customer fields
// changed from those of before: terms only the old fields had are
// dropped unless a message still holds them.
func (db *DB) reindexCustomerTerms(ctx context.Context, tx *sql.Tx, c, before *conversation.Conversation) error {
	now := conversation.DistinctSearchTerms(conversation.CustomerText(c))
	// Whether a message still holds a term is asked of the index, which
	// must hold this transaction's messages too.
	if err := flushSearch(ctx, tx); err != nil {
		return err
	}
	var gone []string
	for _, t := range conversation.DistinctSearchTerms(conversation.CustomerText(before)) {
		if _, found := slices.BinarySearch(now, t); found {
			continue
		}
		var n int
		err := tx.QueryRowContext(ctx, `SELECT count(*) FROM (SELECT 1 FROM search WHERE search MATCH ? AND rowid BETWEEN ? AND ? LIMIT 1)`,
			`"`+t+`"`, searchRowid(c.Seq, 1), searchRowid(c.Seq, maxMessagesPerConversation)).Scan(&n)
		if err != nil {
			return fmt.Errorf("unindex customer terms: %w", err)
		}
		if n == 0 {
			gone = append(gone, t)
		}
	}
	if err := db.dropTerms(ctx, tx, c, gone); err != nil {
		return err
	}
	return db.addTerms(ctx, tx, c, now)
}

// moveTermsStatus moves the terms of conversation c to its status now
// from its status before (whose customer fields may differ).
func (db *DB) moveTermsStatus(ctx context.Context, tx *sql.Tx, c, before *conversation.Conversation) error {
	texts, err := messageTexts(ctx, tx, c.Seq)
	if err != nil {
		return fmt.Errorf("move conversation terms: %w", err)
	}
	was, err := db.termKeyArgs(ctx, tx, before)
	if err != nil {
		return err
	}
	terms := conversation.DistinctSearchTerms(append(texts, conversation.CustomerText(c), conversation.CustomerText(before))...)
	args := append(append([]any{store.TermKind(c.Type, c.Status)}, was...), termsJSON(terms))
	if _, err := tx.ExecContext(ctx, `UPDATE conversation_terms SET kind = ? WHERE `+termsOfKeySQL, args...); err != nil {
		return fmt.Errorf("move conversation terms: %w", err)
	}
	return nil
}

// dropConversationTerms forgets every term of conversation c, whose
// messages are about to be deleted: they and its customer fields say
// which.
func (db *DB) dropConversationTerms(ctx context.Context, tx *sql.Tx, c *conversation.Conversation) error {
	texts, err := messageTexts(ctx, tx, c.Seq)
	if err != nil {
		return fmt.Errorf("unindex conversation terms: %w", err)
	}
	return db.dropTerms(ctx, tx, c, conversation.DistinctSearchTerms(append(texts, conversation.CustomerText(c))...))
}

// messageTexts returns the contents of a conversation's messages.
func messageTexts(ctx context.Context, tx *sql.Tx, convSeq int64) ([]string, error) {
	lo, hi := conversation.MessageSeq(convSeq, 0), conversation.MessageSeq(convSeq, maxMessagesPerConversation)
	rows, err := tx.QueryContext(ctx, `SELECT content FROM messages WHERE seq BETWEEN ? AND ?`, lo, hi)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var texts []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			return nil, err
		}
		texts = append(texts, s)
	}
	return texts, rows.Err()
}

// countTerms counts the conversations that match f when its query is one
// whole term (conversation.SingleTerm) or a prefix of a few terms
// (conversation.SinglePrefix), from conversation_terms, up to
// f.CountLimit as countSearch does; ok is false when the full-text path
// must answer. Types, status, assistant, sender and created range are
// parts of the entries' key, so with no other filter the count reads
// index ranges only (and the rows of a range's partial first and last
// days). With other filters (a phone, an external id) it races, as search
// does, the walk of the term's entries (each checked against the filter
// through its conversation row) against the walk of the filter's
// conversations (each checked for the term by one index probe).
func (db *DB) countTerms(ctx context.Context, workspaceID string, f conversation.Filter) (conversation.Counts, bool, error) {
	counts := conversation.NewCounts()
	term, ok := keptTerm(f.Query)
	prefix, isPrefix := conversation.SinglePrefix(f.Query)
	if !ok && (!isPrefix || marked(prefix)) {
		return counts, false, nil
	}
	tx, done, err := db.readTx(ctx)
	if err != nil {
		return counts, true, err
	}
	defer done()
	ws, err := db.workspaceSeq(ctx, tx, workspaceID)
	if err != nil {
		return counts, true, err
	}
	sel := termSelect{ws: ws, kinds: store.TermKinds(f)}
	rest := f
	rest.Types, rest.Status, rest.Query, rest.CreatedFrom, rest.CreatedTo = nil, "", "", nil, nil
	rest.AssistantID, rest.WhatsAppSenderPhone = "", ""
	if sel.sources, err = termSources(ctx, tx, workspaceID, f); err != nil {
		return counts, true, err
	}
	if len(sel.sources) == 0 {
		return counts.Only(f.Types), true, nil
	}
	if isPrefix {
		// A prefix stands for the terms of the workspace it starts: one
		// is counted as that term; a few, with no filter off the key, as
		// their union; more, or other filters, keep the full-text path.
		terms, err := termsWithPrefix(ctx, tx, ws, prefix, maxPrefixTerms)
		switch {
		case err != nil:
			return counts, true, err
		case len(terms) == 0:
			return counts.Only(f.Types), true, nil
		case slices.ContainsFunc(terms, marked):
			return counts, false, nil
		case len(terms) == 1:
			term = terms[0]
		case len(terms) <= maxPrefixTerms && rest.IsZero():
			sel.terms = terms
			return sel.count(ctx, tx, f)
		default:
			return counts, false, nil
		}
	}
	if rest.IsZero() {
		sel.terms = []string{term}
		return sel.count(ctx, tx, f)
	}
	hits := &termHitWalk{tx: tx, ws: ws, term: term, limit: f.CountLimit, counts: conversation.NewCounts(), batch: searchBatch}
	all := f
	all.Query = ""
	hits.where, hits.args = filterSQLPrefixed(workspaceID, all, "+c.")
	filtered := &termFilterWalk{tx: tx, ws: ws, term: term, limit: f.CountLimit,
		counts: conversation.NewCounts(), batch: filterBatch}
	filtered.where, filtered.args = filterSQL(workspaceID, f)
	if selective(f) {
		// A phone or an external id: when it selects at most
		// selectiveWalk conversations (read off its index), they are all
		// probed in one batch, with no race against the term's entries
		// (which, for a common word, would take as long again).
		n, err := countUpTo(ctx, tx, filtered.where, filtered.args, selectiveWalk)
		if err != nil {
			return counts, true, err
		}
		if n <= selectiveWalk {
			filtered.batch = n + 1
			if _, err := filtered.step(ctx); err != nil {
				return counts, true, err
			}
			return filtered.counts.Only(f.Types), true, nil
		}
	}
	walks := walksFor(f, hits, filtered)
	won, err := race(ctx, walks...)
	if err != nil {
		return counts, true, err
	}
	if walks[won] == searchWalk(hits) {
		return hits.counts.Only(f.Types), true, nil
	}
	return filtered.counts.Only(f.Types), true, nil
}

// selectiveWalk is how many conversations a phone or external id may
// select for a count with a word to probe them all at once.
const selectiveWalk = 20000

// countUpTo counts the conversations (alias c) where selects, up to
// limit+1.
func countUpTo(ctx context.Context, tx querier, where string, args []any, limit int) (int, error) {
	var n int
	err := tx.QueryRowContext(ctx, `SELECT count(*) FROM (SELECT 1 FROM conversations c WHERE `+where+` LIMIT ?)`,
		append(slices.Clone(args), limit+1)...).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("count conversations: %w", err)
	}
	return n, nil
}

// termSources returns the keys of the conversation sources (see
// migration 0020) a count with filter f reads: those of its assistant and
// sender, or all of the workspace's.
func termSources(ctx context.Context, tx querier, workspaceID string, f conversation.Filter) ([]int64, error) {
	q, args := `SELECT seq FROM conversation_sources WHERE workspace_id = ?`, []any{workspaceID}
	if f.AssistantID != "" {
		q, args = q+` AND assistant_id = ?`, append(args, f.AssistantID)
	}
	if f.WhatsAppSenderPhone != "" {
		q, args = q+` AND sender_phone = ?`, append(args, f.WhatsAppSenderPhone)
	}
	rows, err := tx.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("count conversations: %w", err)
	}
	return scanSeqs(rows)
}

// maxPrefixTerms is how many terms a prefix may start and still be
// counted from conversation_terms.
const maxPrefixTerms = 16

// termsWithPrefix returns the terms of workspace ws that start with
// prefix, in order, one index seek each, or limit+1 of them when there are
// more than limit.
func termsWithPrefix(ctx context.Context, tx querier, ws int64, prefix string, limit int) ([]string, error) {
	// Every term that starts with prefix sorts (bytewise) between the
	// prefix itself and the prefix followed by the largest rune.
	upper := prefix + string(utf8.MaxRune)
	var terms []string
	for after, cmp := prefix, ">="; len(terms) <= limit; cmp = ">" {
		var t string
		err := tx.QueryRowContext(ctx, `SELECT term FROM conversation_terms WHERE workspace_seq = ? AND term `+cmp+` ?
			AND term < ? ORDER BY term LIMIT 1`, ws, after, upper).Scan(&t)
		if errors.Is(err, sql.ErrNoRows) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("count conversations: %w", err)
		}
		terms, after = append(terms, t), t
	}
	return terms, nil
}

// termSelect is the conversation_terms entries a count with no filter
// off their key reads: workspace ws, any of terms, sources and kinds.
type termSelect struct {
	ws      int64
	terms   []string
	sources []int64
	kinds   []int
}

// pairs is the (source, kind) pairs of sel as a JSON array, for
// json_each to drive conversation_terms' index with.
func (sel termSelect) pairs() string {
	pairs := make([][2]int64, 0, len(sel.sources)*len(sel.kinds))
	for _, a := range sel.sources {
		for _, k := range sel.kinds {
			pairs = append(pairs, [2]int64{a, int64(k)})
		}
	}
	out, _ := json.Marshal(pairs)
	return string(out)
}

// count counts the conversations whose entries sel selects in f's
// created range, by type, up to f.CountLimit: one bounded statement per
// part of the range (store.TermRanges), each reading index entries only
// (those of a partial day are checked on their conversation's row). Each
// (term, source, kind) is one seek on the whole key (the CROSS JOINs
// fix that order; left to itself SQLite seeks on the source and scans
// every kind and day). One term has one entry per conversation; several
// terms' are made distinct inside SQLite.
func (sel termSelect) count(ctx context.Context, tx querier, f conversation.Filter) (conversation.Counts, bool, error) {
	counts := conversation.NewCounts()
	inner := `SELECT t.kind AS kind FROM json_each(?) p CROSS JOIN conversation_terms t
		WHERE t.workspace_seq = ? AND t.term = ?`
	var termArg any = sel.terms[0]
	if len(sel.terms) > 1 {
		inner = `SELECT DISTINCT t.conversation_seq, t.kind AS kind FROM json_each(?) p CROSS JOIN json_each(?) w
			CROSS JOIN conversation_terms t WHERE t.workspace_seq = ? AND t.term = w.value`
		termArg = termsJSON(sel.terms)
	}
	inner += ` AND t.source_seq = p.value ->> 0 AND t.kind = p.value ->> 1`
	for _, r := range store.TermRanges(f) {
		q := inner
		args := []any{sel.pairs(), sel.ws, termArg}
		if len(sel.terms) > 1 {
			args = []any{sel.pairs(), termArg, sel.ws}
		}
		if r.DayFrom != nil {
			q += ` AND t.day >= ?`
			args = append(args, *r.DayFrom)
		}
		if r.DayTo != nil {
			q += ` AND t.day < ?`
			args = append(args, *r.DayTo)
		}
		if r.Exact {
			q += ` AND EXISTS (SELECT 1 FROM conversations c WHERE c.seq = t.conversation_seq
				AND c.created_at >= ? AND c.created_at < ?)`
			args = append(args, ms(r.CreatedFrom), ms(r.CreatedTo))
		}
		args = append(args, remaining(counts, f.CountLimit))
		if err := addKindCounts(ctx, tx, &counts, `SELECT kind, count(*) FROM (`+q+` LIMIT ?) GROUP BY kind`, args); err != nil {
			return counts, true, err
		}
		if counts.Bound(f.CountLimit) {
			break
		}
	}
	return counts.Only(f.Types), true, nil
}

// addKindCounts adds to counts the (kind, count) rows of query q.
func addKindCounts(ctx context.Context, tx querier, counts *conversation.Counts, q string, args []any) error {
	rows, err := tx.QueryContext(ctx, q, args...)
	if err != nil {
		return fmt.Errorf("count conversations: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var k int
		var n int64
		if err := rows.Scan(&k, &n); err != nil {
			return err
		}
		counts.Add(store.TermKindType(k), n)
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("count conversations: %w", err)
	}
	return nil
}

// remaining is how many more matches a count bounded by limit reads: up to
// one past the bound, which marks the total a lower bound (-1: no bound,
// as SQLite's LIMIT takes it).
func remaining(c conversation.Counts, limit int) int64 {
	if limit <= 0 {
		return -1
	}
	return int64(limit) + 1 - c.Total
}

// termHitWalk walks a term's conversation_terms entries in key order, a
// batch at a time, counting those whose conversation passes the filter
// (where, on alias c, kept off the filter's indexes so each is one lookup
// by seq).
type termHitWalk struct {
	tx     querier
	ws     int64
	term   string
	where  string
	args   []any
	limit  int
	counts conversation.Counts
	after  *[4]int64 // source_seq, kind, day, conversation_seq of the last entry read
	batch  int
}

func (w *termHitWalk) step(ctx context.Context) (bool, error) {
	args := append([]any{}, w.args...)
	args = append(args, w.ws, w.term)
	q := `WITH b AS MATERIALIZED (
		SELECT t.source_seq AS a, t.kind AS k, t.day AS d, t.conversation_seq AS s,
			EXISTS (SELECT 1 FROM conversations c WHERE c.seq = t.conversation_seq AND ` + w.where + `) AS m
		FROM conversation_terms t
		WHERE t.workspace_seq = ? AND t.term = ?`
	if w.after != nil {
		q += ` AND (t.source_seq, t.kind, t.day, t.conversation_seq) > (?, ?, ?, ?)`
		args = append(args, w.after[0], w.after[1], w.after[2], w.after[3])
	}
	q += ` ORDER BY t.source_seq, t.kind, t.day, t.conversation_seq LIMIT ?)
		SELECT (SELECT count(*) FROM b), (SELECT a FROM b ORDER BY a DESC, k DESC, d DESC, s DESC LIMIT 1),
			(SELECT k FROM b ORDER BY a DESC, k DESC, d DESC, s DESC LIMIT 1),
			(SELECT d FROM b ORDER BY a DESC, k DESC, d DESC, s DESC LIMIT 1),
			(SELECT s FROM b ORDER BY a DESC, k DESC, d DESC, s DESC LIMIT 1)`
	args = append(args, w.batch)
	for i := range conversation.Types {
		q += `, (SELECT count(*) FROM b WHERE m AND k / 2 = ?)`
		args = append(args, i)
	}
	var n int
	var last [4]sql.NullInt64
	byType := make([]int64, len(conversation.Types))
	dest := []any{&n, &last[0], &last[1], &last[2], &last[3]}
	for i := range byType {
		dest = append(dest, &byType[i])
	}
	if err := w.tx.QueryRowContext(ctx, q, args...).Scan(dest...); err != nil {
		return false, fmt.Errorf("count conversations: %w", err)
	}
	for i, typ := range conversation.Types {
		w.counts.Add(typ, byType[i])
	}
	if w.counts.Bound(w.limit) || n < w.batch {
		return true, nil
	}
	w.after = &[4]int64{last[0].Int64, last[1].Int64, last[2].Int64, last[3].Int64}
	w.batch = min(w.batch*2, searchBatch*batchGrowth)
	return false, nil
}

// termFilterWalk walks the conversations a filter selects (where, with
// the types), newest first, a batch at a time, counting those that hold
// the term: one probe of conversation_terms each.
type termFilterWalk struct {
	tx     querier
	ws     int64
	term   string
	where  string
	args   []any
	limit  int
	counts conversation.Counts
	after  *[2]int64 // created_at, seq of the last conversation read
	batch  int
}

func (w *termFilterWalk) step(ctx context.Context) (bool, error) {
	// One statement a batch: the batch's rows are read and probed inside
	// SQLite, and only their sums and the last row's key come out.
	args := append([]any{w.ws, w.term}, w.args...)
	q := `WITH b AS MATERIALIZED (
		SELECT c.created_at AS at, c.seq AS seq, c.type AS type, ` + holdsTermSQL + ` AS hit
		FROM conversations c WHERE ` + w.where
	if w.after != nil {
		q += ` AND (c.created_at, c.seq) < (?, ?)`
		args = append(args, w.after[0], w.after[1])
	}
	q += ` ORDER BY c.created_at DESC, c.seq DESC LIMIT ?)
		SELECT (SELECT count(*) FROM b), (SELECT at FROM b ORDER BY at, seq LIMIT 1),
			(SELECT seq FROM b ORDER BY at, seq LIMIT 1)`
	for range conversation.Types {
		q += `, (SELECT count(*) FROM b WHERE hit AND type = ?)`
	}
	args = append(args, w.batch)
	for _, typ := range conversation.Types {
		args = append(args, typ)
	}
	var n int
	var at, seq sql.NullInt64
	byType := make([]int64, len(conversation.Types))
	dest := []any{&n, &at, &seq}
	for i := range byType {
		dest = append(dest, &byType[i])
	}
	if err := w.tx.QueryRowContext(ctx, q, args...).Scan(dest...); err != nil {
		return false, fmt.Errorf("count conversations: %w", err)
	}
	for i, typ := range conversation.Types {
		w.counts.Add(typ, byType[i])
	}
	if w.counts.Bound(w.limit) {
		return true, nil
	}
	if n < w.batch {
		return true, nil
	}
	w.after = &[2]int64{at.Int64, seq.Int64}
	w.batch = min(w.batch*2, filterBatch*filterGrowth)
	return false, nil
}

// filterGrowth is how many times its first batch the filter walk of a
// count grows to: its batches stay inside SQLite, so they can be large.
const filterGrowth = 64

// holdsTermSQL is whether the conversation of alias c holds the term
// (arguments: the workspace's key and the term): one seek on
// conversation_terms' whole key.
var holdsTermSQL = `EXISTS (SELECT 1 FROM conversation_terms t
	WHERE t.workspace_seq = ? AND t.term = ?
		AND t.source_seq = (SELECT s.seq FROM conversation_sources s WHERE s.workspace_id = c.workspace_id
			AND s.assistant_id = c.assistant_id AND s.sender_phone = coalesce(c.sender_phone, ''))
		AND t.kind = ` + store.TermKindSQL("c.type", "c.status") + ` AND t.day = ` + daySQL("c.created_at") + `
		AND t.conversation_seq = c.seq)`

// keptTerm returns the term of a query that conversation_terms answers
// for as the full-text index would: one whole term (conversation.SingleTerm)
// that holds no combining mark (the index, whose words are letters and
// digits, splits a word there, as in हिन्दी or مَرْحَبًا, and finds it by
// its fragments).
func keptTerm(query string) (string, bool) {
	t, ok := conversation.SingleTerm(query)
	return t, ok && !marked(t)
}

// marked reports whether term t holds a combining mark (see keptTerm).
func marked(t string) bool { return strings.ContainsFunc(t, unicode.IsMark) }

// splittable reports whether the full-text index may hold term t as a
// piece of a longer word it split at a combining mark: t has letters of a
// script that writes signs as marks (Devanagari, Arabic, Hebrew, Thai…),
// not only Latin, Greek, Cyrillic or CJK ones, whose marks the search
// normalisation composes or which have none.
func splittable(t string) bool {
	return strings.ContainsFunc(t, func(r rune) bool {
		return unicode.IsLetter(r) && !unicode.In(r, unicode.Latin, unicode.Greek, unicode.Cyrillic, unicode.Han,
			unicode.Hiragana, unicode.Katakana, unicode.Hangul)
	})
}

// withTerm returns the conversations of seqs (in their order) that hold
// term, one conversation_terms seek each: the filter walk's probe for a
// one-term query, cheaper than a seek into every full-text segment.
func withTerm(ctx context.Context, q querier, ws int64, term string, seqs []int64) ([]int64, error) {
	if len(seqs) == 0 {
		return nil, nil
	}
	in, args := inList([]any{ws, term}, seqs)
	rows, err := q.QueryContext(ctx, `SELECT c.seq FROM conversations c WHERE `+holdsTermSQL+` AND c.seq IN `+in, args...)
	if err != nil {
		return nil, fmt.Errorf("search: %w", err)
	}
	defer rows.Close()
	hit := map[int64]bool{}
	for rows.Next() {
		var seq int64
		if err := rows.Scan(&seq); err != nil {
			return nil, fmt.Errorf("search: %w", err)
		}
		hit[seq] = true
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("search: %w", err)
	}
	out := seqs[:0:0]
	for _, s := range seqs {
		if hit[s] {
			out = append(out, s)
		}
	}
	return out, nil
}

// daySQL is the SQL of the UTC day (conversation.DayOf) of the epoch
// milliseconds in column col.
func daySQL(col string) string {
	return `(CASE WHEN ` + col + ` >= 0 THEN ` + col + ` / 86400000 ELSE (` + col + ` - 86399999) / 86400000 END)`
}
