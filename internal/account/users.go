package account

import (
	"context"
	"unicode/utf8"

	"github.com/parley-dev/parley/internal/fault"
	"github.com/parley-dev/parley/internal/ids"
)

// ManagedPasswordMin is the shortest password an owner or admin may give
// a user they add; shorter ones are refused rather than padded, and an
// empty one is generated instead.
const ManagedPasswordMin = 12

// generatedPasswordLen gives about 119 bits of entropy from base62.
const generatedPasswordLen = 20

// ListUsers returns the users of actor's workspace, oldest first. Every
// role may see who else works in the workspace; only owners and admins
// change it.
func (s *Service) ListUsers(ctx context.Context, actor *User) ([]*User, error) {
	if err := RequireRole(actor, RoleAgent); err != nil {
		return nil, err
	}
	return s.Store.ListUsers(ctx, actor.WorkspaceID)
}

// AddUser adds a user to actor's workspace. An empty password is
// generated and returned, to be shown once; a given one must be at least
// ManagedPasswordMin characters and is not returned. Admins may add admins
// and agents; only owners add owners.
func (s *Service) AddUser(ctx context.Context, actor *User, email, password, role string) (*User, string, error) {
	if err := RequireRole(actor, RoleAdmin); err != nil {
		return nil, "", err
	}
	generated := ""
	if password == "" {
		generated = RandomToken(generatedPasswordLen)
		password = generated
	}
	var v fault.Validation
	if msg := CheckEmail(email); msg != "" {
		v.Add("email", "%s", msg)
	}
	if utf8.RuneCountInString(password) < ManagedPasswordMin || len(password) > 72 {
		v.Add("password", "must be %d to 72 bytes long, or left empty to generate one", ManagedPasswordMin)
	}
	if !validRole(role) {
		v.Add("role", "must be owner, admin or agent")
	}
	if err := v.Err(); err != nil {
		return nil, "", err
	}
	if err := mayGrant(actor, role); err != nil {
		return nil, "", err
	}
	u, err := s.NewUser(actor.WorkspaceID, email, password, role)
	if err != nil {
		return nil, "", err
	}
	if err := s.Store.CreateUser(ctx, u); err != nil {
		return nil, "", err
	}
	return u, generated, nil
}

// ChangeRole gives user id of actor's workspace a new role. Only owners
// grant or take away the owner role; the last owner keeps it, even when
// they demote themselves.
func (s *Service) ChangeRole(ctx context.Context, actor *User, id, role string) (*User, error) {
	if err := RequireRole(actor, RoleAdmin); err != nil {
		return nil, err
	}
	if !validRole(role) {
		return nil, fault.Invalid("role", "must be owner, admin or agent")
	}
	target, err := s.user(ctx, actor, id)
	if err != nil {
		return nil, err
	}
	if err := mayGrant(actor, target.Role); err != nil {
		return nil, err
	}
	if err := mayGrant(actor, role); err != nil {
		return nil, err
	}
	if target.Role == role {
		return target, nil
	}
	if err := s.Store.SetUserRole(ctx, actor.WorkspaceID, id, role); err != nil {
		return nil, err
	}
	target.Role = role
	return target, nil
}

// RemoveUser deletes user id of actor's workspace and ends their
// sessions, so they are signed out at once. Only owners remove owners,
// and the last owner cannot be removed, by themselves or anyone.
func (s *Service) RemoveUser(ctx context.Context, actor *User, id string) error {
	if err := RequireRole(actor, RoleAdmin); err != nil {
		return err
	}
	target, err := s.user(ctx, actor, id)
	if err != nil {
		return err
	}
	if err := mayGrant(actor, target.Role); err != nil {
		return err
	}
	return s.Store.DeleteUser(ctx, actor.WorkspaceID, id)
}

// user returns user id of actor's workspace; any other id is not found.
func (s *Service) user(ctx context.Context, actor *User, id string) (*User, error) {
	if !ids.HasPrefix(id, ids.User) {
		return nil, fault.NotFound("user")
	}
	return s.Store.GetUser(ctx, actor.WorkspaceID, id)
}

func validRole(role string) bool {
	return role == RoleOwner || role == RoleAdmin || role == RoleAgent
}

// mayGrant refuses an actor who is not an owner to touch the owner role:
// admins manage admins and agents only.
func mayGrant(actor *User, role string) error {
	if role == RoleOwner && actor.Role != RoleOwner {
		return fault.New(fault.CodeForbidden, "only an owner may grant, change or remove the owner role")
	}
	return nil
}
