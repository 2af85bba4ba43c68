package account

import (
	"context"
	"crypto/sha256"
	"fmt"
	"log/slog"
	"strings"
	"time"
	"unicode/utf8"

	"golang.org/x/crypto/bcrypt"

	"github.com/parley-dev/parley/internal/fault"
	"github.com/parley-dev/parley/internal/ids"
)

// Session is a signed-in dashboard user. The browser holds a random token;
// only its hash is stored, so a leaked database cannot be replayed as
// cookies.
type Session struct {
	ID        string
	TokenHash []byte
	UserID    string
	// WorkspaceID is the user's workspace, copied so every dashboard
	// query can be scoped without another read.
	WorkspaceID string
	// CSRFToken is sent back in every form and htmx request of the
	// session; it is random per session, not derived from the cookie.
	CSRFToken  string
	CreatedAt  time.Time
	ExpiresAt  time.Time
	LastSeenAt time.Time
	// User is the session's user as it is now (role changes apply at once);
	// filled by GetSessionByHash.
	User *User
}

// SessionStore persists dashboard sessions and failed sign-ins. Failures
// are counted in the database, not in memory, so a lockout holds on every
// node.
type SessionStore interface {
	CreateSession(ctx context.Context, s *Session) error
	// GetSessionByHash returns the session with this token hash and its
	// user, expired or not.
	GetSessionByHash(ctx context.Context, hash []byte) (*Session, error)
	// TouchSession moves a session's last use and expiry forward.
	TouchSession(ctx context.Context, id string, lastSeen, expires time.Time) error
	// DeleteSession removes a session (sign-out); a missing one is no error.
	DeleteSession(ctx context.Context, id string) error
	// DeleteExpiredSessions removes sessions that expired before t.
	DeleteExpiredSessions(ctx context.Context, t time.Time) (int64, error)
	// RecordLoginFailure remembers a failed sign-in for email from ip.
	RecordLoginFailure(ctx context.Context, email, ip string, at time.Time) error
	// LoginFailures counts failed sign-ins for email since since: in all,
	// and from ip.
	LoginFailures(ctx context.Context, email, ip string, since time.Time) (total, fromIP int, err error)
	// ClearLoginFailures forgets the failures of email (after a sign-in).
	ClearLoginFailures(ctx context.Context, email string) error
	// RenameWorkspace changes a workspace's name.
	RenameWorkspace(ctx context.Context, id, name string) error
}

// Session lifetimes and sign-in limits.
const (
	// SessionIdle ends a session nobody used for this long.
	SessionIdle = 7 * 24 * time.Hour
	// SessionMax ends every session this long after sign-in, used or not.
	SessionMax = 30 * 24 * time.Hour
	// sessionTouch is how stale LastSeenAt may get before a request
	// writes it again, so browsing costs one write a minute, not one per
	// request.
	sessionTouch = time.Minute

	// LoginWindow is the period failed sign-ins are counted over.
	LoginWindow = 15 * time.Minute
	// LoginIPLimit failures for one email from one address in LoginWindow
	// slow that address down (rate limit).
	LoginIPLimit = 5
	// LoginLockLimit failures for one email from anywhere in LoginWindow
	// lock the account until the window has passed.
	LoginLockLimit = 10
)

// SessionCookie is the dashboard's session cookie.
const SessionCookie = "parley_session"

// HashSessionToken hashes a session token; like API keys, tokens are long
// and random, so a fast hash is enough.
func HashSessionToken(token string) []byte {
	h := sha256.Sum256([]byte("session:" + token))
	return h[:]
}

// dummyHash is compared against when the email is unknown, so a sign-in
// takes as long whether the account exists or not.
var dummyHash, _ = bcrypt.GenerateFromPassword([]byte("not a password of anyone"), bcrypt.DefaultCost)

