package sqlite

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/parley-dev/parley/internal/account"
	"github.com/parley-dev/parley/internal/fault"
)

// CreateWorkspace implements account.Store.
func (db *DB) CreateWorkspace(ctx context.Context, w *account.Workspace) error {
	return createWorkspace(ctx, db.write, w)
}

func createWorkspace(ctx context.Context, db execer, w *account.Workspace) error {
	_, err := db.ExecContext(ctx, `INSERT INTO workspaces (id, name, created_at) VALUES (?, ?, ?)`,
		w.ID, w.Name, ms(w.CreatedAt))
	if err != nil {
		return fmt.Errorf("insert workspace: %w", err)
	}
	return nil
}

// GetWorkspace implements account.Store.
func (db *DB) GetWorkspace(ctx context.Context, id string) (*account.Workspace, error) {
	var w account.Workspace
	var created int64
	err := db.read.QueryRowContext(ctx, `SELECT id, name, created_at FROM workspaces WHERE id = ?`, id).
		Scan(&w.ID, &w.Name, &created)
	if err != nil {
		return nil, db.notFound(err, "workspace")
	}
	w.CreatedAt = fromMS(created)
	return &w, nil
}

// ListWorkspaces implements account.Store.
func (db *DB) ListWorkspaces(ctx context.Context) ([]*account.Workspace, error) {
	rows, err := db.read.QueryContext(ctx, `SELECT id, name, created_at FROM workspaces ORDER BY created_at, id`)
	if err != nil {
		return nil, fmt.Errorf("list workspaces: %w", err)
	}
	defer rows.Close()
	var out []*account.Workspace
	for rows.Next() {
		var w account.Workspace
		var created int64
		if err := rows.Scan(&w.ID, &w.Name, &created); err != nil {
			return nil, err
		}
		w.CreatedAt = fromMS(created)
		out = append(out, &w)
	}
	return out, rows.Err()
}

// CreateUser implements account.Store.
func (db *DB) CreateUser(ctx context.Context, u *account.User) error {
	return createUser(ctx, db.write, u)
}

func createUser(ctx context.Context, db execer, u *account.User) error {
	_, err := db.ExecContext(ctx, `INSERT INTO users (id, workspace_id, email, password_hash, role, created_at)
		VALUES (?, ?, ?, ?, ?, ?)`, u.ID, u.WorkspaceID, u.Email, u.PasswordHash, u.Role, ms(u.CreatedAt))
	if isUnique(err) {
		return fault.New(fault.CodeConflict, "a user with the email %s already exists", u.Email)
	}
	if err != nil {
		return fmt.Errorf("insert user: %w", err)
	}
	return nil
}

// GetUserByEmail implements account.Store; the match ignores case.
func (db *DB) GetUserByEmail(ctx context.Context, email string) (*account.User, error) {
	var u account.User
	var created int64
	err := db.read.QueryRowContext(ctx, `SELECT id, workspace_id, email, password_hash, role, created_at
		FROM users WHERE email = ?`, email).Scan(&u.ID, &u.WorkspaceID, &u.Email, &u.PasswordHash, &u.Role, &created)
	if err != nil {
		return nil, db.notFound(err, "user")
	}
	u.CreatedAt = fromMS(created)
	return &u, nil
}

// CreateAPIKey implements account.Store.
func (db *DB) CreateAPIKey(ctx context.Context, k *account.APIKey) error {
	_, err := db.write.ExecContext(ctx, `INSERT INTO api_keys (id, workspace_id, name, hash, prefix, created_at)
		VALUES (?, ?, ?, ?, ?, ?)`, k.ID, k.WorkspaceID, k.Name, k.Hash, k.Prefix, ms(k.CreatedAt))
	if err != nil {
		return fmt.Errorf("insert API key: %w", err)
	}
	return nil
}

// GetAPIKeyByHash implements account.Store.
func (db *DB) GetAPIKeyByHash(ctx context.Context, hash []byte) (*account.APIKey, error) {
	var k account.APIKey
	var created int64
	err := db.read.QueryRowContext(ctx, `SELECT id, workspace_id, name, hash, prefix, created_at
		FROM api_keys WHERE hash = ?`, hash).Scan(&k.ID, &k.WorkspaceID, &k.Name, &k.Hash, &k.Prefix, &created)
	if err != nil {
		return nil, db.notFound(err, "API key")
	}
	k.CreatedAt = fromMS(created)
	return &k, nil
}

// EnsureSetting implements account.Store.
func (db *DB) EnsureSetting(ctx context.Context, key, value string) (string, error) {
	var out string
	err := db.tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO settings (key, value) VALUES (?, ?) ON CONFLICT (key) DO NOTHING`, key, value); err != nil {
			return err
		}
		return tx.QueryRowContext(ctx, `SELECT value FROM settings WHERE key = ?`, key).Scan(&out)
	})
	if err != nil {
		return "", fmt.Errorf("ensure setting %s: %w", key, err)
	}
	return out, nil
}
