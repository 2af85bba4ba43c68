package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"strconv"

	"github.com/parley-dev/parley/internal/conversation"
	"github.com/parley-dev/parley/internal/store"
)

// deferredTerms marks a context whose writes leave the conversation_terms
// entries of conversations created after seq (those of db) to be indexed
// later, in one sorted pass (DeferTerms).
type deferredTerms struct {
	db  *DB
	seq int64 // the last conversation seq before the import
}

type deferredTermsKey struct{}

// DeferTerms is for bulk imports (parley-bench seed): writes under the
// context it returns record no conversation_terms entries for the
// conversations they create, and index, called once the import is done,
// records the entries of every conversation created since DeferTerms was
// called, computed from their stored rows and written in key order.
//
// A conversation's entries are spread over the whole index (one per
// distinct term, each at its term's place), so once the index outgrows
// the cache each new conversation dirties tens of pages that its commit
// writes to the WAL and the checkpoint copies again: a fresh seed wrote
// ~150 KB a conversation and slowed from 1,000 to 100 conversations a
// second. Written sorted, the same entries fill pages front to back.
//
// Until index has run, counts and searches that read conversation_terms
// miss the imported conversations, and an import that stops before it
// leaves them so: import again into a fresh file. Conversations that
// existed before are kept as every write keeps them.
func (db *DB) DeferTerms(ctx context.Context) (context.Context, func(context.Context) error, error) {
	last, err := db.lastConversationSeq(ctx)
	if err != nil {
		return nil, nil, fmt.Errorf("sqlite: defer terms: %w", err)
	}
	deferred := context.WithValue(ctx, deferredTermsKey{}, deferredTerms{db: db, seq: last})
	return deferred, func(ctx context.Context) error { return db.indexTermsAfter(ctx, last) }, nil
}

// termsDeferred reports whether ctx leaves the terms of conversation c to
// a later DeferTerms index.
func (db *DB) termsDeferred(ctx context.Context, c *conversation.Conversation) bool {
	d, ok := ctx.Value(deferredTermsKey{}).(deferredTerms)
	return ok && d.db == db && c.Seq > d.seq
}

// indexTermsSQL records the conversation_terms entries of the
// conversations with a seq in (lo, hi] (the arguments, twice) from their
// messages and customer fields (conversation.CustomerText), sorted into
// the key's order, as migration 0018's backfill did for every
// conversation.
var indexTermsSQL = `INSERT OR IGNORE INTO conversation_terms (workspace_seq, term, source_seq, kind, day, conversation_seq)
SELECT w.seq, j.value, s.seq, ` + store.TermKindSQL("c.type", "c.status") + `, ` + daySQL("c.created_at") + `, c.seq
FROM (SELECT seq >> ` + seqBits + ` AS conversation_seq, content AS text
        FROM messages WHERE seq > (? << ` + seqBits + `) | ` + lastMessage + ` AND seq <= (? << ` + seqBits + `) | ` + lastMessage + `
      UNION ALL
      SELECT seq, coalesce(customer_name, '') || ' ' || coalesce(customer_phone, '') || ' ' ||
             coalesce(customer_email, '') || ' ' || coalesce(external_identifier, '')
        FROM conversations WHERE seq > ? AND seq <= ?) x
JOIN conversations c ON c.seq = x.conversation_seq
JOIN workspaces w ON w.id = c.workspace_id
JOIN conversation_sources s
  ON s.workspace_id = c.workspace_id AND s.assistant_id = c.assistant_id AND s.sender_phone = coalesce(c.sender_phone, '')
JOIN json_each(parley_search_terms(x.text)) j
ORDER BY 1, 2, 3, 4, 5, 6`

var (
	seqBits     = strconv.Itoa(conversation.MessageSeqBits)
	lastMessage = strconv.Itoa(1<<conversation.MessageSeqBits - 1)
)

// indexTermsStep is how many conversations (by seq) one pass of
// indexTermsAfter indexes: its sort is held in memory (temp_store), ~1 GB
// at this size for ten messages a conversation; a million conversations
// in one pass grew past 15 GB before it was stopped.
var indexTermsStep int64 = 50_000

// indexTermsAfter records the terms of the conversations after seq, a
// step of them per transaction.
func (db *DB) indexTermsAfter(ctx context.Context, seq int64) error {
	last, err := db.lastConversationSeq(ctx)
	if err != nil {
		return fmt.Errorf("sqlite: index deferred terms: %w", err)
	}
	for lo := seq; lo < last; lo += indexTermsStep {
		hi := min(lo+indexTermsStep, last)
		err := db.tx(ctx, func(tx *sql.Tx) error {
			_, err := tx.ExecContext(ctx, indexTermsSQL, lo, hi, lo, hi)
			return err
		})
		if err != nil {
			return fmt.Errorf("sqlite: index deferred terms: %w", db.classify(err))
		}
	}
	return nil
}

// lastConversationSeq is the highest conversation seq stored (0: none).
func (db *DB) lastConversationSeq(ctx context.Context) (int64, error) {
	var last int64
	err := db.write.QueryRowContext(ctx, `SELECT coalesce(max(seq), 0) FROM conversations`).Scan(&last)
	return last, db.classify(err)
}
