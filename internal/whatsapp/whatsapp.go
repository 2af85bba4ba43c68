// Package whatsapp is the WhatsApp Business channel: senders (business
// numbers), message templates, the 24-hour customer service window,
// customer threads, inbound routing of webhook changes, outbound sends
// and WhatsApp's fees. It speaks to Meta through the Graph port, which
// the cloudapi adapter implements.
package whatsapp

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/parley-dev/parley/internal/conversation"
	"github.com/parley-dev/parley/internal/money"
	"github.com/parley-dev/parley/internal/page"
)

// Sender is a WhatsApp business number connected to an assistant.
type Sender struct {
	ID            string
	WorkspaceID   string
	Name          string
	Phone         string // E.164 with +
	PhoneNumberID string // Meta's id of the number: webhooks are routed by it
	WABAID        string // the WhatsApp Business Account holding the number and its templates
	// SealedToken is the access token encrypted with the instance key
	// (Service.Secrets); the plain token never leaves the service.
	SealedToken   string
	AssistantID   string
	Status        string // from the Graph API, when it answered
	QualityRating string
	CreatedAt     time.Time
	UpdatedAt     time.Time
}

// Template categories and statuses, as the contract names them.
const (
	CategoryUtility        = "utility"
	CategoryMarketing      = "marketing"
	CategoryAuthentication = "authentication"

	TemplateDraft    = "draft"
	TemplatePending  = "pending"
	TemplateApproved = "approved"
	TemplateRejected = "rejected"
	TemplateDisabled = "disabled"
	TemplatePaused   = "paused"
)

// Template is a message template of a WhatsApp Business Account.
type Template struct {
	ID          string
	WorkspaceID string
	SenderID    string
	WABAID      string
	MetaID      string
	Name        string
	Language    string
	Category    string
	Status      string
	// Reason is why Meta rejected, paused or disabled it.
	Reason     string
	Components json.RawMessage // Meta's component array, with {{1}} placeholders
	CreatedAt  time.Time
	UpdatedAt  time.Time
}

// BodyText returns the text of the template's BODY component.
func (t *Template) BodyText() string {
	var comps []struct {
		Type string `json:"type"`
		Text string `json:"text"`
	}
	if json.Unmarshal(t.Components, &comps) != nil {
		return ""
	}
	for _, c := range comps {
		if strings.EqualFold(c.Type, "body") {
			return c.Text
		}
	}
	return ""
}

// ParamCount is how many positional parameters the body takes: the
// highest {{n}} in it (Meta requires them numbered from 1 without gaps).
func (t *Template) ParamCount() int { return paramCount(t.BodyText()) }

func paramCount(text string) int {
	n := 0
	for _, name := range placeholders(text) {
		var k int
		if _, err := fmt.Sscanf(name, "%d", &k); err == nil && k > n {
			n = k
		}
	}
	return n
}

// NamedParams reports whether the body has named placeholders
// ({{order_number}}, Meta's parameter_format NAMED), which a send must
// fill by name.
func (t *Template) NamedParams() bool {
	for _, name := range placeholders(t.BodyText()) {
		if name != "" && strings.Trim(name, "0123456789") != "" {
			return true
		}
	}
	return false
}

// placeholders returns what each {{…}} of text holds, trimmed.
func placeholders(text string) []string {
	var out []string
	for {
		i := strings.Index(text, "{{")
		if i < 0 {
			return out
		}
		text = text[i+2:]
		j := strings.Index(text, "}}")
		if j < 0 {
			return out
		}
		out = append(out, strings.TrimSpace(text[:j]))
		text = text[j+2:]
	}
}

// Render fills the body's {{n}} placeholders with params: the text the
// transcript shows for a template message.
func (t *Template) Render(params []string) string {
	body := t.BodyText()
	for i := len(params); i >= 1; i-- {
		body = strings.ReplaceAll(body, fmt.Sprintf("{{%d}}", i), params[i-1])
	}
	if body == "" {
		body = "[template " + t.Name + "]"
	}
	return body
}

