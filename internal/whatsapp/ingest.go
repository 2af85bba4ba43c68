package whatsapp

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/parley-dev/parley/internal/assistant"
	"github.com/parley-dev/parley/internal/conversation"
	"github.com/parley-dev/parley/internal/events"
	"github.com/parley-dev/parley/internal/fault"
	"github.com/parley-dev/parley/internal/ids"
	"github.com/parley-dev/parley/internal/money"
)

// errThreadRace reports that a concurrent delivery started the same
// customer's thread first; the whole delivery is stored again.
var errThreadRace = errors.New("whatsapp: a concurrent delivery opened the thread")

// Ingest stores what one webhook delivery says, in one transaction:
// inbound messages (once each, by wamid: a redelivery stores nothing),
// the threads and conversations they open or continue, the customers'
// windows, the assistant's background replies, receipts of outbound
// messages and template status changes. It returns only once all of it
// is committed, so Meta's retry covers any failure before.
func (s *Service) Ingest(ctx context.Context, changes []Change) error {
	routes, err := s.routes(ctx, changes)
	if err != nil {
		return fmt.Errorf("route whatsapp webhook: %w", err)
	}
	for range 3 {
		err = s.Store.Within(ctx, func(ctx context.Context) error {
			// The receipts' wamids are locked first, before any
			// conversation row, as a send locks its wamid (see receipt).
			if err := s.Store.LockWamids(ctx, receiptWamids(changes)); err != nil {
				return err
			}
			var evs []events.Event
			for i := range changes {
				e, err := s.ingestChange(ctx, &changes[i], routes[changes[i].PhoneNumberID])
				if err != nil {
					return err
				}
				evs = append(evs, e...)
			}
			// Last: on PostgreSQL recording holds the events lock.
			return s.Conversations.RecordEvents(ctx, evs...)
		})
		if !errors.Is(err, errThreadRace) && !lostToAnother(err) {
			break
		}
	}
	if err != nil {
		return fmt.Errorf("store whatsapp webhook: %w", err)
	}
	return nil
}

// receiptWamids lists the wamids the changes' statuses report on.
func receiptWamids(changes []Change) []string {
	var out []string
	for i := range changes {
		for _, st := range changes[i].Statuses {
			out = append(out, st.ID)
		}
	}
	return out
}

// lostToAnother reports whether a transaction was taken back because it
// crossed another (PostgreSQL's deadlock, 40P01, or serialization
// failure, 40001: two deliveries naming the same two customers in
// opposite orders), which running it again resolves.
func lostToAnother(err error) bool {
	var pe interface{ SQLState() string }
	return errors.As(err, &pe) && (pe.SQLState() == "40P01" || pe.SQLState() == "40001")
}

// route is where the changes of one business number go: its sender, or
// none (kept for inspection) when the number is unknown or its assistant
// is gone.
type route struct {
	snd  *Sender
	asst *assistant.Assistant
	gone bool // snd's assistant was deleted
}

// routes finds the sender of every number the changes name, before the
// write transaction: these reads run on the read pool, in parallel with
// other deliveries, instead of inside the single writer's turn. A sender
// deleted in between still gets this delivery, as it would had the
// delivery come a moment earlier.
func (s *Service) routes(ctx context.Context, changes []Change) (map[string]route, error) {
	out := map[string]route{}
	for i := range changes {
		ch := &changes[i]
		if _, done := out[ch.PhoneNumberID]; done || ch.Template != nil ||
			(len(ch.Messages) == 0 && len(ch.Statuses) == 0 && ch.Unreadable == "") {
			continue
		}
		snd, err := s.Store.SenderByPhoneNumberID(ctx, ch.PhoneNumberID)
		if fault.Is(err, fault.CodeNotFound) {
			out[ch.PhoneNumberID] = route{}
			continue
		} else if err != nil {
			return nil, err
		}
		a, err := s.Assistants.Get(ctx, snd.WorkspaceID, snd.AssistantID)
		if fault.Is(err, fault.CodeNotFound) {
			out[ch.PhoneNumberID] = route{snd: snd, gone: true}
			continue
		} else if err != nil {
			return nil, err
		}
		out[ch.PhoneNumberID] = route{snd: snd, asst: a}
	}
	return out, nil
}

