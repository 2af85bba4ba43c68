package conversation

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/parley-dev/parley/internal/assistant"
	"github.com/parley-dev/parley/internal/events"
	"github.com/parley-dev/parley/internal/fault"
	"github.com/parley-dev/parley/internal/ids"
	"github.com/parley-dev/parley/internal/llm"
	"github.com/parley-dev/parley/internal/llm/tokens"
	"github.com/parley-dev/parley/internal/money"
	"github.com/parley-dev/parley/internal/page"
)

// Assistants is what the service needs to know about assistants.
type Assistants interface {
	Get(ctx context.Context, workspaceID, id string) (*assistant.Assistant, error)
	// PriceFor prices a call that asked for the requested model and was
	// answered by the reported one.
	PriceFor(ctx context.Context, workspaceID, requested, reported string, at time.Time) (*assistant.Price, error)
}

// Observer hears about model calls, for metrics. Implementations must be
// fast and safe for concurrent use.
type Observer interface {
	Reply(model string, usage llm.Usage, cost *money.Money, latency time.Duration, err error)
}

// Service runs conversations: it validates input, stores messages, asks
// the assistant's model for replies and prices them.
type Service struct {
	Store      Store
	Assistants Assistants
	Model      llm.Model
	Now        func() time.Time
	Observer   Observer // optional
	// HistoryMessages is how many recent messages a model sees (default 50).
	HistoryMessages int
	// ReplyTimeout bounds one model reply (default 5 minutes, as the
	// OpenAI-compatible client; PARLEY_LLM_TIMEOUT sets both).
	ReplyTimeout time.Duration
	// EndWait is how long End waits for a reply in flight on this node to
	// finish before it cuts the reply short (default 10 s).
	EndWait time.Duration
	// Queue enqueues background work (extraction after an end).
	Queue Queue
	// Events records the changes the service makes (optional).
	Events EventRecorder
	// Channels carry messages out, by conversation type; a type without
	// one (api, test) delivers nothing.
	Channels map[string]Channel

	flights flights // replies in flight on this node
}

func (s *Service) now() time.Time { return s.Now().UTC().Truncate(time.Millisecond) }

// CreateInput describes a new conversation.
type CreateInput struct {
	AssistantID        string
	Type               string
	ExternalIdentifier string
	Customer           CustomerPatch
	Variables          map[string]any
	// VariableSource is where Variables came from (default "api").
	VariableSource string
	SenderID       string
	SenderPhone    string
	// VisitorKeys, for a widget conversation, are linked to it in the
	// same transaction (see VisitorKey, UserKey).
	VisitorKeys []string
}

// Create starts a conversation. The assistant's greeting, if any, is its
// first message.
func (s *Service) Create(ctx context.Context, workspaceID string, in CreateInput) (*Conversation, []*Message, error) {
	var v fault.Validation
	if in.AssistantID == "" {
		v.Add("assistant_id", "is required")
	}
	if !isType(in.Type) {
		v.Add("type", "must be one of %s", strings.Join(Types, ", "))
	}
	var a *assistant.Assistant
	if in.AssistantID != "" {
		var err error
		a, err = s.Assistants.Get(ctx, workspaceID, in.AssistantID)
		if fault.Is(err, fault.CodeNotFound) {
			v.Add("assistant_id", "no assistant with this id exists")
		} else if err != nil {
			return nil, nil, err
		}
	}
	var cust Customer
	in.Customer.apply(&cust, &v)
	ext := validExternalID(in.ExternalIdentifier, &v)
	source := in.VariableSource
	if source == "" {
		source = SourceAPI
	}
	// Values are checked against the schema extraction fills, defaults
	// (summary, status) included, so a variable has one type whoever sets it.
	var schema []assistant.VariableDef
	if a != nil {
		schema = a.ExtractionSchema()
	}
	vars := typedVariables(in.Variables, schema, source, &v)
	for name, val := range vars {
		if val.Value == nil {
			delete(vars, name)
		}
	}
	if err := v.Err(); err != nil {
		return nil, nil, err
	}
	now := s.now()
	c := &Conversation{
		ID: ids.NewAt(ids.Conversation, now), WorkspaceID: workspaceID, Type: in.Type,
		Status: StatusActive, AssistantID: a.ID, AssistantName: a.Name, AIEnabled: a.AIEnabled,
		ExternalIdentifier: ext, Customer: cust, Variables: vars,
		SenderID: in.SenderID, SenderPhone: in.SenderPhone,
		CostComplete: true, CreatedAt: now, UpdatedAt: now,
	}
	var first []*Message
	if g := strings.TrimSpace(assistant.Render(a.Greeting, Strings(vars))); g != "" {
		first = append(first, &Message{ID: ids.NewAt(ids.Message, now), Role: RoleAssistant, Content: g, CreatedAt: now})
	}
	err := s.Store.Within(ctx, func(ctx context.Context) error {
		if err := s.Store.CreateConversation(ctx, c, first); err != nil {
			return err
		}
		if err := s.Store.AddCounts(ctx, workspaceID, CountChange([]*Conversation{c}, nil)); err != nil {
			return err
		}
		for _, k := range in.VisitorKeys {
			if err := s.Store.LinkVisitor(ctx, workspaceID, c.AssistantID, k, c.ID, now); err != nil {
				return fmt.Errorf("link the visitor: %w", err)
			}
		}
		evs := []events.Event{s.event(events.ConversationCreated, c, "")}
		for _, m := range first {
			evs = append(evs, s.event(events.MessageCreated, c, m.ID))
		}
		return s.record(ctx, evs...)
	})
	if err != nil {
		return nil, nil, fmt.Errorf("create conversation: %w", err)
	}
	return c, first, nil
}

