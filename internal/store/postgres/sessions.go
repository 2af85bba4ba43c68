package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/parley-dev/parley/internal/account"
)

// CreateSession implements account.SessionStore.
func (db *DB) CreateSession(ctx context.Context, s *account.Session) error {
	_, err := db.conn(ctx).Exec(ctx, `INSERT INTO sessions
		(id, token_hash, user_id, workspace_id, csrf_token, created_at, expires_at, last_seen_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`, s.ID, s.TokenHash, s.UserID, s.WorkspaceID, s.CSRFToken,
		ts(s.CreatedAt), ts(s.ExpiresAt), ts(s.LastSeenAt))
	if err != nil {
		return fmt.Errorf("insert session: %w", err)
	}
	return nil
}

// GetSessionByHash implements account.SessionStore, with the session's
// user as it is now.
func (db *DB) GetSessionByHash(ctx context.Context, hash []byte) (*account.Session, error) {
	var s account.Session
	var u account.User
	err := db.conn(ctx).QueryRow(ctx, `SELECT s.id, s.token_hash, s.user_id, s.workspace_id, s.csrf_token,
			s.created_at, s.expires_at, s.last_seen_at, u.id, u.workspace_id, u.email, u.password_hash, u.role, u.created_at
		FROM sessions s JOIN users u ON u.id = s.user_id AND u.workspace_id = s.workspace_id
		WHERE s.token_hash = $1`, hash).Scan(&s.ID, &s.TokenHash, &s.UserID, &s.WorkspaceID, &s.CSRFToken,
		&s.CreatedAt, &s.ExpiresAt, &s.LastSeenAt, &u.ID, &u.WorkspaceID, &u.Email, &u.PasswordHash, &u.Role, &u.CreatedAt)
	if err != nil {
		return nil, notFound(err, "session")
	}
	s.CreatedAt, s.ExpiresAt, s.LastSeenAt, u.CreatedAt = utc(s.CreatedAt), utc(s.ExpiresAt), utc(s.LastSeenAt), utc(u.CreatedAt)
	s.User = &u
	return &s, nil
}

// TouchSession implements account.SessionStore.
func (db *DB) TouchSession(ctx context.Context, id string, lastSeen, expires time.Time) error {
	_, err := db.conn(ctx).Exec(ctx, `UPDATE sessions SET last_seen_at = $2, expires_at = $3 WHERE id = $1`,
		id, ts(lastSeen), ts(expires))
	if err != nil {
		return fmt.Errorf("touch session: %w", err)
	}
	return nil
}

// DeleteSession implements account.SessionStore.
func (db *DB) DeleteSession(ctx context.Context, id string) error {
	if _, err := db.conn(ctx).Exec(ctx, `DELETE FROM sessions WHERE id = $1`, id); err != nil {
		return fmt.Errorf("delete session: %w", err)
	}
	return nil
}

// DeleteExpiredSessions implements account.SessionStore; it also drops
// sign-in failures older than the counting window.
func (db *DB) DeleteExpiredSessions(ctx context.Context, t time.Time) (int64, error) {
	tag, err := db.conn(ctx).Exec(ctx, `DELETE FROM sessions WHERE expires_at < $1`, ts(t))
	if err != nil {
		return 0, fmt.Errorf("delete expired sessions: %w", err)
	}
	if _, err := db.conn(ctx).Exec(ctx, `DELETE FROM login_failures WHERE at < $1`, ts(t.Add(-account.LoginWindow))); err != nil {
		return 0, fmt.Errorf("delete old sign-in failures: %w", err)
	}
	return tag.RowsAffected(), nil
}

// RecordLoginFailure implements account.SessionStore.
func (db *DB) RecordLoginFailure(ctx context.Context, email, ip string, at time.Time) error {
	if _, err := db.conn(ctx).Exec(ctx, `INSERT INTO login_failures (email, ip, at) VALUES ($1, $2, $3)`, email, ip, ts(at)); err != nil {
		return fmt.Errorf("insert sign-in failure: %w", err)
	}
	return nil
}

// LoginFailures implements account.SessionStore.
func (db *DB) LoginFailures(ctx context.Context, email, ip string, since time.Time) (total, fromIP int, err error) {
	err = db.conn(ctx).QueryRow(ctx, `SELECT count(*), count(*) FILTER (WHERE ip = $2)
		FROM login_failures WHERE email = $1 AND at >= $3`, email, ip, ts(since)).Scan(&total, &fromIP)
	if err != nil {
		return 0, 0, fmt.Errorf("count sign-in failures: %w", err)
	}
	return total, fromIP, nil
}

// ClearLoginFailures implements account.SessionStore.
func (db *DB) ClearLoginFailures(ctx context.Context, email string) error {
	if _, err := db.conn(ctx).Exec(ctx, `DELETE FROM login_failures WHERE email = $1`, email); err != nil {
		return fmt.Errorf("clear sign-in failures: %w", err)
	}
	return nil
}

// RenameWorkspace implements account.SessionStore.
func (db *DB) RenameWorkspace(ctx context.Context, id, name string) error {
	tag, err := db.conn(ctx).Exec(ctx, `UPDATE workspaces SET name = $2 WHERE id = $1`, id, name)
	return affected(tag, err, "workspace")
}
