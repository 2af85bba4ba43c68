package postgres

import (
	"context"
	"slices"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/parley-dev/parley/internal/store"
	"github.com/parley-dev/parley/internal/store/migration"
)

// SetRareLimit changes how many hits make a search word common, so tests
// can drive both search plans; it returns a function restoring it.
func SetRareLimit(n int) func() {
	old := rareLimit
	rareLimit = n
	return func() { rareLimit = old }
}

// SetLanguageCollation makes the stores opened after it take their
// database to sort text by a language's rules, not bytewise, so tests
// reach the plans such a database gets; it returns a function restoring
// the check.
func SetLanguageCollation() func() {
	old := checkBytewise
	checkBytewise = func(context.Context, rowQuerier) (bool, error) { return false, nil }
	return func() { checkBytewise = old }
}

// MigrateTo applies migrations up to version last only.
func (db *DB) MigrateTo(ctx context.Context, last int) error { return db.migrate(ctx, last) }

// Vacuumed reports whether table, of the store's schema, has been
// vacuumed and analyzed by hand.
func (db *DB) Vacuumed(ctx context.Context, table string) (bool, error) {
	var ok bool
	err := db.pool.QueryRow(ctx, `SELECT last_vacuum IS NOT NULL AND last_analyze IS NOT NULL FROM pg_stat_user_tables
		WHERE schemaname = current_schema() AND relname = $1`, table).Scan(&ok)
	return ok, err
}

// Setting reads a server setting as a pooled connection has it.
func (db *DB) Setting(ctx context.Context, name string) (string, error) {
	var v string
	err := db.pool.QueryRow(ctx, `SELECT current_setting($1)`, name).Scan(&v)
	return v, err
}

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

// CopyActivityToShard adds to analytics_days a copy of every row, in
// shard (which no row may use yet): what the reads see then is twice
// what the writes made, whichever shards those used.
func (db *DB) CopyActivityToShard(ctx context.Context, shard int) error {
	cols := strings.Join(store.ActivityColumns, ", ")
	sums := "sum(" + strings.Join(store.ActivityColumns, "), sum(") + ")"
	_, err := db.pool.Exec(ctx, `INSERT INTO analytics_days (workspace_id, day, assistant_id, type, shard, `+cols+`)
		SELECT workspace_id, day, assistant_id, type, $1, `+sums+` FROM analytics_days
		GROUP BY workspace_id, day, assistant_id, type`, shard)
	return err
}

// ConversationTerms lists the rows of conversation_terms, sorted, as text.
func (db *DB) ConversationTerms(ctx context.Context) ([]string, error) {
	rows, err := db.pool.Query(ctx, `SELECT workspace_seq || '|' || term || '|' || source_seq || '|' || kind || '|' ||
		day || '|' || conversation_seq FROM conversation_terms`)
	if err != nil {
		return nil, err
	}
	out, err := pgx.CollectRows(rows, pgx.RowTo[string])
	slices.Sort(out)
	return out, err
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
		if _, err := db.pool.Exec(ctx, q); err != nil {
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
		if _, err := db.pool.Exec(ctx, q); err != nil {
			return err
		}
	}
	return nil
}
