package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/parley-dev/parley/internal/account"
	"github.com/parley-dev/parley/internal/assistant"
	"github.com/parley-dev/parley/internal/fault"
	"github.com/parley-dev/parley/internal/page"
)

// CreateWorkspace implements account.Store.
func (db *DB) CreateWorkspace(ctx context.Context, w *account.Workspace) error {
	return createWorkspace(ctx, db.conn(ctx), w)
}

func createWorkspace(ctx context.Context, db execer, w *account.Workspace) error {
	_, err := db.Exec(ctx, `INSERT INTO workspaces (id, name, created_at) VALUES ($1, $2, $3)`, w.ID, w.Name, ts(w.CreatedAt))
	if err != nil {
		return fmt.Errorf("insert workspace: %w", err)
	}
	return nil
}

// GetWorkspace implements account.Store.
func (db *DB) GetWorkspace(ctx context.Context, id string) (*account.Workspace, error) {
	var w account.Workspace
	err := db.conn(ctx).QueryRow(ctx, `SELECT id, name, created_at FROM workspaces WHERE id = $1`, id).Scan(&w.ID, &w.Name, &w.CreatedAt)
	if err != nil {
		return nil, notFound(err, "workspace")
	}
	w.CreatedAt = utc(w.CreatedAt)
	return &w, nil
}

// ListWorkspaces implements account.Store.
func (db *DB) ListWorkspaces(ctx context.Context) ([]*account.Workspace, error) {
	rows, err := db.conn(ctx).Query(ctx, `SELECT id, name, created_at FROM workspaces ORDER BY created_at, id`)
	if err != nil {
		return nil, fmt.Errorf("list workspaces: %w", err)
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (*account.Workspace, error) {
		var w account.Workspace
		err := r.Scan(&w.ID, &w.Name, &w.CreatedAt)
		w.CreatedAt = utc(w.CreatedAt)
		return &w, err
	})
}

// CreateUser implements account.Store.
func (db *DB) CreateUser(ctx context.Context, u *account.User) error {
	return createUser(ctx, db.conn(ctx), u)
}

func createUser(ctx context.Context, db execer, u *account.User) error {
	_, err := db.Exec(ctx, `INSERT INTO users (id, workspace_id, email, password_hash, role, created_at)
		VALUES ($1, $2, $3, $4, $5, $6)`, u.ID, u.WorkspaceID, u.Email, u.PasswordHash, u.Role, ts(u.CreatedAt))
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
	err := db.conn(ctx).QueryRow(ctx, `SELECT id, workspace_id, email, password_hash, role, created_at
		FROM users WHERE lower(email) = lower($1)`, email).Scan(&u.ID, &u.WorkspaceID, &u.Email, &u.PasswordHash, &u.Role, &u.CreatedAt)
	if err != nil {
		return nil, notFound(err, "user")
	}
	u.CreatedAt = utc(u.CreatedAt)
	return &u, nil
}

// CreateAPIKey implements account.Store.
func (db *DB) CreateAPIKey(ctx context.Context, k *account.APIKey) error {
	_, err := db.conn(ctx).Exec(ctx, `INSERT INTO api_keys (id, workspace_id, name, hash, prefix, created_at)
		VALUES ($1, $2, $3, $4, $5, $6)`, k.ID, k.WorkspaceID, k.Name, k.Hash, k.Prefix, ts(k.CreatedAt))
	if err != nil {
		return fmt.Errorf("insert API key: %w", err)
	}
	return nil
}

const apiKeyCols = `id, workspace_id, name, hash, prefix, created_at, last_used_at`

func scanAPIKey(row pgx.Row) (*account.APIKey, error) {
	var k account.APIKey
	if err := row.Scan(&k.ID, &k.WorkspaceID, &k.Name, &k.Hash, &k.Prefix, &k.CreatedAt, &k.LastUsedAt); err != nil {
		return nil, err
	}
	k.CreatedAt = utc(k.CreatedAt)
	if k.LastUsedAt != nil {
		u := utc(*k.LastUsedAt)
		k.LastUsedAt = &u
	}
	return &k, nil
}