func isType(t string) bool {
	for _, x := range Types {
		if t == x {
			return true
		}
	}
	return false
}

// Get returns a conversation of the workspace.
func (s *Service) Get(ctx context.Context, workspaceID, id string) (*Conversation, error) {
	if !ids.HasPrefix(id, ids.Conversation) {
		return nil, fault.NotFound("conversation")
	}
	return s.Store.GetConversation(ctx, workspaceID, id)
}

// Transcript returns every message of a conversation, oldest first.
func (s *Service) Transcript(ctx context.Context, workspaceID, id string) ([]*Message, error) {
	var all []*Message
	req := page.Request{Limit: 1000}
	for {
		rows, err := s.Store.ListMessages(ctx, workspaceID, id, req)
		if err != nil {
			return nil, err
		}
		res := page.Build(rows, req, messageCursor)
		all = append(all, res.Items...)
		if res.Next == nil {
			return all, nil
		}
		req.Cursor = res.Next
	}
}

// WithTranscript returns a conversation and every message of it as of
// one moment (Store.Snapshot): its totals and its messages agree even
// while a receipt, a reply or a fee is being written.
func (s *Service) WithTranscript(ctx context.Context, workspaceID, id string) (*Conversation, []*Message, error) {
	var c *Conversation
	var msgs []*Message
	err := s.Store.Snapshot(ctx, func(ctx context.Context) error {
		var err error
		if c, err = s.Get(ctx, workspaceID, id); err != nil {
			return err
		}
		msgs, err = s.Transcript(ctx, workspaceID, id)
		return err
	})
	if err != nil {
		return nil, nil, err
	}
	return c, msgs, nil
}

// Messages returns one page of a transcript, oldest first.
func (s *Service) Messages(ctx context.Context, workspaceID, id string, req page.Request) (page.Result[*Message], error) {
	if !ids.HasPrefix(id, ids.Conversation) {
		return page.Result[*Message]{}, fault.NotFound("conversation")
	}
	rows, err := s.Store.ListMessages(ctx, workspaceID, id, req)
	if err != nil {
		return page.Result[*Message]{}, err
	}
	return page.Build(rows, req, messageCursor), nil
}

func messageCursor(m *Message) page.Cursor { return page.Cursor{Seq: m.Seq, Key: m.ID} }

// List returns one page of conversations.
func (s *Service) List(ctx context.Context, workspaceID string, f Filter, o Order, req page.Request) (page.Result[*Conversation], error) {
	if err := s.checkFilter(&f, o); err != nil {
		return page.Result[*Conversation]{}, err
	}
	rows, err := s.Store.ListConversations(ctx, workspaceID, f, o, req)
	if err != nil {
		return page.Result[*Conversation]{}, err
	}
	key := o.Key()
	return page.Build(rows, req, func(c *Conversation) page.Cursor {
		return page.Cursor{Sort: key, Value: c.SortValue(o.Sort), Seq: c.Seq, Key: c.ID}
	}), nil
}

// Count counts conversations in all and per type.
func (s *Service) Count(ctx context.Context, workspaceID string, f Filter) (Counts, error) {
	if err := s.checkFilter(&f, Order{Sort: SortCreatedAt}); err != nil {
		return Counts{}, err
	}
	if f.Query != "" {
		f.CountLimit = QueryCountLimit
	}
	return s.Store.CountConversations(ctx, workspaceID, f)
}