func (s *Service) ingestChange(ctx context.Context, ch *Change, rt route) ([]events.Event, error) {
	if ch.Unreadable != "" {
		// Kept whole for inspection (with its sender's workspace when it
		// has one); what could be read of it is stored below as usual.
		s.log().WarnContext(ctx, "whatsapp webhook change partly unreadable: kept for inspection",
			"phone_number_id", ch.PhoneNumberID, "unreadable", ch.Unreadable)
		ws := ""
		if rt.snd != nil {
			ws = rt.snd.WorkspaceID
		}
		if err := s.unrouted(ctx, ch, ws, UnroutedUnreadable, ch.Unreadable); err != nil {
			return nil, err
		}
		if rt.snd == nil || rt.gone {
			return nil, nil
		}
	}
	if ch.Template != nil {
		return nil, s.templateUpdate(ctx, ch)
	}
	for _, e := range ch.Errors {
		s.log().WarnContext(ctx, "whatsapp webhook reports an error", "phone_number_id", ch.PhoneNumberID,
			"code", e.Code, "title", e.Title)
	}
	if len(ch.Messages) == 0 && len(ch.Statuses) == 0 {
		if ch.Field != "messages" && ch.Field != "" {
			s.log().InfoContext(ctx, "whatsapp webhook field not handled", "field", ch.Field)
		}
		return nil, nil
	}
	snd := rt.snd
	if rt.gone {
		s.log().WarnContext(ctx, "whatsapp sender's assistant is gone: change kept for inspection", "sender", snd.ID)
		return nil, s.unrouted(ctx, ch, snd.WorkspaceID, UnroutedAssistantGone, ch.Unreadable)
	}
	if snd == nil {
		s.log().WarnContext(ctx, "whatsapp webhook for an unknown number: kept for inspection",
			"phone_number_id", ch.PhoneNumberID, "waba", ch.WABAID, "messages", len(ch.Messages), "statuses", len(ch.Statuses))
		return nil, s.unrouted(ctx, ch, "", UnroutedUnknownNumber, ch.Unreadable)
	}
	// The assistant read with the route serves every message of the
	// change: it is not read again inside the write transaction.
	ctx = conversation.WithAssistant(ctx, rt.asst)
	var evs []events.Event
	for i := range ch.Messages {
		e, err := s.inbound(ctx, snd, ch, &ch.Messages[i])
		if err != nil {
			return nil, err
		}
		evs = append(evs, e...)
	}
	if len(ch.Statuses) > 0 {
		rates, err := s.Store.ListRates(ctx, snd.WorkspaceID)
		if err != nil {
			return nil, err
		}
		for i := range ch.Statuses {
			e, err := s.receipt(ctx, snd, rates, &ch.Statuses[i])
			if err != nil {
				return nil, err
			}
			evs = append(evs, e...)
		}
	}
	return evs, nil
}

// unrouted keeps a change no sender takes.
func (s *Service) unrouted(ctx context.Context, ch *Change, workspaceID, reason, detail string) error {
	now := s.now()
	sum := sha256.New()
	sum.Write([]byte(reason + "\x00" + ch.WABAID + "\x00" + detail + "\x00"))
	sum.Write(ch.Raw)
	return s.Store.SaveUnrouted(ctx, &Unrouted{ID: ids.NewAt(ids.Unrouted, now), WorkspaceID: workspaceID, WABAID: ch.WABAID,
		PhoneNumberID: ch.PhoneNumberID, Reason: reason, Detail: detail, Payload: ch.Raw, ReceivedAt: now,
		Digest: hex.EncodeToString(sum.Sum(nil))})
}