// Login checks an email and password and starts a session, returning the
// token for the cookie. Failures are counted per email (lockout) and per
// email and address (rate limit) in the store; both answer rate_limited
// with a message saying how long to wait, and change nothing else.
func (s *Service) Login(ctx context.Context, email, password, ip string) (string, *Session, error) {
	email = strings.ToLower(strings.TrimSpace(email))
	if email == "" || password == "" || len(email) > 320 || !utf8.ValidString(email) {
		return "", nil, fault.New(fault.CodeUnauthorized, "Wrong email or password.")
	}
	now := s.Now().UTC().Truncate(time.Millisecond)
	since := now.Add(-LoginWindow)
	total, fromIP, err := s.Store.LoginFailures(ctx, email, ip, since)
	if err != nil {
		return "", nil, fmt.Errorf("count sign-in failures: %w", err)
	}
	wait := int(LoginWindow / time.Minute)
	switch {
	case total >= LoginLockLimit:
		return "", nil, fault.New(fault.CodeRateLimited,
			"This account is locked after %d failed sign-ins. Try again in %d minutes.", total, wait)
	case fromIP >= LoginIPLimit:
		return "", nil, fault.New(fault.CodeRateLimited,
			"Too many failed sign-ins from your address. Try again in %d minutes.", wait)
	}
	u, err := s.Store.GetUserByEmail(ctx, email)
	hash := dummyHash
	if err == nil {
		hash = []byte(u.PasswordHash)
	} else if !fault.Is(err, fault.CodeNotFound) {
		return "", nil, err
	}
	if bcrypt.CompareHashAndPassword(hash, []byte(password)) != nil || u == nil {
		if err := s.Store.RecordLoginFailure(ctx, email, ip, now); err != nil {
			return "", nil, fmt.Errorf("record sign-in failure: %w", err)
		}
		slog.InfoContext(ctx, "dashboard sign-in failed", "ip", ip)
		return "", nil, fault.New(fault.CodeUnauthorized, "Wrong email or password.")
	}
	if total > 0 {
		if err := s.Store.ClearLoginFailures(ctx, email); err != nil {
			return "", nil, fmt.Errorf("clear sign-in failures: %w", err)
		}
	}
	token := RandomToken(43)
	sess := &Session{
		ID: ids.NewAt(ids.Session, now), TokenHash: HashSessionToken(token), UserID: u.ID, WorkspaceID: u.WorkspaceID,
		CSRFToken: RandomToken(32), CreatedAt: now, ExpiresAt: now.Add(SessionIdle), LastSeenAt: now, User: u,
	}
	if err := s.Store.CreateSession(ctx, sess); err != nil {
		return "", nil, err
	}
	// Sign-ins are rare: a good moment to sweep expired sessions.
	if _, err := s.Store.DeleteExpiredSessions(ctx, now); err != nil {
		slog.WarnContext(ctx, "delete expired sessions", "err", err)
	}
	return token, sess, nil
}

// Session returns the live session of a cookie token, moving its expiry
// forward when it is used; an unknown or expired token is unauthorized.
func (s *Service) Session(ctx context.Context, token string) (*Session, error) {
	if token == "" || len(token) > 200 {
		return nil, fault.New(fault.CodeUnauthorized, "not signed in")
	}
	sess, err := s.Store.GetSessionByHash(ctx, HashSessionToken(token))
	if fault.Is(err, fault.CodeNotFound) {
		return nil, fault.New(fault.CodeUnauthorized, "not signed in")
	}
	if err != nil {
		return nil, err
	}
	now := s.Now().UTC().Truncate(time.Millisecond)
	if !now.Before(sess.ExpiresAt) || !now.Before(sess.CreatedAt.Add(SessionMax)) {
		return nil, fault.New(fault.CodeUnauthorized, "your session has expired; sign in again")
	}
	if now.Sub(sess.LastSeenAt) >= sessionTouch {
		exp := now.Add(SessionIdle)
		if last := sess.CreatedAt.Add(SessionMax); last.Before(exp) {
			exp = last
		}
		if err := s.Store.TouchSession(ctx, sess.ID, now, exp); err != nil {
			slog.WarnContext(ctx, "record session use", "err", err)
		} else {
			sess.LastSeenAt, sess.ExpiresAt = now, exp
		}
	}
	return sess, nil
}

// Logout ends a session.
func (s *Service) Logout(ctx context.Context, sess *Session) error {
	return s.Store.DeleteSession(ctx, sess.ID)
}

// Can reports whether role may do what needs at least min (owner > admin >
// agent).
func Can(role, min string) bool {
	rank := map[string]int{RoleAgent: 1, RoleAdmin: 2, RoleOwner: 3}
	return rank[role] >= rank[min] && rank[role] > 0
}

// RequireRole refuses a user whose role is below min with forbidden.
func RequireRole(u *User, min string) error {
	if u == nil || !Can(u.Role, min) {
		return fault.New(fault.CodeForbidden, "your role may not do this; ask an owner or admin")
	}
	return nil
}

// RenameWorkspace changes the workspace's name; owners and admins only.
func (s *Service) RenameWorkspace(ctx context.Context, u *User, name string) (*Workspace, error) {
	if err := RequireRole(u, RoleAdmin); err != nil {
		return nil, err
	}
	name = strings.TrimSpace(name)
	if n := utf8.RuneCountInString(name); n == 0 || n > 200 {
		return nil, fault.Invalid("name", "must be 1 to 200 characters")
	}
	if err := s.Store.RenameWorkspace(ctx, u.WorkspaceID, name); err != nil {
		return nil, err
	}
	return s.Store.GetWorkspace(ctx, u.WorkspaceID)
}
