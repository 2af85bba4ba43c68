package postgres

import "context"

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
