package whatsapp

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/parley-dev/parley/internal/conversation"
	"github.com/parley-dev/parley/internal/fault"
	"github.com/parley-dev/parley/internal/ids"
	"github.com/parley-dev/parley/internal/money"
	"github.com/parley-dev/parley/internal/page"
	"github.com/parley-dev/parley/internal/seal"
)

// Service runs the WhatsApp channel.
type Service struct {
	Store         Store
	Conversations *conversation.Service
	Assistants    conversation.Assistants
	Graph         Graph
	Queue         conversation.Queue
	Now           func() time.Time
	// Secrets seals the access tokens at rest (under a key derived from
	// the instance secret), each bound to its sender's id, so a copy of
	// the database alone does not give them away.
	Secrets *seal.Box
	// IdleAfter is how long a thread may be quiet before the customer's
	// next message starts a new conversation (default WindowLength).
	IdleAfter time.Duration
	// Pacer spaces sends out within Meta's limits (nil: Meta's defaults).
	Pacer *Pacer
	Log   *slog.Logger

	pacerOnce sync.Once
}

// pacer is Pacer, or one with Meta's defaults.
func (s *Service) pacer() *Pacer {
	s.pacerOnce.Do(func() {
		if s.Pacer == nil {
			s.Pacer = &Pacer{}
		}
	})
	return s.Pacer
}

func (s *Service) now() time.Time { return s.Now().UTC().Truncate(time.Millisecond) }

func (s *Service) log() *slog.Logger {
	if s.Log == nil {
		return slog.Default()
	}
	return s.Log
}

// token opens a sender's access token.
func (s *Service) token(ctx context.Context, snd *Sender) (string, error) {
	tok, err := s.Secrets.Open(ctx, snd.SealedToken, snd.ID)
	if err != nil {
		return "", fmt.Errorf("open the access token of sender %s (was PARLEY_SECRET_KEY changed?): %w", snd.ID, err)
	}
	return tok, nil
}

// SenderInput creates or changes a sender; nil fields stay.
type SenderInput struct {
	Name          *string
	Phone         *string
	PhoneNumberID *string
	WABAID        *string
	AccessToken   *string
	AssistantID   *string
}

// CreateSender connects a business number. The Graph API is asked for
// its status and quality rating; a number it cannot read yet is stored
// all the same (the token may be granted later), with the status empty.
func (s *Service) CreateSender(ctx context.Context, workspaceID string, in SenderInput) (*Sender, error) {
	now := s.now()
	snd := &Sender{ID: ids.NewAt(ids.Sender, now), WorkspaceID: workspaceID, CreatedAt: now, UpdatedAt: now}
	if err := s.applySender(ctx, snd, in, true); err != nil {
		return nil, err
	}
	if err := s.confirmNumber(ctx, snd, strings.TrimSpace(*in.AccessToken)); err != nil {
		return nil, err
	}
	if err := s.Store.CreateSender(ctx, snd); err != nil {
		return nil, err
	}
	return snd, nil
}

// confirmNumber reads the number's status and quality with the sender's
// token, and its account's numbers. A number Meta refuses to show that
// token (another business's, one that does not exist, or a token that is
// not valid), or that is not one of the account's, is refused: webhooks
// route by phone_number_id and unrouted changes are shown by waba_id, so
// a workspace must not claim a number or account it cannot prove. When
// Meta does not answer (network, 5xx, rate limit) the sender is kept,
// its status unknown until a refresh.
func (s *Service) confirmNumber(ctx context.Context, snd *Sender, token string) error {
	if err := s.readNumber(ctx, snd, token); err != nil {
		return s.refused(ctx, snd, err, "phone_number_id", "Meta does not show this number to this access token")
	}
	gctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	numbers, err := s.Graph.AccountNumbers(gctx, token, snd.WABAID)
	if err != nil {
		return s.refused(ctx, snd, err, "waba_id", "Meta does not show this WhatsApp Business Account to this access token")
	}
	if !slices.Contains(numbers, snd.PhoneNumberID) {
		return fault.Invalid("waba_id", "the number %s is not one of this WhatsApp Business Account's numbers", snd.PhoneNumberID)
	}
	return nil
}

// refused turns the Graph API's refusal of a sender's number or account
// into a 422 naming field (access_token when the token is not valid); an
// error Meta may not repeat later (network, 5xx, rate limit) is logged
// and the sender kept.
func (s *Service) refused(ctx context.Context, snd *Sender, err error, field, what string) error {
	var ge *GraphError
	if errors.As(err, &ge) && ge.HTTPStatus >= 400 && ge.HTTPStatus < 500 && !ge.Retryable() {
		if ge.Code == ErrCodeInvalidToken || ge.HTTPStatus == 401 {
			field = "access_token"
		}
		return fault.Invalid(field, "%s: %s", what, ge.Describe())
	}
	s.log().WarnContext(ctx, "whatsapp: cannot confirm the sender's number with the Graph API", "sender", snd.ID, "err", err)
	return nil
}

