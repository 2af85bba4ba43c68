// Package cloudapi speaks Meta's WhatsApp Cloud API: it checks and parses
// webhook deliveries into the channel's terms (whatsapp.Change), serves
// the webhook endpoint, and is the Graph API client behind the
// whatsapp.Graph port.
package cloudapi

import (
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/parley-dev/parley/internal/conversation"
	"github.com/parley-dev/parley/internal/whatsapp"
)

// The webhook payload, as Meta documents it (only what Parley reads).
// Entries, changes, contacts, messages and statuses are read one by one
// (json.RawMessage first), so that one part Parley cannot read — a field of
// another JSON type, an id too long to store — costs only itself, kept
// for inspection, and not the rest of the delivery.
type payload struct {
	Object string            `json:"object"`
	Entry  []json.RawMessage `json:"entry"`
}

type entry struct {
	ID      json.RawMessage   `json:"id"`
	Changes []json.RawMessage `json:"changes"`
}

type change struct {
	Field string          `json:"field"`
	Value json.RawMessage `json:"value"`
}

type value struct {
	MessagingProduct string `json:"messaging_product"`
	Metadata         struct {
		DisplayPhoneNumber string `json:"display_phone_number"`
		PhoneNumberID      string `json:"phone_number_id"`
	} `json:"metadata"`
	Contacts []json.RawMessage `json:"contacts"`
	Messages []json.RawMessage `json:"messages"`
	Statuses []json.RawMessage `json:"statuses"`
	Errors   []apiError        `json:"errors"`
	// message_template_status_update
	Event                   string          `json:"event"`
	MessageTemplateID       json.RawMessage `json:"message_template_id"`
	MessageTemplateName     string          `json:"message_template_name"`
	MessageTemplateLanguage string          `json:"message_template_language"`
	Reason                  string          `json:"reason"`
}

type contact struct {
	WAID    string `json:"wa_id"`
	UserID  string `json:"user_id"`
	Profile struct {
		Name     string `json:"name"`
		Username string `json:"username"`
	} `json:"profile"`
}

type apiError struct {
	Code      int    `json:"code"`
	Title     string `json:"title"`
	Message   string `json:"message"`
	ErrorData struct {
		Details string `json:"details"`
	} `json:"error_data"`
}

type mediaObj struct {
	ID       string `json:"id"`
	MimeType string `json:"mime_type"`
	SHA256   string `json:"sha256"`
	Caption  string `json:"caption"`
	Filename string `json:"filename"`
	Animated bool   `json:"animated"`
	Voice    bool   `json:"voice"`
}

type message struct {
	From       string `json:"from"`
	FromUserID string `json:"from_user_id"`
	ID         string `json:"id"`
	Timestamp  string `json:"timestamp"`
	Type       string `json:"type"`
	Context    *struct {
		From string `json:"from"`
		ID   string `json:"id"`
	} `json:"context"`
	Text *struct {
		Body string `json:"body"`
	} `json:"text"`
	Image    *mediaObj `json:"image"`
	Audio    *mediaObj `json:"audio"`
	Video    *mediaObj `json:"video"`
	Document *mediaObj `json:"document"`
	Sticker  *mediaObj `json:"sticker"`
	Location *struct {
		Latitude  float64 `json:"latitude"`
		Longitude float64 `json:"longitude"`
		Name      string  `json:"name"`
		Address   string  `json:"address"`
	} `json:"location"`
	Contacts []struct {
		Name struct {
			FormattedName string `json:"formatted_name"`
		} `json:"name"`
		Phones []struct {
			Phone string `json:"phone"`
		} `json:"phones"`
	} `json:"contacts"`
	Interactive *struct {
		Type        string `json:"type"`
		ButtonReply *struct {
			ID    string `json:"id"`
			Title string `json:"title"`
		} `json:"button_reply"`
		ListReply *struct {
			ID          string `json:"id"`
			Title       string `json:"title"`
			Description string `json:"description"`
		} `json:"list_reply"`
		NFMReply *struct {
			Name         string `json:"name"`
			Body         string `json:"body"`
			ResponseJSON string `json:"response_json"`
		} `json:"nfm_reply"`
	} `json:"interactive"`
	Button *struct {
		Payload string `json:"payload"`
		Text    string `json:"text"`
	} `json:"button"`
	Reaction *struct {
		MessageID string `json:"message_id"`
		Emoji     string `json:"emoji"`
	} `json:"reaction"`
	System *struct {
		Body   string `json:"body"`
		Type   string `json:"type"`
		WAID   string `json:"wa_id"`
		UserID string `json:"user_id"`
		// The customer's user id before a user_changed_user_id.
		PreviousUserID string `json:"previous_user_id"`
		// Older payloads named the new id "identity"/"new_wa_id".
		NewWAID string `json:"new_wa_id"`
	} `json:"system"`
	Errors []apiError `json:"errors"`
}

