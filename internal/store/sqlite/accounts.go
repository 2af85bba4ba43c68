package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/parley-dev/parley/internal/account"
	"github.com/parley-dev/parley/internal/fault"
	"github.com/parley-dev/parley/internal/page"
)

// CreateWorkspace implements account.Store.
func (db *DB) CreateWorkspace(ctx context.Context, w *account.Workspace) error {
	return createWorkspace(ctx, db.writer(ctx), w)
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
	err := db.reader(ctx).QueryRowContext(ctx, `SELECT id, name, created_at FROM workspaces WHERE id = ?`, id).
		Scan(&w.ID, &w.Name, &created)
	if err != nil {
		return nil, db.notFound(err, "workspace")
	}
	w.CreatedAt = fromMS(created)
	return &w, nil
}

// ListWorkspaces implements account.Store.
func (db *DB) ListWorkspaces(ctx context.Context) ([]*account.Workspace, error) {
	rows, err := db.reader(ctx).QueryContext(ctx, `SELECT id, name, created_at FROM workspaces ORDER BY created_at, id`)
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
	return createUser(ctx, db.writer(ctx), u)
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
	err := db.reader(ctx).QueryRowContext(ctx, `SELECT id, workspace_id, email, password_hash, role, created_at
		FROM users WHERE email = ?`, email).Scan(&u.ID, &u.WorkspaceID, &u.Email, &u.PasswordHash, &u.Role, &created)
	if err != nil {
		return nil, db.notFound(err, "user")
	}
	u.CreatedAt = fromMS(created)
	return &u, nil
}

// CreateAPIKey implements account.Store.
func (db *DB) CreateAPIKey(ctx context.Context, k *account.APIKey) error {
	_, err := db.writer(ctx).ExecContext(ctx, `INSERT INTO api_keys (id, workspace_id, name, hash, prefix, created_at)
		VALUES (?, ?, ?, ?, ?, ?)`, k.ID, k.WorkspaceID, k.Name, k.Hash, k.Prefix, ms(k.CreatedAt))
	if err != nil {
		return fmt.Errorf("insert API key: %w", err)
	}
	return nil
}

const apiKeyCols = `id, workspace_id, name, hash, prefix, created_at, last_used_at`

func scanAPIKey(row interface{ Scan(...any) error }) (*account.APIKey, error) {
	var k account.APIKey
	var created int64
	var used sql.NullInt64
	if err := row.Scan(&k.ID, &k.WorkspaceID, &k.Name, &k.Hash, &k.Prefix, &created, &used); err != nil {
		return nil, err
	}
	k.CreatedAt, k.LastUsedAt = fromMS(created), fromOptMS(used)
	return &k, nil
}

// GetAPIKeyByHash implements account.Store.
func (db *DB) GetAPIKeyByHash(ctx context.Context, hash []byte) (*account.APIKey, error) {
	k, err := scanAPIKey(db.reader(ctx).QueryRowContext(ctx, `SELECT `+apiKeyCols+` FROM api_keys WHERE hash = ?`, hash))
	if err != nil {
		return nil, db.notFound(err, "API key")
	}
	return k, nil
}

// ListAPIKeys implements account.Store: keyset on id, oldest first.
func (db *DB) ListAPIKeys(ctx context.Context, workspaceID string, req page.Request) ([]*account.APIKey, error) {
	q, args := pageByID(`SELECT `+apiKeyCols+` FROM api_keys WHERE workspace_id = ?`, []any{workspaceID}, req)
	out, err := queryAll(ctx, db.reader(ctx), q, args, scanAPIKey)
	if err != nil {
		return nil, fmt.Errorf("list API keys: %w", err)
	}
	return out, nil
}

// DeleteAPIKey implements account.Store.
func (db *DB) DeleteAPIKey(ctx context.Context, workspaceID, id string) error {
	res, err := db.writer(ctx).ExecContext(ctx, `DELETE FROM api_keys WHERE workspace_id = ? AND id = ?`, workspaceID, id)
	return affected(res, err, "API key")
}

