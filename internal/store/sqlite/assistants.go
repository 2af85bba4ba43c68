package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/parley-dev/parley/internal/assistant"
	"github.com/parley-dev/parley/internal/fault"
	"github.com/parley-dev/parley/internal/page"
)

const assistantCols = `id, workspace_id, public_key, identity_secret, config, created_at, updated_at`

func scanAssistant(row interface{ Scan(...any) error }) (*assistant.Assistant, error) {
	var a assistant.Assistant
	var config string
	var created, updated int64
	if err := row.Scan(&a.ID, &a.WorkspaceID, &a.PublicKey, &a.SealedIdentitySecret, &config, &created, &updated); err != nil {
		return nil, err
	}
	if err := json.Unmarshal([]byte(config), &a.Settings); err != nil {
		return nil, fmt.Errorf("assistant %s: decode settings: %w", a.ID, err)
	}
	a.CreatedAt, a.UpdatedAt = fromMS(created), fromMS(updated)
	return &a, nil
}

// CreateAssistant implements assistant.Store.
func (db *DB) CreateAssistant(ctx context.Context, a *assistant.Assistant) error {
	return createAssistant(ctx, db.writer(ctx), a)
}

func createAssistant(ctx context.Context, db execer, a *assistant.Assistant) error {
	config, err := json.Marshal(a.Settings)
	if err != nil {
		return err
	}
	_, err = db.ExecContext(ctx, `INSERT INTO assistants (id, workspace_id, name, public_key, identity_secret, config, created_at, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?)`, a.ID, a.WorkspaceID, a.Name, a.PublicKey, a.SealedIdentitySecret, string(config), ms(a.CreatedAt), ms(a.UpdatedAt))
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
	a, err := scanAssistant(db.reader(ctx).QueryRowContext(ctx, `SELECT `+assistantCols+` FROM assistants
		WHERE workspace_id = ? AND id = ? AND deleted_at IS NULL`, workspaceID, id))
	return a, db.notFound(err, "assistant")
}

// GetAssistantByPublicKey implements assistant.Store.
func (db *DB) GetAssistantByPublicKey(ctx context.Context, publicKey string) (*assistant.Assistant, error) {
	a, err := scanAssistant(db.reader(ctx).QueryRowContext(ctx, `SELECT `+assistantCols+` FROM assistants
		WHERE public_key = ? AND deleted_at IS NULL`, publicKey))
	return a, db.notFound(err, "assistant")
}

// ListAssistants implements assistant.Store: keyset on id, oldest first.
func (db *DB) ListAssistants(ctx context.Context, workspaceID string, req page.Request) ([]*assistant.Assistant, error) {
	q, args := pageByID(`SELECT `+assistantCols+` FROM assistants WHERE workspace_id = ? AND deleted_at IS NULL`, []any{workspaceID}, req)
	out, err := queryAll(ctx, db.reader(ctx), q, args, scanAssistant)
	if err != nil {
		return nil, fmt.Errorf("list assistants: %w", err)
	}
	return out, nil
}

// UpdateAssistant implements assistant.Store.
func (db *DB) UpdateAssistant(ctx context.Context, a *assistant.Assistant) error {
	config, err := json.Marshal(a.Settings)
	if err != nil {
		return err
	}
	res, err := db.writer(ctx).ExecContext(ctx, `UPDATE assistants SET name = ?, identity_secret = ?, config = ?, updated_at = ?
		WHERE workspace_id = ? AND id = ? AND deleted_at IS NULL`, a.Name, a.SealedIdentitySecret, string(config), ms(a.UpdatedAt), a.WorkspaceID, a.ID)
	return affected(res, err, "assistant")
}

// DeleteAssistant implements assistant.Store (a soft delete).
func (db *DB) DeleteAssistant(ctx context.Context, workspaceID, id string, at time.Time) error {
	res, err := db.writer(ctx).ExecContext(ctx, `UPDATE assistants SET deleted_at = ?
		WHERE workspace_id = ? AND id = ? AND deleted_at IS NULL`, ms(at), workspaceID, id)
	return affected(res, err, "assistant")
}

