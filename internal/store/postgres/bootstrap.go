package postgres

import (
	"context"

	"github.com/jackc/pgx/v5"

	"github.com/parley-dev/parley/internal/store"
)

// bootstrapLock is the advisory lock key that serialises first starts
// across nodes.
const bootstrapLock = 0x7061726c6562 // "parleb"

// Bootstrap implements store.Store. The advisory lock makes nodes that
// start together check and fill the empty database one after another; it
// ends with the transaction, so a node that dies mid-way leaves nothing
// behind, not even a claim.
func (db *DB) Bootstrap(ctx context.Context, fs store.FirstStart) (bool, error) {
	created := false
	err := db.tx(ctx, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, bootstrapLock); err != nil {
			return err
		}
		var exists bool
		if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM workspaces)`).Scan(&exists); err != nil {
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
