// Package conversation is the system of record for conversations: their
// messages, variables, usage and cost, and the service that appends
// messages, runs the assistant and ends conversations.
package conversation

import (
	"cmp"
	"context"
	"slices"
	"strings"
	"time"

	"github.com/parley-dev/parley/internal/events"
	"github.com/parley-dev/parley/internal/llm"
	"github.com/parley-dev/parley/internal/money"
	"github.com/parley-dev/parley/internal/page"
)

// Conversation types (channels).
const (
	TypeTest     = "test"
	TypeWidget   = "widget"
	TypeWhatsApp = "whatsapp"
	TypeAPI      = "api"
)

// Types lists every conversation type in display order.
var Types = []string{TypeTest, TypeWidget, TypeWhatsApp, TypeAPI}

// Statuses.
const (
	StatusActive = "active"
	StatusEnded  = "ended"
)

// Message roles.
const (
	RoleUser      = "user"
	RoleAssistant = "assistant"
	RoleOperator  = "operator"
	RoleSystem    = "system"
)

// Variable sources.
const (
	SourcePrechat   = "prechat"
	SourceExtracted = "extracted"
	SourceAPI       = "api"
)

// MaxContent is the longest message content accepted, in characters.
const MaxContent = 4096

// Customer is who the assistant talks to.
type Customer struct {
	Name  string `json:"name"`
	Phone string `json:"phone"`
	Email string `json:"email"`
	// WhatsAppUserID is Meta's business-scoped user id (BSUID, e.g.
	// "US.13491208655302741918"): since 2026 the only identifier of a
	// WhatsApp user who hides their phone behind a username.
	WhatsAppUserID   string `json:"whatsapp_user_id"`
	WhatsAppUsername string `json:"whatsapp_username"`
}

// Variable is a typed value recorded on a conversation, with where it came
// from. Value is a string, float64 or bool (dates are "YYYY-MM-DD"
// strings).
type Variable struct {
	Value  any    `json:"value"`
	Type   string `json:"type"`
	Source string `json:"source"`
}

// LastMessage summarises the newest message for lists.
type LastMessage struct {
	Role      string
	Preview   string
	CreatedAt time.Time
}

// Conversation is one session or thread on one channel.
type Conversation struct {
	ID                 string
	WorkspaceID        string
	Seq                int64 // store-internal row number
	Type               string
	Status             string
	AssistantID        string
	AssistantName      string
	AIEnabled          bool
	ExternalIdentifier string
	Customer           Customer
	Variables          map[string]Variable
	// SenderID and SenderPhone name the WhatsApp number of a WhatsApp
	// conversation.
	SenderID     string
	SenderPhone  string
	MessageCount int64
	Usage        llm.Usage
	TotalCost    money.Money
	// CostComplete is false once any message could not be priced.
	CostComplete bool
	// ChannelCost is the sum of the channel fees (WhatsApp's per-message
	// prices from the rate card) of its messages, part of TotalCost; nil
	// while no message has a fee.
	ChannelCost *money.Money
	// CustomerMessageAt is when the customer last wrote on a channel
	// that keeps a service window (WhatsApp's 24 hours run from it), by
	// the channel's own timestamp.
	CustomerMessageAt *time.Time
	LastMessage       *LastMessage
	CreatedAt         time.Time
	UpdatedAt         time.Time
	EndedAt           *time.Time
}

// MessageError says why an outbound message failed.
type MessageError struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// Template names a WhatsApp template message and its parameters.
type Template struct {
	Name     string   `json:"name"`
	Language string   `json:"language"`
	Params   []string `json:"params"`
	// Header fills the template's header: its {{1}} (type text) or its
	// image, video or document.
	Header *TemplateHeader `json:"header,omitempty"`
	// Buttons fill the template's dynamic buttons, by position.
	Buttons []TemplateButton `json:"buttons,omitempty"`
}

// TemplateHeader is the header parameter of a template message: Text for
// a text header, else a media file by public HTTPS Link or by the
// MediaID of an upload (Filename names a document).
type TemplateHeader struct {
	Type     string `json:"type"` // text, image, video, document, location
	Text     string `json:"text,omitempty"`
	Link     string `json:"link,omitempty"`
	MediaID  string `json:"media_id,omitempty"`
	Filename string `json:"filename,omitempty"`
	// A location header's place, given at send time.
	Latitude  *float64 `json:"latitude,omitempty"`
	Longitude *float64 `json:"longitude,omitempty"`
	Name      string   `json:"name,omitempty"`
	Address   string   `json:"address,omitempty"`
}

