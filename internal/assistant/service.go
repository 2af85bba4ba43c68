package assistant

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/parley-dev/parley/internal/account"
	"github.com/parley-dev/parley/internal/fault"
	"github.com/parley-dev/parley/internal/ids"
	"github.com/parley-dev/parley/internal/llm"
	"github.com/parley-dev/parley/internal/page"
)

// Service validates and stores assistants and model prices.
type Service struct {
	Store Store
	Now   func() time.Time
	// Secrets encrypts identity secrets at rest; without it an assistant
	// cannot be given one.
	Secrets Sealer
}

// Sealer encrypts and decrypts secrets kept in the database, each bound to
// what it belongs to (aad). seal.Box is the one Parley uses.
type Sealer interface {
	Seal(ctx context.Context, plain, aad string) (string, error)
	Open(ctx context.Context, sealed, aad string) (string, error)
}

// sealIdentity applies a pending identity secret change of a to its
// sealed form, which is bound to the assistant's id.
func (s *Service) sealIdentity(ctx context.Context, a *Assistant) error {
	w := &a.Widget
	if w.IdentitySecret != nil {
		switch plain := *w.IdentitySecret; {
		case plain == "":
			a.SealedIdentitySecret = ""
		case s.Secrets == nil:
			return fmt.Errorf("assistant %s: no key to encrypt the identity secret with", a.ID)
		default:
			sealed, err := s.Secrets.Seal(ctx, plain, identityAAD(a))
			if err != nil {
				return fmt.Errorf("encrypt the identity secret: %w", err)
			}
			a.SealedIdentitySecret = sealed
		}
		w.IdentitySecret = nil
	}
	w.IdentitySecretSet = a.SealedIdentitySecret != ""
	return nil
}

func identityAAD(a *Assistant) string {
	return "assistant identity secret " + a.WorkspaceID + " " + a.ID
}

// IdentitySecret returns the assistant's widget identity secret in plain
// text, "" when it has none. Only the widget's identity check needs it.
func (s *Service) IdentitySecret(ctx context.Context, a *Assistant) (string, error) {
	if a.SealedIdentitySecret == "" {
		return "", nil
	}
	if s.Secrets == nil {
		return "", fmt.Errorf("assistant %s: no key to decrypt the identity secret with", a.ID)
	}
	plain, err := s.Secrets.Open(ctx, a.SealedIdentitySecret, identityAAD(a))
	if err != nil {
		return "", fmt.Errorf("decrypt the identity secret of assistant %s: %w", a.ID, err)
	}
	return plain, nil
}

func (s *Service) now() time.Time { return s.Now().UTC().Truncate(time.Millisecond) }

// Create stores a new assistant with the given settings.
func (s *Service) Create(ctx context.Context, workspaceID string, set Settings) (*Assistant, error) {
	a, err := s.New(workspaceID, set)
	if err != nil {
		return nil, err
	}
	if err := s.sealIdentity(ctx, a); err != nil {
		return nil, err
	}
	if err := s.Store.CreateAssistant(ctx, a); err != nil {
		return nil, err
	}
	return a, nil
}

// New checks settings and builds an assistant without storing it, for
// callers that store it together with more (the first start).
func (s *Service) New(workspaceID string, set Settings) (*Assistant, error) {
	if err := set.Validate(); err != nil {
		return nil, err
	}
	now := s.now()
	return &Assistant{
		ID: ids.NewAt(ids.Assistant, now), WorkspaceID: workspaceID,
		PublicKey: ids.PublicKey + "_" + account.RandomToken(24),
		Settings:  set, CreatedAt: now, UpdatedAt: now,
	}, nil
}

// Get returns one assistant of the workspace.
func (s *Service) Get(ctx context.Context, workspaceID, id string) (*Assistant, error) {
	if !ids.HasPrefix(id, ids.Assistant) {
		return nil, fault.NotFound("assistant")
	}
	return s.Store.GetAssistant(ctx, workspaceID, id)
}

// List returns one page of the workspace's assistants, oldest first.
func (s *Service) List(ctx context.Context, workspaceID string, req page.Request) (page.Result[*Assistant], error) {
	rows, err := s.Store.ListAssistants(ctx, workspaceID, req)
	if err != nil {
		return page.Result[*Assistant]{}, err
	}
	return page.Build(rows, req, func(a *Assistant) page.Cursor { return page.Cursor{Key: a.ID} }), nil
}