// GetAPIKeyByHash implements account.Store.
func (db *DB) GetAPIKeyByHash(ctx context.Context, hash []byte) (*account.APIKey, error) {
	k, err := scanAPIKey(db.conn(ctx).QueryRow(ctx, `SELECT `+apiKeyCols+` FROM api_keys WHERE hash = $1`, hash))
	if err != nil {
		return nil, notFound(err, "API key")
	}
	return k, nil
}

// ListAPIKeys implements account.Store: keyset on id, oldest first.
func (db *DB) ListAPIKeys(ctx context.Context, workspaceID string, req page.Request) ([]*account.APIKey, error) {
	a := args{workspaceID}
	q := a.pageByID(`SELECT `+apiKeyCols+` FROM api_keys WHERE workspace_id = $1`, req)
	rows, err := db.conn(ctx).Query(ctx, q, a...)
	if err != nil {
		return nil, fmt.Errorf("list API keys: %w", err)
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (*account.APIKey, error) { return scanAPIKey(r) })
}

// DeleteAPIKey implements account.Store.
func (db *DB) DeleteAPIKey(ctx context.Context, workspaceID, id string) error {
	tag, err := db.conn(ctx).Exec(ctx, `DELETE FROM api_keys WHERE workspace_id = $1 AND id = $2`, workspaceID, id)
	return affected(tag, err, "API key")
}

// TouchAPIKey implements account.Store.
func (db *DB) TouchAPIKey(ctx context.Context, id string, at, staleBefore time.Time) error {
	_, err := db.conn(ctx).Exec(ctx, `UPDATE api_keys SET last_used_at = $2
		WHERE id = $1 AND (last_used_at IS NULL OR last_used_at < $3)`, id, ts(at), ts(staleBefore))
	if err != nil {
		return fmt.Errorf("record API key use: %w", err)
	}
	return nil
}

// EnsureSetting implements account.Store.
func (db *DB) EnsureSetting(ctx context.Context, key, value string) (string, error) {
	var out string
	err := db.conn(ctx).QueryRow(ctx, `WITH ins AS (
			INSERT INTO settings (key, value) VALUES ($1, $2) ON CONFLICT (key) DO NOTHING RETURNING value)
		SELECT value FROM ins UNION ALL SELECT value FROM settings WHERE key = $1 LIMIT 1`, key, value).Scan(&out)
	if err != nil {
		return "", fmt.Errorf("ensure setting %s: %w", key, err)
	}
	return out, nil
}

const assistantCols = `id, workspace_id, public_key, identity_secret, config, created_at, updated_at`

func scanAssistant(row pgx.Row) (*assistant.Assistant, error) {
	var a assistant.Assistant
	if err := row.Scan(&a.ID, &a.WorkspaceID, &a.PublicKey, &a.SealedIdentitySecret, &a.Settings, &a.CreatedAt, &a.UpdatedAt); err != nil {
		return nil, err
	}
	a.CreatedAt, a.UpdatedAt = utc(a.CreatedAt), utc(a.UpdatedAt)
	if a.Variables == nil {
		a.Variables = []assistant.VariableDef{}
	}
	return &a, nil
}

// CreateAssistant implements assistant.Store.
func (db *DB) CreateAssistant(ctx context.Context, a *assistant.Assistant) error {
	return createAssistant(ctx, db.conn(ctx), a)
}

func createAssistant(ctx context.Context, db execer, a *assistant.Assistant) error {
	_, err := db.Exec(ctx, `INSERT INTO assistants (id, workspace_id, name, public_key, config, created_at, updated_at, identity_secret)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`, a.ID, a.WorkspaceID, a.Name, a.PublicKey, a.Settings, ts(a.CreatedAt), ts(a.UpdatedAt), a.SealedIdentitySecret)
	if isUnique(err) {
		return fault.New(fault.CodeConflict, "an assistant with this id or public key already exists")
	}
	if err != nil {
		return fmt.Errorf("insert assistant: %w", err)
	}
	return nil
}