// TemplateButton is the parameter of one of a template's buttons: the
// payload a quick reply returns, the suffix of a dynamic URL, or the
// code a copy-code button copies.
type TemplateButton struct {
	Index   int    `json:"index"`    // the button's position in the template, from 0
	SubType string `json:"sub_type"` // quick_reply, url, copy_code
	Value   string `json:"value"`
}

// Pricing is how WhatsApp prices an outbound message, from its status
// webhooks: category (marketing, utility, authentication, service, …)
// and type (regular, free_customer_service, free_entry_point). Billable
// is the flag of older payloads, which carry no type.
type Pricing struct {
	Category string `json:"category"`
	Type     string `json:"type"`
	Billable *bool  `json:"billable,omitempty"`
}

// Free reports whether Meta charges nothing for the message: a free
// type, or, on an older payload without a type, billable false.
func (p *Pricing) Free() bool {
	if p.Type != "" {
		return strings.HasPrefix(p.Type, "free")
	}
	return p.Billable != nil && !*p.Billable
}

// Media is an attachment a customer sent on a channel. WhatsApp keeps
// the media for a limited time (media ids expire after 7 days), so it is
// fetched on demand, not copied.
type Media struct {
	ID       string `json:"id"`
	Type     string `json:"type"`
	MimeType string `json:"mime_type,omitempty"`
	Caption  string `json:"caption,omitempty"`
	Filename string `json:"filename,omitempty"`
	SHA256   string `json:"sha256,omitempty"`
}

// Reaction is an emoji a customer put on a message. A customer has one
// reaction per message, as WhatsApp shows it: a newer one replaces it,
// and removing it leaves none, recorded as a reaction without an emoji
// (the time of the removal orders reactions delivered late).
type Reaction struct {
	Emoji string    `json:"emoji"`
	At    time.Time `json:"at"`
}

// Shown is the reactions a message shows: those not removed.
func (d *ChannelData) Shown() []Reaction {
	var out []Reaction
	for _, r := range d.Reactions {
		if r.Emoji != "" {
			out = append(out, r)
		}
	}
	return out
}

// ChannelData is what a channel says about a message beyond its text:
// the kind of message it was on the channel, its attachment, the
// reactions it got.
type ChannelData struct {
	Kind      string     `json:"kind,omitempty"`
	Media     *Media     `json:"media,omitempty"`
	Reactions []Reaction `json:"reactions,omitempty"`
	// ReplyTo is the channel id of the message this one answers.
	ReplyTo string `json:"reply_to,omitempty"`
	// NoReply marks a customer message the assistant does not answer (a
	// WhatsApp message Meta could not pass on, a stray reaction): it is
	// not a turn, so it neither gets a reply nor keeps the reply to the
	// customer's message before it from being written.
	NoReply bool `json:"no_reply,omitempty"`
}

// Message is one entry of a transcript.
type Message struct {
	ID             string
	ConversationID string
	Seq            int64 // store-internal; orders a transcript
	Role           string
	Content        string
	CreatedAt      time.Time
	// Assistant replies:
	Model          string
	Usage          *llm.Usage
	UsageEstimated bool
	Cost           *money.Money // nil when the model could not be priced
	// FinishReason says why a model's output ended (llm.FinishStop,
	// FinishLength, FinishContentFilter, FinishError); empty on messages
	// no model wrote.
	FinishReason string
	// ProviderCost is what the provider itself reported the call cost
	// (OpenRouter does), kept beside Cost for comparison.
	ProviderCost *money.Money
	LatencyMS    *int64
	FirstTokenMS *int64
	// Outbound channel messages:
	Status     string
	Error      *MessageError
	Template   *Template
	ExternalID string
	// Pricing and ChannelCost are the channel's price of an outbound
	// message (nil until its receipts say; ChannelCost nil without a
	// rate).
	Pricing     *Pricing
	ChannelCost *money.Money
	// Channel is the channel's own data about the message (nil: none).
	Channel *ChannelData
}

// Unpriced reports whether the message is a model reply that could not be
// priced, which makes its conversation's cost incomplete.
func (m *Message) Unpriced() bool { return m.Model != "" && m.Cost == nil }

// Filter selects conversations for lists, counts and exports.
type Filter struct {
	Types               []string
	AssistantID         string
	Status              string
	CustomerPhone       string
	ExternalIdentifier  string
	WhatsAppSenderPhone string
	CreatedFrom         *time.Time // inclusive
	CreatedTo           *time.Time // exclusive
	// Query is full-text search over messages and customer fields.
	Query string
	// CountLimit bounds a count with a Query: past this many matches the
	// count stops and reports a lower bound (Counts.TotalIsLowerBound).
	// Zero counts every match. The service sets QueryCountLimit.
	CountLimit int
}