// readNumber sets snd's status and quality rating from the Graph API.
func (s *Service) readNumber(ctx context.Context, snd *Sender, token string) error {
	if s.Graph == nil {
		return errors.New("no Graph API client")
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	info, err := s.Graph.PhoneNumber(ctx, token, snd.PhoneNumberID)
	if err != nil {
		return err
	}
	snd.Status, snd.QualityRating = info.Status, info.QualityRating
	return nil
}

// RefreshSender reads the number's status and quality rating from the
// Graph API now and stores them; when Meta does not answer nothing
// changes (502 channel_failed).
func (s *Service) RefreshSender(ctx context.Context, workspaceID, id string) (*Sender, error) {
	snd, err := s.GetSender(ctx, workspaceID, id)
	if err != nil {
		return nil, err
	}
	tok, err := s.token(ctx, snd)
	if err != nil {
		return nil, err
	}
	if err := s.readNumber(ctx, snd, tok); err != nil {
		return nil, graphFault(err, "cannot read the number's status")
	}
	return snd, s.storeNumber(ctx, snd)
}

// storeNumber writes a sender's refreshed status and quality.
func (s *Service) storeNumber(ctx context.Context, snd *Sender) error {
	snd.UpdatedAt = s.now()
	return s.Store.SetSenderNumber(ctx, snd.WorkspaceID, snd.ID, snd.Status, snd.QualityRating, snd.UpdatedAt)
}

// ListUnrouted pages the webhook changes no sender took that the
// workspace may see (see Store.ListUnrouted), oldest first.
func (s *Service) ListUnrouted(ctx context.Context, workspaceID string, req page.Request) (page.Result[*Unrouted], error) {
	rows, err := s.Store.ListUnrouted(ctx, workspaceID, req)
	if err != nil {
		return page.Result[*Unrouted]{}, err
	}
	return page.Build(rows, req, func(u *Unrouted) page.Cursor { return page.Cursor{Key: u.ID} }), nil
}

func (s *Service) applySender(ctx context.Context, snd *Sender, in SenderInput, create bool) error {
	var v fault.Validation
	req := func(field string, p *string, dst *string, max int) {
		switch {
		case p == nil && create:
			v.Add(field, "is required")
		case p == nil:
		case strings.TrimSpace(*p) == "":
			v.Add(field, "must not be empty")
		case len(*p) > max:
			v.Add(field, "must be at most %d characters", max)
		default:
			*dst = strings.TrimSpace(*p)
		}
	}
	req("name", in.Name, &snd.Name, 200)
	req("phone_number_id", in.PhoneNumberID, &snd.PhoneNumberID, 64)
	req("waba_id", in.WABAID, &snd.WABAID, 64)
	req("assistant_id", in.AssistantID, &snd.AssistantID, 64)
	if in.Phone != nil || create {
		if in.Phone == nil {
			v.Add("phone", "is required")
		} else if p, ok := conversation.NormalizePhone(*in.Phone); !ok {
			v.Add("phone", "must be a phone number with country code")
		} else {
			snd.Phone = p
		}
	}
	for _, id := range []struct{ field, val string }{{"phone_number_id", snd.PhoneNumberID}, {"waba_id", snd.WABAID}} {
		if id.val != "" && strings.Trim(id.val, "0123456789") != "" {
			v.Add(id.field, "must be Meta's numeric id")
		}
	}
	if in.AccessToken != nil || create {
		if in.AccessToken == nil || strings.TrimSpace(*in.AccessToken) == "" {
			v.Add("access_token", "is required")
		} else if len(*in.AccessToken) > 4096 {
			v.Add("access_token", "must be at most 4096 characters")
		}
	}
	if in.AssistantID != nil && snd.AssistantID != "" {
		if _, err := s.Assistants.Get(ctx, snd.WorkspaceID, snd.AssistantID); fault.Is(err, fault.CodeNotFound) {
			v.Add("assistant_id", "no assistant with this id exists")
		} else if err != nil {
			return err
		}
	}
	if err := v.Err(); err != nil {
		return err
	}
	if in.AccessToken != nil {
		sealed, err := s.Secrets.Seal(ctx, strings.TrimSpace(*in.AccessToken), snd.ID)
		if err != nil {
			return fmt.Errorf("seal access token: %w", err)
		}
		snd.SealedToken = sealed
	}
	return nil
}

// GetSender returns a sender of the workspace.
func (s *Service) GetSender(ctx context.Context, workspaceID, id string) (*Sender, error) {
	if !ids.HasPrefix(id, ids.Sender) {
		return nil, fault.NotFound("sender")
	}
	return s.Store.GetSender(ctx, workspaceID, id)
}

// ListSenders returns the workspace's senders.
func (s *Service) ListSenders(ctx context.Context, workspaceID string) ([]*Sender, error) {
	return s.Store.ListSenders(ctx, workspaceID)
}

// UpdateSender changes a sender.
func (s *Service) UpdateSender(ctx context.Context, workspaceID, id string, in SenderInput) (*Sender, error) {
	snd, err := s.GetSender(ctx, workspaceID, id)
	if err != nil {
		return nil, err
	}
	number, account := snd.PhoneNumberID, snd.WABAID
	if err := s.applySender(ctx, snd, in, false); err != nil {
		return nil, err
	}
	if snd.PhoneNumberID != number || snd.WABAID != account || in.AccessToken != nil {
		tok, err := s.token(ctx, snd)
		if err != nil {
			return nil, err
		}
		if err := s.confirmNumber(ctx, snd, tok); err != nil {
			return nil, err
		}
	}
	snd.UpdatedAt = s.now()
	if err := s.Store.UpdateSender(ctx, snd); err != nil {
		return nil, err
	}
	return snd, nil
}

// DeleteSender disconnects a number; its conversations stay.
func (s *Service) DeleteSender(ctx context.Context, workspaceID, id string) error {
	if !ids.HasPrefix(id, ids.Sender) {
		return fault.NotFound("sender")
	}
	return s.Store.DeleteSender(ctx, workspaceID, id)
}

// SenderNames maps the workspace's sender ids to their names, for
// conversation views.
func (s *Service) SenderNames(ctx context.Context, workspaceID string) (map[string]string, error) {
	list, err := s.Store.ListSenders(ctx, workspaceID)
	if err != nil {
		return nil, err
	}
	out := make(map[string]string, len(list))
	for _, snd := range list {
		out[snd.ID] = snd.Name
	}
	return out, nil
}

// Window is the service window of a conversation now.
func (s *Service) Window(c *conversation.Conversation) Window {
	return WindowAt(c.CustomerMessageAt, s.now())
}

// RateInput is a new rate card row.
type RateInput struct {
	Category      string
	Market        string
	Price         *money.Money
	EffectiveFrom *time.Time
}

// Pricing categories Meta reports on status webhooks.
var pricingCategories = []string{"marketing", "utility", "authentication", "authentication_international",
	"service", "marketing_lite", "referral_conversion"}

// CreateRate adds a price to the workspace's rate card.
func (s *Service) CreateRate(ctx context.Context, workspaceID string, in RateInput) (*Rate, error) {
	var v fault.Validation
	cat := strings.ToLower(strings.TrimSpace(in.Category))
	known := false
	for _, c := range pricingCategories {
		known = known || c == cat
	}
	if !known {
		v.Add("category", "must be one of %s", strings.Join(pricingCategories, ", "))
	}
	market := strings.TrimPrefix(strings.TrimSpace(in.Market), "+")
	if market != "*" && (market == "" || len(market) > 4 || strings.Trim(market, "0123456789") != "" || market[0] == '0') {
		v.Add("market", `must be a country calling code (e.g. "44") or "*"`)
	}
	if in.Price == nil {
		v.Add("price_per_message", "is required")
	} else if *in.Price < 0 {
		v.Add("price_per_message", "must not be negative")
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	now := s.now()
	r := &Rate{ID: ids.NewAt(ids.Rate, now), WorkspaceID: workspaceID, Category: cat, Market: market,
		Price: *in.Price, EffectiveFrom: time.Unix(0, 0).UTC(), CreatedAt: now}
	if in.EffectiveFrom != nil {
		r.EffectiveFrom = in.EffectiveFrom.UTC().Truncate(time.Millisecond)
	}
	if err := s.Store.CreateRate(ctx, r); err != nil {
		return nil, err
	}
	return r, nil
}

// ListRates returns the workspace's rate card.
func (s *Service) ListRates(ctx context.Context, workspaceID string) ([]*Rate, error) {
	return s.Store.ListRates(ctx, workspaceID)
}

// DeleteRate removes a rate.
func (s *Service) DeleteRate(ctx context.Context, workspaceID, id string) error {
	// "warate" ids were given before the prefix was registered.
	if !ids.HasPrefix(id, ids.Rate) && !ids.HasPrefix(id, "warate") {
		return fault.NotFound("rate")
	}
	return s.Store.DeleteRate(ctx, workspaceID, id)
}

// Media downloads a customer's media through the sender's token. Media
// ids expire (Meta keeps inbound media for 7 days): an expired one is
// not found.
func (s *Service) Media(ctx context.Context, workspaceID, senderID, mediaID string) (*MediaFile, error) {
	snd, err := s.GetSender(ctx, workspaceID, senderID)
	if err != nil {
		return nil, err
	}
	if mediaID == "" || strings.Trim(mediaID, "0123456789") != "" {
		return nil, fault.NotFound("media")
	}
	tok, err := s.token(ctx, snd)
	if err != nil {
		return nil, err
	}
	f, err := s.Graph.Media(ctx, tok, mediaID)
	var ge *GraphError
	if errors.As(err, &ge) && (ge.HTTPStatus == 404 || ge.Code == 100) {
		return nil, fault.New(fault.CodeNotFound, "no media %s: media ids expire 7 days after the message", mediaID)
	}
	if err != nil {
		return nil, &fault.Error{Code: fault.CodeChannelFailed, Err: err, Message: "the Graph API did not give the media"}
	}
	return f, nil
}
