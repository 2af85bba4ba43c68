package postgres

import (
	"context"
	"errors"
	"slices"
	"strings"

	"github.com/jackc/pgx/v5"
)

// SetRareLimit changes how many hits make a search word common, so tests
// can drive both search plans; it returns a function restoring it.
func SetRareLimit(n int) func() {
	old := rareLimit
	rareLimit = n
	return func() { rareLimit = old }
}

// MigrateTo applies migrations up to version last only.
func (db *DB) MigrateTo(ctx context.Context, last int) error { return db.migrate(ctx, last) }

// Setting reads a server setting as a pooled connection has it.
func (db *DB) Setting(ctx context.Context, name string) (string, error) {
	var v string
	err := db.pool.QueryRow(ctx, `SELECT current_setting($1)`, name).Scan(&v)
	return v, err
}

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
			if _, err := db.pool.Exec(ctx, q); err != nil {
				return err
			}
		}
		return nil
	}
	return errors.New("no migration 0012")
}

// ConversationTerms lists the rows of conversation_terms, sorted, as text.
func (db *DB) ConversationTerms(ctx context.Context) ([]string, error) {
	rows, err := db.pool.Query(ctx, `SELECT workspace_seq || '|' || term || '|' || kind || '|' || conversation_seq
		FROM conversation_terms`)
	if err != nil {
		return nil, err
	}
	out, err := pgx.CollectRows(rows, pgx.RowTo[string])
	slices.Sort(out)
	return out, err
}

// RebuildConversationTerms empties conversation_terms and fills it again
// with the backfill of migration 0018, so tests can hold that SQL to the
// rows the writes keep.
func (db *DB) RebuildConversationTerms(ctx context.Context) error {
	all, err := loadMigrations()
	if err != nil {
		return err
	}
	for _, m := range all {
		if m.Version != 18 {
			continue
		}
		i := strings.Index(m.SQL, "INSERT INTO conversation_terms")
		if i < 0 {
			return errors.New("migration 0018 has no backfill")
		}
		for _, q := range []string{`DELETE FROM conversation_terms`, m.SQL[i:]} {
			if _, err := db.pool.Exec(ctx, q); err != nil {
				return err
			}
		}
		return nil
	}
	return errors.New("no migration 0018")
}
