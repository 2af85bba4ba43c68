package sqlite

import "context"

// SetSearchBatches shrinks the search walk so tests drive every search
// path on small data; it returns a function restoring the defaults.
func SetSearchBatches(batch, walk int) func() {
	oldBatch, oldWalk := searchBatch, walkBatches
	searchBatch, walkBatches = batch, walk
	return func() { searchBatch, walkBatches = oldBatch, oldWalk }
}

// MigrateTo applies migrations up to version last only.
func (db *DB) MigrateTo(ctx context.Context, last int) error { return db.migrate(ctx, last) }