// Rate is one price of a workspace's WhatsApp rate card: what Meta
// charges for a message of a pricing category to a market (a country
// calling code, or "*" for any), from a date.
type Rate struct {
	ID            string
	WorkspaceID   string
	Category      string
	Market        string
	Price         money.Money
	EffectiveFrom time.Time
	CreatedAt     time.Time
}

// PickRate returns the rate for a message of category to phone (E.164;
// empty when only the user id is known) at a time: the longest market
// that prefixes the phone's digits wins over "*", and of those the
// newest effective_from not after at. Nil when none applies.
func PickRate(rates []*Rate, category, phone string, at time.Time) *Rate {
	digits := strings.TrimPrefix(phone, "+")
	var best *Rate
	better := func(r *Rate) bool {
		if best == nil {
			return true
		}
		lr, lb := marketLen(r.Market), marketLen(best.Market)
		if lr != lb {
			return lr > lb
		}
		return r.EffectiveFrom.After(best.EffectiveFrom)
	}
	for _, r := range rates {
		if !strings.EqualFold(r.Category, category) || r.EffectiveFrom.After(at) {
			continue
		}
		if r.Market != "*" && (digits == "" || !strings.HasPrefix(digits, r.Market)) {
			continue
		}
		if better(r) {
			best = r
		}
	}
	return best
}

func marketLen(m string) int {
	if m == "*" {
		return 0
	}
	return len(m)
}

// Thread is the one conversation line between a sender and a customer,
// found by the customer's phone or their business-scoped user id.
type Thread struct {
	ID             string
	WorkspaceID    string
	SenderID       string
	Phone          string
	UserID         string
	ConversationID string
	CreatedAt      time.Time
	// FormerPhone is the phone the thread had before its latest change
	// of phone, and PhoneChangedAt when it changed, on the customer's
	// clock (the time of the message or notice that changed it); nil
	// while it never did. The same for the user id. A message sent
	// before a change and delivered after it still finds the thread by
	// the former identifier.
	FormerPhone     string
	PhoneChangedAt  *time.Time
	FormerUserID    string
	UserIDChangedAt *time.Time
}

// ValidUserID reports whether s looks like a business-scoped user id as
// Meta sends them: a two-letter country code, a period, then letters,
// digits and periods (US.13491208655302741918), at most 128 in all, with
// at least one letter or digit after the country code.
func ValidUserID(s string) bool {
	if len(s) < 4 || len(s) > 128 || s[2] != '.' || !upper(s[0]) || !upper(s[1]) {
		return false
	}
	return strings.Trim(s[3:], userIDChars) == "" && strings.Trim(s[3:], "._-") != ""
}

// userIDChars are the characters of a user id after its country code.
const userIDChars = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-"

func upper(b byte) bool { return b >= 'A' && b <= 'Z' }

// Current reports whether a message the customer sent at time at knows
// their identifiers as they are now: false when it predates the thread's
// latest change of identifier (Meta delivers out of order), and its
// phone or user id, the former ones, must not undo the change.
func (th *Thread) Current(at time.Time) bool {
	return (th.PhoneChangedAt == nil || !at.Before(*th.PhoneChangedAt)) &&
		(th.UserIDChangedAt == nil || !at.Before(*th.UserIDChangedAt))
}

// HeldPhone reports whether the thread had phone as its phone at time
// at, before giving it up; HeldUserID the same for a user id.
func (th *Thread) HeldPhone(phone string, at time.Time) bool {
	return phone != "" && th.FormerPhone == phone && th.PhoneChangedAt != nil && at.Before(*th.PhoneChangedAt)
}

// HeldUserID: see HeldPhone.
func (th *Thread) HeldUserID(userID string, at time.Time) bool {
	return userID != "" && th.FormerUserID == userID && th.UserIDChangedAt != nil && at.Before(*th.UserIDChangedAt)
}

