package whatsapp

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/parley-dev/parley/internal/conversation"
	"github.com/parley-dev/parley/internal/fault"
	"github.com/parley-dev/parley/internal/page"
)

// SendArgs asks for an outbound message to be sent through the Graph API.
type SendArgs struct {
	WorkspaceID    string `json:"workspace_id"`
	ConversationID string `json:"conversation_id"`
	MessageID      string `json:"message_id"`
}

// JobSend is the kind of SendArgs jobs.
const JobSend = "whatsapp.send"

// Kind implements conversation.JobArgs.
func (SendArgs) Kind() string { return JobSend }

// Workspace files the job under its workspace.
func (a SendArgs) Workspace() string { return a.WorkspaceID }

// SnoozeError asks for the send to be tried again after a wait Meta's
// limits call for, without counting as a failed attempt.
type SnoozeError struct {
	After time.Duration
	Err   error
}

func (e *SnoozeError) Error() string { return fmt.Sprintf("retry in %s: %v", e.After, e.Err) }
func (e *SnoozeError) Unwrap() error { return e.Err }

// errPaced is why a send waits for its turn under Meta's limits.
var errPaced = errors.New("paced: the number's throughput or the customer's pair limit is used up for now")

// Channel is the conversation.Channel of WhatsApp conversations.
type Channel struct{ S *Service }

// Accept refuses a free-form message outside the customer's window
// before it is stored; templates may always go.
func (ch Channel) Accept(_ context.Context, c *conversation.Conversation, m *conversation.Message) error {
	if m.Template != nil {
		return nil
	}
	if w := ch.S.Window(c); !w.CanSendFreeform {
		return fault.New(fault.CodeWindowClosed,
			"the customer's 24-hour window is closed (their last message was over 24 hours ago, or they never wrote): send an approved template instead")
	}
	return nil
}

// Deliver enqueues the message's send job in the transaction storing it.
func (ch Channel) Deliver(ctx context.Context, c *conversation.Conversation, m *conversation.Message) error {
	return ch.S.Queue.Enqueue(ctx, SendArgs{WorkspaceID: c.WorkspaceID, ConversationID: c.ID, MessageID: m.ID})
}

// RepliesInBackground implements conversation.Channel: Meta's webhook
// is answered at once; the assistant replies in a job.
func (Channel) RepliesInBackground() bool { return true }

// Replying marks the customer's message read and shows the typing
// indicator while the model works.
func (ch Channel) Replying(ctx context.Context, c *conversation.Conversation, m *conversation.Message) {
	if m == nil || m.ExternalID == "" {
		return
	}
	s := ch.S
	snd, err := s.Store.GetSender(ctx, c.WorkspaceID, c.SenderID)
	if err != nil {
		s.log().WarnContext(ctx, "whatsapp typing indicator: no sender", "conversation", c.ID, "err", err)
		return
	}
	tok, err := s.token(ctx, snd)
	if err != nil {
		s.log().WarnContext(ctx, "whatsapp typing indicator: token", "sender", snd.ID, "err", err)
		return
	}
	tctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := s.Graph.MarkRead(tctx, tok, snd.PhoneNumberID, m.ExternalID, true); err != nil {
		s.log().WarnContext(ctx, "whatsapp typing indicator failed", "sender", snd.ID, "err", err)
	}
}

