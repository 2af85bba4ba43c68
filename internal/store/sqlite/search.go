package sqlite

import (
	"context"
	"database/sql/driver"
	"fmt"
	"strconv"
	"strings"

	"modernc.org/sqlite"

	"github.com/parley-dev/parley/internal/conversation"
	"github.com/parley-dev/parley/internal/page"
)

var seqBits = strconv.Itoa(conversation.MessageSeqBits)

// maxConvSeq is the largest conversation seq the search index can hold;
// with 24 bits for messages the rowid stays below 2^63.
const maxConvSeq = 1<<39 - 1

var maxSearchSeq = strconv.FormatInt(maxConvSeq, 10)

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
	sqlite.MustRegisterDeterministicScalarFunction("parley_search_text", 1,
		func(_ *sqlite.FunctionContext, args []driver.Value) (driver.Value, error) {
			switch v := args[0].(type) {
			case string:
				return conversation.SearchText(v), nil
			case []byte:
				return conversation.SearchText(string(v)), nil
			case nil:
				return "", nil
			}
			return nil, fmt.Errorf("parley_search_text: want text, got %T", args[0])
		})
}

// searchBatch is how many index hits are read per round trip, and
// walkBatches how many batches a filtered search walks before it turns to
// walking the filtered conversations (variables, so tests can drive both).
var (
	searchBatch = 512
	walkBatches = 8
)

// search lists conversations that match f.Query, in creation order. It
// walks the full-text index by rowid, whose high bits are the inverted
// conversation number, so it stops as soon as the page is full and never
// ranks or sorts all matches.
func (db *DB) search(ctx context.Context, workspaceID string, f conversation.Filter, o conversation.Order, req page.Request) ([]*conversation.Conversation, error) {
	if o.Sort != conversation.SortCreatedAt {
		return nil, fmt.Errorf("search needs sort created_at, got %s", o.Sort)
	}
	match, ok := ftsQuery(f.Query)
	if !ok {
		return nil, nil
	}
	// Newest first is ascending rowids.
	desc := o.Desc != req.Backward()
	cmp, dir, convDir := ">", "ASC", "DESC"
	bound := int64(-1)
	if !desc {
		cmp, dir, convDir = "<", "DESC", "ASC"
		bound = 1<<63 - 1
	}
	if req.Cursor != nil {
		if desc { // conversations older than the cursor: larger rowids
			bound = searchRowid(req.Cursor.Seq, maxMessagesPerConversation)
		} else {
			bound = searchRowid(req.Cursor.Seq, 0)
		}
	}
	if f.CustomerPhone != "" || f.ExternalIdentifier != "" || f.WhatsAppSenderPhone != "" {
		return db.searchWithin(ctx, workspaceID, f, match, desc, req.Cursor, req.Limit+1)
	}
	// Other filters may also select few conversations; if walking the
	// word's hits has not filled the page after walkBatches batches, the
	// rest is read by walking the filtered conversations instead.
	filtered := len(f.Types) > 0 || f.AssistantID != "" || f.Status != "" || f.CreatedFrom != nil || f.CreatedTo != nil
	where, fargs := filterSQLPrefixed(workspaceID, f, "+c.")
	hitsQ := `SELECT rowid FROM search WHERE search MATCH ? AND rowid ` + cmp + ` ? ORDER BY rowid ` + dir + ` LIMIT ?`
	var out []*conversation.Conversation
	lastConv := int64(-1)
	for batches := 0; len(out) <= req.Limit; batches++ {
		if filtered && batches == walkBatches && lastConv >= 0 {
			var created int64
			if err := db.reader(ctx).QueryRowContext(ctx, `SELECT created_at FROM conversations WHERE seq = ?`, lastConv).Scan(&created); err != nil {
				return nil, fmt.Errorf("search: %w", err)
			}
			rest, err := db.searchWithin(ctx, workspaceID, f, match, desc, &page.Cursor{Value: created, Seq: lastConv}, req.Limit+1-len(out))
			if err != nil {
				return nil, err
			}
			return append(out, rest...), nil
		}
		hits, err := db.searchHits(ctx, hitsQ, match, bound)
		if err != nil {
			return nil, err
		}
		n := len(hits)
		var candidates []int64
		for _, rowid := range hits {
			bound = rowid
			if cs := searchConv(rowid); cs != lastConv {
				candidates = append(candidates, cs)
				lastConv = cs
			}
		}
		if len(candidates) > 0 {
			args := append([]any{}, fargs...)
			for _, cs := range candidates {
				args = append(args, cs)
			}
			q := `SELECT ` + convCols + convFrom + `WHERE ` + where + ` AND c.seq IN (?` +
				strings.Repeat(`, ?`, len(candidates)-1) + `) ORDER BY c.seq ` + convDir
			found, err := db.queryConversations(ctx, q, args...)
			if err != nil {
				return nil, err
			}
			out = append(out, found...)
		}
		if n < searchBatch {
			break
		}
	}
	if len(out) > req.Limit+1 {
		out = out[:req.Limit+1]
	}
	return out, nil
}

// searchWithin serves a search narrowed by a selective filter (a phone
// number, an external id, or one that turned out to be selective): it
// walks the conversations the filter selects in list order, after the
// cursor, and asks the index about each one's rowid range, instead of
// walking every hit of a common word. It returns at most limit rows.
func (db *DB) searchWithin(ctx context.Context, workspaceID string, f conversation.Filter, match string, desc bool, after *page.Cursor, limit int) ([]*conversation.Conversation, error) {
	where, args := filterSQL(workspaceID, f)
	cmp, dir := ">", "ASC"
	if desc {
		cmp, dir = "<", "DESC"
	}
	if after != nil {
		where += ` AND (c.created_at, c.seq) ` + cmp + ` (?, ?)`
		args = append(args, after.Value, after.Seq)
	}
	where += ` AND EXISTS (SELECT 1 FROM search WHERE search MATCH ? AND rowid BETWEEN
		(` + maxSearchSeq + ` - c.seq) << ` + seqBits + ` AND ((` + maxSearchSeq + ` - c.seq) << ` + seqBits + `) | ` +
		strconv.Itoa(maxMessagesPerConversation) + `)`
	args = append(args, match, limit)
	return db.queryConversations(ctx, `SELECT `+convCols+convFrom+`WHERE `+where+
		` ORDER BY c.created_at `+dir+`, c.seq `+dir+` LIMIT ?`, args...)
}

// searchHits reads one batch of full-text rowids past bound.
func (db *DB) searchHits(ctx context.Context, q, match string, bound int64) ([]int64, error) {
	rows, err := db.reader(ctx).QueryContext(ctx, q, match, bound, searchBatch)
	if err != nil {
		return nil, fmt.Errorf("search: %w", err)
	}
	defer rows.Close()
	hits := make([]int64, 0, searchBatch)
	for rows.Next() {
		var rowid int64
		if err := rows.Scan(&rowid); err != nil {
			return nil, fmt.Errorf("search: %w", err)
		}
		hits = append(hits, rowid)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("search: %w", err)
	}
	return hits, nil
}