// checkFilter validates and normalises a filter.
func (s *Service) checkFilter(f *Filter, o Order) error {
	var v fault.Validation
	for _, t := range f.Types {
		if !isType(t) {
			v.Add("type", "must be one of %s", strings.Join(Types, ", "))
			break
		}
	}
	if f.Status != "" && f.Status != StatusActive && f.Status != StatusEnded {
		v.Add("status", "must be active or ended")
	}
	for _, p := range []struct {
		field string
		val   *string
	}{{"customer_phone", &f.CustomerPhone}, {"whatsapp_sender_phone", &f.WhatsAppSenderPhone}} {
		if *p.val == "" {
			continue
		}
		n, ok := NormalizePhone(*p.val)
		if !ok {
			v.Add(p.field, "must be a phone number with country code")
		}
		*p.val = n
	}
	switch o.Sort {
	case SortCreatedAt, SortUpdatedAt, SortTotalCost, SortMessageCount:
	default:
		v.Add("sort", "must be one of created_at, updated_at, total_cost, message_count")
	}
	f.Query = strings.TrimSpace(f.Query)
	if utf8.RuneCountInString(f.Query) > 200 {
		v.Add("q", "must be at most 200 characters")
	}
	if f.Query != "" && o.Sort != SortCreatedAt {
		v.Add("sort", "must be created_at when q is given: search results are ordered by creation time")
	}
	if f.CreatedFrom != nil && f.CreatedTo != nil && !f.CreatedFrom.Before(*f.CreatedTo) {
		v.Add("created_to", "must be after created_from")
	}
	return v.Err()
}

// PostInput is a message sent into a conversation.
type PostInput struct {
	Role    string
	Content string
}

// Posted is the outcome of PostMessage.
type Posted struct {
	Message      *Message
	Reply        *Message // nil when no reply was asked for
	Conversation *Conversation
}