// Update applies change to an assistant's settings and stores the result
// if it is valid; an invalid change stores nothing.
func (s *Service) Update(ctx context.Context, workspaceID, id string, change func(*Settings) error) (*Assistant, error) {
	a, err := s.Get(ctx, workspaceID, id)
	if err != nil {
		return nil, err
	}
	if err := change(&a.Settings); err != nil {
		return nil, err
	}
	if err := a.Validate(); err != nil {
		return nil, err
	}
	if err := s.sealIdentity(ctx, a); err != nil {
		return nil, err
	}
	a.UpdatedAt = s.now()
	if err := s.Store.UpdateAssistant(ctx, a); err != nil {
		return nil, err
	}
	return a, nil
}

// Delete removes an assistant from use. Its conversations stay.
func (s *Service) Delete(ctx context.Context, workspaceID, id string) error {
	if !ids.HasPrefix(id, ids.Assistant) {
		return fault.NotFound("assistant")
	}
	return s.Store.DeleteAssistant(ctx, workspaceID, id, s.now())
}

// CreatePrice stores a workspace price row.
func (s *Service) CreatePrice(ctx context.Context, workspaceID string, p Price) (*Price, error) {
	if err := p.Validate(); err != nil {
		return nil, err
	}
	now := s.now()
	p.ID, p.WorkspaceID, p.CreatedAt, p.Builtin = ids.NewAt(ids.ModelPrice, now), workspaceID, now, false
	p.EffectiveFrom = p.EffectiveFrom.UTC().Truncate(time.Millisecond)
	if err := s.Store.CreatePrice(ctx, &p); err != nil {
		return nil, err
	}
	return &p, nil
}

// GetPrice returns one workspace price row.
func (s *Service) GetPrice(ctx context.Context, workspaceID, id string) (*Price, error) {
	if !ids.HasPrefix(id, ids.ModelPrice) {
		return nil, fault.NotFound("model price")
	}
	return s.Store.GetPrice(ctx, workspaceID, id)
}

// ListPrices returns the workspace's own price rows.
func (s *Service) ListPrices(ctx context.Context, workspaceID string) ([]*Price, error) {
	return s.Store.ListPrices(ctx, workspaceID)
}

// UpdatePrice applies change to a price row and stores it if valid.
func (s *Service) UpdatePrice(ctx context.Context, workspaceID, id string, change func(*Price) error) (*Price, error) {
	p, err := s.GetPrice(ctx, workspaceID, id)
	if err != nil {
		return nil, err
	}
	if err := change(p); err != nil {
		return nil, err
	}
	if err := p.Validate(); err != nil {
		return nil, err
	}
	p.EffectiveFrom = p.EffectiveFrom.UTC().Truncate(time.Millisecond)
	if err := s.Store.UpdatePrice(ctx, p); err != nil {
		return nil, err
	}
	return p, nil
}

// DeletePrice removes a workspace price row.
func (s *Service) DeletePrice(ctx context.Context, workspaceID, id string) error {
	if !ids.HasPrefix(id, ids.ModelPrice) {
		return fault.NotFound("model price")
	}
	return s.Store.DeletePrice(ctx, workspaceID, id)
}

// PriceFor returns the price of a model call at a time, or nil when the
// call cannot be priced. requested is the model the assistant asked for,
// reported the one the provider says answered; FindPrice says how the
// two are weighed.
func (s *Service) PriceFor(ctx context.Context, workspaceID, requested, reported string, at time.Time) (*Price, error) {
	if requested == llm.OfflineModel {
		return FindPrice(requested, reported, at, nil), nil
	}
	rows, err := s.Store.ListPrices(ctx, workspaceID)
	if err != nil {
		return nil, err
	}
	return FindPrice(requested, reported, at, rows), nil
}

// ByPublicKey returns the assistant a widget key names, in any workspace:
// the widget's only way in.
func (s *Service) ByPublicKey(ctx context.Context, publicKey string) (*Assistant, error) {
	if !strings.HasPrefix(publicKey, ids.PublicKey+"_") || len(publicKey) > 64 {
		return nil, fault.NotFound("assistant")
	}
	return s.Store.GetAssistantByPublicKey(ctx, publicKey)
}