// QueryCountLimit is how many matches a count with a text query counts
// exactly: a common word can match most of an account, and counting every
// match would take seconds, so past this the count is a lower bound.
const QueryCountLimit = 10000

// IsZero reports whether the filter selects everything.
func (f Filter) IsZero() bool {
	return len(f.Types) == 0 && f.AssistantID == "" && f.Status == "" && f.CustomerPhone == "" &&
		f.ExternalIdentifier == "" && f.WhatsAppSenderPhone == "" && f.CreatedFrom == nil &&
		f.CreatedTo == nil && f.Query == ""
}

// CountsFromCounters reports whether the maintained per-type counters
// answer a count with this filter: no filter, or types alone.
func (f Filter) CountsFromCounters() bool {
	f.Types = nil
	return f.IsZero()
}

// BucketCountable reports whether the maintained day buckets answer a
// count with this filter: any combination of type, assistant, status,
// WhatsApp sender and created range (see PlanCount), and nothing else.
func (f Filter) BucketCountable() bool {
	f.Types, f.AssistantID, f.Status, f.CreatedFrom, f.CreatedTo = nil, "", "", nil, nil
	f.WhatsAppSenderPhone = ""
	return f.IsZero()
}

// Bucket is one maintained conversation counter: the conversations of an
// assistant, type, status and WhatsApp sender (its phone; empty for other
// types) created on one UTC day (see DayOf) — or, in the month buckets,
// in the UTC month whose first day Day is (see CountDelta.Months).
type Bucket struct {
	AssistantID string
	Type        string
	Status      string
	SenderPhone string
	Day         int64
}

// CountDelta is a change to the maintained counters, per bucket.
type CountDelta map[Bucket]int64

// ByType returns the change per type, for the per-type counters.
func (d CountDelta) ByType() map[string]int64 {
	out := map[string]int64{}
	for b, n := range d {
		out[b.Type] += n
	}
	return out
}

// Months returns d per month bucket: each bucket's Day is the first day
// of its month (MonthOf), the changes of its days summed.
func (d CountDelta) Months() CountDelta {
	out := CountDelta{}
	for b, n := range d {
		b.Day = MonthOf(b.Day)
		out[b] += n
	}
	for b, n := range out {
		if n == 0 {
			delete(out, b)
		}
	}
	return out
}

// Sorted returns the buckets of d in a fixed order, so that concurrent
// transactions lock counter rows in the same order and cannot deadlock.
func (d CountDelta) Sorted() []Bucket {
	out := make([]Bucket, 0, len(d))
	for b := range d {
		out = append(out, b)
	}
	slices.SortFunc(out, func(a, b Bucket) int {
		return cmp.Or(cmp.Compare(a.AssistantID, b.AssistantID), cmp.Compare(a.Type, b.Type),
			cmp.Compare(a.Status, b.Status), cmp.Compare(a.Day, b.Day), cmp.Compare(a.SenderPhone, b.SenderPhone))
	})
	return out
}

// Sort keys of conversation lists.
const (
	SortCreatedAt    = "created_at"
	SortUpdatedAt    = "updated_at"
	SortTotalCost    = "total_cost"
	SortMessageCount = "message_count"
)

// Order is the ordering of a conversation list.
type Order struct {
	Sort string
	Desc bool
}

// Key returns the cursor name of the ordering.
func (o Order) Key() string {
	if o.Desc {
		return o.Sort + ":desc"
	}
	return o.Sort + ":asc"
}

// SortValue returns the conversation's value of the sort key, as the
// integer the stores index.
func (c *Conversation) SortValue(sort string) int64 {
	switch sort {
	case SortUpdatedAt:
		return c.UpdatedAt.UnixMilli()
	case SortTotalCost:
		return int64(c.TotalCost)
	case SortMessageCount:
		return c.MessageCount
	default:
		return c.CreatedAt.UnixMilli()
	}
}

// Counts is the number of conversations in all and per type.
type Counts struct {
	Total  int64            `json:"total"`
	ByType map[string]int64 `json:"by_type"`
	// TotalIsLowerBound is set when a count with a text query stopped at
	// Filter.CountLimit: Total is that limit, and ByType counts the
	// matches found up to it (each a lower bound too).
	TotalIsLowerBound bool `json:"total_is_lower_bound"`
}