// markRead marks the customer's messages before an operator's message
// read (Meta marks a message and every one before it), as the AI's
// reply does while the model works: with the assistant off, the customer
// would otherwise never see their messages read. Best effort: a failure
// is logged and the send goes on.
func (s *Service) markRead(ctx context.Context, c *conversation.Conversation, m *conversation.Message, snd *Sender, tok string) {
	res, err := s.Conversations.Messages(ctx, c.WorkspaceID, c.ID,
		page.Request{Limit: 20, Cursor: &page.Cursor{Seq: m.Seq, Key: m.ID, Before: true}})
	if err != nil {
		s.log().WarnContext(ctx, "whatsapp mark read: cannot read the transcript", "conversation", c.ID, "err", err)
		return
	}
	for i := len(res.Items) - 1; i >= 0; i-- {
		prev := res.Items[i]
		if prev.Role != conversation.RoleUser || prev.ExternalID == "" {
			continue
		}
		rctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		if err := s.Graph.MarkRead(rctx, tok, snd.PhoneNumberID, prev.ExternalID, false); err != nil {
			s.log().WarnContext(ctx, "whatsapp mark read failed", "sender", snd.ID, "err", err)
		}
		return
	}
}

// currentPhone is the phone to send a conversation's message to: the
// phone its customer's thread holds now, found by their user id — after
// a change of number, the new one; after the number passed to someone
// else, none (the message goes by user id) — or the conversation's
// customer phone when the customer has no user id or no thread.
func (s *Service) currentPhone(ctx context.Context, c *conversation.Conversation) (string, error) {
	cust := c.Customer
	if cust.WhatsAppUserID == "" {
		return cust.Phone, nil
	}
	th, err := s.Store.FindThread(ctx, c.WorkspaceID, c.SenderID, "", cust.WhatsAppUserID)
	if fault.Is(err, fault.CodeNotFound) {
		return cust.Phone, nil
	} else if err != nil {
		return "", err
	}
	return th.Phone, nil
}

// SendJob sends an outbound message. It is idempotent where it can be: a
// message already sent (it has its wamid) or already failed is left
// alone. A send Meta refuses for good marks the message failed with
// Meta's error and returns nil; one that may work later returns an
// error (a *SnoozeError when Meta's limits say how long to wait), so the
// job runs again.
//
// A crash between Meta accepting the message and its wamid being stored
// sends it twice when the job runs again; the Graph API has no
// idempotency key to prevent that.
func (s *Service) SendJob(ctx context.Context, args SendArgs) error {
	ws := args.WorkspaceID
	c, m, err := s.unsent(ctx, args)
	if err != nil || m == nil {
		return err
	}
	if m.Template == nil && !s.Window(c).CanSendFreeform {
		return s.fail(ctx, c, m, strconv.Itoa(ErrCodeWindowClosed),
			"not sent: the customer's 24-hour window closed before the message could go out; send a template")
	}
	snd, err := s.Store.GetSender(ctx, ws, c.SenderID)
	if fault.Is(err, fault.CodeNotFound) {
		return s.fail(ctx, c, m, "sender_removed", "not sent: the WhatsApp sender of this conversation was removed")
	} else if err != nil {
		return err
	}
	tok, err := s.token(ctx, snd)
	if err != nil {
		return s.fail(ctx, c, m, "sender_token", "not sent: the sender's access token cannot be read; set it again")
	}
	out := OutMessage{Text: m.Content, Template: m.Template}
	phone, err := s.currentPhone(ctx, c)
	if err != nil {
		return err
	}
	if phone != "" {
		out.To = phone
	} else {
		out.Recipient = c.Customer.WhatsAppUserID
	}
	// Our own pacing first: a send Meta would throttle waits (the job is
	// snoozed) instead of being refused.
	if wait := s.pacer().Reserve(s.Now(), snd.PhoneNumberID, out.To+out.Recipient); wait > 0 {
		return &SnoozeError{After: wait, Err: errPaced}
	}
	if m.Role == conversation.RoleOperator {
		s.markRead(ctx, c, m, snd, tok)
	}
	sctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	wamid, err := s.Graph.Send(sctx, tok, snd.PhoneNumberID, out)
	cancel()
	var ge *GraphError
	if errors.As(err, &ge) {
		if ge.Retryable() {
			if d := ge.Backoff(); d > 0 {
				return &SnoozeError{After: d, Err: err}
			}
			return err
		}
		return s.fail(ctx, c, m, strconv.Itoa(ge.Code), ge.Describe())
	}
	if err != nil {
		return err // the network: try again
	}
	return s.Store.Within(ctx, func(ctx context.Context) error {
		// Locked first, before any conversation row: a receipt of this
		// wamid now waits for this record, or was kept before it.
		if err := s.Store.LockWamids(ctx, []string{wamid}); err != nil {
			return err
		}
		if _, err := s.Store.ClaimWamid(ctx, ws, wamid, c.ID, m.ID, true); err != nil {
			return err
		}
		_, _, evs, err := s.Conversations.UpdateMessage(ctx, ws, c.ID, m.ID, func(_ *conversation.Conversation, m *conversation.Message) (bool, error) {
			m.ExternalID = wamid
			if next, ok := conversation.NextStatus(m.Status, conversation.MessageSent); ok {
				m.Status = next
			}
			return true, nil
		})
		if err != nil {
			return err
		}
		early, err := s.earlyReceipts(ctx, snd, wamid)
		if err != nil {
			return err
		}
		return s.Conversations.RecordEvents(ctx, append(evs, early...)...)
	})
}

