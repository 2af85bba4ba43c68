// Package account holds the tenants of Parley and who may act for them:
// workspaces, dashboard users and API keys.
package account

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
	"log/slog"
	"math/big"
	"net/mail"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"golang.org/x/crypto/bcrypt"

	"github.com/parley-dev/parley/internal/fault"
	"github.com/parley-dev/parley/internal/ids"
	"github.com/parley-dev/parley/internal/page"
)

// User roles, from most to least powerful.
const (
	RoleOwner = "owner"
	RoleAdmin = "admin"
	RoleAgent = "agent"
)

// Workspace is a tenant: every other resource belongs to exactly one.
type Workspace struct {
	ID        string
	Name      string
	CreatedAt time.Time
}

// User is a person who signs in to the dashboard.
type User struct {
	ID           string
	WorkspaceID  string
	Email        string
	PasswordHash string
	Role         string
	CreatedAt    time.Time
}

// APIKey authorises API calls for one workspace. Only a hash of the secret
// is kept; the secret itself is shown once, when the key is made.
type APIKey struct {
	ID          string
	WorkspaceID string
	Name        string
	Hash        []byte
	// Prefix is the first characters of the secret, kept so people can
	// tell their keys apart.
	Prefix    string
	CreatedAt time.Time
	// LastUsedAt is when the key last authenticated a request, to within
	// LastUsedInterval; nil if it never has.
	LastUsedAt *time.Time
}

// LastUsedInterval is how stale a key's LastUsedAt may get: a use is
// recorded only when the stored one is older, so busy keys cost one write
// a minute, not one per request.
const LastUsedInterval = time.Minute

// Store persists accounts. Settings are process-wide key/value pairs such
// as the generated secret key.
type Store interface {
	CreateWorkspace(ctx context.Context, w *Workspace) error
	GetWorkspace(ctx context.Context, id string) (*Workspace, error)
	// ListWorkspaces returns all workspaces, oldest first.
	ListWorkspaces(ctx context.Context) ([]*Workspace, error)
	CreateUser(ctx context.Context, u *User) error
	GetUserByEmail(ctx context.Context, email string) (*User, error)
	// ListUsers returns the workspace's users, oldest first. Workspaces
	// have few users, so the list is not paged.
	ListUsers(ctx context.Context, workspaceID string) ([]*User, error)
	// GetUser returns a user of the workspace; a user of another
	// workspace is not found.
	GetUser(ctx context.Context, workspaceID, id string) (*User, error)
	// SetUserRole changes a user's role. It refuses with conflict, and
	// changes nothing, when that would leave the workspace without an
	// owner; the check and the write are atomic, so two owners demoting
	// each other at once cannot both succeed.
	SetUserRole(ctx context.Context, workspaceID, id, role string) error
	// DeleteUser removes a user of the workspace and ends their sessions,
	// refusing like SetUserRole when they are the last owner.
	DeleteUser(ctx context.Context, workspaceID, id string) error
	CreateAPIKey(ctx context.Context, k *APIKey) error
	GetAPIKeyByHash(ctx context.Context, hash []byte) (*APIKey, error)
	// ListAPIKeys returns one page of a workspace's keys, oldest first
	// (keyset on id).
	ListAPIKeys(ctx context.Context, workspaceID string, req page.Request) ([]*APIKey, error)
	// DeleteAPIKey removes a key of the workspace, so it no longer
	// authenticates; a key of another workspace is not found.
	DeleteAPIKey(ctx context.Context, workspaceID, id string) error
	// TouchAPIKey sets the key's last use to at, unless it already has
	// one at or after staleBefore.
	TouchAPIKey(ctx context.Context, id string, at, staleBefore time.Time) error
	// EnsureSetting stores value under key unless the key already has one,
	// and returns the value that is stored.
	EnsureSetting(ctx context.Context, key, value string) (string, error)
	SessionStore
}

// Service creates and checks accounts.
type Service struct {
	Store Store
	Now   func() time.Time

	// touched remembers when this node last recorded each key's use, so
	// that concurrent requests with a stale key do not all write.
	touchMu sync.Mutex
	touched map[string]time.Time
}

// KeyPrefix starts every API key secret, so leaked keys are recognisable.
const KeyPrefix = "pk_"