// Reidentify moves the thread to the identifiers a message or notice at
// time at gives (either may be empty: unknown), keeping the ones they
// replace as former ones; it reports whether anything changed. A message
// older than the thread's latest change changes nothing.
func (th *Thread) Reidentify(phone, userID string, at time.Time) bool {
	if !th.Current(at) {
		return false
	}
	at = at.UTC().Truncate(time.Millisecond)
	changed := false
	if phone != "" && phone != th.Phone {
		if th.Phone != "" {
			th.FormerPhone, th.PhoneChangedAt = th.Phone, &at
		}
		th.Phone, changed = phone, true
	}
	if userID != "" && userID != th.UserID {
		if th.UserID != "" {
			th.FormerUserID, th.UserIDChangedAt = th.UserID, &at
		}
		th.UserID, changed = userID, true
	}
	return changed
}

// Store persists the channel. Every call but the webhook routing ones
// (by phone number id or WABA id, which Meta's payloads carry instead of
// a workspace) is scoped to a workspace.
type Store interface {
	conversation.Transactor
	CreateSender(ctx context.Context, s *Sender) error
	GetSender(ctx context.Context, workspaceID, id string) (*Sender, error)
	ListSenders(ctx context.Context, workspaceID string) ([]*Sender, error)
	UpdateSender(ctx context.Context, s *Sender) error
	DeleteSender(ctx context.Context, workspaceID, id string) error
	// SetSenderNumber writes only a sender's status and quality rating
	// (read from the Graph API), so a refresh never undoes a change made
	// to the sender's other fields meanwhile.
	SetSenderNumber(ctx context.Context, workspaceID, id, status, quality string, at time.Time) error
	// SenderByPhoneNumberID routes a webhook change to its sender.
	SenderByPhoneNumberID(ctx context.Context, phoneNumberID string) (*Sender, error)
	// SendersByWABA routes a template status webhook to the senders of
	// an account.
	SendersByWABA(ctx context.Context, wabaID string) ([]*Sender, error)

	// UpsertTemplate stores t by (workspace, WABA, name, language),
	// keeping the id of a template already stored (t.ID is set to it).
	UpsertTemplate(ctx context.Context, t *Template) error
	GetTemplate(ctx context.Context, workspaceID, id string) (*Template, error)
	FindTemplate(ctx context.Context, workspaceID, wabaID, name, language string) (*Template, error)
	ListTemplates(ctx context.Context, workspaceID string) ([]*Template, error)
	DeleteTemplate(ctx context.Context, workspaceID, id string) error
	// SetTemplateStatus sets the status of the templates of a WABA with
	// this name (and language, unless empty) in every workspace; it
	// returns how many it changed.
	SetTemplateStatus(ctx context.Context, wabaID, name, language, status, reason string, at time.Time) (int, error)

	CreateRate(ctx context.Context, r *Rate) error
	ListRates(ctx context.Context, workspaceID string) ([]*Rate, error)
	DeleteRate(ctx context.Context, workspaceID, id string) error

	// FindThread finds the sender's thread with a customer by user id
	// (preferred) or phone; either may be empty.
	FindThread(ctx context.Context, workspaceID, senderID, phone, userID string) (*Thread, error)
	// FormerThreads lists the sender's threads that held the phone or
	// the user id at time at and have given it up since (their former
	// one, changed after at); a few at most.
	FormerThreads(ctx context.Context, workspaceID, senderID, phone, userID string, at time.Time) ([]*Thread, error)
	// InsertThread stores a new thread; false when another thread holds
	// the phone or user id already (a concurrent first message).
	InsertThread(ctx context.Context, t *Thread) (bool, error)
	// UpdateThread writes a thread's identifiers (current and former,
	// with their time) and conversation.
	UpdateThread(ctx context.Context, t *Thread) error
	// DeleteThread forgets a thread (its conversation stays).
	DeleteThread(ctx context.Context, workspaceID, id string) error

	// KeepEarlyReceipt keeps a receipt of a wamid not recorded yet, and
	// drops the kept receipts received before dropBefore.
	KeepEarlyReceipt(ctx context.Context, workspaceID string, st *Status, at, dropBefore time.Time) error
	// TakeEarlyReceipts returns and forgets the receipts kept for a wamid.
	TakeEarlyReceipts(ctx context.Context, workspaceID, wamid string) ([]Status, error)

	// LockWamids holds, until the transaction of ctx ends, a lock on each
	// wamid (taken in one fixed order), so that a receipt and the send
	// that records its wamid cannot interleave: the receipt either finds
	// the wamid or is kept where the send looks. Stores whose writes are
	// serial already may do nothing.
	LockWamids(ctx context.Context, wamids []string) error
	// ClaimWamid records a message id; false when it was stored before
	// (a redelivery), which the caller then skips.
	ClaimWamid(ctx context.Context, workspaceID, wamid, conversationID, messageID string, outbound bool) (bool, error)
	// AttachWamid files a claimed wamid under its conversation, once the
	// thread is known.
	AttachWamid(ctx context.Context, workspaceID, wamid, conversationID string) error
	// LookupWamid finds the message of a wamid.
	LookupWamid(ctx context.Context, workspaceID, wamid string) (conversationID, messageID string, outbound bool, err error)
	// SaveUnrouted keeps a webhook change no sender takes, for an
	// operator to inspect; nothing when one with its digest is kept.
	SaveUnrouted(ctx context.Context, u *Unrouted) error
	// ListUnrouted pages, by id, the unrouted changes a workspace may
	// see: those it is named on, and those named on no workspace of the
	// WABAs of its senders that no other workspace's sender names.
	ListUnrouted(ctx context.Context, workspaceID string, req page.Request) ([]*Unrouted, error)
}

