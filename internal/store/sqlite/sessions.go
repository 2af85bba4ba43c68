package sqlite

import (
	"context"
	"fmt"
	"time"

	"github.com/parley-dev/parley/internal/account"
)

// CreateSession implements account.SessionStore.
func (db *DB) CreateSession(ctx context.Context, s *account.Session) error {
	_, err := db.writer(ctx).ExecContext(ctx, `INSERT INTO sessions
		(id, token_hash, user_id, workspace_id, csrf_token, created_at, expires_at, last_seen_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?)`, s.ID, s.TokenHash, s.UserID, s.WorkspaceID, s.CSRFToken,
		ms(s.CreatedAt), ms(s.ExpiresAt), ms(s.LastSeenAt))
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
	var created, expires, seen, userCreated int64
	err := db.reader(ctx).QueryRowContext(ctx, `SELECT s.id, s.token_hash, s.user_id, s.workspace_id, s.csrf_token,
			s.created_at, s.expires_at, s.last_seen_at, u.id, u.workspace_id, u.email, u.password_hash, u.role, u.created_at
		FROM sessions s JOIN users u ON u.id = s.user_id AND u.workspace_id = s.workspace_id
		WHERE s.token_hash = ?`, hash).Scan(&s.ID, &s.TokenHash, &s.UserID, &s.WorkspaceID, &s.CSRFToken,
		&created, &expires, &seen, &u.ID, &u.WorkspaceID, &u.Email, &u.PasswordHash, &u.Role, &userCreated)
	if err != nil {
		return nil, db.notFound(err, "session")
	}
	s.CreatedAt, s.ExpiresAt, s.LastSeenAt, u.CreatedAt = fromMS(created), fromMS(expires), fromMS(seen), fromMS(userCreated)
	s.User = &u
	return &s, nil
}

// TouchSession implements account.SessionStore.
func (db *DB) TouchSession(ctx context.Context, id string, lastSeen, expires time.Time) error {
	_, err := db.writer(ctx).ExecContext(ctx, `UPDATE sessions SET last_seen_at = ?, expires_at = ? WHERE id = ?`,
		ms(lastSeen), ms(expires), id)
	if err != nil {
		return fmt.Errorf("touch session: %w", err)
	}
	return nil
}

// DeleteSession implements account.SessionStore.
func (db *DB) DeleteSession(ctx context.Context, id string) error {
	if _, err := db.writer(ctx).ExecContext(ctx, `DELETE FROM sessions WHERE id = ?`, id); err != nil {
		return fmt.Errorf("delete session: %w", err)
	}
	return nil
}

// DeleteExpiredSessions implements account.SessionStore; it also drops
// sign-in failures older than the counting window.
func (db *DB) DeleteExpiredSessions(ctx context.Context, t time.Time) (int64, error) {
	res, err := db.writer(ctx).ExecContext(ctx, `DELETE FROM sessions WHERE expires_at < ?`, ms(t))
	if err != nil {
		return 0, fmt.Errorf("delete expired sessions: %w", err)
	}
	if _, err := db.writer(ctx).ExecContext(ctx, `DELETE FROM login_failures WHERE at < ?`,
		ms(t.Add(-account.LoginWindow))); err != nil {
		return 0, fmt.Errorf("delete old sign-in failures: %w", err)
	}
	return res.RowsAffected()
}

// RecordLoginFailure implements account.SessionStore.
func (db *DB) RecordLoginFailure(ctx context.Context, email, ip string, at time.Time) error {
	_, err := db.writer(ctx).ExecContext(ctx, `INSERT INTO login_failures (email, ip, at) VALUES (?, ?, ?)`, email, ip, ms(at))
	if err != nil {
		return fmt.Errorf("insert sign-in failure: %w", err)
	}
	return nil
}

// LoginFailures implements account.SessionStore.
func (db *DB) LoginFailures(ctx context.Context, email, ip string, since time.Time) (total, fromIP int, err error) {
	err = db.reader(ctx).QueryRowContext(ctx, `SELECT count(*), coalesce(sum(ip = ?), 0)
		FROM login_failures WHERE email = ? AND at >= ?`, ip, email, ms(since)).Scan(&total, &fromIP)
	if err != nil {
		return 0, 0, fmt.Errorf("count sign-in failures: %w", err)
	}
	return total, fromIP, nil
}

// ClearLoginFailures implements account.SessionStore.
func (db *DB) ClearLoginFailures(ctx context.Context, email string) error {
	if _, err := db.writer(ctx).ExecContext(ctx, `DELETE FROM login_failures WHERE email = ?`, email); err != nil {
		return fmt.Errorf("clear sign-in failures: %w", err)
	}
	return nil
}

// RenameWorkspace implements account.SessionStore.
func (db *DB) RenameWorkspace(ctx context.Context, id, name string) error {
	res, err := db.writer(ctx).ExecContext(ctx, `UPDATE workspaces SET name = ? WHERE id = ?`, name, id)
	return affected(res, err, "workspace")
}