// AddBounded counts one conversation of a type found by a count bounded
// by limit (0: unbounded), and reports whether the count should go on.
// Stores read up to limit+1 matches: the one past the limit is not
// counted but marks the total a lower bound.
func (c *Counts) AddBounded(typ string, limit int) bool {
	if limit > 0 && c.Total >= int64(limit) {
		c.TotalIsLowerBound = true
		return false
	}
	c.Add(typ, 1)
	return true
}

// Bound cuts counts that a store read up to limit+1 matches (0: no
// bound) to the limit, taking the excess off the types in reverse order,
// and marks the total a lower bound; it reports whether it did.
func (c *Counts) Bound(limit int) bool {
	if limit <= 0 || c.Total <= int64(limit) {
		return false
	}
	over := c.Total - int64(limit)
	for i := len(Types) - 1; i >= 0 && over > 0; i-- {
		n := min(c.ByType[Types[i]], over)
		c.ByType[Types[i]] -= n
		c.Total -= n
		over -= n
	}
	c.TotalIsLowerBound = true
	return true
}

// NewCounts returns zero counts with every type present.
func NewCounts() Counts {
	c := Counts{ByType: make(map[string]int64, len(Types))}
	for _, t := range Types {
		c.ByType[t] = 0
	}
	return c
}

// Add counts n conversations of a type.
func (c *Counts) Add(typ string, n int64) {
	c.ByType[typ] += n
	c.Total += n
}

// Only keeps the counts of the given types (all when types is empty).
func (c Counts) Only(types []string) Counts {
	if len(types) == 0 {
		return c
	}
	out := NewCounts()
	seen := map[string]bool{}
	for _, t := range types {
		if !seen[t] {
			seen[t] = true
			out.Add(t, c.ByType[t])
		}
	}
	out.TotalIsLowerBound = c.TotalIsLowerBound
	return out
}

// Update is a change to a conversation's editable fields; nil fields stay.
type Update struct {
	AIEnabled          *bool
	Variables          map[string]Variable // a nil Variable.Value removes it
	Customer           *Customer
	ExternalIdentifier *string
	Status             *string
	EndedAt            *time.Time
	// CustomerMessageAt moves the customer's latest channel message
	// time forward (never back: channel messages arrive out of order).
	CustomerMessageAt *time.Time
	UpdatedAt         time.Time
}

// JobArgs are the arguments of a background job: a plain struct, stored as
// JSON, whose Kind names the worker that runs it (the job layer's workers
// are registered by kind).
type JobArgs interface{ Kind() string }

// Queue enqueues background work. With the context of a Within, the jobs
// commit or roll back with that transaction, and workers hear of them
// after the commit.
type Queue interface {
	Enqueue(ctx context.Context, args ...JobArgs) error
}

// EventRecorder records events. With the context of a Within, the events
// commit or roll back with that transaction and are announced after the
// commit.
type EventRecorder interface {
	Record(ctx context.Context, evs ...events.Event) error
}

// Transactor is the write seam: one way to commit a change together with
// the jobs and events it causes.
type Transactor interface {
	// Within runs fn in one transaction. Every store call made with the
	// context fn receives joins it — reads too, so they see its writes —
	// and so do the jobs and events recorded with that context. It commits
	// when fn returns nil and rolls everything back otherwise. A Within
	// inside another joins the outer one. A store with a single writer
	// may share the transaction with concurrent callers (SQLite's group
	// commit): fn's writes are then its own to roll back, and Within
	// returns only once the commit holding them is done.
	Within(ctx context.Context, fn func(ctx context.Context) error) error
	// AfterCommit runs fn once the transaction in ctx has committed (never
	// after a rollback), or at once when ctx holds none: where a change
	// is announced, so nothing is announced that did not happen.
	AfterCommit(ctx context.Context, fn func())
	// Snapshot runs fn's reads in one read-only transaction, so they all
	// see the same committed state (a conversation and its transcript,
	// read one after the other, agree). fn must not write: a write in it
	// fails. Inside Within it joins that transaction.
	Snapshot(ctx context.Context, fn func(ctx context.Context) error) error
}