// Why a webhook change was not routed.
const (
	UnroutedUnknownNumber = "unknown_number" // no sender has its phone_number_id
	UnroutedAssistantGone = "assistant_gone" // its sender's assistant was deleted
	// Parts of the change could not be read (Detail says which); the
	// rest of it was stored as usual.
	UnroutedUnreadable = "unreadable"
	// An identity change (user_changed_number, user_changed_user_id) for
	// a customer no thread holds.
	UnroutedNoThread = "no_thread"
)

// Unrouted is a webhook change no sender took, kept as received.
type Unrouted struct {
	ID            string
	WorkspaceID   string // known when the sender is (UnroutedAssistantGone)
	WABAID        string // entry[].id of the delivery
	PhoneNumberID string
	Reason        string
	Detail        string          // for UnroutedUnreadable: the parts not read, and why
	Payload       json.RawMessage // the change, as Meta sent it
	// Digest identifies the kept change (its reason, account, detail and
	// payload): a change kept again with the same digest, Meta's
	// redelivery, is kept once.
	Digest     string
	ReceivedAt time.Time
}

// Graph is Meta's Graph API, as the channel uses it.
type Graph interface {
	// Send sends a message from a business number; it returns its wamid.
	Send(ctx context.Context, token, phoneNumberID string, m OutMessage) (string, error)
	// MarkRead marks a customer's message read and, with typing, shows
	// the typing indicator (until the reply or 25 s).
	MarkRead(ctx context.Context, token, phoneNumberID, wamid string, typing bool) error
	// Templates lists every template of a WABA, following every page.
	Templates(ctx context.Context, token, wabaID string) ([]RemoteTemplate, error)
	// CreateTemplate submits a template for review.
	CreateTemplate(ctx context.Context, token, wabaID string, t RemoteTemplate) (RemoteTemplate, error)
	// DeleteTemplate deletes a template: the one of Meta id hsmID (one
	// language), or, with no id, every language of the name.
	DeleteTemplate(ctx context.Context, token, wabaID, name, hsmID string) error
	// Media fetches a customer's media: its URL's metadata, then its
	// bytes. The caller closes Body.
	Media(ctx context.Context, token, mediaID string) (*MediaFile, error)
	// PhoneNumber reads a number's status and quality rating.
	PhoneNumber(ctx context.Context, token, phoneNumberID string) (*NumberInfo, error)
	// AccountNumbers lists the phone number ids of a WhatsApp Business
	// Account, every page.
	AccountNumbers(ctx context.Context, token, wabaID string) ([]string, error)
}

