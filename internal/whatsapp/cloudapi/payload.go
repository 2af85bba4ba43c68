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
type payload struct {
	Object string  `json:"object"`
	Entry  []entry `json:"entry"`
}

type entry struct {
	ID      string   `json:"id"`
	Changes []change `json:"changes"`
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
	Contacts []struct {
		WAID    string `json:"wa_id"`
		UserID  string `json:"user_id"`
		Profile struct {
			Name     string `json:"name"`
			Username string `json:"username"`
		} `json:"profile"`
	} `json:"contacts"`
	Messages []message  `json:"messages"`
	Statuses []status   `json:"statuses"`
	Errors   []apiError `json:"errors"`
	// message_template_status_update
	Event                   string          `json:"event"`
	MessageTemplateID       json.RawMessage `json:"message_template_id"`
	MessageTemplateName     string          `json:"message_template_name"`
	MessageTemplateLanguage string          `json:"message_template_language"`
	Reason                  string          `json:"reason"`
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
// as they come (type "unknown") rather than dropped.
func Parse(body []byte) ([]whatsapp.Change, error) {
	var p payload
	if err := json.Unmarshal(body, &p); err != nil {
		return nil, fmt.Errorf("webhook body: %w", err)
	}
	if p.Object != "whatsapp_business_account" {
		return nil, ErrNotWhatsApp
	}
	storable(reflect.ValueOf(&p))
	var out []whatsapp.Change
	for _, e := range p.Entry {
		for _, c := range e.Changes {
			ch, err := parseChange(e.ID, c)
			if err != nil {
				return nil, err
			}
			out = append(out, ch)
		}
	}
	return out, nil
}

func parseChange(wabaID string, c change) (whatsapp.Change, error) {
	ch := whatsapp.Change{WABAID: wabaID, Field: c.Field, Raw: c.Value}
	if len(c.Value) == 0 {
		return ch, nil
	}
	var v value
	if err := json.Unmarshal(c.Value, &v); err != nil {
		return ch, fmt.Errorf("webhook change %q: %w", c.Field, err)
	}
	storable(reflect.ValueOf(&v))
	raw, _ := json.Marshal(struct {
		Field string          `json:"field"`
		Value json.RawMessage `json:"value"`
	}{c.Field, storableJSON(c.Value)})
	ch.Raw = raw
	ch.PhoneNumberID, ch.DisplayPhone = v.Metadata.PhoneNumberID, v.Metadata.DisplayPhoneNumber
	if c.Field == "message_template_status_update" {
		ch.Template = &whatsapp.TemplateUpdate{Event: v.Event,
			TemplateID: conversation.StorableText(strings.Trim(string(v.MessageTemplateID), `"`)),
			Name:       v.MessageTemplateName, Language: v.MessageTemplateLanguage, Reason: v.Reason}
		return ch, nil
	}
	for _, ct := range v.Contacts {
		ch.Contacts = append(ch.Contacts, whatsapp.Contact{Phone: phone(ct.WAID), UserID: ct.UserID,
			Username: ct.Profile.Username, Name: clip(ct.Profile.Name, 200)})
	}
	for i := range v.Messages {
		ch.Messages = append(ch.Messages, parseMessage(&v.Messages[i]))
	}
	for _, s := range v.Statuses {
		st := whatsapp.Status{ID: s.ID, Status: s.Status, Timestamp: unix(s.Timestamp),
			RecipientPhone: phone(s.RecipientID), RecipientUserID: s.RecipientUserID, Errors: apiErrors(s.Errors)}
		if s.Pricing != nil && (s.Pricing.Category != "" || s.Pricing.Type != "") {
			st.Pricing = &conversation.Pricing{Category: s.Pricing.Category, Type: s.Pricing.Type}
		}
		ch.Statuses = append(ch.Statuses, st)
	}
	ch.Errors = apiErrors(v.Errors)
	return ch, nil
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