// PostMessage stores a message and, for a user message while AI is on,
// the assistant's reply. The user's message is stored before the model is
// asked, so a failing model loses nothing; the reply is finished and
// stored even if the caller goes away mid-stream.
func (s *Service) PostMessage(ctx context.Context, workspaceID, id string, in PostInput, onDelta llm.DeltaFunc) (*Posted, error) {
	var v fault.Validation
	if in.Role != RoleUser && in.Role != RoleOperator {
		v.Add("role", "must be user or operator")
	}
	switch {
	case !visibleText(in.Content):
		v.Add("content", "must contain visible text: whitespace, zero-width characters and byte-order marks alone are empty")
	case utf8.RuneCountInString(in.Content) > MaxContent:
		v.Add("content", "must be at most %d characters", MaxContent)
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	c, err := s.Get(ctx, workspaceID, id)
	if err != nil {
		return nil, err
	}
	if c.Status == StatusEnded {
		return nil, fault.New(fault.CodeConversationOver, "the conversation has ended; start a new one")
	}
	now := s.now()
	msg := &Message{ID: ids.NewAt(ids.Message, now), Role: in.Role, Content: in.Content, CreatedAt: now}
	s.markPending(c, msg)
	if ch := s.channel(c.Type); ch != nil && outgoing(msg.Role) {
		// Refused before anything is stored (a closed WhatsApp window).
		if err := ch.Accept(ctx, c, msg); err != nil {
			return nil, err
		}
	}
	var a *assistant.Assistant
	if in.Role == RoleUser {
		a, err = s.Assistants.Get(ctx, workspaceID, c.AssistantID)
		if fault.Is(err, fault.CodeNotFound) {
			a = nil // the assistant was deleted: keep the message, answer nothing
		} else if err != nil {
			return nil, err
		}
	}
	later := false
	err = s.Store.Within(ctx, func(ctx context.Context) error {
		if in.Role == RoleUser {
			var err error
			if later, err = s.replyLater(ctx, c, a, msg); err != nil {
				return err
			}
		}
		// Stored last, with its events (see appendMessages).
		stored, err := s.appendMessages(ctx, workspaceID, id, msg)
		c = stored
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("store message: %w", err)
	}
	out := &Posted{Message: msg, Conversation: c}
	if in.Role != RoleUser || !c.AIEnabled || later || a == nil || !a.AIEnabled {
		return out, nil
	}
	reply, after, err := s.reply(context.WithoutCancel(ctx), c, a, onDelta)
	if after != nil {
		out.Conversation = after
	}
	if err != nil {
		return out, err
	}
	out.Reply = reply
	return out, nil
}

// Reply asks the assistant again to answer the conversation's latest user
// message, after a failed attempt. It refuses when that message already
// has an answer.
func (s *Service) Reply(ctx context.Context, workspaceID, id string, onDelta llm.DeltaFunc) (*Posted, error) {
	c, err := s.Get(ctx, workspaceID, id)
	if err != nil {
		return nil, err
	}
	if c.Status == StatusEnded {
		return nil, fault.New(fault.CodeConversationOver, "the conversation has ended; start a new one")
	}
	last, err := s.lastSpoken(ctx, workspaceID, id)
	if err != nil {
		return nil, err
	}
	if last == nil || last.Role != RoleUser {
		return nil, fault.New(fault.CodeConflict, "the latest message is not an unanswered user message")
	}
	a, err := s.Assistants.Get(ctx, workspaceID, c.AssistantID)
	if err != nil {
		return nil, err
	}
	if !c.AIEnabled || !a.AIEnabled {
		return nil, fault.New(fault.CodeConflict, "AI replies are turned off for this conversation")
	}
	if err := s.acceptReply(ctx, c); err != nil {
		return nil, err
	}
	reply, after, err := s.reply(context.WithoutCancel(ctx), c, a, onDelta)
	out := &Posted{Message: last, Conversation: c, Reply: reply}
	if after != nil {
		out.Conversation = after
	}
	return out, err
}

// reply asks the model for the next assistant message and stores it. A
// failure is stored too, as a system message carrying the error, so it is
// visible on the conversation; the returned conversation is the stored one.
//
// The reply is tracked while it runs, so End can wait for it and Shutdown
// can cut it; a cut reply is recorded as failed with the tokens it spent
// (see replyFailed). A reply stored after its conversation ended (ended on
// another node, which cannot wait for it) has the variables extracted again,
// since the extraction End enqueued may have read the transcript without it.
func (s *Service) reply(ctx context.Context, c *Conversation, a *assistant.Assistant, onDelta llm.DeltaFunc) (*Message, *Conversation, error) {
	limit := s.HistoryMessages
	if limit <= 0 {
		limit = 50
	}
	timeout := s.ReplyTimeout
	if timeout <= 0 {
		timeout = 5 * time.Minute
	}
	hctx, hcancel := context.WithTimeout(ctx, recordTimeout)
	history, err := s.Store.RecentMessages(hctx, c.WorkspaceID, c.ID, limit)
	hcancel()
	if err != nil {
		return nil, nil, fmt.Errorf("load history: %w", err)
	}
	vars := Strings(c.Variables)
	req := llm.Request{
		Model: a.Model, System: assistant.Render(a.SystemPrompt, vars),
		Temperature: &a.Temperature, MaxOutputTokens: a.MaxOutputTokens, Knowledge: a.Knowledge,
	}
	req.Messages = modelHistory(history)
	if window := llm.ContextWindow(a.Model); window < 1<<30 {
		req.Messages = llm.Trim(req.System+"\n"+req.Knowledge, req.Messages, window-a.MaxOutputTokens, tokens.CountChat)
	}
	rctx, finish := s.flights.start(ctx, c.ID)
	defer finish() // after the reply or its failure is stored: End waits for that
	gctx, cancel := context.WithTimeout(rctx, timeout)
	defer cancel()
	// The text received so far is kept, to count the tokens of a reply
	// that is cut; the caller's own listener may hang up meanwhile.
	var received strings.Builder
	listener := onDelta
	if onDelta != nil {
		gone := false
		listener = func(chunk string) error {
			received.WriteString(chunk)
			if !gone && onDelta(chunk) != nil {
				gone = true
			}
			return nil
		}
	}
	var resp llm.Response
	asked := false
	if err = context.Cause(gctx); err == nil { // not cut before it began (shutdown)
		asked = true
		resp, err = s.Model.Generate(gctx, req, listener)
		var pe *llm.ProviderError
		if errors.As(err, &pe) && pe.Code == llm.CodeContextLengthExceeded && received.Len() == 0 && context.Cause(gctx) == nil {
			// Our estimate of the model's window was too generous (or the
			// window is unknown): try once more with half the history.
			if shorter := trimHarder(req); len(shorter.Messages) < len(req.Messages) {
				slog.InfoContext(ctx, "prompt too long for the model: retrying with a shorter history",
					"model", a.Model, "conversation", c.ID, "messages", len(shorter.Messages))
				req = shorter
				resp, err = s.Model.Generate(gctx, req, listener)
			}
		}
	}
	cut := context.Cause(gctx) // end, shutdown or the reply timeout; nil when none
	// From here on the reply is recorded, even if it was cut meanwhile.
	ctx, cancelRecord := context.WithTimeout(context.WithoutCancel(ctx), recordTimeout)
	defer cancelRecord()
	if err != nil {
		return s.replyFailed(ctx, c, a, req, err, cut, asked, received.String())
	}
	model := resp.Model
	if model == "" {
		model = a.Model
	}
	now := s.now()
	finishReason := resp.FinishReason
	if finishReason == "" {
		finishReason = llm.FinishStop
	}
	msg := &Message{
		ID: ids.NewAt(ids.Message, now), Role: RoleAssistant, Content: StorableText(resp.Content), CreatedAt: now,
		Model: model, Usage: &resp.Usage, UsageEstimated: resp.UsageEstimated,
		FinishReason: finishReason, ProviderCost: resp.ProviderCost,
		LatencyMS: ptr(resp.Latency.Milliseconds()), FirstTokenMS: ptr(resp.FirstToken.Milliseconds()),
	}
	price, err := s.Assistants.PriceFor(ctx, c.WorkspaceID, a.Model, model, now)
	if err != nil {
		return nil, nil, fmt.Errorf("look up price of %s: %w", model, err)
	}
	if price != nil {
		msg.Cost = ptr(price.Cost(resp.Usage))
	} else {
		slog.WarnContext(ctx, "no price for model: cost left unknown; add one with POST /api/v1/model-prices",
			"model", model, "conversation", c.ID)
	}
	if s.Observer != nil {
		s.Observer.Reply(model, resp.Usage, msg.Cost, resp.Latency, nil)
	}
	s.markPending(c, msg)
	c, err = s.appendMessages(ctx, c.WorkspaceID, c.ID, msg)
	if err != nil {
		return nil, nil, fmt.Errorf("store reply: %w", err)
	}
	if c.Status == StatusEnded {
		if after, err := s.extractAgain(ctx, c); err != nil {
			slog.ErrorContext(ctx, "reply stored after the conversation ended, but its extraction could not be enqueued",
				"conversation", c.ID, "err", err)
		} else {
			c = after
		}
	}
	return msg, c, nil
}

// replyFailed records a reply that did not finish as a failed system note
// and returns the error its caller answers with. A reply that was cut (by
// End, by a shutdown or by the reply timeout) or that had streamed part of
// its text has cost tokens the provider never reported (it reports usage
// at the end of a reply): the note carries them, counted with the local
// tokenizer and marked estimated — the prompt, plus the text received —
// and their cost. The text itself is not kept: the note is not a reply,
// and the client saw the part that streamed.
func (s *Service) replyFailed(ctx context.Context, c *Conversation, a *assistant.Assistant, req llm.Request, err, cut error, asked bool, received string) (*Message, *Conversation, error) {
	var ferr *fault.Error
	noteCode, noteText := "", ""
	switch {
	case errors.Is(cut, errShuttingDown):
		ferr = &fault.Error{Code: fault.CodeUnavailable, Err: err,
			Message: "the server is shutting down; your message is saved, try again"}
		noteCode, noteText = ErrorReplyInterrupted, "the server shut down while the assistant was replying; the message is saved, ask again"
	case errors.Is(cut, errEnded):
		ferr = &fault.Error{Code: fault.CodeConversationOver, Err: err,
			Message: "the conversation was ended while the assistant was replying; the reply was not finished"}
		noteCode, noteText = ErrorReplyInterrupted, ferr.Message
	default:
		ferr = modelError(a.Model, err)
		noteCode, noteText = ferr.Code, ferr.Message
	}
	slog.WarnContext(ctx, "model reply failed", "model", a.Model, "conversation", c.ID, "code", noteCode, "err", err)
	now := s.now()
	note := &Message{
		ID: ids.NewAt(ids.Message, now), Role: RoleSystem, CreatedAt: now, Status: "failed",
		Content: "The assistant could not reply: " + noteText,
		Error:   &MessageError{Code: noteCode, Message: noteText},
	}
	var inc *llm.IncompleteError
	switch {
	case errors.As(err, &inc) && !inc.Response.Usage.IsZero():
		// The provider billed the incomplete reply and said for how much.
		note.Model, note.Usage, note.FinishReason = inc.Response.Model, &inc.Response.Usage, inc.Response.FinishReason
		note.UsageEstimated, note.ProviderCost = inc.Response.UsageEstimated, inc.Response.ProviderCost
		if note.Model == "" {
			note.Model = a.Model
		}
	case asked && (cut != nil || received != "" || inc != nil):
		system := req.System
		if req.Knowledge != "" {
			system += "\n\n" + req.Knowledge
		}
		if inc != nil && received == "" {
			received = inc.Response.Content
		}
		in, out := int64(tokens.CountChat(system, req.Messages)), int64(tokens.Count(received))
		note.Model, note.UsageEstimated, note.FinishReason = a.Model, true, llm.FinishError
		note.Usage = &llm.Usage{InputTokens: in, OutputTokens: out, TotalTokens: in + out}
	}
	if note.Usage != nil {
		price, perr := s.Assistants.PriceFor(ctx, c.WorkspaceID, a.Model, note.Model, now)
		switch {
		case perr != nil: // the note is kept, its cost unknown (the conversation's cost_complete says so)
			slog.WarnContext(ctx, "price of a failed reply unknown", "model", note.Model, "conversation", c.ID, "err", perr)
		case price != nil:
			note.Cost = ptr(price.Cost(*note.Usage))
		}
	}
	if s.Observer != nil {
		var spent llm.Usage
		if note.Usage != nil {
			spent = *note.Usage
		}
		s.Observer.Reply(a.Model, spent, note.Cost, 0, err)
	}
	after, serr := s.appendMessages(ctx, c.WorkspaceID, c.ID, note)
	if serr != nil {
		return nil, nil, errors.Join(ferr, fmt.Errorf("record the failure: %w", serr))
	}
	return nil, after, ferr
}

// extractAgain enqueues another extraction for a conversation that ended
// while a reply was being written elsewhere. Extraction replaces the
// extracted variables, so running it again on the whole transcript is
// correct whichever of the two runs first.
func (s *Service) extractAgain(ctx context.Context, c *Conversation) (*Conversation, error) {
	if err := s.enqueue(ctx, ExtractArgs{WorkspaceID: c.WorkspaceID, ConversationID: c.ID}); err != nil {
		return nil, err
	}
	return c, nil
}

func ptr[T any](v T) *T { return &v }

// lastSpoken returns a conversation's newest message that is not a system
// note (failure notes and extraction notes are not turns) nor a channel
// message marked NoReply, or nil: the message a reply would answer, when
// it is the customer's.
func (s *Service) lastSpoken(ctx context.Context, workspaceID, id string) (*Message, error) {
	recent, err := s.Store.RecentMessages(ctx, workspaceID, id, 20)
	if err != nil {
		return nil, err
	}
	for i := len(recent) - 1; i >= 0; i-- {
		if m := recent[i]; m.Role != RoleSystem && (m.Channel == nil || !m.Channel.NoReply) {
			return m, nil
		}
	}
	return nil, nil
}

// modelHistory is a transcript as a model sees it: the customer as user,
// the assistant and human operators as assistant, system notes left out.
func modelHistory(msgs []*Message) []llm.Message {
	out := make([]llm.Message, 0, len(msgs))
	for _, m := range msgs {
		switch m.Role {
		case RoleUser:
			out = append(out, llm.Message{Role: llm.RoleUser, Content: m.Content})
		case RoleAssistant, RoleOperator:
			out = append(out, llm.Message{Role: llm.RoleAssistant, Content: m.Content})
		}
	}
	return out
}

// modelError turns a model failure into an error the API can explain. It
// says "try again" only where trying again can help: a rate limit, a
// timeout or a server error, never a refused key, an empty account or a
// prompt the model will refuse the same way.
func modelError(model string, err error) *fault.Error {
	var (
		pe  *llm.ProviderError
		inc *llm.IncompleteError
	)
	switch {
	case errors.As(err, &inc):
		switch inc.Reason {
		case llm.IncompleteContentFilter:
			return &fault.Error{Code: fault.CodeContentFiltered, Err: err,
				Message: fmt.Sprintf("the model provider's content filter withheld the reply of %q; your message is saved", model)}
		case llm.IncompleteEmpty:
			return &fault.Error{Code: fault.CodeModelFailed, Err: err,
				Message: fmt.Sprintf("the model %q returned an empty reply; your message is saved, try again", model)}
		}
		return &fault.Error{Code: fault.CodeModelFailed, Err: err,
			Message: fmt.Sprintf("the reply of %q was cut off before it finished; your message is saved, try again", model)}
	case errors.As(err, &pe):
		detail := ""
		if pe.Message != "" {
			detail = ": " + pe.Message
		}
		switch pe.Code {
		case llm.CodeProviderAuth:
			return &fault.Error{Code: fault.CodeProviderAuth, Err: err,
				Message: fmt.Sprintf("the model provider refused the API key (%d); check PARLEY_LLM_API_KEY", pe.Status)}
		case llm.CodeProviderQuota:
			return &fault.Error{Code: fault.CodeProviderQuota, Err: err,
				Message: "the model provider account is out of credits or quota" + detail}
		case llm.CodeContextLengthExceeded:
			return &fault.Error{Code: fault.CodeContextLength, Err: err,
				Message: fmt.Sprintf("the conversation is too long for %q, even with a shortened history; your message is saved", model)}
		case llm.CodeContentFiltered:
			return &fault.Error{Code: fault.CodeContentFiltered, Err: err,
				Message: fmt.Sprintf("the model provider's content filter refused the request to %q; your message is saved", model)}
		case llm.CodeUnsupportedParameter:
			return &fault.Error{Code: fault.CodeUnsupportedParameter, Err: err,
				Message: fmt.Sprintf("the model server refused a parameter for %q%s; set PARLEY_LLM_COMPAT for this server", model, detail)}
		case llm.CodeRateLimited:
			return &fault.Error{Code: fault.CodeModelUnavailable, Err: err,
				Message: fmt.Sprintf("the model provider is rate-limiting requests for %q; your message is saved, try again shortly", model)}
		}
		if pe.Status == 404 {
			return &fault.Error{Code: fault.CodeModelUnavailable, Err: err,
				Message: fmt.Sprintf("the model provider does not serve %q%s", model, detail)}
		}
		if !pe.Temporary() {
			return &fault.Error{Code: fault.CodeModelFailed, Err: err,
				Message: fmt.Sprintf("the model provider refused the request to %q (status %d)%s; your message is saved", model, pe.Status, detail)}
		}
		return &fault.Error{Code: fault.CodeModelFailed, Err: err,
			Message: fmt.Sprintf("the model %q failed to reply (provider status %d); your message is saved, try again", model, pe.Status)}
	case errors.Is(err, llm.ErrUnknownModel):
		return &fault.Error{Code: fault.CodeModelUnavailable, Err: err,
			Message: fmt.Sprintf("no model provider is configured for %q: set PARLEY_LLM_BASE_URL or use the offline model", model)}
	case errors.Is(err, context.DeadlineExceeded):
		return &fault.Error{Code: fault.CodeModelTimeout, Err: err,
			Message: fmt.Sprintf("the model %q did not answer in time; your message is saved, try again", model)}
	}
	return &fault.Error{Code: fault.CodeModelFailed, Err: err,
		Message: fmt.Sprintf("the model %q failed to reply; your message is saved, try again", model)}
}

// trimHarder returns req with about half the history's tokens, whole turns
// kept and starting at a user turn, for one retry after the provider said
// the prompt does not fit.
func trimHarder(req llm.Request) llm.Request {
	system := req.System + "\n" + req.Knowledge
	budget := (tokens.CountChat(system, req.Messages) + tokens.CountChat(system, nil)) / 2
	req.Messages = llm.Trim(system, req.Messages, budget, tokens.CountChat)
	return req
}

// StorableText is text a model wrote, made fit to store: NUL characters
// (which PostgreSQL text cannot hold) are dropped and invalid UTF-8 is
// replaced, so both stores keep the same reply.
func StorableText(s string) string {
	if strings.IndexByte(s, 0) >= 0 {
		s = strings.ReplaceAll(s, "\x00", "")
	}
	return strings.ToValidUTF8(s, "\uFFFD")
}

// Patch changes a conversation; nil fields stay as they are.
type Patch struct {
	AIEnabled *bool
	Variables map[string]any // a nil value removes the variable
	// ClearVariables removes every variable Variables does not set.
	ClearVariables     bool
	Customer           *CustomerPatch
	ExternalIdentifier *string
}

// Update applies a patch from the API. Variables it sets get source "api".
func (s *Service) Update(ctx context.Context, workspaceID, id string, p Patch) (*Conversation, error) {
	c, err := s.Get(ctx, workspaceID, id)
	if err != nil {
		return nil, err
	}
	var v fault.Validation
	u := Update{AIEnabled: p.AIEnabled, UpdatedAt: s.now()}
	if p.Customer != nil {
		cust := c.Customer
		p.Customer.apply(&cust, &v)
		u.Customer = &cust
	}
	if p.ExternalIdentifier != nil {
		ext := validExternalID(*p.ExternalIdentifier, &v)
		u.ExternalIdentifier = &ext
	}
	if p.Variables != nil || p.ClearVariables {
		var schema []assistant.VariableDef
		if a, err := s.Assistants.Get(ctx, workspaceID, c.AssistantID); err == nil {
			schema = a.ExtractionSchema()
		} else if !fault.Is(err, fault.CodeNotFound) {
			return nil, err
		}
		u.Variables = typedVariables(p.Variables, schema, SourceAPI, &v)
		if p.ClearVariables && u.Variables != nil {
			for name := range c.Variables {
				if _, set := u.Variables[name]; !set {
					u.Variables[name] = Variable{Source: SourceAPI} // no value: removed
				}
			}
		}
		// The limit is on the result, so removals make room for additions.
		if len(MergeVariables(c.Variables, u.Variables)) > MaxVariables {
			v.Add("variables", "a conversation holds at most %d variables", MaxVariables)
		}
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	var out *Conversation
	err = s.Store.Within(ctx, func(ctx context.Context) error {
		c, _, err := s.Store.UpdateConversation(ctx, workspaceID, id, u)
		if err != nil {
			return err
		}
		out = c
		return s.record(ctx, s.event(events.ConversationUpdated, c, ""))
	})
	return out, err
}

// End marks a conversation ended and enqueues the extraction of its
// variables, in one transaction. Ending an ended conversation changes
// nothing.
//
// A reply in flight on this node first gets EndWait to finish, so that it
// is stored before ended_at and the extraction reads it; one that takes
// longer is cut and recorded as failed, with its tokens. (A reply on
// another node is handled where it is stored: see reply.)
func (s *Service) End(ctx context.Context, workspaceID, id string) (*Conversation, error) {
	c, err := s.Get(ctx, workspaceID, id)
	if err != nil {
		return nil, err
	}
	if c.Status == StatusEnded {
		return c, nil
	}
	if list := s.flights.of(id); len(list) > 0 {
		wait := s.EndWait
		if wait <= 0 {
			wait = 10 * time.Second
		}
		// Once a reply may have been cut for this end, the end must happen
		// even if its caller hangs up.
		ctx = context.WithoutCancel(ctx)
		sctx, cancel := context.WithTimeout(ctx, wait+recordTimeout)
		err := settle(sctx, list, wait, errEnded)
		cancel()
		if err != nil {
			return nil, err
		}
	}
	now := s.now()
	status := StatusEnded
	err = s.Store.Within(ctx, func(ctx context.Context) error {
		ended, before, err := s.Store.UpdateConversation(ctx, workspaceID, id, Update{Status: &status, EndedAt: &now, UpdatedAt: now})
		if err != nil {
			return err
		}
		c = ended
		// Counted from the row as locked, not as read above: of two
		// concurrent ends only the first moves the conversation.
		if d := CountChange([]*Conversation{ended}, []*Conversation{before}); len(d) > 0 {
			if err := s.Store.AddCounts(ctx, workspaceID, d); err != nil {
				return err
			}
		}
		if err := s.enqueue(ctx, ExtractArgs{WorkspaceID: workspaceID, ConversationID: id}); err != nil {
			return err
		}
		return s.record(ctx, s.event(events.ConversationEnded, c, ""))
	})
	if err != nil {
		return nil, err
	}
	return c, nil
}

// MaxBulkDelete is the most ids one bulk delete takes.
const MaxBulkDelete = 100

// Delete deletes one conversation and its messages.
func (s *Service) Delete(ctx context.Context, workspaceID, id string) error {
	if !ids.HasPrefix(id, ids.Conversation) {
		return fault.NotFound("conversation")
	}
	n, err := s.BulkDelete(ctx, workspaceID, []string{id})
	if err != nil {
		return err
	}
	if n == 0 {
		return fault.NotFound("conversation")
	}
	return nil
}

// BulkDelete deletes the listed conversations that exist in the workspace
// and returns how many it deleted.
func (s *Service) BulkDelete(ctx context.Context, workspaceID string, list []string) (int, error) {
	if len(list) == 0 || len(list) > MaxBulkDelete {
		return 0, fault.Invalid("ids", "must list 1 to %d conversation ids", MaxBulkDelete)
	}
	var v fault.Validation
	for i, id := range list {
		if !ids.HasPrefix(id, ids.Conversation) {
			v.Add(fmt.Sprintf("ids[%d]", i), "is not a conversation id")
		}
	}
	if err := v.Err(); err != nil {
		return 0, err
	}
	deleted := 0
	err := s.Store.Within(ctx, func(ctx context.Context) error {
		deleted = 0
		var gone []*Conversation
		var evs []events.Event
		for _, id := range list {
			n, err := s.Store.DeleteConversations(ctx, workspaceID, []string{id})
			if err != nil {
				return err
			}
			if len(n) > 0 {
				deleted++
				gone = append(gone, n...)
				evs = append(evs, s.event(events.ConversationDeleted, &Conversation{ID: id, WorkspaceID: workspaceID}, ""))
			}
		}
		if err := s.Store.AddCounts(ctx, workspaceID, CountChange(nil, gone)); err != nil {
			return err
		}
		// Recorded last: recording holds the events lock until commit.
		return s.record(ctx, evs...)
	})
	return deleted, err
}

// Export calls fn for every matching conversation with its transcript, in
// the list's order, reading page by page so memory stays flat.
func (s *Service) Export(ctx context.Context, workspaceID string, f Filter, o Order, fn func(*Conversation, []*Message) error) error {
	req := page.Request{Limit: page.MaxLimit}
	for {
		res, err := s.List(ctx, workspaceID, f, o, req)
		if err != nil {
			return err
		}
		for _, c := range res.Items {
			msgs, err := s.Transcript(ctx, workspaceID, c.ID)
			if fault.Is(err, fault.CodeNotFound) {
				continue // deleted while exporting
			}
			if err != nil {
				return err
			}
			if err := fn(c, msgs); err != nil {
				return err
			}
		}
		if res.Next == nil {
			return nil
		}
		req.Cursor = res.Next
	}
}