// OutMessage is a message to send. Exactly one of To (a phone) and
// Recipient (a business-scoped user id) is set; To wins when both are
// known, as Meta does.
type OutMessage struct {
	To, Recipient string
	Text          string
	Template      *conversation.Template
	// ReplyTo quotes a customer message (its wamid).
	ReplyTo string
}

// RemoteTemplate is a template as the Graph API describes it.
type RemoteTemplate struct {
	ID         string
	Name       string
	Language   string
	Category   string // lower case
	Status     string // lower case
	Reason     string
	Components json.RawMessage
}

// MediaFile is a downloaded media object.
type MediaFile struct {
	MimeType string
	SHA256   string
	Size     int64
	Body     io.ReadCloser
}

// NumberInfo is a business number's state at Meta.
type NumberInfo struct {
	DisplayPhone  string
	VerifiedName  string
	Status        string
	QualityRating string
}

// GraphError is an error answer of the Graph API.
type GraphError struct {
	HTTPStatus int
	Code       int
	Subcode    int
	Title      string
	Message    string
	Details    string
	// RetryAfter is the wait the answer asked for, if any.
	RetryAfter time.Duration
}

func (e *GraphError) Error() string {
	msg := e.Message
	if e.Details != "" {
		msg += ": " + e.Details
	}
	return fmt.Sprintf("graph API error %d (HTTP %d): %s", e.Code, e.HTTPStatus, msg)
}

// Error codes of the Graph API that the channel acts on.
const (
	ErrCodeThroughput      = 130429 // the number's messages-per-second limit
	ErrCodePairRateLimit   = 131056 // too many messages to one user in a short time
	ErrCodeWindowClosed    = 131047 // more than 24 hours since the customer last wrote
	ErrCodeUndeliverable   = 131026
	ErrCodeMarketingLimit  = 131049 // Meta's per-user marketing limit ("healthy ecosystem")
	ErrCodeParamInvalid    = 132018
	ErrCodeTemporary       = 131000 // "something went wrong"
	ErrCodeServiceDown     = 131016
	ErrCodeAPIUnknown      = 1
	ErrCodeAPIService      = 2
	ErrCodeTooManyRequests = 4
	ErrCodeAppRateLimit    = 80007
	ErrCodeInvalidToken    = 190 // the access token is not valid (expired, revoked)
	// ErrCodeThroughputUpgrade: the number's throughput is being raised
	// (it takes up to a minute); sends are refused meanwhile.
	ErrCodeThroughputUpgrade = 131057
)

// Retryable reports whether sending again later can succeed: server
// errors, rate limits and throughput limits. Everything else (a closed
// window, an undeliverable number, marketing limits, bad parameters, a
// bad token) fails the same way again.
func (e *GraphError) Retryable() bool {
	switch e.Code {
	case ErrCodeUndeliverable, ErrCodeWindowClosed, ErrCodeMarketingLimit, ErrCodeParamInvalid:
		return false // permanent, whatever the HTTP status it came with
	case ErrCodeThroughput, ErrCodePairRateLimit, ErrCodeTemporary, ErrCodeServiceDown,
		ErrCodeAPIUnknown, ErrCodeAPIService, ErrCodeTooManyRequests, ErrCodeAppRateLimit, ErrCodeThroughputUpgrade:
		return true
	}
	return e.HTTPStatus == 429 || e.HTTPStatus >= 500
}

// Backoff is how long to wait before sending again after e: Meta asks
// for one message per ~6 s to one user (131056), and a number's
// throughput (80 messages/s by default) frees up within a second or so;
// other retryable errors use the job's own backoff (zero here).
func (e *GraphError) Backoff() time.Duration {
	if e.RetryAfter > 0 {
		return e.RetryAfter
	}
	switch e.Code {
	case ErrCodePairRateLimit:
		return 6 * time.Second
	case ErrCodeThroughput, ErrCodeTooManyRequests, ErrCodeAppRateLimit:
		return 2 * time.Second
	case ErrCodeThroughputUpgrade:
		return 20 * time.Second
	}
	return 0
}