// GetAssistant implements assistant.Store.
func (db *DB) GetAssistant(ctx context.Context, workspaceID, id string) (*assistant.Assistant, error) {
	a, err := scanAssistant(db.conn(ctx).QueryRow(ctx, `SELECT `+assistantCols+` FROM assistants
		WHERE workspace_id = $1 AND id = $2 AND deleted_at IS NULL`, workspaceID, id))
	return a, notFound(err, "assistant")
}

// GetAssistantByPublicKey implements assistant.Store.
func (db *DB) GetAssistantByPublicKey(ctx context.Context, publicKey string) (*assistant.Assistant, error) {
	a, err := scanAssistant(db.conn(ctx).QueryRow(ctx, `SELECT `+assistantCols+` FROM assistants
		WHERE public_key = $1 AND deleted_at IS NULL`, publicKey))
	return a, notFound(err, "assistant")
}

// ListAssistants implements assistant.Store: keyset on id, oldest first.
func (db *DB) ListAssistants(ctx context.Context, workspaceID string, req page.Request) ([]*assistant.Assistant, error) {
	a := args{workspaceID}
	q := a.pageByID(`SELECT `+assistantCols+` FROM assistants WHERE workspace_id = $1 AND deleted_at IS NULL`, req)
	rows, err := db.conn(ctx).Query(ctx, q, a...)
	if err != nil {
		return nil, fmt.Errorf("list assistants: %w", err)
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (*assistant.Assistant, error) { return scanAssistant(r) })
}

// UpdateAssistant implements assistant.Store.
func (db *DB) UpdateAssistant(ctx context.Context, a *assistant.Assistant) error {
	tag, err := db.conn(ctx).Exec(ctx, `UPDATE assistants SET name = $1, config = $2, updated_at = $3, identity_secret = $6
		WHERE workspace_id = $4 AND id = $5 AND deleted_at IS NULL`, a.Name, a.Settings, ts(a.UpdatedAt), a.WorkspaceID, a.ID, a.SealedIdentitySecret)
	return affected(tag, err, "assistant")
}

// DeleteAssistant implements assistant.Store (a soft delete).
func (db *DB) DeleteAssistant(ctx context.Context, workspaceID, id string, at time.Time) error {
	tag, err := db.conn(ctx).Exec(ctx, `UPDATE assistants SET deleted_at = $3
		WHERE workspace_id = $1 AND id = $2 AND deleted_at IS NULL`, workspaceID, id, ts(at))
	return affected(tag, err, "assistant")
}

func affected(tag pgconn.CommandTag, err error, kind string) error {
	if err != nil {
		return fmt.Errorf("update %s: %w", kind, err)
	}
	if tag.RowsAffected() == 0 {
		return fault.NotFound(kind)
	}
	return nil
}

const priceCols = `id, workspace_id, model_pattern, input_per_mtok, output_per_mtok, cached_input_per_mtok, effective_from, created_at`

func scanPrice(row pgx.Row) (*assistant.Price, error) {
	var p assistant.Price
	var in, out, cached int64
	if err := row.Scan(&p.ID, &p.WorkspaceID, &p.ModelPattern, &in, &out, &cached, &p.EffectiveFrom, &p.CreatedAt); err != nil {
		return nil, err
	}
	p.Input, p.Output, p.CachedInput = moneyOf(in), moneyOf(out), moneyOf(cached)
	p.EffectiveFrom, p.CreatedAt = utc(p.EffectiveFrom), utc(p.CreatedAt)
	return &p, nil
}