// CreateWorkspace makes a new tenant.
func (s *Service) CreateWorkspace(ctx context.Context, name string) (*Workspace, error) {
	w, err := s.NewWorkspace(name)
	if err != nil {
		return nil, err
	}
	if err := s.Store.CreateWorkspace(ctx, w); err != nil {
		return nil, err
	}
	return w, nil
}

// NewWorkspace checks and builds a workspace without storing it, for
// callers that store it together with more (the first start).
func (s *Service) NewWorkspace(name string) (*Workspace, error) {
	name = strings.TrimSpace(name)
	if n := utf8.RuneCountInString(name); n == 0 || n > 200 {
		return nil, fault.Invalid("name", "must be 1 to 200 characters")
	}
	now := s.Now().UTC().Truncate(time.Millisecond)
	return &Workspace{ID: ids.NewAt(ids.Workspace, now), Name: name, CreatedAt: now}, nil
}

// GetWorkspace returns one workspace.
func (s *Service) GetWorkspace(ctx context.Context, id string) (*Workspace, error) {
	return s.Store.GetWorkspace(ctx, id)
}

// DefaultWorkspace returns the id of the oldest workspace, used when a
// command is not told which one to act on.
func (s *Service) DefaultWorkspace(ctx context.Context) (string, error) {
	ws, err := s.Store.ListWorkspaces(ctx)
	if err != nil {
		return "", err
	}
	if len(ws) == 0 {
		return "", errors.New("no workspace exists yet: run `parley serve` once or `parley workspace create`")
	}
	return ws[0].ID, nil
}

// CreateUser adds a dashboard user with a bcrypt-hashed password.
func (s *Service) CreateUser(ctx context.Context, workspaceID, email, password, role string) (*User, error) {
	if err := CheckUser(email, password, role); err != nil {
		return nil, err
	}
	if _, err := s.Store.GetWorkspace(ctx, workspaceID); err != nil {
		return nil, err
	}
	u, err := s.NewUser(workspaceID, email, password, role)
	if err != nil {
		return nil, err
	}
	if err := s.Store.CreateUser(ctx, u); err != nil {
		return nil, err
	}
	return u, nil
}

// CheckUser checks a new user's email, password and role ("" is agent),
// so configuration can be checked before anything is stored.
func CheckUser(email, password, role string) error {
	var v fault.Validation
	if msg := CheckEmail(email); msg != "" {
		v.Add("email", "%s", msg)
	}
	if msg := CheckPassword(password); msg != "" {
		v.Add("password", "%s", msg)
	}
	if role != "" && role != RoleOwner && role != RoleAdmin && role != RoleAgent {
		v.Add("role", "must be owner, admin or agent")
	}
	return v.Err()
}

// CheckEmail says what is wrong with a user's email address, or "".
func CheckEmail(email string) string {
	if addr, err := mail.ParseAddress(strings.TrimSpace(email)); err != nil || addr.Name != "" {
		return "must be an email address"
	}
	return ""
}

// CheckPassword says what is wrong with a user's password, or "". bcrypt
// reads no more than 72 bytes.
func CheckPassword(password string) string {
	if utf8.RuneCountInString(password) < 8 || len(password) > 72 {
		return "must be 8 to 72 bytes long"
	}
	return ""
}

// NewUser checks and builds a user of workspaceID, hashing the password,
// without storing it.
func (s *Service) NewUser(workspaceID, email, password, role string) (*User, error) {
	if err := CheckUser(email, password, role); err != nil {
		return nil, err
	}
	if role == "" {
		role = RoleAgent
	}
	addr, _ := mail.ParseAddress(strings.TrimSpace(email)) // checked above
	hash, err := bcrypt.GenerateFromPassword([]byte(password), bcrypt.DefaultCost)
	if err != nil {
		return nil, fmt.Errorf("hash password: %w", err)
	}
	now := s.Now().UTC().Truncate(time.Millisecond)
	return &User{
		ID: ids.NewAt(ids.User, now), WorkspaceID: workspaceID,
		Email: strings.ToLower(addr.Address), PasswordHash: string(hash), Role: role, CreatedAt: now,
	}, nil
}

