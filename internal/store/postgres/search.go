package postgres

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/parley-dev/parley/internal/conversation"
)

// migrationSteps are Go functions that run after a migration's SQL, in its
// transaction, for changes SQL cannot make alone.
var migrationSteps = map[int]func(context.Context, pgx.Tx) error{
	5: rebuildSearch,
}

// rebuildBatch is how many rows rebuildSearch rewrites per statement.
const rebuildBatch = 5000

// rebuildSearch is the Go step of migration 0005: it rewrites the tsvector
// of every message and conversation from conversation.SearchTerms, then
// makes the GIN indexes the migration dropped, in one pass each.
func rebuildSearch(ctx context.Context, tx pgx.Tx) error {
	err := rebuildTable(ctx, tx, `SELECT seq, content FROM messages WHERE seq > $1 ORDER BY seq LIMIT $2`,
		`UPDATE messages m SET tsv = v.tsv::tsvector FROM unnest($1::bigint[], $2::text[]) AS v(seq, tsv) WHERE m.seq = v.seq`,
		func(r pgx.Rows) (int64, string, error) {
			var seq int64
			var content string
			err := r.Scan(&seq, &content)
			return seq, conversation.SearchText(content), err
		})
	if err != nil {
		return fmt.Errorf("rebuild message search: %w", err)
	}
	err = rebuildTable(ctx, tx, `SELECT seq, coalesce(customer_name, ''), coalesce(customer_phone, ''),
			coalesce(customer_email, ''), coalesce(external_identifier, '')
		FROM conversations WHERE seq > $1 ORDER BY seq LIMIT $2`,
		`UPDATE conversations c SET search_tsv = v.tsv::tsvector FROM unnest($1::bigint[], $2::text[]) AS v(seq, tsv) WHERE c.seq = v.seq`,
		func(r pgx.Rows) (int64, string, error) {
			var c conversation.Conversation
			err := r.Scan(&c.Seq, &c.Customer.Name, &c.Customer.Phone, &c.Customer.Email, &c.ExternalIdentifier)
			return c.Seq, conversation.CustomerSearchText(&c), err
		})
	if err != nil {
		return fmt.Errorf("rebuild conversation search: %w", err)
	}
	// A GIN index builds far faster with room to sort in.
	for _, q := range []string{
		`SET LOCAL maintenance_work_mem = '256MB'`,
		`CREATE INDEX messages_search ON messages USING gin (tsv)`,
		`CREATE INDEX conversations_search ON conversations USING gin (search_tsv)`,
	} {
		if _, err := tx.Exec(ctx, q); err != nil {
			return fmt.Errorf("rebuild search: %w", err)
		}
	}
	return nil
}

// rebuildTable walks a table by seq in batches (read), computing each
// row's search document with doc, and writes their tsvectors (write).
func rebuildTable(ctx context.Context, tx pgx.Tx, read, write string, doc func(pgx.Rows) (int64, string, error)) error {
	seqs := make([]int64, 0, rebuildBatch)
	vecs := make([]string, 0, rebuildBatch)
	for last := int64(-1); ; {
		seqs, vecs = seqs[:0], vecs[:0]
		rows, err := tx.Query(ctx, read, last, rebuildBatch)
		if err != nil {
			return err
		}
		for rows.Next() {
			seq, d, err := doc(rows)
			if err != nil {
				rows.Close()
				return err
			}
			seqs, vecs = append(seqs, seq), append(vecs, tsvector(d))
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		if len(seqs) == 0 {
			return nil
		}
		if _, err := tx.Exec(ctx, write, seqs, vecs); err != nil {
			return err
		}
		last = seqs[len(seqs)-1]
	}
}