// Store persists conversations and their messages. Every call is scoped to
// a workspace; another workspace's id behaves as if it did not exist.
//
// The writes maintain the daily analytics (ActivityStore) themselves, in
// their own transaction: CreateConversation and AppendMessages add what
// MessageActivity computes, CreateConversation and UpdateConversation what
// ConversationActivity computes; DeleteConversations leaves them as they
// are (analytics keep their history).
type Store interface {
	Transactor
	ActivityStore
	// CreateConversation stores c (setting c.Seq) with its first messages,
	// in one transaction. It does not count c: the caller adds
	// CountChange to the counters (AddCounts) in the same transaction.
	CreateConversation(ctx context.Context, c *Conversation, first []*Message) error
	// AddCounts adds delta (see CountChange) to the workspace's maintained
	// conversation counters: the day buckets and the per-type totals.
	AddCounts(ctx context.Context, workspaceID string, delta CountDelta) error
	GetConversation(ctx context.Context, workspaceID, id string) (*Conversation, error)
	// ListConversations returns up to req.Limit+1 rows in the order of
	// travel from req.Cursor (see page.Build).
	ListConversations(ctx context.Context, workspaceID string, f Filter, o Order, req page.Request) ([]*Conversation, error)
	// CountConversations counts matching conversations; with a zero filter
	// it reads maintained counters and costs O(1), and with a filter the
	// day buckets answer (BucketCountable) it costs O(buckets) plus the
	// rows of the partial first and last days (PlanCount).
	CountConversations(ctx context.Context, workspaceID string, f Filter) (Counts, error)
	// UpdateConversation applies u and returns the conversation as stored,
	// and as it was before (read under the row's lock, so the caller can
	// count the change: CountChange([after], [before])).
	UpdateConversation(ctx context.Context, workspaceID, id string, u Update) (after, before *Conversation, err error)
	// AppendMessages adds messages to a conversation and rolls their count,
	// usage, cost and recency up into it, atomically.
	AppendMessages(ctx context.Context, workspaceID, conversationID string, msgs []*Message) (*Conversation, error)
	// ListMessages pages a transcript, oldest first.
	ListMessages(ctx context.Context, workspaceID, conversationID string, req page.Request) ([]*Message, error)
	// RecentMessages returns the newest n messages, oldest first.
	RecentMessages(ctx context.Context, workspaceID, conversationID string, n int) ([]*Message, error)
	// GetMessage returns one message of a workspace's conversation; a
	// message of another conversation or workspace is not found.
	GetMessage(ctx context.Context, workspaceID, conversationID, messageID string) (*Message, error)
	// UpdateMessage changes one message of a conversation as fn decides,
	// under the conversation's row lock: fn gets both as stored and
	// changes them in place (a receipt moving the status, a fee added to
	// the costs); when it reports a change, the message's status, error,
	// pricing, channel cost and channel data and the conversation's costs
	// are written. It returns both as they are after.
	UpdateMessage(ctx context.Context, workspaceID, conversationID, messageID string,
		fn func(c *Conversation, m *Message) (bool, error)) (*Conversation, *Message, error)
	// DeleteConversations deletes conversations with their messages and
	// returns the ones that existed, with the fields they are counted by
	// (ID, AssistantID, Type, Status, CreatedAt). It does not uncount
	// them: the caller adds CountChange to the counters in the same
	// transaction.
	DeleteConversations(ctx context.Context, workspaceID string, ids []string) ([]*Conversation, error)
	// LinkVisitor points a widget visitor key of an assistant at a
	// conversation, replacing what it pointed at (see VisitorKey).
	LinkVisitor(ctx context.Context, workspaceID, assistantID, key, conversationID string, at time.Time) error
	// VisitorConversation returns the id of the conversation a visitor
	// key of an assistant points at, "" when it points at none.
	VisitorConversation(ctx context.Context, workspaceID, assistantID, key string) (string, error)
}

// PreviewLen is the length of a last-message preview, in characters.
const PreviewLen = 160

// Preview shortens message content for lists: whitespace collapsed, cut at
// PreviewLen characters with an ellipsis.
func Preview(content string) string {
	words := strings.Fields(content)
	s := strings.Join(words, " ")
	r := []rune(s)
	if len(r) <= PreviewLen {
		return s
	}
	return string(r[:PreviewLen-1]) + "…"
}

// MessageSeqBits is how many low bits of a message's Seq number it within
// its conversation: Seq = conversation Seq << MessageSeqBits | n, with n
// from 1. Transcripts are therefore contiguous ranges of Seq, and n = 0 is
// free for per-conversation search documents.
const MessageSeqBits = 24

// MessageSeq returns the Seq of the n-th message (from 1) of a conversation.
func MessageSeq(conversationSeq, n int64) int64 { return conversationSeq<<MessageSeqBits | n }

// Column names the stored column of the ordering's sort key.
func (o Order) Column() string {
	switch o.Sort {
	case SortUpdatedAt, SortTotalCost, SortMessageCount:
		return o.Sort
	}
	return SortCreatedAt
}
