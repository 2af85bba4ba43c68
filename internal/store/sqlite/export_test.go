package sqlite

import (
	"context"
	"errors"
	"strings"
)

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

// RebuildAnalytics empties the daily analytics and fills them again with
// the backfill of migration 0012, so tests can hold that SQL to the
// maintained rows.
func (db *DB) RebuildAnalytics(ctx context.Context) error {
	all, err := loadMigrations()
	if err != nil {
		return err
	}
	for _, m := range all {
		if m.Version != 12 {
			continue
		}
		i := strings.Index(m.SQL, "INSERT INTO analytics_days")
		if i < 0 {
			return errors.New("migration 0012 has no backfill")
		}
		for _, q := range []string{`DELETE FROM analytics_days`, m.SQL[i:]} {
			if _, err := db.write.ExecContext(ctx, q); err != nil {
				return err
			}
		}
		return nil
	}
	return errors.New("no migration 0012")
}
