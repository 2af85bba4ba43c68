package whatsapp

import (
	"context"
	"encoding/json"
	"errors"
	"regexp"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/parley-dev/parley/internal/conversation"
	"github.com/parley-dev/parley/internal/events"
	"github.com/parley-dev/parley/internal/fault"
	"github.com/parley-dev/parley/internal/ids"
)

var (
	templateName = regexp.MustCompile(`^[a-z0-9_]{1,512}$`)
	languageCode = regexp.MustCompile(`^[a-z]{2,3}(_[A-Za-z]{2,4})?$`)
)

// ListTemplates returns the workspace's templates.
func (s *Service) ListTemplates(ctx context.Context, workspaceID string) ([]*Template, error) {
	return s.Store.ListTemplates(ctx, workspaceID)
}

// GetTemplate returns one template.
func (s *Service) GetTemplate(ctx context.Context, workspaceID, id string) (*Template, error) {
	if !ids.HasPrefix(id, ids.Template) {
		return nil, fault.NotFound("template")
	}
	return s.Store.GetTemplate(ctx, workspaceID, id)
}

// TemplateInput is a template to submit to Meta.
type TemplateInput struct {
	SenderID   string
	Name       string
	Language   string
	Category   string
	Components json.RawMessage
}

// CreateTemplate submits a template for Meta's review through the
// sender's account and stores it with the status Meta gives (pending,
// usually; approved comes later by webhook or sync).
func (s *Service) CreateTemplate(ctx context.Context, workspaceID string, in TemplateInput) (*Template, error) {
	var v fault.Validation
	if !templateName.MatchString(in.Name) {
		v.Add("name", "must be 1 to 512 lower-case letters, digits and underscores")
	}
	if !languageCode.MatchString(in.Language) {
		v.Add("language", `must be a language code such as "en" or "en_US"`)
	}
	cat := strings.ToLower(in.Category)
	if cat != CategoryUtility && cat != CategoryMarketing && cat != CategoryAuthentication {
		v.Add("category", "must be utility, marketing or authentication")
	}
	var comps []map[string]any
	if len(in.Components) == 0 || json.Unmarshal(in.Components, &comps) != nil || len(comps) == 0 {
		v.Add("components", "must be a non-empty array of template components")
	} else {
		body := false
		for _, c := range comps {
			if t, _ := c["type"].(string); strings.EqualFold(t, "body") {
				text, _ := c["text"].(string)
				body = text != "" && utf8.RuneCountInString(text) <= 1024
			}
		}
		if !body {
			v.Add("components", "must include a BODY component with text of 1 to 1024 characters")
		}
	}
	snd, err := s.senderField(ctx, workspaceID, in.SenderID, &v)
	if err != nil {
		return nil, err
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	tok, err := s.token(ctx, snd)
	if err != nil {
		return nil, err
	}
	rt, err := s.Graph.CreateTemplate(ctx, tok, snd.WABAID, RemoteTemplate{Name: in.Name, Language: in.Language,
		Category: cat, Components: in.Components})
	if err != nil {
		return nil, graphFault(err, "Meta refused the template")
	}
	now := s.now()
	status := rt.Status
	if status == "" {
		status = TemplatePending
	}
	t := &Template{ID: ids.NewAt(ids.Template, now), WorkspaceID: workspaceID, SenderID: snd.ID, WABAID: snd.WABAID,
		MetaID: rt.ID, Name: in.Name, Language: in.Language, Category: cat, Status: status,
		Components: in.Components, CreatedAt: now, UpdatedAt: now}
	if err := s.Store.UpsertTemplate(ctx, t); err != nil {
		return nil, err
	}
	return t, nil
}

// senderField finds the sender a request names, reporting a missing or
// unknown one as a field problem.
func (s *Service) senderField(ctx context.Context, workspaceID, id string, v *fault.Validation) (*Sender, error) {
	if id == "" {
		v.Add("sender_id", "is required")
		return nil, nil
	}
	snd, err := s.GetSender(ctx, workspaceID, id)
	if fault.Is(err, fault.CodeNotFound) {
		v.Add("sender_id", "no sender with this id exists")
		return nil, nil
	}
	return snd, err
}

// graphFault turns a Graph API failure into the API's answer.
func graphFault(err error, what string) error {
	var ge *GraphError
	if errors.As(err, &ge) {
		return &fault.Error{Code: fault.CodeChannelFailed, Err: err, Message: what + ": " + ge.Describe()}
	}
	return &fault.Error{Code: fault.CodeChannelFailed, Err: err, Message: what + ": the Graph API did not answer"}
}

// DeleteTemplate deletes a template at Meta — its language only, by its
// Meta id; by name (every language) when it has none — and here.
func (s *Service) DeleteTemplate(ctx context.Context, workspaceID, id string) error {
	t, err := s.GetTemplate(ctx, workspaceID, id)
	if err != nil {
		return err
	}
	if snd, err := s.Store.GetSender(ctx, workspaceID, t.SenderID); err == nil {
		tok, err := s.token(ctx, snd)
		if err != nil {
			return err
		}
		if err := s.Graph.DeleteTemplate(ctx, tok, snd.WABAID, t.Name, t.MetaID); err != nil {
			var ge *GraphError
			if !errors.As(err, &ge) || ge.HTTPStatus != 404 {
				return graphFault(err, "Meta did not delete the template")
			}
		}
	} else if !fault.Is(err, fault.CodeNotFound) {
		return err
	}
	return s.Store.DeleteTemplate(ctx, workspaceID, id)
}

// SyncTemplates reads every template of the sender's account from the
// Graph API (all pages) and stores them, and forgets the account's
// templates Meta no longer has (deleted in WhatsApp Manager, or by
// another tool); it returns the workspace's templates after.
func (s *Service) SyncTemplates(ctx context.Context, workspaceID, senderID string) ([]*Template, error) {
	var v fault.Validation
	snd, err := s.senderField(ctx, workspaceID, senderID, &v)
	if err != nil {
		return nil, err
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	tok, err := s.token(ctx, snd)
	if err != nil {
		return nil, err
	}
	// A template created here just before the list is read may not be in
	// it yet: only older ones missing from it are gone.
	goneBefore := s.now().Add(-templateListLag)
	remote, err := s.Graph.Templates(ctx, tok, snd.WABAID)
	if err != nil {
		return nil, graphFault(err, "cannot read the templates")
	}
	// The number's status and quality change with its templates' (a
	// paused template lowers the rating): read them with the sync.
	refreshed := s.readNumber(ctx, snd, tok) == nil
	if !refreshed {
		s.log().WarnContext(ctx, "whatsapp: cannot read the number's status during the template sync", "sender", snd.ID)
	}
	now := s.now()
	var kept []*Template
	err = s.Store.Within(ctx, func(ctx context.Context) error {
		seen := map[string]bool{}
		for _, rt := range remote {
			t := &Template{ID: ids.NewAt(ids.Template, now), WorkspaceID: workspaceID, SenderID: snd.ID, WABAID: snd.WABAID,
				MetaID: rt.ID, Name: rt.Name, Language: rt.Language, Category: strings.ToLower(rt.Category),
				Status: remoteStatus(rt.Status), Reason: rt.Reason, Components: rt.Components, CreatedAt: now, UpdatedAt: now}
			if len(t.Components) == 0 {
				t.Components = json.RawMessage("[]")
			}
			if err := s.Store.UpsertTemplate(ctx, t); err != nil {
				return err
			}
			seen[t.ID] = true
		}
		var err error
		if kept, err = s.forgetGone(ctx, workspaceID, snd.WABAID, seen, goneBefore); err != nil {
			return err
		}
		if refreshed {
			return s.storeNumber(ctx, snd)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return kept, nil
}

// templateListLag is how long a template created through the Graph API
// may take to show in its account's list.
const templateListLag = 5 * time.Minute

// forgetGone deletes the templates of a WABA, created before goneBefore,
// that a full read of Meta's list did not return (seen holds those it
// did); it returns the workspace's templates that are left.
func (s *Service) forgetGone(ctx context.Context, workspaceID, wabaID string, seen map[string]bool, goneBefore time.Time) ([]*Template, error) {
	all, err := s.Store.ListTemplates(ctx, workspaceID)
	if err != nil {
		return nil, err
	}
	kept := all[:0]
	for _, t := range all {
		if t.WABAID != wabaID || seen[t.ID] || !t.CreatedAt.Before(goneBefore) {
			kept = append(kept, t)
			continue
		}
		if err := s.Store.DeleteTemplate(ctx, workspaceID, t.ID); err != nil && !fault.Is(err, fault.CodeNotFound) {
			return nil, err
		}
		s.log().InfoContext(ctx, "whatsapp template gone at Meta: forgotten", "template", t.Name, "language", t.Language, "waba", wabaID)
	}
	return kept, nil
}

// remoteStatus maps the Graph API's template status to the contract's.
func remoteStatus(st string) string {
	switch strings.ToUpper(st) {
	case "APPROVED", "FLAGGED":
		// FLAGGED: its quality dropped; it can still be sent, and Meta
		// pauses it if the quality does not recover (as the status
		// webhook treats it).
		return TemplateApproved
	case "REJECTED":
		return TemplateRejected
	case "PAUSED":
		return TemplatePaused
	case "DISABLED", "PENDING_DELETION", "DELETED", "ARCHIVED", "LIMIT_EXCEEDED":
		return TemplateDisabled
	case "", "DRAFT":
		return TemplateDraft
	}
	return TemplatePending
}

// TemplateSend asks for an approved template to be sent to a customer.
type TemplateSend struct {
	SenderID string
	To       string // the customer's phone
	// Recipient is the customer's business-scoped user id, for customers
	// known without a phone (either identifies them; To is sent to when
	// both are given).
	Recipient string
	Template  string // name
	Language  string
	Params    []string
	Header    *conversation.TemplateHeader
	Buttons   []conversation.TemplateButton
}

// SendTemplate sends an approved template to a customer, by phone or
// business-scoped user id, opening or continuing their conversation; the message goes out by the
// send job, like every outbound message.
func (s *Service) SendTemplate(ctx context.Context, workspaceID string, in TemplateSend) (*conversation.Conversation, *conversation.Message, error) {
	snd, err := s.GetSender(ctx, workspaceID, in.SenderID)
	if err != nil {
		return nil, nil, err
	}
	var v fault.Validation
	if in.Template == "" {
		v.Add("template", "is required")
	}
	if in.Language == "" {
		v.Add("language", "is required")
	}
	for i, p := range in.Params {
		if strings.TrimSpace(p) == "" || utf8.RuneCountInString(p) > 1024 {
			v.Add("params", "parameter %d must have 1 to 1024 characters", i+1)
		} else if !paramText(p) {
			v.Add("params", "parameter %d must be one line: no new lines, tabs or more than 4 spaces in a row (Meta refuses them, 132018)", i+1)
		}
	}
	if err := v.Err(); err != nil {
		return nil, nil, err
	}
	var who Contact
	if in.To != "" || in.Recipient == "" {
		phone, ok := conversation.NormalizePhone(in.To)
		if !ok {
			return nil, nil, fault.New(fault.CodeInvalidPhone, "%q is not a phone number with country code, e.g. +15551234567 (or give recipient: the customer's WhatsApp user id)", in.To)
		}
		who.Phone = phone
	}
	if in.Recipient != "" {
		if !ValidUserID(in.Recipient) {
			return nil, nil, fault.Invalid("recipient", "must be a WhatsApp business-scoped user id as Meta sends it, e.g. US.13491208655302741918")
		}
		who.UserID = in.Recipient
	}
	if who.Phone != "" && who.UserID != "" {
		// Both name the customer: they must not name two.
		byPhone, err := s.Store.FindThread(ctx, workspaceID, snd.ID, who.Phone, "")
		if err != nil && !fault.Is(err, fault.CodeNotFound) {
			return nil, nil, err
		}
		byUser, err := s.Store.FindThread(ctx, workspaceID, snd.ID, "", who.UserID)
		if err != nil && !fault.Is(err, fault.CodeNotFound) {
			return nil, nil, err
		}
		if byPhone != nil && byUser != nil && byPhone.ID != byUser.ID {
			return nil, nil, fault.Invalid("recipient", "names another customer than to does; give one of them")
		}
	}
	t, err := s.Store.FindTemplate(ctx, workspaceID, snd.WABAID, in.Template, in.Language)
	if fault.Is(err, fault.CodeNotFound) {
		return nil, nil, fault.New(fault.CodeTemplateNotApproved,
			"no template %q in %s for this sender's account; create it or sync templates first", in.Template, in.Language)
	} else if err != nil {
		return nil, nil, err
	}
	if t.Status != TemplateApproved {
		return nil, nil, fault.New(fault.CodeTemplateNotApproved, "template %q (%s) is %s, not approved", t.Name, t.Language, t.Status)
	}
	if t.NamedParams() {
		return nil, nil, fault.Invalid("template",
			"template %q fills its body by name ({{name}}); Parley sends numbered parameters ({{1}}) only", t.Name)
	}
	if want := t.ParamCount(); want != len(in.Params) {
		v.Add("params", "template %q takes %d parameters, %d given", t.Name, want, len(in.Params))
	}
	if in.Header != nil {
		in.Header.Type = strings.ToLower(in.Header.Type)
	}
	checkTemplateParams(t, in.Header, in.Buttons, &v)
	if err := v.Err(); err != nil {
		return nil, nil, err
	}
	if _, err := s.Assistants.Get(ctx, workspaceID, snd.AssistantID); err != nil {
		return nil, nil, err
	}
	now := s.now()
	msg := &conversation.Message{ID: ids.NewAt(ids.Message, now), Role: conversation.RoleOperator,
		Content: t.Render(in.Params), CreatedAt: now,
		Template: &conversation.Template{Name: t.Name, Language: t.Language, Params: nonNil(in.Params),
			Header: in.Header, Buttons: in.Buttons}}
	var c *conversation.Conversation
	for range 3 {
		err = s.Store.Within(ctx, func(ctx context.Context) error {
			conv, evs, err := s.threadFor(ctx, snd, who)
			if err != nil {
				return err
			}
			conv, e, err := s.Conversations.AppendChannel(ctx, conv, []*conversation.Message{msg}, nil)
			if err != nil {
				return err
			}
			c = conv
			return s.Conversations.RecordEvents(ctx, append(evs, e...)...)
		})
		if !errors.Is(err, errThreadRace) {
			break
		}
	}
	if err != nil {
		return nil, nil, err
	}
	return c, msg, nil
}

func nonNil(p []string) []string {
	if p == nil {
		return []string{}
	}
	return p
}

// threadFor is thread for a business-initiated message: the customer's
// active conversation continues, whatever its idle time, and the
// identifiers the business gives are current.
func (s *Service) threadFor(ctx context.Context, snd *Sender, who Contact) (*conversation.Conversation, []events.Event, error) {
	return s.thread(ctx, snd, &who, s.now(), true)
}