// CreateAPIKey makes a key for a workspace and returns its secret, which
// is not stored and cannot be shown again.
func (s *Service) CreateAPIKey(ctx context.Context, workspaceID, name string) (string, *APIKey, error) {
	name = strings.TrimSpace(name)
	if n := utf8.RuneCountInString(name); n == 0 || n > 200 {
		return "", nil, fault.Invalid("name", "must be 1 to 200 characters")
	}
	if _, err := s.Store.GetWorkspace(ctx, workspaceID); err != nil {
		return "", nil, err
	}
	secret := KeyPrefix + RandomToken(40)
	now := s.Now().UTC().Truncate(time.Millisecond)
	k := &APIKey{
		ID: ids.NewAt(ids.APIKey, now), WorkspaceID: workspaceID, Name: name,
		Hash: HashKey(secret), Prefix: secret[:len(KeyPrefix)+6], CreatedAt: now,
	}
	if err := s.Store.CreateAPIKey(ctx, k); err != nil {
		return "", nil, err
	}
	return secret, k, nil
}

// ListAPIKeys returns one page of the workspace's keys, oldest first.
// Secrets are never stored, so they are never listed.
func (s *Service) ListAPIKeys(ctx context.Context, workspaceID string, req page.Request) (page.Result[*APIKey], error) {
	rows, err := s.Store.ListAPIKeys(ctx, workspaceID, req)
	if err != nil {
		return page.Result[*APIKey]{}, err
	}
	return page.Build(rows, req, func(k *APIKey) page.Cursor { return page.Cursor{Key: k.ID} }), nil
}

// RevokeAPIKey deletes a key of the workspace. Keys are checked against
// the store on every request, so the key is refused from then on, on
// every node. Any key of the workspace may revoke any other, or itself.
func (s *Service) RevokeAPIKey(ctx context.Context, workspaceID, id string) error {
	if !ids.HasPrefix(id, ids.APIKey) {
		return fault.NotFound("API key")
	}
	if err := s.Store.DeleteAPIKey(ctx, workspaceID, id); err != nil {
		return err
	}
	s.touchMu.Lock()
	delete(s.touched, id)
	s.touchMu.Unlock()
	return nil
}

// Authenticate returns the key a bearer secret belongs to, and records
// that it was used.
func (s *Service) Authenticate(ctx context.Context, secret string) (*APIKey, error) {
	if !strings.HasPrefix(secret, KeyPrefix) || len(secret) > 200 {
		return nil, fault.New(fault.CodeUnauthorized, "invalid API key")
	}
	k, err := s.Store.GetAPIKeyByHash(ctx, HashKey(secret))
	if fault.Is(err, fault.CodeNotFound) {
		return nil, fault.New(fault.CodeUnauthorized, "invalid API key")
	}
	if err != nil {
		return nil, err
	}
	s.touch(ctx, k)
	return k, nil
}

// touch records a use of k when its stored last use is older than
// LastUsedInterval, and this node has not just recorded one. The update is
// conditional, so nodes racing on the same key write it once. A failure
// only loses a timestamp, so it is logged and the request goes on.
func (s *Service) touch(ctx context.Context, k *APIKey) {
	now := s.Now().UTC().Truncate(time.Millisecond)
	stale := now.Add(-LastUsedInterval)
	if k.LastUsedAt != nil && k.LastUsedAt.After(stale) {
		return
	}
	s.touchMu.Lock()
	if last, ok := s.touched[k.ID]; ok && last.After(stale) {
		s.touchMu.Unlock()
		return
	}
	if s.touched == nil {
		s.touched = map[string]time.Time{}
	}
	s.touched[k.ID] = now
	s.touchMu.Unlock()
	if err := s.Store.TouchAPIKey(ctx, k.ID, now, stale); err != nil {
		slog.WarnContext(ctx, "record API key use", "key", k.ID, "err", err)
		return
	}
	k.LastUsedAt = &now
}

// HashKey hashes an API key secret. The secrets are long and random, so a
// fast hash is enough: there is nothing to brute-force.
func HashKey(secret string) []byte {
	h := sha256.Sum256([]byte(secret))
	return h[:]
}

const alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

// RandomToken returns n characters from a crypto-random base62 alphabet.
func RandomToken(n int) string {
	b := make([]byte, n)
	max := big.NewInt(int64(len(alphabet)))
	for i := range b {
		x, err := rand.Int(rand.Reader, max)
		if err != nil {
			panic("crypto/rand failed: " + err.Error())
		}
		b[i] = alphabet[x.Int64()]
	}
	return string(b)
}