type status struct {
	ID              string `json:"id"`
	Status          string `json:"status"`
	Timestamp       string `json:"timestamp"`
	RecipientID     string `json:"recipient_id"`
	RecipientUserID string `json:"recipient_user_id"`
	Pricing         *struct {
		Billable     *bool  `json:"billable"`
		PricingModel string `json:"pricing_model"`
		Category     string `json:"category"`
		Type         string `json:"type"`
	} `json:"pricing"`
	Errors []apiError `json:"errors"`
}

// ErrNotWhatsApp reports a delivery for another product's webhooks.
var ErrNotWhatsApp = errors.New("not a whatsapp_business_account webhook")

// Parse reads a webhook delivery into changes. It never panics on any
// input (it is fuzzed); a body that is not a WhatsApp Business Account
// delivery is an error, while unknown message types and fields are kept
// as they come (type "unknown") rather than dropped. A part it cannot
// read — an entry, change, contact, message or status with a field of an
// unexpected JSON type, or an id longer than any of Meta's (maxID) — is
// left out and named in its change's Unreadable, so that the rest of the
// delivery is stored and the change kept for inspection.
func Parse(body []byte) ([]whatsapp.Change, error) {
	var p payload
	if err := json.Unmarshal(body, &p); err != nil {
		return nil, fmt.Errorf("webhook body: %w", err)
	}
	if p.Object != "whatsapp_business_account" {
		return nil, ErrNotWhatsApp
	}
	var out []whatsapp.Change
	for _, raw := range p.Entry {
		var e entry
		if err := json.Unmarshal(raw, &e); err != nil {
			// Its account, if that much can be read, shows it to the
			// account's workspace.
			var id struct {
				ID json.RawMessage `json:"id"`
			}
			waba := ""
			if json.Unmarshal(raw, &id) == nil {
				waba, _ = idText(id.ID)
			}
			out = append(out, whatsapp.Change{WABAID: waba, Raw: storableJSON(raw), Unreadable: "entry: " + readError(err)})
			continue
		}
		waba, ok := idText(e.ID)
		for _, c := range e.Changes {
			ch := parseChange(waba, c)
			if !ok {
				ch.Unread("entry id")
			}
			out = append(out, ch)
		}
	}
	return out, nil
}

// maxID bounds the ids and names a delivery may carry: Meta's are far
// shorter (a wamid is under 100 bytes), and a longer one could not be
// stored in an index (PostgreSQL's hold at most ~2.7 kB).
const maxID = 512

// idText reads an id Meta sends as a string (or, in older payloads, a
// number); false when it is neither or too long to be one.
func idText(raw json.RawMessage) (string, bool) {
	if len(raw) == 0 || string(raw) == "null" {
		return "", true
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		var n json.Number
		if json.Unmarshal(raw, &n) != nil {
			return "", false
		}
		s = n.String()
	}
	s = conversation.StorableText(s)
	if len(s) > maxID {
		return "", false
	}
	return s, true
}

// readError says briefly why a part could not be read.
func readError(err error) string {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		return fmt.Sprintf("%s is a JSON %s", te.Field, te.Value)
	}
	return clip(err.Error(), 200)
}

// readPart decodes raw, part i of the change's list kind, into v and makes
// it storable; false, with the part named in ch.Unreadable, when it
// cannot be read.
func readPart[T any](ch *whatsapp.Change, kind string, i int, raw json.RawMessage, v *T) bool {
	if err := json.Unmarshal(raw, v); err != nil {
		ch.Unread(fmt.Sprintf("%s[%d]: %s", kind, i, readError(err)))
		return false
	}
	storable(reflect.ValueOf(v))
	return true
}

// tooLong reports whether any of ids is longer than maxID.
func tooLong(ids ...string) bool {
	for _, id := range ids {
		if len(id) > maxID {
			return true
		}
	}
	return false
}