// affected turns "no row changed" into a not-found fault.
func affected(res sql.Result, err error, kind string) error {
	if err != nil {
		return fmt.Errorf("update %s: %w", kind, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return err
	}
	if n == 0 {
		return fault.NotFound(kind)
	}
	return nil
}

const priceCols = `id, workspace_id, model_pattern, input_per_mtok, output_per_mtok, cached_input_per_mtok, effective_from, created_at`

func scanPrice(row interface{ Scan(...any) error }) (*assistant.Price, error) {
	var p assistant.Price
	var eff, created int64
	if err := row.Scan(&p.ID, &p.WorkspaceID, &p.ModelPattern, &p.Input, &p.Output, &p.CachedInput, &eff, &created); err != nil {
		return nil, err
	}
	p.EffectiveFrom, p.CreatedAt = fromMS(eff), fromMS(created)
	return &p, nil
}

// CreatePrice implements assistant.Store.
func (db *DB) CreatePrice(ctx context.Context, p *assistant.Price) error {
	_, err := db.writer(ctx).ExecContext(ctx, `INSERT INTO model_prices (`+priceCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
		p.ID, p.WorkspaceID, p.ModelPattern, p.Input, p.Output, p.CachedInput, ms(p.EffectiveFrom), ms(p.CreatedAt))
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
	p, err := scanPrice(db.reader(ctx).QueryRowContext(ctx, `SELECT `+priceCols+` FROM model_prices WHERE workspace_id = ? AND id = ?`, workspaceID, id))
	return p, db.notFound(err, "model price")
}

// ListPrices implements assistant.Store.
func (db *DB) ListPrices(ctx context.Context, workspaceID string) ([]*assistant.Price, error) {
	rows, err := db.reader(ctx).QueryContext(ctx, `SELECT `+priceCols+` FROM model_prices WHERE workspace_id = ?
		ORDER BY model_pattern, effective_from, id`, workspaceID)
	if err != nil {
		return nil, fmt.Errorf("list model prices: %w", err)
	}
	defer rows.Close()
	var out []*assistant.Price
	for rows.Next() {
		p, err := scanPrice(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, rows.Err()
}

// UpdatePrice implements assistant.Store.
func (db *DB) UpdatePrice(ctx context.Context, p *assistant.Price) error {
	res, err := db.writer(ctx).ExecContext(ctx, `UPDATE model_prices SET model_pattern = ?, input_per_mtok = ?, output_per_mtok = ?,
		cached_input_per_mtok = ?, effective_from = ? WHERE workspace_id = ? AND id = ?`,
		p.ModelPattern, p.Input, p.Output, p.CachedInput, ms(p.EffectiveFrom), p.WorkspaceID, p.ID)
	if isUnique(err) {
		return assistant.PriceConflict(p)
	}
	return affected(res, err, "model price")
}

// DeletePrice implements assistant.Store.
func (db *DB) DeletePrice(ctx context.Context, workspaceID, id string) error {
	res, err := db.writer(ctx).ExecContext(ctx, `DELETE FROM model_prices WHERE workspace_id = ? AND id = ?`, workspaceID, id)
	return affected(res, err, "model price")
}

// LinkVisitor implements conversation.Store.
func (db *DB) LinkVisitor(ctx context.Context, workspaceID, assistantID, key, conversationID string, at time.Time) error {
	_, err := db.writer(ctx).ExecContext(ctx, `INSERT INTO widget_visitors (workspace_id, assistant_id, visitor_key, conversation_id, updated_at)
		VALUES (?, ?, ?, ?, ?)
		ON CONFLICT (workspace_id, assistant_id, visitor_key) DO UPDATE SET conversation_id = excluded.conversation_id, updated_at = excluded.updated_at`,
		workspaceID, assistantID, key, conversationID, ms(at))
	if err != nil {
		return fmt.Errorf("link widget visitor: %w", err)
	}
	return nil
}

// VisitorConversation implements conversation.Store.
func (db *DB) VisitorConversation(ctx context.Context, workspaceID, assistantID, key string) (string, error) {
	var id string
	err := db.reader(ctx).QueryRowContext(ctx, `SELECT conversation_id FROM widget_visitors
		WHERE workspace_id = ? AND assistant_id = ? AND visitor_key = ?`, workspaceID, assistantID, key).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("find widget visitor: %w", err)
	}
	return id, nil
}
