package sqlite

import "context"

// SetSearchBatches shrinks the first batches of the hit walk and the
// filter walk so tests drive their batch boundaries on small data; it
// returns a function restoring the defaults.
func SetSearchBatches(hits, filtered int) func() {
	oldHits, oldFiltered := searchBatch, filterBatch
	searchBatch, filterBatch = hits, filtered
	return func() { searchBatch, filterBatch = oldHits, oldFiltered }
}

// SetSearchPlan forces searches and counts with a text query and other
// filters to one walk: "hits", "filter" or "race" (the default). It
// returns a function restoring the default.
func SetSearchPlan(plan string) func() {
	old := searchPlan
	searchPlan = map[string]int{"race": planRace, "hits": planHits, "filter": planFilter}[plan]
	return func() { searchPlan = old }
}

// MigrateTo applies migrations up to version last only.
func (db *DB) MigrateTo(ctx context.Context, last int) error { return db.migrate(ctx, last) }
