package sqlite

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"fmt"
	"slices"
	"strings"
	"time"

	"modernc.org/sqlite"

	"github.com/parley-dev/parley/internal/conversation"
	"github.com/parley-dev/parley/internal/page"
	"github.com/parley-dev/parley/internal/store"
)

// maxConvSeq is the largest conversation seq the search index can hold;
// with 24 bits for messages the rowid stays below 2^63.
const maxConvSeq = 1<<39 - 1

// searchRowid is the full-text rowid of a conversation's n-th message (n =
// 0: its customer fields). Conversation numbers are inverted so that the
// newest conversation has the smallest rowids.
func searchRowid(convSeq, n int64) int64 {
	return (maxConvSeq-convSeq)<<conversation.MessageSeqBits | n
}

// searchConv returns the conversation seq of a full-text rowid.
func searchConv(rowid int64) int64 { return maxConvSeq - rowid>>conversation.MessageSeqBits }

// ftsQuery turns what a person typed into a safe FTS5 query: every word
// must appear, each as a quoted phrase of its index terms (several for a
// CJK word, which must stand side by side). A last word asked for as a
// prefix ("parc*") matches as one; prefixes are opt-in because they cost
// time in proportion to all their matches. Terms hold only letters,
// digits and marks, so no FTS5 syntax gets through. It reports false when
// there are no words.
func ftsQuery(text string) (string, bool) {
	words := conversation.SearchWords(text)
	if len(words) == 0 {
		return "", false
	}
	phrases := make([]string, len(words))
	for i, w := range words {
		phrases[i] = `"` + strings.Join(w.Terms, " ") + `"`
		if w.Prefix {
			phrases[i] += "*"
		}
	}
	return strings.Join(phrases, " "), true
}

func init() {
	// The index holds conversation.SearchText of each document, which
	// migrations that rebuild it need in SQL.
	registerTextFunc("parley_search_text", conversation.SearchText)
}

// registerTextFunc registers fn as a deterministic SQL function of one
// text argument (NULL is read as empty), for migrations that compute in
// SQL what the writes compute in Go.
func registerTextFunc(name string, fn func(string) string) {
	sqlite.MustRegisterDeterministicScalarFunction(name, 1,
		func(_ *sqlite.FunctionContext, args []driver.Value) (driver.Value, error) {
			switch v := args[0].(type) {
			case string:
				return fn(v), nil
			case []byte:
				return fn(string(v)), nil
			case nil:
				return fn(""), nil
			}
			return nil, fmt.Errorf("%s: want text, got %T", name, args[0])
		})
}

// searchBatch is how many index hits the word's walk reads in its first
// batch, and filterBatch how many filtered conversations the filter's
// walk probes in its first; each walk doubles its batch after every step,
// up to batchGrowth times the first (variables, so tests can drive every
// plan on small data).
var (
	searchBatch = 512
	filterBatch = 32
)

const batchGrowth = 8

// Plans a search or count with a text query and other filters can be
// forced to, for tests: planRace (the default) races both walks.
const (
	planRace = iota
	planHits
	planFilter
)

var searchPlan = planRace

// walksFor returns the walks to race: the hit walk and, when the filter
// narrows the conversations, the filter walk, first when it is likely
// the cheaper.
func walksFor(f conversation.Filter, hits, filtered searchWalk) []searchWalk {
	switch {
	case !rowFiltered(f) || searchPlan == planHits:
		return []searchWalk{hits}
	case searchPlan == planFilter:
		return []searchWalk{filtered}
	case selective(f):
		return []searchWalk{filtered, hits}
	}
	return []searchWalk{hits, filtered}
}

// A searchWalk is one way to answer a search or a count with a text
// query, a batch at a time: step does one bounded batch of work and
// reports whether the walk has its whole answer.
type searchWalk interface {
	step(ctx context.Context) (done bool, err error)
}