func parseChange(wabaID string, raw json.RawMessage) whatsapp.Change {
	ch := whatsapp.Change{WABAID: wabaID, Raw: storableJSON(raw)}
	var c change
	if err := json.Unmarshal(raw, &c); err != nil {
		ch.Unread("change: " + readError(err))
		return ch
	}
	ch.Field = clip(conversation.StorableText(c.Field), 100)
	if len(c.Value) == 0 || string(c.Value) == "null" {
		return ch
	}
	var v value
	if err := json.Unmarshal(c.Value, &v); err != nil {
		ch.Unread("value: " + readError(err))
		// The number it came to, if that much can be read, routes it.
		var m struct {
			Metadata struct {
				PhoneNumberID string `json:"phone_number_id"`
			} `json:"metadata"`
		}
		if json.Unmarshal(c.Value, &m) == nil && !tooLong(m.Metadata.PhoneNumberID) {
			ch.PhoneNumberID = conversation.StorableText(m.Metadata.PhoneNumberID)
		}
		return ch
	}
	storable(reflect.ValueOf(&v))
	if tooLong(v.Metadata.PhoneNumberID, v.Metadata.DisplayPhoneNumber) {
		ch.Unread("metadata: an id too long")
		return ch
	}
	ch.PhoneNumberID, ch.DisplayPhone = v.Metadata.PhoneNumberID, v.Metadata.DisplayPhoneNumber
	if c.Field == "message_template_status_update" {
		id := strings.Trim(string(v.MessageTemplateID), `"`)
		if tooLong(id, v.MessageTemplateName, v.MessageTemplateLanguage) {
			ch.Unread("template: an id too long")
			return ch
		}
		ch.Template = &whatsapp.TemplateUpdate{Event: v.Event, TemplateID: conversation.StorableText(id),
			Name: v.MessageTemplateName, Language: v.MessageTemplateLanguage, Reason: v.Reason}
		return ch
	}
	for i, rc := range v.Contacts {
		var ct contact
		if !readPart(&ch, "contacts", i, rc, &ct) {
			continue
		}
		if tooLong(ct.UserID, ct.Profile.Username) {
			ch.Unread(fmt.Sprintf("contacts[%d]: an id too long", i))
			continue
		}
		ch.Contacts = append(ch.Contacts, whatsapp.Contact{Phone: phone(ct.WAID), UserID: ct.UserID,
			Username: ct.Profile.Username, Name: clip(ct.Profile.Name, 200)})
	}
	for i, rm := range v.Messages {
		var m message
		if !readPart(&ch, "messages", i, rm, &m) {
			continue
		}
		in := parseMessage(&m)
		if tooLong(in.ID, in.FromUserID, in.Context, in.ReactionTo) ||
			(in.System != nil && tooLong(in.System.NewUserID, in.System.PreviousUserID)) {
			ch.Unread(fmt.Sprintf("messages[%d]: an id too long", i))
			continue
		}
		if !identified(&in, ch.Contacts) {
			ch.Unread(fmt.Sprintf("messages[%d]: no sender (neither from nor from_user_id)", i))
			continue
		}
		ch.Messages = append(ch.Messages, in)
	}
	for i, rs := range v.Statuses {
		var s status
		if !readPart(&ch, "statuses", i, rs, &s) {
			continue
		}
		if tooLong(s.ID, s.RecipientUserID, s.Status) {
			ch.Unread(fmt.Sprintf("statuses[%d]: an id too long", i))
			continue
		}
		st := whatsapp.Status{ID: s.ID, Status: s.Status, Timestamp: unix(s.Timestamp),
			RecipientPhone: phone(s.RecipientID), RecipientUserID: s.RecipientUserID, Errors: apiErrors(s.Errors)}
		if s.Pricing != nil && (s.Pricing.Category != "" || s.Pricing.Type != "") {
			st.Pricing = &conversation.Pricing{Category: s.Pricing.Category, Type: s.Pricing.Type}
			if s.Pricing.Type == "" {
				st.Pricing.Billable = s.Pricing.Billable
			}
		}
		ch.Statuses = append(ch.Statuses, st)
	}
	ch.Errors = apiErrors(v.Errors)
	return ch
}

// identified reports whether a message names its sender: by its own
// from or from_user_id, its change's only contact, or (an identity
// notice) the user id the customer had.
func identified(in *whatsapp.Inbound, contacts []whatsapp.Contact) bool {
	if in.From != "" || in.FromUserID != "" || (in.System != nil && in.System.PreviousUserID != "") {
		return true
	}
	return len(contacts) == 1 && (contacts[0].Phone != "" || contacts[0].UserID != "")
}

func apiErrors(list []apiError) []whatsapp.APIError {
	var out []whatsapp.APIError
	for _, e := range list {
		out = append(out, whatsapp.APIError{Code: e.Code, Title: e.Title, Message: e.Message, Details: e.ErrorData.Details})
	}
	return out
}

// phone returns a wa_id as E.164 with +, or "" when it is none.
func phone(waID string) string {
	if waID == "" {
		return ""
	}
	p, ok := conversation.NormalizePhone(waID)
	if !ok {
		return ""
	}
	return p
}