// CreatePrice implements assistant.Store.
func (db *DB) CreatePrice(ctx context.Context, p *assistant.Price) error {
	_, err := db.conn(ctx).Exec(ctx, `INSERT INTO model_prices (`+priceCols+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
		p.ID, p.WorkspaceID, p.ModelPattern, int64(p.Input), int64(p.Output), int64(p.CachedInput), ts(p.EffectiveFrom), ts(p.CreatedAt))
	if isUnique(err) {
		return assistant.PriceConflict(p)
	}
	if err != nil {
		return fmt.Errorf("insert model price: %w", err)
	}
	return nil
}

// GetPrice implements assistant.Store.
func (db *DB) GetPrice(ctx context.Context, workspaceID, id string) (*assistant.Price, error) {
	p, err := scanPrice(db.conn(ctx).QueryRow(ctx, `SELECT `+priceCols+` FROM model_prices WHERE workspace_id = $1 AND id = $2`, workspaceID, id))
	return p, notFound(err, "model price")
}

// ListPrices implements assistant.Store.
func (db *DB) ListPrices(ctx context.Context, workspaceID string) ([]*assistant.Price, error) {
	rows, err := db.conn(ctx).Query(ctx, `SELECT `+priceCols+` FROM model_prices WHERE workspace_id = $1
		ORDER BY model_pattern, effective_from, id`, workspaceID)
	if err != nil {
		return nil, fmt.Errorf("list model prices: %w", err)
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (*assistant.Price, error) { return scanPrice(r) })
}

// UpdatePrice implements assistant.Store.
func (db *DB) UpdatePrice(ctx context.Context, p *assistant.Price) error {
	tag, err := db.conn(ctx).Exec(ctx, `UPDATE model_prices SET model_pattern = $1, input_per_mtok = $2, output_per_mtok = $3,
		cached_input_per_mtok = $4, effective_from = $5 WHERE workspace_id = $6 AND id = $7`,
		p.ModelPattern, int64(p.Input), int64(p.Output), int64(p.CachedInput), ts(p.EffectiveFrom), p.WorkspaceID, p.ID)
	if isUnique(err) {
		return assistant.PriceConflict(p)
	}
	return affected(tag, err, "model price")
}

// DeletePrice implements assistant.Store.
func (db *DB) DeletePrice(ctx context.Context, workspaceID, id string) error {
	tag, err := db.conn(ctx).Exec(ctx, `DELETE FROM model_prices WHERE workspace_id = $1 AND id = $2`, workspaceID, id)
	return affected(tag, err, "model price")
}

// pageByID completes q, a query of one workspace's rows, with the keyset
// seek, order and limit of a list ordered by id.
func (a *args) pageByID(q string, req page.Request) string {
	switch {
	case req.Backward():
		q += ` AND id < ` + a.add(req.Cursor.Key) + ` ORDER BY id DESC`
	case req.Cursor != nil:
		q += ` AND id > ` + a.add(req.Cursor.Key) + ` ORDER BY id`
	default:
		q += ` ORDER BY id`
	}
	return q + ` LIMIT ` + a.add(req.Limit+1)
}

// LinkVisitor implements conversation.Store.
func (db *DB) LinkVisitor(ctx context.Context, workspaceID, assistantID, key, conversationID string, at time.Time) error {
	_, err := db.conn(ctx).Exec(ctx, `INSERT INTO widget_visitors (workspace_id, assistant_id, visitor_key, conversation_id, updated_at)
		VALUES ($1, $2, $3, $4, $5)
		ON CONFLICT (workspace_id, assistant_id, visitor_key) DO UPDATE SET conversation_id = excluded.conversation_id, updated_at = excluded.updated_at`,
		workspaceID, assistantID, key, conversationID, ts(at))
	if err != nil {
		return fmt.Errorf("link widget visitor: %w", err)
	}
	return nil
}

// VisitorConversation implements conversation.Store.
func (db *DB) VisitorConversation(ctx context.Context, workspaceID, assistantID, key string) (string, error) {
	var id string
	err := db.conn(ctx).QueryRow(ctx, `SELECT conversation_id FROM widget_visitors
		WHERE workspace_id = $1 AND assistant_id = $2 AND visitor_key = $3`, workspaceID, assistantID, key).Scan(&id)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("find widget visitor: %w", err)
	}
	return id, nil
}

