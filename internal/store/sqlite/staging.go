package sqlite

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/parley-dev/parley/internal/store"
)

// The full-text index takes its new documents at commit, in rowid order.
//
// FTS5 keeps a transaction's new documents in memory and writes them out
// as one segment when it commits — but only while they arrive in
// ascending rowid order: a document whose rowid is below the previous one
// makes it write out what it holds first, as a segment of its own. Our
// rowids count down (the newest conversation has the smallest, see
// searchRowid), so a transaction that writes several conversations —
// every shared transaction of the write group, and each batch of a bulk
// seed — wrote a segment per conversation, and FTS5 merged those tiny
// segments into the index again and again: at 20,000 conversations a
// seed spent four fifths of its time in merges.
//
// So new documents go to search_staged, a temporary table of the
// writer's connection (in memory, and part of the transaction and its
// savepoints: a caller's rollback takes its staged documents back too),
// and move into the index in one statement, by ascending rowid, just
// before the transaction commits (flushSearch). Deletes still go to the
// index at once, and to the staged documents as well. A read of the index
// inside a transaction flushes first, so it sees the transaction's own
// documents.
const (
	stagedTableSQL = `CREATE TEMP TABLE IF NOT EXISTS search_staged (rowid INTEGER PRIMARY KEY, body TEXT NOT NULL)`
	stageSQL       = `INSERT INTO search_staged (rowid, body) VALUES (?, ?)
		ON CONFLICT (rowid) DO UPDATE SET body = excluded.body`
	flushStagedSQL = `INSERT INTO search (rowid, body) SELECT rowid, body FROM search_staged ORDER BY rowid`
	clearStagedSQL = `DELETE FROM search_staged`
)

// stageSearch adds the document body at rowid to the index when tx
// commits (replacing one staged at the same rowid before).
func stageSearch(ctx context.Context, tx *sql.Tx, rowid int64, body string) error {
	_, err := tx.ExecContext(ctx, stageSQL, rowid, body)
	return err
}

// unindexSearch removes the documents from lo to hi, both in the index
// and staged.
func unindexSearch(ctx context.Context, tx *sql.Tx, lo, hi int64) error {
	if _, err := tx.ExecContext(ctx, `DELETE FROM search WHERE rowid BETWEEN ? AND ?`, lo, hi); err != nil {
		return err
	}
	_, err := tx.ExecContext(ctx, `DELETE FROM search_staged WHERE rowid BETWEEN ? AND ?`, lo, hi)
	return err
}

// flushSearch moves the staged documents of tx into the index.
func flushSearch(ctx context.Context, tx *sql.Tx) error {
	res, err := tx.ExecContext(ctx, flushStagedSQL)
	if err != nil {
		return fmt.Errorf("index staged documents: %w", err)
	}
	if n, err := res.RowsAffected(); err != nil || n == 0 {
		return err
	}
	if _, err := tx.ExecContext(ctx, clearStagedSQL); err != nil {
		return fmt.Errorf("index staged documents: %w", err)
	}
	return nil
}

// searchTx returns the transaction of ctx with its staged documents in
// the index, for a read of the index that must see them; false when ctx
// holds no transaction.
func (db *DB) searchTx(ctx context.Context) (*sql.Tx, bool, error) {
	tx, ok := store.TxFrom[*sql.Tx](ctx, db)
	if !ok {
		return nil, false, nil
	}
	return tx, true, flushSearch(ctx, tx)
}