// race steps the walks until one has its whole answer and returns its
// index. A search with a filter can be answered by walking the word's
// hits (cheap when the word is rare or the filter matches most
// conversations) or the filter's conversations, asking the index about
// them (cheap when the filter is small); which is cheaper depends on both
// sizes, so both run and the first to finish wins. Each next step goes
// to the walk that has spent the least time so far, the first walk with
// headStart in hand (it usually finishes alone): the cost is at most
// about twice the cheaper walk's, whatever the sizes and however
// differently their steps cost, and needs no estimate. Every walk returns
// the same answer.
func race(ctx context.Context, walks ...searchWalk) (int, error) {
	spent := make([]time.Duration, len(walks))
	for i := 1; i < len(spent); i++ {
		spent[i] = headStart
	}
	for {
		i := 0
		for j := range spent {
			if spent[j] < spent[i] {
				i = j
			}
		}
		t0 := time.Now()
		done, err := walks[i].step(ctx)
		if err != nil {
			return 0, err
		}
		if done {
			return i, nil
		}
		spent[i] += time.Since(t0)
	}
}

// headStart is how long the first walk of a race runs alone.
const headStart = 2 * time.Millisecond

// visitFunc handles a batch of candidate conversations, by seq in walk
// order, and reports whether the answer is complete (a page full, a count
// at its bound).
type visitFunc func(ctx context.Context, seqs []int64) (bool, error)

// hitWalk walks the full-text hits of a query in rowid order: newest
// conversation first when desc, each conversation's hits adjacent, so
// every conversation is visited once. It streams one statement across
// its steps: a new statement per batch would seek every index segment
// again.
type hitWalk struct {
	q        querier
	sql      string
	match    string
	bound    int64
	rows     *sql.Rows
	batch    int
	lastConv int64
	visit    visitFunc
}

func newHitWalk(q querier, match string, desc bool, after *page.Cursor, visit visitFunc) *hitWalk {
	// Newest first is ascending rowids.
	cmp, dir := ">", "ASC"
	bound := int64(-1)
	if !desc {
		cmp, dir = "<", "DESC"
		bound = 1<<63 - 1
	}
	if after != nil {
		if desc { // conversations older than the cursor: larger rowids
			bound = searchRowid(after.Seq, maxMessagesPerConversation)
		} else {
			bound = searchRowid(after.Seq, 0)
		}
	}
	return &hitWalk{q: q, match: match, bound: bound, batch: searchBatch, lastConv: -1, visit: visit,
		sql: `SELECT rowid FROM search WHERE search MATCH ? AND rowid ` + cmp + ` ? ORDER BY rowid ` + dir}
}

func (w *hitWalk) step(ctx context.Context) (bool, error) {
	if w.rows == nil {
		// The rows stay open across steps: step checks their Err after
		// every batch, and close closes them.
		rows, err := w.q.QueryContext(ctx, w.sql, w.match, w.bound) //nolint:rowserrcheck,sqlclosecheck // see above
		if err != nil {
			return false, fmt.Errorf("search: %w", err)
		}
		w.rows = rows
	}
	var candidates []int64
	n := 0
	for ; n < w.batch && w.rows.Next(); n++ {
		var rowid int64
		if err := w.rows.Scan(&rowid); err != nil {
			return false, fmt.Errorf("search: %w", err)
		}
		if cs := searchConv(rowid); cs != w.lastConv {
			candidates = append(candidates, cs)
			w.lastConv = cs
		}
	}
	if err := w.rows.Err(); err != nil {
		return false, fmt.Errorf("search: %w", err)
	}
	exhausted := n < w.batch
	w.batch = min(w.batch*2, searchBatch*batchGrowth)
	if len(candidates) > 0 {
		full, err := w.visit(ctx, candidates)
		if err != nil || full {
			return full, err
		}
	}
	return exhausted, nil
}

func (w *hitWalk) close() {
	if w.rows != nil {
		_ = w.rows.Close()
	}
}

// filterWalk walks the conversations a filter selects in list order
// (created_at, seq), through the filter's index, a batch at a time, and
// keeps those that match (probe).
type filterWalk struct {
	q          querier
	where      string
	args       []any
	probe      probeFunc
	cmp, dir   string
	after      *page.Cursor
	batch, top int
	visit      visitFunc
}