const userCols = `id, workspace_id, email, password_hash, role, created_at`

func scanUser(row pgx.Row) (*account.User, error) {
	var u account.User
	if err := row.Scan(&u.ID, &u.WorkspaceID, &u.Email, &u.PasswordHash, &u.Role, &u.CreatedAt); err != nil {
		return nil, err
	}
	u.CreatedAt = utc(u.CreatedAt)
	return &u, nil
}

// ListUsers implements account.Store.
func (db *DB) ListUsers(ctx context.Context, workspaceID string) ([]*account.User, error) {
	rows, err := db.conn(ctx).Query(ctx, `SELECT `+userCols+` FROM users WHERE workspace_id = $1 ORDER BY created_at, id`, workspaceID)
	if err != nil {
		return nil, fmt.Errorf("list users: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (*account.User, error) { return scanUser(r) })
	if err != nil {
		return nil, fmt.Errorf("list users: %w", err)
	}
	return out, nil
}

// GetUser implements account.Store.
func (db *DB) GetUser(ctx context.Context, workspaceID, id string) (*account.User, error) {
	u, err := scanUser(db.conn(ctx).QueryRow(ctx, `SELECT `+userCols+` FROM users WHERE workspace_id = $1 AND id = $2`, workspaceID, id))
	if err != nil {
		return nil, notFound(err, "user")
	}
	return u, nil
}

// SetUserRole implements account.Store.
func (db *DB) SetUserRole(ctx context.Context, workspaceID, id, role string) error {
	return db.tx(ctx, func(tx pgx.Tx) error {
		if err := keepOwner(ctx, tx, workspaceID, id, role != account.RoleOwner); err != nil {
			return err
		}
		tag, err := tx.Exec(ctx, `UPDATE users SET role = $1 WHERE workspace_id = $2 AND id = $3`, role, workspaceID, id)
		return affected(tag, err, "user")
	})
}

// DeleteUser implements account.Store.
func (db *DB) DeleteUser(ctx context.Context, workspaceID, id string) error {
	return db.tx(ctx, func(tx pgx.Tx) error {
		if err := keepOwner(ctx, tx, workspaceID, id, true); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `DELETE FROM sessions WHERE workspace_id = $1 AND user_id = $2`, workspaceID, id); err != nil {
			return fmt.Errorf("end user sessions: %w", err)
		}
		tag, err := tx.Exec(ctx, `DELETE FROM users WHERE workspace_id = $1 AND id = $2`, workspaceID, id)
		return affected(tag, err, "user")
	})
}

// keepOwner refuses, when losing is true, to take the owner role from
// user id if they are the workspace's only owner. It first locks the
// workspace row, so concurrent role changes of one workspace run one
// after another and each counts the owners the other left.
func keepOwner(ctx context.Context, tx pgx.Tx, workspaceID, id string, losing bool) error {
	if _, err := tx.Exec(ctx, `SELECT 1 FROM workspaces WHERE id = $1 FOR UPDATE`, workspaceID); err != nil {
		return fmt.Errorf("lock workspace: %w", err)
	}
	var role string
	err := tx.QueryRow(ctx, `SELECT role FROM users WHERE workspace_id = $1 AND id = $2`, workspaceID, id).Scan(&role)
	if err != nil {
		return notFound(err, "user")
	}
	if !losing || role != account.RoleOwner {
		return nil
	}
	var owners int
	if err := tx.QueryRow(ctx, `SELECT count(*) FROM users WHERE workspace_id = $1 AND role = $2`,
		workspaceID, account.RoleOwner).Scan(&owners); err != nil {
		return fmt.Errorf("count owners: %w", err)
	}
	if owners <= 1 {
		return fault.New(fault.CodeConflict, "the workspace must keep at least one owner")
	}
	return nil
}
