package sqlite

import (
	"context"
	"errors"
	"strings"
)

// SetSearchBatches shrinks the search walk so tests drive every search
// path on small data; it returns a function restoring the defaults.
func SetSearchBatches(batch, walk int) func() {
	oldBatch, oldWalk := searchBatch, walkBatches
	searchBatch, walkBatches = batch, walk
	return func() { searchBatch, walkBatches = oldBatch, oldWalk }
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