// contactOf finds the contact of a message's sender: the one naming its
// phone or user id, or else a change's only contact when it names no
// other customer (a message names its sender's identifiers; the contact
// adds the profile). A contact that names someone else is never taken.
func contactOf(ch *Change, m *Inbound) Contact {
	for _, c := range ch.Contacts {
		if (m.FromUserID != "" && c.UserID == m.FromUserID) || (m.From != "" && c.Phone == m.From) {
			return c
		}
	}
	if len(ch.Contacts) == 1 {
		c := ch.Contacts[0]
		if (m.From == "" || c.Phone == "") && (m.FromUserID == "" || c.UserID == "") {
			return c
		}
	}
	return Contact{}
}

// inbound stores one customer message.
func (s *Service) inbound(ctx context.Context, snd *Sender, ch *Change, m *Inbound) ([]events.Event, error) {
	ws := snd.WorkspaceID
	if m.ID == "" {
		s.log().WarnContext(ctx, "whatsapp message without an id: skipped", "sender", snd.ID, "type", m.Type)
		return nil, nil
	}
	now := s.now()
	// Meta's clock, not ours: a few seconds either way is skew, and keeps
	// the customer's order; a time further ahead would stretch the
	// window past Meta's, so it is taken as now.
	at := m.Timestamp
	if at.IsZero() || at.After(now.Add(clockSkew)) {
		at = now
	}
	at = at.UTC().Truncate(time.Millisecond)
	msgID := ids.NewAt(ids.Message, now)
	// Claimed first: a concurrent delivery of the same message waits
	// here for this one and then finds it stored.
	fresh, err := s.Store.ClaimWamid(ctx, ws, m.ID, "", msgID, false)
	if err != nil || !fresh {
		return nil, err
	}
	who := contactOf(ch, m)
	if m.From != "" {
		who.Phone = m.From
	}
	if m.FromUserID != "" {
		who.UserID = m.FromUserID
	}
	if m.System != nil {
		return s.identityChange(ctx, snd, ch, m, who, msgID, at)
	}
	if m.Type == "unknown" || m.Type == "unsupported" || len(m.Errors) > 0 {
		s.log().WarnContext(ctx, "whatsapp message Meta could not pass on: stored, not answered by the assistant",
			"sender", snd.ID, "type", m.Type, "errors", len(m.Errors))
	}
	if m.Type == KindReaction && m.ReactionTo != "" {
		evs, done, err := s.reaction(ctx, snd, m, who, at)
		if done || err != nil {
			return evs, err
		}
	}
	c, evs, err := s.thread(ctx, snd, &who, at, false)
	if err != nil {
		return nil, err
	}
	if err := s.Store.AttachWamid(ctx, ws, m.ID, c.ID); err != nil {
		return nil, err
	}
	msg := &conversation.Message{ID: msgID, Role: conversation.RoleUser, Content: m.Content, CreatedAt: at,
		ExternalID: m.ID, Channel: &conversation.ChannelData{Kind: m.Type, Media: m.Media, ReplyTo: m.Context,
			NoReply: !m.Conversational()}}
	if len(m.Errors) > 0 {
		e := m.Errors[0]
		msg.Error = &conversation.MessageError{Code: strconv.Itoa(e.Code), Message: errorText(e)}
	}
	var replyTo *conversation.Message
	if m.Conversational() {
		replyTo = msg
	}
	c, e, err := s.Conversations.AppendChannel(ctx, c, []*conversation.Message{msg}, replyTo)
	if err != nil {
		return nil, err
	}
	evs = append(evs, e...)
	e, err = s.touch(ctx, c, who, at)
	return append(evs, e...), err
}