// probeFunc returns the conversations of seqs (in their order) that match
// the query.
type probeFunc func(ctx context.Context, q querier, seqs []int64) ([]int64, error)

// ftsProbe asks the full-text index (withHits).
func ftsProbe(match string) probeFunc {
	return func(ctx context.Context, q querier, seqs []int64) ([]int64, error) {
		return withHits(ctx, q, match, seqs)
	}
}

// termProbe asks conversation_terms about one kept term (withTerm).
func termProbe(ws int64, term string) probeFunc {
	return func(ctx context.Context, q querier, seqs []int64) ([]int64, error) {
		return withTerm(ctx, q, ws, term, seqs)
	}
}

func newFilterWalk(q querier, workspaceID string, f conversation.Filter, probe probeFunc, desc bool, after *page.Cursor, visit visitFunc) *filterWalk {
	where, args := filterSQL(workspaceID, f)
	w := &filterWalk{q: q, where: where, args: args, probe: probe, cmp: ">", dir: "ASC", after: after,
		batch: filterBatch, top: filterBatch * batchGrowth, visit: visit}
	if desc {
		w.cmp, w.dir = "<", "DESC"
	}
	return w
}

func (w *filterWalk) step(ctx context.Context) (bool, error) {
	q, args := `SELECT c.seq, c.created_at FROM conversations c WHERE `+w.where, slices.Clone(w.args)
	if w.after != nil {
		q += ` AND (c.created_at, c.seq) ` + w.cmp + ` (?, ?)`
		args = append(args, w.after.Value, w.after.Seq)
	}
	q += ` ORDER BY c.created_at ` + w.dir + `, c.seq ` + w.dir + ` LIMIT ?`
	args = append(args, w.batch)
	seqs, last, err := readSeqs(ctx, w.q, q, args)
	if err != nil {
		return false, err
	}
	exhausted := len(seqs) < w.batch
	w.after = &last
	w.batch = min(w.batch*2, w.top)
	matched, err := w.probe(ctx, w.q, seqs)
	if err != nil {
		return false, err
	}
	if len(matched) > 0 {
		full, err := w.visit(ctx, matched)
		if err != nil || full {
			return full, err
		}
	}
	return exhausted, nil
}

// readSeqs reads the (seq, created_at) rows of q: the seqs, and the last
// row as a list cursor.
func readSeqs(ctx context.Context, qr querier, q string, args []any) ([]int64, page.Cursor, error) {
	var seqs []int64
	var last page.Cursor
	rows, err := qr.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, last, fmt.Errorf("search: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		if err := rows.Scan(&last.Seq, &last.Value); err != nil {
			return nil, last, fmt.Errorf("search: %w", err)
		}
		seqs = append(seqs, last.Seq)
	}
	if err := rows.Err(); err != nil {
		return nil, last, fmt.Errorf("search: %w", err)
	}
	return seqs, last, nil
}

// clusterGap is how far apart (in conversation numbers) two filtered
// conversations may be and still be read from the index in one range:
// reading the hits of the few conversations between them costs less
// than another seek into every index segment.
const clusterGap = 32

// withHits returns the conversations of seqs (in their order) that have a
// full-text hit. Conversations close together are asked about in one
// rowid range of the index, isolated ones one by one.
func withHits(ctx context.Context, q querier, match string, seqs []int64) ([]int64, error) {
	if len(seqs) == 0 {
		return nil, nil
	}
	sorted := slices.Clone(seqs)
	slices.Sort(sorted)
	hit := map[int64]bool{}
	for i := 0; i < len(sorted); {
		j := i + 1
		for j < len(sorted) && sorted[j]-sorted[j-1] <= clusterGap {
			j++
		}
		// Rowids invert conversation numbers: the newest is the lowest.
		lo, hi := searchRowid(sorted[j-1], 0), searchRowid(sorted[i], maxMessagesPerConversation)
		if err := hitsInRange(ctx, q, match, lo, hi, hit); err != nil {
			return nil, err
		}
		i = j
	}
	out := seqs[:0:0]
	for _, s := range seqs {
		if hit[s] {
			out = append(out, s)
		}
	}
	return out, nil
}

