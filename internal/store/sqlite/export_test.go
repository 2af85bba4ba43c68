package sqlite

import (
	"context"
	"errors"

	"github.com/parley-dev/parley/internal/store/migration"
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

// RebuildMonthBuckets empties the month buckets and fills them again
// from the day buckets with the backfill of migration 0021, so tests can
// hold that SQL to the buckets the writes keep.
func (db *DB) RebuildMonthBuckets(ctx context.Context) error {
	return db.rerunBackfill(ctx, 21, "INSERT INTO conversation_months", "conversation_months")
}

// RebuildAnalytics empties the daily analytics and fills them again with
// the backfill of migration 0012, so tests can hold that SQL to the
// maintained rows.
func (db *DB) RebuildAnalytics(ctx context.Context) error {
	return db.rerunBackfill(ctx, 12, "INSERT INTO analytics_days", "analytics_days")
}

// ApplyEarly applies migration version alone and records it as applied,
// ahead of the versions before it: tests that build an older release's
// database with today's writes need the tables those writes touch
// (0012's analytics_days), and no later Migrate applies it again.
func (db *DB) ApplyEarly(ctx context.Context, version int) error {
	all, err := loadMigrations()
	if err != nil {
		return err
	}
	for _, m := range all {
		if m.Version == version {
			if _, err := db.write.ExecContext(ctx, m.SQL); err != nil {
				return err
			}
			_, err := db.write.ExecContext(ctx, `INSERT INTO schema_migrations (version, applied_at) VALUES (?, 0)`, version)
			return err
		}
	}
	return errors.New("no such migration")
}

// ConversationTerms lists the rows of conversation_terms, sorted, as text.
func (db *DB) ConversationTerms(ctx context.Context) ([]string, error) {
	rows, err := db.read.QueryContext(ctx, `SELECT workspace_seq || '|' || term || '|' || source_seq || '|' || kind || '|' ||
		day || '|' || conversation_seq FROM conversation_terms ORDER BY 1`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, rows.Err()
}

// RebuildConversationTerms drops conversation_terms and builds it again
// as the migrations did: migration 0018's table and backfill, then
// migration 0020's rebuild with the source and day, so tests can hold
// that SQL to the rows the writes keep.
func (db *DB) RebuildConversationTerms(ctx context.Context) error {
	all, err := loadMigrations()
	if err != nil {
		return err
	}
	first, err := migration.Backfill(all, 18, "CREATE TABLE conversation_terms")
	if err != nil {
		return err
	}
	second, err := migration.Backfill(all, 20, "CREATE TABLE conversation_terms_new")
	if err != nil {
		return err
	}
	for _, q := range []string{`DROP TABLE conversation_terms`, first, second} {
		if _, err := db.write.ExecContext(ctx, q); err != nil {
			return err
		}
	}
	return nil
}

// rerunBackfill empties table and runs the backfill of migration version
// (from its statement that starts with marker) again.
func (db *DB) rerunBackfill(ctx context.Context, version int, marker, table string) error {
	all, err := loadMigrations()
	if err != nil {
		return err
	}
	fill, err := migration.Backfill(all, version, marker)
	if err != nil {
		return err
	}
	for _, q := range []string{`DELETE FROM ` + table, fill} {
		if _, err := db.write.ExecContext(ctx, q); err != nil {
			return err
		}
	}
	return nil
}

// Checkpoints returns what the background checkpoints did: rounds run,
// and the WAL's pages and those copied at the last.
func (db *DB) Checkpoints() (rounds, walPages, copied int64) {
	return db.checkpoints.rounds.Load(), db.checkpoints.walPages.Load(), db.checkpoints.copied.Load()
}

// WriterPragma reads a pragma as the writer connection has it.
func (db *DB) WriterPragma(ctx context.Context, name string) (int64, error) {
	var v int64
	err := db.write.QueryRowContext(ctx, `PRAGMA `+name).Scan(&v)
	return v, err
}

// SetFewCandidates changes how many conversations holding a search's
// term a search fetches by key instead of walking (-1: never), so tests
// drive both plans; it returns a function restoring the default.
func SetFewCandidates(n int) func() {
	old := fewCandidates
	fewCandidates = n
	return func() { fewCandidates = old }
}

// SetIndexTermsStep sets how many conversations one pass of a deferred
// terms index covers, and returns a function that restores it.
func SetIndexTermsStep(n int64) func() {
	was := indexTermsStep
	indexTermsStep = n
	return func() { indexTermsStep = was }
}