// unix reads Meta's timestamps: unix seconds as a string.
func unix(s string) time.Time {
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n <= 0 || n > 1<<40 {
		return time.Time{}
	}
	return time.Unix(n, 0).UTC()
}

// clip shortens s to at most n characters.
func clip(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	return string([]rune(s)[:n])
}

// mediaLabel is the readable placeholder of each media type.
var mediaLabel = map[string]string{"image": "Image", "audio": "Audio", "video": "Video", "document": "Document", "sticker": "Sticker"}

func parseMessage(m *message) whatsapp.Inbound {
	in := whatsapp.Inbound{ID: m.ID, From: phone(m.From), FromUserID: m.FromUserID, Timestamp: unix(m.Timestamp),
		Type: m.Type, Errors: apiErrors(m.Errors)}
	if m.Context != nil {
		in.Context = m.Context.ID
	}
	var media *mediaObj
	switch m.Type {
	case "text":
		if m.Text != nil {
			in.Content = m.Text.Body
		}
	case "image":
		media = m.Image
	case "audio":
		media = m.Audio
	case "video":
		media = m.Video
	case "document":
		media = m.Document
	case "sticker":
		media = m.Sticker
	case "location":
		if l := m.Location; l != nil {
			in.Content = fmt.Sprintf("[Location] %.6f, %.6f", l.Latitude, l.Longitude)
			if place := strings.TrimSpace(strings.Join(nonEmpty(l.Name, l.Address), ", ")); place != "" {
				in.Content += " — " + place
			}
		}
	case "contacts":
		var names []string
		for _, c := range m.Contacts {
			n := c.Name.FormattedName
			for _, p := range c.Phones {
				n += " " + p.Phone
			}
			names = append(names, strings.TrimSpace(n))
		}
		in.Content = "[Contact] " + strings.Join(names, "; ")
	case "interactive":
		if it := m.Interactive; it != nil {
			switch {
			case it.ButtonReply != nil:
				in.Content = it.ButtonReply.Title
			case it.ListReply != nil:
				in.Content = strings.TrimSpace(it.ListReply.Title + " " + it.ListReply.Description)
			case it.NFMReply != nil:
				in.Content = "[Form reply] " + it.NFMReply.ResponseJSON
			}
		}
	case "button":
		if m.Button != nil {
			in.Content = m.Button.Text
		}
	case "reaction":
		in.Type = whatsapp.KindReaction
		if m.Reaction != nil {
			in.ReactionTo, in.Emoji = m.Reaction.MessageID, m.Reaction.Emoji
			in.Content = "[Reaction] " + m.Reaction.Emoji
			if m.Reaction.Emoji == "" {
				in.Content = "[Reaction removed]"
			}
		}
	case "system":
		if sy := m.System; sy != nil {
			sc := &whatsapp.SystemChange{Type: sy.Type, Body: sy.Body, NewUserID: sy.UserID, PreviousUserID: sy.PreviousUserID}
			newPhone := sy.WAID
			if newPhone == "" {
				newPhone = sy.NewWAID
			}
			if sy.Type == "user_changed_number" {
				sc.NewPhone = phone(newPhone)
			}
			in.System, in.Content = sc, sy.Body
		}
	}
	if media != nil {
		label := mediaLabel[m.Type]
		if m.Type == "audio" && media.Voice {
			label = "Voice message"
		}
		in.Media = &conversation.Media{ID: media.ID, Type: m.Type, MimeType: media.MimeType, Caption: media.Caption,
			Filename: media.Filename, SHA256: media.SHA256}
		in.Content = "[" + label + "]"
		if media.Filename != "" {
			in.Content += " " + media.Filename
		}
		if media.Caption != "" {
			in.Content += " " + media.Caption
		}
	}
	if in.Content == "" && in.System == nil {
		// unsupported, unknown or a type Parley does not read: kept, with
		// Meta's error when it gave one.
		if in.Type != whatsapp.KindReaction {
			in.Unread = true
			in.Content = "[Unsupported message: " + clip(m.Type, 40) + "]"
			if len(in.Errors) > 0 {
				in.Content = "[Unsupported message: " + clip(in.Errors[0].Title, 200) + "]"
			}
		}
		if in.Type == "" {
			in.Type = "unknown"
		}
	}
	in.Content = clip(in.Content, 4096)
	return in
}

func nonEmpty(s ...string) []string {
	var out []string
	for _, x := range s {
		if strings.TrimSpace(x) != "" {
			out = append(out, x)
		}
	}
	return out
}