// GiveUp marks a send that failed its last attempt failed, with the last
// error (Meta unreachable, or answering 5xx or rate limits, for as long
// as the job's retries last): the message shows it, and an operator can
// send it again.
func (s *Service) GiveUp(ctx context.Context, args SendArgs, last error) error {
	c, m, err := s.unsent(ctx, args)
	if err != nil || m == nil {
		return err // nil when Meta has it (only storing that failed) or it failed already
	}
	code, text := "send_failed", "not sent: WhatsApp could not be reached after every retry"
	var ge *GraphError
	if errors.As(last, &ge) {
		code, text = strconv.Itoa(ge.Code), "not sent after every retry: "+ge.Describe()
	}
	return s.fail(ctx, c, m, code, text)
}

// Describe is Meta's error as the message's error text.
func (e *GraphError) Describe() string {
	return errorText(APIError{Code: e.Code, Title: e.Title, Message: e.Message, Details: e.Details})
}

// unsent returns a send job's conversation and message while the message
// is still to be sent; a nil message when it is gone (its conversation
// deleted), sent (it has its wamid) or failed already.
func (s *Service) unsent(ctx context.Context, args SendArgs) (*conversation.Conversation, *conversation.Message, error) {
	c, err := s.Conversations.Get(ctx, args.WorkspaceID, args.ConversationID)
	if fault.Is(err, fault.CodeNotFound) {
		return nil, nil, nil
	} else if err != nil {
		return nil, nil, err
	}
	m, err := s.Conversations.Message(ctx, args.WorkspaceID, c.ID, args.MessageID)
	if fault.Is(err, fault.CodeNotFound) {
		return nil, nil, nil
	} else if err != nil {
		return nil, nil, err
	}
	if m.ExternalID != "" || (m.Status != "" && m.Status != conversation.MessagePending) {
		return nil, nil, nil
	}
	return c, m, nil
}

// fail marks a message failed with an error.
func (s *Service) fail(ctx context.Context, c *conversation.Conversation, m *conversation.Message, code, text string) error {
	s.log().WarnContext(ctx, "whatsapp message not sent", "conversation", c.ID, "message", m.ID, "code", code)
	return s.Store.Within(ctx, func(ctx context.Context) error {
		_, _, evs, err := s.Conversations.UpdateMessage(ctx, c.WorkspaceID, c.ID, m.ID, func(_ *conversation.Conversation, m *conversation.Message) (bool, error) {
			next, ok := conversation.NextStatus(m.Status, conversation.MessageFailed)
			if !ok {
				return false, nil
			}
			m.Status, m.Error = next, &conversation.MessageError{Code: code, Message: text}
			return true, nil
		})
		if err != nil {
			return err
		}
		return s.Conversations.RecordEvents(ctx, evs...)
	})
}