func errorText(e APIError) string {
	parts := []string{}
	for _, p := range []string{e.Title, e.Message, e.Details} {
		if p != "" && !contains(parts, p) {
			parts = append(parts, p)
		}
	}
	return strings.Join(parts, ": ")
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// touch records the customer's latest message time (the window) and what
// the webhook says about who they are, when either is news: the profile
// (name, username) of their latest message; the identifiers as who has
// them, which thread sets to the thread's current ones when the message
// predates a change of identifier. A message
// appended with AppendChannel has moved the window already, with the
// roll-up (Conversation.AddMessages), so after one only a change of name
// or identifier writes here; a reaction, which appends nothing, moves the
// window here.
func (s *Service) touch(ctx context.Context, c *conversation.Conversation, who Contact, at time.Time) ([]events.Event, error) {
	cust := c.Customer
	newer := c.CustomerMessageAt == nil || at.After(*c.CustomerMessageAt)
	if newer && who.Name != "" {
		cust.Name = who.Name
	}
	if newer && who.Username != "" {
		cust.WhatsAppUsername = who.Username
	}
	if who.Phone != "" {
		cust.Phone = who.Phone
	}
	if who.UserID != "" {
		cust.WhatsAppUserID = who.UserID
	}
	if !newer && cust == c.Customer {
		return nil, nil
	}
	u := conversation.Update{UpdatedAt: s.now()}
	if newer {
		u.CustomerMessageAt = &at
	}
	if cust != c.Customer {
		u.Customer = &cust
	}
	_, evs, err := s.Conversations.UpdateChannel(ctx, c.WorkspaceID, c.ID, u)
	return evs, err
}

// findThread finds the thread of the customer who sent a message at time
// at: the thread that held the message's user id at that time and has
// given it up since; or else the one that held its phone then — unless
// that thread knows the customer by another user id (the number's owner
// then was someone else); or else the thread holding them now. So a
// message sent before a change of identifier and delivered after it goes
// to its sender's thread, even when the number has passed to someone
// else since, and a message on a former identifier sent after the change
// is someone else's (a number passed on) or a new start.
func (s *Service) findThread(ctx context.Context, snd *Sender, who Contact, at time.Time) (*Thread, error) {
	held, err := s.Store.FormerThreads(ctx, snd.WorkspaceID, snd.ID, who.Phone, who.UserID, at)
	if err != nil {
		return nil, err
	}
	var best *Thread
	for _, th := range held {
		if th.HeldUserID(who.UserID, at) && (best == nil || th.UserIDChangedAt.Before(*best.UserIDChangedAt)) {
			best = th
		}
	}
	if best != nil {
		return best, nil
	}
	for _, th := range held {
		if !th.HeldPhone(who.Phone, at) {
			continue
		}
		if who.UserID != "" && th.UserID != "" && th.UserID != who.UserID && th.FormerUserID != who.UserID {
			continue // the number's owner then was another user id
		}
		// Of threads that held the number, the first to give it up
		// after at held it at at.
		if best == nil || th.PhoneChangedAt.Before(*best.PhoneChangedAt) {
			best = th
		}
	}
	if best != nil {
		return best, nil
	}
	return s.Store.FindThread(ctx, snd.WorkspaceID, snd.ID, who.Phone, who.UserID)
}

// thread returns the conversation a customer's message at time at goes
// to: their thread's, or a new one when they have none, it ended, or it
// has been idle longer than IdleAfter (unless anyIdle). When the message predates the
// thread's latest change of identifier, who is set to the thread's
// current identifiers (the old ones change nothing).
func (s *Service) thread(ctx context.Context, snd *Sender, who *Contact, at time.Time, anyIdle bool) (*conversation.Conversation, []events.Event, error) {
	ws := snd.WorkspaceID
	th, err := s.findThread(ctx, snd, *who, at)
	if err != nil && !fault.Is(err, fault.CodeNotFound) {
		return nil, nil, err
	}
	passedOn := th != nil && th.Current(at) && who.UserID != "" && th.UserID != "" && th.UserID != who.UserID
	if passedOn {
		// The thread has the message's phone under another user id: the
		// number has passed to someone else (Meta gives a user a new user
		// id with a new number). They start a thread of their own, which
		// takes the phone; the old one keeps its conversation.
		s.log().InfoContext(ctx, "whatsapp number now another user's: new thread", "sender", snd.ID, "thread", th.ID)
		th = nil
	}
	if th != nil {
		if !th.Current(at) {
			who.Phone, who.UserID = th.Phone, th.UserID
		}
		changed := th.Reidentify(who.Phone, who.UserID, at)
		c, err := s.Conversations.Get(ctx, ws, th.ConversationID)
		if err != nil && !fault.Is(err, fault.CodeNotFound) {
			return nil, nil, err
		}
		if err == nil && c.Status == conversation.StatusActive && (anyIdle || !s.idle(c, at)) {
			if changed {
				if err := s.rethread(ctx, th); err != nil {
					return nil, nil, err
				}
			}
			return c, nil, nil
		}
		c, evs, err := s.open(ctx, snd, *who)
		if err != nil {
			return nil, nil, err
		}
		th.ConversationID = c.ID
		return c, evs, s.rethread(ctx, th)
	}
	c, evs, err := s.open(ctx, snd, *who)
	if err != nil {
		return nil, nil, err
	}
	th = &Thread{ID: ids.NewAt(ids.Thread, s.now()), WorkspaceID: ws, SenderID: snd.ID, Phone: who.Phone,
		UserID: who.UserID, ConversationID: c.ID, CreatedAt: s.now()}
	if passedOn {
		if err := s.release(ctx, th); err != nil {
			return nil, nil, err
		}
	}
	ok, err := s.Store.InsertThread(ctx, th)
	if err != nil {
		return nil, nil, err
	}
	if !ok {
		return nil, nil, errThreadRace
	}
	return c, evs, nil
}

// rethread writes th with the customer's identifiers as now known. Another
// thread of the sender that holds one of them — the same customer reached
// both ways (a template sent to their phone while their thread went by
// user id), or a number that passed to someone else — gives it up first,
// and is forgotten when it is left with none (its conversation stays).
func (s *Service) rethread(ctx context.Context, th *Thread) error {
	if err := s.release(ctx, th); err != nil {
		return err
	}
	err := s.Store.UpdateThread(ctx, th)
	if fault.Is(err, fault.CodeConflict) {
		// Another delivery, not committed when this one looked, gave a
		// thread of its own the identifier: run again once it has.
		return errThreadRace
	}
	return err
}

// release makes every other thread of th's sender give up th's
// identifiers; one left with none is forgotten (its conversation stays).
func (s *Service) release(ctx context.Context, th *Thread) error {
	for _, id := range []Contact{{Phone: th.Phone}, {UserID: th.UserID}} {
		if id.Phone == "" && id.UserID == "" {
			continue
		}
		other, err := s.Store.FindThread(ctx, th.WorkspaceID, th.SenderID, id.Phone, id.UserID)
		if fault.Is(err, fault.CodeNotFound) {
			continue
		} else if err != nil {
			return err
		}
		if other.ID == th.ID {
			continue
		}
		if id.Phone != "" && other.Phone == id.Phone {
			other.Phone = ""
		}
		if id.UserID != "" && other.UserID == id.UserID {
			other.UserID = ""
		}
		if other.Phone == "" && other.UserID == "" {
			err = s.Store.DeleteThread(ctx, other.WorkspaceID, other.ID)
		} else {
			err = s.Store.UpdateThread(ctx, other)
		}
		if err != nil {
			return err
		}
		s.log().InfoContext(ctx, "whatsapp customer identifier moved between threads", "sender", th.SenderID,
			"to", th.ID, "from", other.ID)
	}
	return nil
}

func (s *Service) idleAfter() time.Duration {
	if s.IdleAfter > 0 {
		return s.IdleAfter
	}
	return WindowLength
}

// idle reports whether a conversation has been quiet too long for a
// message at time at to continue it.
func (s *Service) idle(c *conversation.Conversation, at time.Time) bool {
	last := c.UpdatedAt
	if c.CustomerMessageAt != nil && c.CustomerMessageAt.After(last) {
		last = *c.CustomerMessageAt
	}
	return at.Sub(last) > s.idleAfter()
}

func (s *Service) open(ctx context.Context, snd *Sender, who Contact) (*conversation.Conversation, []events.Event, error) {
	name, phone := who.Name, who.Phone
	return s.Conversations.OpenThread(ctx, snd.WorkspaceID, conversation.CreateInput{
		AssistantID: snd.AssistantID, Type: conversation.TypeWhatsApp, SenderID: snd.ID, SenderPhone: snd.Phone,
		Customer: conversation.CustomerPatch{Name: optional(name), Phone: optional(phone),
			WhatsAppUserID: optional(who.UserID), WhatsAppUsername: optional(who.Username)},
	})
}

func optional(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// reaction attaches a reaction to the Parley message it reacts to and
// moves the window of the customer's current conversation, opening none
// (a reaction to a message of an ended conversation starts nothing);
// false when the message is not Parley's, and the reaction is then
// stored as a message of its own.
func (s *Service) reaction(ctx context.Context, snd *Sender, m *Inbound, who Contact, at time.Time) ([]events.Event, bool, error) {
	ws := snd.WorkspaceID
	evs, done, err := s.react(ctx, ws, m, at)
	if err != nil || !done {
		return nil, false, err
	}
	th, err := s.findThread(ctx, snd, who, at)
	if fault.Is(err, fault.CodeNotFound) {
		return evs, true, nil
	} else if err != nil {
		return nil, false, err
	}
	if !th.Current(at) {
		who.Phone, who.UserID = th.Phone, th.UserID
	}
	c, err := s.Conversations.Get(ctx, ws, th.ConversationID)
	if fault.Is(err, fault.CodeNotFound) {
		return evs, true, nil
	} else if err != nil {
		return nil, false, err
	}
	if err := s.Store.AttachWamid(ctx, ws, m.ID, c.ID); err != nil {
		return nil, false, err
	}
	e, err := s.touch(ctx, c, who, at)
	return append(evs, e...), true, err
}

// react attaches a reaction to the message it reacts to; false when that
// message is not Parley's (the reaction is then stored as a message).
func (s *Service) react(ctx context.Context, ws string, m *Inbound, at time.Time) ([]events.Event, bool, error) {
	convID, msgID, _, err := s.Store.LookupWamid(ctx, ws, m.ReactionTo)
	if fault.Is(err, fault.CodeNotFound) {
		return nil, false, nil
	} else if err != nil {
		return nil, false, err
	}
	_, _, evs, err := s.Conversations.UpdateMessage(ctx, ws, convID, msgID, func(_ *conversation.Conversation, t *conversation.Message) (bool, error) {
		if t.Channel == nil {
			t.Channel = &conversation.ChannelData{}
		}
		// One reaction per customer and message: a newer one replaces
		// it; an empty one (removed) is kept as the time of the removal,
		// so that an older reaction Meta delivers late changes nothing.
		if len(t.Channel.Reactions) > 0 && t.Channel.Reactions[0].At.After(at) {
			return false, nil
		}
		t.Channel.Reactions = []conversation.Reaction{{Emoji: m.Emoji, At: at}}
		return true, nil
	})
	if fault.Is(err, fault.CodeNotFound) {
		return nil, false, nil
	}
	return evs, err == nil, err
}

// identityChange follows a user_changed_number / user_changed_user_id
// notice: the customer's thread moves to the new identifier (no new
// thread), and the notice is kept in the transcript as a system note.
func (s *Service) identityChange(ctx context.Context, snd *Sender, ch *Change, m *Inbound, who Contact, msgID string, at time.Time) ([]events.Event, error) {
	ws := snd.WorkspaceID
	if who.UserID == "" {
		who.UserID = m.System.PreviousUserID
	}
	th, err := s.findThread(ctx, snd, who, at)
	if fault.Is(err, fault.CodeNotFound) {
		// Kept for inspection, not dropped: typically the second of two
		// changes delivered before the first (see docs/ARCHITECTURE.md).
		s.log().WarnContext(ctx, "whatsapp identity change for a customer without a thread: kept for inspection",
			"sender", snd.ID, "type", m.System.Type)
		return nil, s.unrouted(ctx, ch, snd.WorkspaceID, UnroutedNoThread,
			fmt.Sprintf("%s %s: no thread holds the customer's former identifier", m.System.Type, m.ID))
	} else if err != nil {
		return nil, err
	}
	// A notice older than the thread's latest change is kept in the
	// transcript and changes nothing.
	if th.Reidentify(m.System.NewPhone, m.System.NewUserID, at) {
		if err := s.rethread(ctx, th); err != nil {
			return nil, err
		}
	}
	c, err := s.Conversations.Get(ctx, ws, th.ConversationID)
	if fault.Is(err, fault.CodeNotFound) {
		return nil, nil
	} else if err != nil {
		return nil, err
	}
	if err := s.Store.AttachWamid(ctx, ws, m.ID, c.ID); err != nil {
		return nil, err
	}
	body := m.System.Body
	if body == "" {
		body = "The customer's WhatsApp identifier changed (" + m.System.Type + ")"
	}
	note := &conversation.Message{ID: msgID, Role: conversation.RoleSystem, Content: body, CreatedAt: at,
		ExternalID: m.ID, Channel: &conversation.ChannelData{Kind: KindSystem}}
	c, evs, err := s.Conversations.AppendChannel(ctx, c, []*conversation.Message{note}, nil)
	if err != nil {
		return nil, err
	}
	cust := c.Customer
	if th.Phone != "" {
		cust.Phone = th.Phone
	}
	if th.UserID != "" {
		cust.WhatsAppUserID = th.UserID
	}
	if cust != c.Customer {
		_, e, err := s.Conversations.UpdateChannel(ctx, ws, c.ID, conversation.Update{Customer: &cust})
		if err != nil {
			return nil, err
		}
		evs = append(evs, e...)
	}
	return evs, nil
}

// earlyReceiptsKept is how long a receipt of a wamid not recorded yet is
// kept for its send to record it.
const earlyReceiptsKept = 24 * time.Hour

// clockSkew is how far ahead of Parley's clock a webhook timestamp is
// taken as given.
const clockSkew = time.Minute

// earlyReceipts applies the receipts that arrived for a wamid before the
// send recorded it (receipt keeps them), inside that send's transaction.
func (s *Service) earlyReceipts(ctx context.Context, snd *Sender, wamid string) ([]events.Event, error) {
	early, err := s.Store.TakeEarlyReceipts(ctx, snd.WorkspaceID, wamid)
	if err != nil || len(early) == 0 {
		return nil, err
	}
	rates, err := s.Store.ListRates(ctx, snd.WorkspaceID)
	if err != nil {
		return nil, err
	}
	var evs []events.Event
	for i := range early {
		e, err := s.receipt(ctx, snd, rates, &early[i])
		if err != nil {
			return nil, err
		}
		evs = append(evs, e...)
	}
	return evs, nil
}

// receipt applies a status webhook to its outbound message: the status
// moves forward only; a failure keeps Meta's error; the first pricing is
// kept and, with a rate, priced.
func (s *Service) receipt(ctx context.Context, snd *Sender, rates []*Rate, st *Status) ([]events.Event, error) {
	ws := snd.WorkspaceID
	convID, msgID, outbound, err := s.Store.LookupWamid(ctx, ws, st.ID)
	if fault.Is(err, fault.CodeNotFound) {
		// Maybe a send whose wamid is not recorded yet: Meta can report a
		// message sent before answering its send request. Kept for the
		// send to apply (Ingest locked the wamid, so the send records it
		// either before this lookup or after this is kept); receipts of
		// other tools' messages are dropped after a day.
		now := s.now()
		s.log().InfoContext(ctx, "whatsapp receipt for a wamid not recorded (yet): kept", "sender", snd.ID, "status", st.Status)
		return nil, s.Store.KeepEarlyReceipt(ctx, ws, st, now, now.Add(-earlyReceiptsKept))
	} else if err == nil && !outbound {
		s.log().InfoContext(ctx, "whatsapp receipt for a message Parley did not send", "sender", snd.ID, "status", st.Status)
		return nil, nil
	} else if err != nil {
		return nil, err
	}
	_, _, evs, err := s.Conversations.UpdateMessage(ctx, ws, convID, msgID, func(c *conversation.Conversation, m *conversation.Message) (bool, error) {
		changed := false
		if next, ok := conversation.NextStatus(m.Status, st.Status); ok {
			m.Status, changed = next, true
			if next == conversation.MessageFailed && len(st.Errors) > 0 {
				e := st.Errors[0]
				m.Error = &conversation.MessageError{Code: strconv.Itoa(e.Code), Message: errorText(e)}
			}
		}
		if st.Pricing != nil && m.Pricing == nil {
			p := *st.Pricing
			m.Pricing, changed = &p, true
		}
		if m.Pricing != nil && m.ChannelCost == nil && len(rates) > 0 {
			phone := st.RecipientPhone
			if phone == "" {
				phone = c.Customer.Phone
			}
			var fee *money.Money
			if m.Pricing.Free() {
				zero := money.Money(0)
				fee = &zero
			} else if r := PickRate(rates, m.Pricing.Category, phone, m.CreatedAt); r != nil {
				fee = &r.Price
			}
			if fee != nil {
				ok, err := c.AddChannelCost(m, *fee)
				if err != nil {
					return false, err
				}
				changed = changed || ok
			}
		}
		return changed, nil
	})
	if fault.Is(err, fault.CodeNotFound) {
		return nil, nil // the conversation was deleted
	}
	return evs, err
}

// templateUpdate applies a message_template_status_update.
func (s *Service) templateUpdate(ctx context.Context, ch *Change) error {
	u := ch.Template
	status := ""
	switch strings.ToUpper(u.Event) {
	case "APPROVED", "REINSTATED", "UNARCHIVED":
		// Reinstated: no longer flagged or disabled, sendable again.
		status = TemplateApproved
	case "REJECTED":
		status = TemplateRejected
	case "PAUSED":
		status = TemplatePaused
	case "DISABLED", "PENDING_DELETION", "DELETED", "ARCHIVED":
		status = TemplateDisabled
	case "PENDING", "IN_APPEAL":
		status = TemplatePending
	case "FLAGGED":
		// At risk of being disabled after negative feedback, but still
		// approved and sendable: nothing changes until Meta decides.
		s.log().WarnContext(ctx, "whatsapp template flagged by Meta: it may be disabled", "waba", ch.WABAID,
			"template", u.Name, "language", u.Language, "reason", u.Reason)
		return nil
	default:
		s.log().InfoContext(ctx, "whatsapp template event not handled", "event", u.Event)
		return nil
	}
	reason := u.Reason
	if strings.EqualFold(reason, "NONE") {
		reason = ""
	}
	n, err := s.Store.SetTemplateStatus(ctx, ch.WABAID, u.Name, u.Language, status, reason, s.now())
	if err != nil {
		return err
	}
	if n == 0 {
		s.log().InfoContext(ctx, "whatsapp template update for a template not synced", "waba", ch.WABAID, "template", u.Name)
	}
	return nil
}