// TouchAPIKey implements account.Store.
func (db *DB) TouchAPIKey(ctx context.Context, id string, at, staleBefore time.Time) error {
	_, err := db.writer(ctx).ExecContext(ctx, `UPDATE api_keys SET last_used_at = ?
		WHERE id = ? AND (last_used_at IS NULL OR last_used_at < ?)`, ms(at), id, ms(staleBefore))
	if err != nil {
		return fmt.Errorf("record API key use: %w", err)
	}
	return nil
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

// pageByID completes q, a query of one workspace's rows, with the keyset
// seek, order and limit of a list ordered by id.
func pageByID(q string, args []any, req page.Request) (string, []any) {
	switch {
	case req.Backward():
		q += ` AND id < ? ORDER BY id DESC`
		args = append(args, req.Cursor.Key)
	case req.Cursor != nil:
		q += ` AND id > ? ORDER BY id`
		args = append(args, req.Cursor.Key)
	default:
		q += ` ORDER BY id`
	}
	return q + ` LIMIT ?`, append(args, req.Limit+1)
}

// queryAll runs q and scans every row.
func queryAll[T any](ctx context.Context, q interface {
	QueryContext(context.Context, string, ...any) (*sql.Rows, error)
}, query string, args []any, scan func(interface{ Scan(...any) error }) (T, error)) ([]T, error) {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []T
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}

const userCols = `id, workspace_id, email, password_hash, role, created_at`

func scanUser(row interface{ Scan(...any) error }) (*account.User, error) {
	var u account.User
	var created int64
	if err := row.Scan(&u.ID, &u.WorkspaceID, &u.Email, &u.PasswordHash, &u.Role, &created); err != nil {
		return nil, err
	}
	u.CreatedAt = fromMS(created)
	return &u, nil
}

// ListUsers implements account.Store.
func (db *DB) ListUsers(ctx context.Context, workspaceID string) ([]*account.User, error) {
	out, err := queryAll(ctx, db.reader(ctx), `SELECT `+userCols+` FROM users WHERE workspace_id = ? ORDER BY created_at, id`,
		[]any{workspaceID}, scanUser)
	if err != nil {
		return nil, fmt.Errorf("list users: %w", err)
	}
	return out, nil
}

// GetUser implements account.Store.
func (db *DB) GetUser(ctx context.Context, workspaceID, id string) (*account.User, error) {
	u, err := scanUser(db.reader(ctx).QueryRowContext(ctx, `SELECT `+userCols+` FROM users WHERE workspace_id = ? AND id = ?`, workspaceID, id))
	if err != nil {
		return nil, db.notFound(err, "user")
	}
	return u, nil
}

// SetUserRole implements account.Store. SQLite has one writer, so the
// owner count read inside the transaction cannot change before the write.
func (db *DB) SetUserRole(ctx context.Context, workspaceID, id, role string) error {
	return db.tx(ctx, func(tx *sql.Tx) error {
		if err := keepOwner(ctx, tx, workspaceID, id, role != account.RoleOwner); err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, `UPDATE users SET role = ? WHERE workspace_id = ? AND id = ?`, role, workspaceID, id)
		return affected(res, err, "user")
	})
}

// DeleteUser implements account.Store.
func (db *DB) DeleteUser(ctx context.Context, workspaceID, id string) error {
	return db.tx(ctx, func(tx *sql.Tx) error {
		if err := keepOwner(ctx, tx, workspaceID, id, true); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM sessions WHERE workspace_id = ? AND user_id = ?`, workspaceID, id); err != nil {
			return fmt.Errorf("end user sessions: %w", err)
		}
		res, err := tx.ExecContext(ctx, `DELETE FROM users WHERE workspace_id = ? AND id = ?`, workspaceID, id)
		return affected(res, err, "user")
	})
}

// keepOwner refuses, when losing is true, to take the owner role from
// user id if they are the workspace's only owner. A user of another
// workspace is not found.
func keepOwner(ctx context.Context, tx *sql.Tx, workspaceID, id string, losing bool) error {
	var role string
	err := tx.QueryRowContext(ctx, `SELECT role FROM users WHERE workspace_id = ? AND id = ?`, workspaceID, id).Scan(&role)
	if errors.Is(err, sql.ErrNoRows) {
		return fault.NotFound("user")
	}
	if err != nil {
		return fmt.Errorf("read user role: %w", err)
	}
	if !losing || role != account.RoleOwner {
		return nil
	}
	var owners int
	if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM users WHERE workspace_id = ? AND role = ?`,
		workspaceID, account.RoleOwner).Scan(&owners); err != nil {
		return fmt.Errorf("count owners: %w", err)
	}
	if owners <= 1 {
		return fault.New(fault.CodeConflict, "the workspace must keep at least one owner")
	}
	return nil
}
