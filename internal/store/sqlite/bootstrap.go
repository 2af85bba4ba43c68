package sqlite

import (
	"context"
	"database/sql"

	"github.com/parley-dev/parley/internal/store"
)

// Bootstrap implements store.Store. BEGIN IMMEDIATE takes the write lock
// before the check, so two processes on one file cannot both find it
// empty.
func (db *DB) Bootstrap(ctx context.Context, fs store.FirstStart) (bool, error) {
	created := false
	err := db.tx(ctx, func(tx *sql.Tx) error {
		var exists bool
		if err := tx.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM workspaces)`).Scan(&exists); err != nil {
			return err
		}
		if exists {
			return nil
		}
		if err := createWorkspace(ctx, tx, fs.Workspace); err != nil {
			return err
		}
		if err := createUser(ctx, tx, fs.Owner); err != nil {
			return err
		}
		if err := createAssistant(ctx, tx, fs.Assistant); err != nil {
			return err
		}
		created = true
		return nil
	})
	return created && err == nil, err
}