// hitsInRange marks the conversations with a hit between rowids lo and hi.
func hitsInRange(ctx context.Context, q querier, match string, lo, hi int64, hit map[int64]bool) error {
	rows, err := q.QueryContext(ctx, `SELECT rowid FROM search WHERE search MATCH ? AND rowid BETWEEN ? AND ?`, match, lo, hi)
	if err != nil {
		return fmt.Errorf("search: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var rowid int64
		if err := rows.Scan(&rowid); err != nil {
			return fmt.Errorf("search: %w", err)
		}
		hit[searchConv(rowid)] = true
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("search: %w", err)
	}
	return nil
}

// readTx returns where a raced search runs: the transaction of ctx, or a
// read transaction of its own on one reader connection, so both walks see
// one snapshot and a request holds one connection however many
// statements it has open. done ends it.
func (db *DB) readTx(ctx context.Context) (querier, func(), error) {
	if tx, ok, err := db.searchTx(ctx); ok {
		return tx, func() {}, err
	}
	tx, err := db.read.BeginTx(ctx, nil)
	if err != nil {
		return nil, nil, fmt.Errorf("search: %w", err)
	}
	return tx, func() { _ = tx.Rollback() }, nil
}

// rowFiltered reports whether f narrows the conversations by more than
// the text query, so that walking them is a plan.
func rowFiltered(f conversation.Filter) bool {
	return len(f.Types) > 0 || f.AssistantID != "" || f.Status != "" || f.CreatedFrom != nil || f.CreatedTo != nil ||
		selective(f)
}

// selective reports whether f has a filter that usually selects a few
// conversations (a customer's phone, an external id), so walking them is
// tried first.
func selective(f conversation.Filter) bool {
	return f.CustomerPhone != "" || f.ExternalIdentifier != ""
}

// inList renders "(?, ?, …)" for n values and appends them to args.
func inList(args []any, seqs []int64) (string, []any) {
	for _, s := range seqs {
		args = append(args, s)
	}
	return `(?` + strings.Repeat(`, ?`, len(seqs)-1) + `)`, args
}

// search lists conversations that match f.Query, in creation order. It
// walks the full-text index by rowid, whose high bits are the inverted
// conversation number, so it stops as soon as the page is full and never
// ranks or sorts all matches; with other filters it races that walk
// against walking the filter's conversations (see race).
func (db *DB) search(ctx context.Context, workspaceID string, f conversation.Filter, o conversation.Order, req page.Request) ([]*conversation.Conversation, error) {
	if o.Sort != conversation.SortCreatedAt {
		return nil, fmt.Errorf("search needs sort created_at, got %s", o.Sort)
	}
	match, ok := ftsQuery(f.Query)
	if !ok {
		return nil, nil
	}
	desc := o.Desc != req.Backward()
	convDir, listDir := "DESC", "DESC"
	if !desc {
		convDir, listDir = "ASC", "ASC"
	}
	limit := req.Limit + 1
	tx, done, err := db.readTx(ctx)
	if err != nil {
		return nil, err
	}
	defer done()
	term, ok := keptTerm(f.Query)
	if prefix, isPrefix := conversation.SinglePrefix(f.Query); isPrefix && !marked(prefix) {
		// A prefix that starts one term of the workspace is that term.
		ws, err := db.workspaceSeq(ctx, tx, workspaceID)
		if err != nil {
			return nil, err
		}
		terms, err := termsWithPrefix(ctx, tx, ws, prefix, 1)
		if err != nil {
			return nil, err
		}
		if ok = len(terms) == 1 && !marked(terms[0]); ok {
			term = terms[0]
		}
	}
	if ok {
		out, few, err := db.searchFew(ctx, tx, workspaceID, term, f, desc, req.Cursor, limit)
		if err != nil || few {
			return out, err
		}
	}
	where, fargs := filterSQLPrefixed(workspaceID, f, "+c.")
	// A kept term is probed in conversation_terms, one seek a
	// conversation; other queries in the full-text index.
	probe := ftsProbe(match)
	var wholeWords probeFunc
	if term, ok := keptTerm(f.Query); ok {
		ws, err := db.workspaceSeq(ctx, tx, workspaceID)
		if err != nil {
			return nil, err
		}
		probe = termProbe(ws, term)
		// The full-text index also matches a kept term where it is a
		// piece of a word split at a combining mark (न in हिन्दी): its
		// hits are checked against the whole words, as the counts read.
		if splittable(term) {
			wholeWords = probe
		}
	}
	var byHits, byFilter []*conversation.Conversation
	hits := newHitWalk(tx, match, desc, req.Cursor, func(ctx context.Context, seqs []int64) (bool, error) {
		if wholeWords != nil {
			var err error
			if seqs, err = wholeWords(ctx, tx, seqs); err != nil || len(seqs) == 0 {
				return false, err
			}
		}
		in, args := inList(slices.Clone(fargs), seqs)
		found, err := queryConversations(ctx, tx, `SELECT `+convCols+convFrom+`WHERE `+where+` AND c.seq IN `+in+
			` ORDER BY c.seq `+convDir, args...)
		byHits = append(byHits, found...)
		return len(byHits) >= limit, err
	})
	defer hits.close()
	filtered := newFilterWalk(tx, workspaceID, f, probe, desc, req.Cursor, func(ctx context.Context, seqs []int64) (bool, error) {
		in, args := inList(nil, seqs)
		found, err := queryConversations(ctx, tx, `SELECT `+convCols+convFrom+`WHERE c.seq IN `+in+
			` ORDER BY c.created_at `+listDir+`, c.seq `+listDir, args...)
		byFilter = append(byFilter, found...)
		return len(byFilter) >= limit, err
	})
	walks := walksFor(f, hits, filtered)
	won, err := race(ctx, walks...)
	if err != nil {
		return nil, err
	}
	if walks[won] == searchWalk(hits) {
		return truncate(byHits, limit), nil
	}
	return truncate(byFilter, limit), nil
}

// fewCandidates is how many conversations holding a kept term in a
// filter's key range a search fetches by key instead of walking.
var fewCandidates = 500

// searchFew answers a search for one kept term from the conversations
// that hold it in the filter's key range (its types, status, assistant,
// sender and the days of its created range: store.TermKinds,
// termSources), when there are at most fewCandidates: they are fetched
// by key, the filter and the cursor checked on their rows, and sorted. A
// small filter with a word it seldom holds thus reads a few index
// entries instead of racing two walks. few is false when there are more.
func (db *DB) searchFew(ctx context.Context, tx querier, workspaceID, term string, f conversation.Filter,
	desc bool, after *page.Cursor, limit int) (out []*conversation.Conversation, few bool, err error) {
	ws, err := db.workspaceSeq(ctx, tx, workspaceID)
	if err != nil {
		return nil, false, err
	}
	sel := termSelect{ws: ws, terms: []string{term}, kinds: store.TermKinds(f)}
	if sel.sources, err = termSources(ctx, tx, workspaceID, f); err != nil {
		return nil, false, err
	}
	q := `SELECT t.conversation_seq FROM json_each(?) p CROSS JOIN conversation_terms t
		WHERE t.workspace_seq = ? AND t.term = ? AND t.source_seq = p.value ->> 0 AND t.kind = p.value ->> 1`
	args := []any{sel.pairs(), ws, term}
	// Whole days: the rows' created_at decides the partial ones.
	days := store.TermDays(f)
	if days.DayFrom != nil {
		q, args = q+` AND t.day >= ?`, append(args, *days.DayFrom)
	}
	if days.DayTo != nil {
		q, args = q+` AND t.day < ?`, append(args, *days.DayTo)
	}
	rows, err := tx.QueryContext(ctx, q+` LIMIT ?`, append(args, fewCandidates+1)...)
	if err != nil {
		return nil, false, fmt.Errorf("search: %w", err)
	}
	seqs, err := scanSeqs(rows)
	if err != nil {
		return nil, false, fmt.Errorf("search: %w", err)
	}
	if len(seqs) > fewCandidates {
		return nil, false, nil
	}
	if len(seqs) == 0 {
		return nil, true, nil
	}
	where, fargs := filterSQLPrefixed(workspaceID, f, "+c.")
	in, fargs := inList(fargs, seqs)
	cmp, dir := ">", "ASC"
	if desc {
		cmp, dir = "<", "DESC"
	}
	sql := `SELECT ` + convCols + convFrom + `WHERE ` + where + ` AND c.seq IN ` + in
	if after != nil {
		sql += ` AND (c.created_at, c.seq) ` + cmp + ` (?, ?)`
		fargs = append(fargs, after.Value, after.Seq)
	}
	sql += ` ORDER BY c.created_at ` + dir + `, c.seq ` + dir + ` LIMIT ?`
	out, err = queryConversations(ctx, tx, sql, append(fargs, limit)...)
	return out, true, err
}

// scanSeqs reads and closes rows of one integer column.
func scanSeqs(rows *sql.Rows) ([]int64, error) {
	defer func() { _ = rows.Close() }()
	var seqs []int64
	for rows.Next() {
		var seq int64
		if err := rows.Scan(&seq); err != nil {
			return nil, err
		}
		seqs = append(seqs, seq)
	}
	return seqs, rows.Err()
}

func truncate(cs []*conversation.Conversation, n int) []*conversation.Conversation {
	if len(cs) > n {
		return cs[:n]
	}
	return cs
}

// countSearch counts the conversations that match f.Query and the other
// filters, up to f.CountLimit, racing the walk of the word's hits against
// the walk of the filter's conversations as search does.
func (db *DB) countSearch(ctx context.Context, workspaceID string, f conversation.Filter) (conversation.Counts, error) {
	match, ok := ftsQuery(f.Query)
	if !ok {
		return conversation.NewCounts(), nil
	}
	byHits, byFilter := conversation.NewCounts(), conversation.NewCounts()
	tx, done, err := db.readTx(ctx)
	if err != nil {
		return byHits, err
	}
	defer done()
	where, fargs := filterSQLPrefixed(workspaceID, f, "+c.")
	hits := newHitWalk(tx, match, true, nil, func(ctx context.Context, seqs []int64) (bool, error) {
		in, args := inList(slices.Clone(fargs), seqs)
		return countTypes(ctx, tx, &byHits, f.CountLimit, `SELECT c.type FROM conversations c WHERE `+where+` AND c.seq IN `+in, args)
	})
	defer hits.close()
	filtered := newFilterWalk(tx, workspaceID, f, ftsProbe(match), true, nil, func(ctx context.Context, seqs []int64) (bool, error) {
		in, args := inList(nil, seqs)
		return countTypes(ctx, tx, &byFilter, f.CountLimit, `SELECT c.type FROM conversations c WHERE c.seq IN `+in, args)
	})
	walks := walksFor(f, hits, filtered)
	won, err := race(ctx, walks...)
	if err != nil {
		return byHits, err
	}
	if walks[won] == searchWalk(hits) {
		return byHits.Only(f.Types), nil
	}
	return byFilter.Only(f.Types), nil
}

// countTypes adds the types q returns to counts, up to limit (see
// conversation.Counts.AddBounded), and reports whether it reached the
// bound.
func countTypes(ctx context.Context, qr querier, counts *conversation.Counts, limit int, q string, args []any) (bool, error) {
	rows, err := qr.QueryContext(ctx, q, args...)
	if err != nil {
		return false, fmt.Errorf("count conversations: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var t string
		if err := rows.Scan(&t); err != nil {
			return false, err
		}
		if !counts.AddBounded(t, limit) {
			return true, nil
		}
	}
	return false, rows.Err()
}
