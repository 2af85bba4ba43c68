package httpapi

import (
	"encoding/json"
	"time"

	"github.com/parley-dev/parley/internal/assistant"
	"github.com/parley-dev/parley/internal/conversation"
	"github.com/parley-dev/parley/internal/llm"
	"github.com/parley-dev/parley/internal/money"
)

// TimeFormat is how every API time is written: RFC 3339, UTC, milliseconds.
const TimeFormat = "2006-01-02T15:04:05.000Z07:00"

// jsonTime renders a time in TimeFormat.
type jsonTime time.Time

func (t jsonTime) MarshalJSON() ([]byte, error) {
	return []byte(`"` + time.Time(t).UTC().Format(TimeFormat) + `"`), nil
}

func optTime(t *time.Time) *jsonTime {
	if t == nil {
		return nil
	}
	j := jsonTime(*t)
	return &j
}

func optString(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

type assistantJSON struct {
	ID string `json:"id"`
	assistant.Settings
	PublicKey string   `json:"public_key"`
	CreatedAt jsonTime `json:"created_at"`
	UpdatedAt jsonTime `json:"updated_at"`
}

func assistantView(a *assistant.Assistant) assistantJSON {
	return assistantJSON{ID: a.ID, Settings: a.Settings, PublicKey: a.PublicKey,
		CreatedAt: jsonTime(a.CreatedAt), UpdatedAt: jsonTime(a.UpdatedAt)}
}

type priceJSON struct {
	ID            string      `json:"id,omitempty"`
	ModelPattern  string      `json:"model_pattern"`
	Input         money.Money `json:"input_per_mtok"`
	Output        money.Money `json:"output_per_mtok"`
	CachedInput   money.Money `json:"cached_input_per_mtok"`
	EffectiveFrom jsonTime    `json:"effective_from"`
	CreatedAt     *jsonTime   `json:"created_at,omitempty"`
	Builtin       bool        `json:"builtin,omitempty"`
}

func priceView(p *assistant.Price) priceJSON {
	return priceJSON{ID: p.ID, ModelPattern: p.ModelPattern, Input: p.Input, Output: p.Output,
		CachedInput: p.CachedInput, EffectiveFrom: jsonTime(p.EffectiveFrom), CreatedAt: optTime(&p.CreatedAt)}
}

type refJSON struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

type customerJSON struct {
	Name             *string `json:"name"`
	Phone            *string `json:"phone"`
	Email            *string `json:"email"`
	WhatsAppUserID   *string `json:"whatsapp_user_id"`
	WhatsAppUsername *string `json:"whatsapp_username"`
}

type lastMessageJSON struct {
	Role      string   `json:"role"`
	Preview   string   `json:"preview"`
	CreatedAt jsonTime `json:"created_at"`
}

type senderJSON struct {
	ID    string  `json:"id"`
	Name  *string `json:"name"`
	Phone string  `json:"phone"`
}

// conversationJSON is the API form of a conversation.
type conversationJSON struct {
	ID                 string                           `json:"id"`
	Type               string                           `json:"type"`
	Status             string                           `json:"status"`
	Assistant          refJSON                          `json:"assistant"`
	AIEnabled          bool                             `json:"ai_enabled"`
	ExternalIdentifier *string                          `json:"external_identifier"`
	Customer           customerJSON                     `json:"customer"`
	Variables          map[string]conversation.Variable `json:"variables"`
	MessageCount       int64                            `json:"message_count"`
	Usage              llm.Usage                        `json:"usage"`
	TotalCost          money.Money                      `json:"total_cost"`
	CostComplete       bool                             `json:"cost_complete"`
	LastMessage        *lastMessageJSON                 `json:"last_message"`
	CreatedAt          jsonTime                         `json:"created_at"`
	UpdatedAt          jsonTime                         `json:"updated_at"`
	EndedAt            *jsonTime                        `json:"ended_at"`
	ChannelCost        *money.Money                     `json:"channel_cost"`
	WhatsAppSender     *senderJSON                      `json:"whatsapp_sender,omitempty"`
	WhatsAppWindow     *windowJSON                      `json:"whatsapp_window,omitempty"`
}

func conversationView(c *conversation.Conversation) conversationJSON {
	out := conversationJSON{
		ID: c.ID, Type: c.Type, Status: c.Status,
		Assistant: refJSON{ID: c.AssistantID, Name: c.AssistantName}, AIEnabled: c.AIEnabled,
		ExternalIdentifier: optString(c.ExternalIdentifier),
		Customer: customerJSON{optString(c.Customer.Name), optString(c.Customer.Phone), optString(c.Customer.Email),
			optString(c.Customer.WhatsAppUserID), optString(c.Customer.WhatsAppUsername)},
		ChannelCost: c.ChannelCost,
		Variables:   c.Variables, MessageCount: c.MessageCount, Usage: c.Usage,
		TotalCost: c.TotalCost, CostComplete: c.CostComplete,
		CreatedAt: jsonTime(c.CreatedAt), UpdatedAt: jsonTime(c.UpdatedAt), EndedAt: optTime(c.EndedAt),
	}
	if out.Variables == nil {
		out.Variables = map[string]conversation.Variable{}
	}
	if lm := c.LastMessage; lm != nil {
		out.LastMessage = &lastMessageJSON{Role: lm.Role, Preview: lm.Preview, CreatedAt: jsonTime(lm.CreatedAt)}
	}
	if c.Type == conversation.TypeWhatsApp && c.SenderID != "" {
		out.WhatsAppSender = &senderJSON{ID: c.SenderID, Phone: c.SenderPhone}
	}
	return out
}

// conversationDetailJSON is a conversation with its whole transcript.
type conversationDetailJSON struct {
	conversationJSON
	Messages []messageJSON `json:"messages"`
}

var jsonNull = json.RawMessage("null")

type messageJSON struct {
	ID             string                     `json:"id"`
	ConversationID string                     `json:"conversation_id"`
	Role           string                     `json:"role"`
	Content        string                     `json:"content"`
	CreatedAt      jsonTime                   `json:"created_at"`
	Model          string                     `json:"model,omitempty"`
	Usage          *llm.Usage                 `json:"usage,omitempty"`
	UsageEstimated bool                       `json:"usage_estimated,omitempty"`
	Cost           any                        `json:"cost,omitempty"`
	ProviderCost   *money.Money               `json:"provider_cost,omitempty"`
	FinishReason   string                     `json:"finish_reason,omitempty"`
	LatencyMS      *int64                     `json:"latency_ms,omitempty"`
	FirstTokenMS   *int64                     `json:"first_token_ms,omitempty"`
	Status         string                     `json:"status,omitempty"`
	Error          *conversation.MessageError `json:"error,omitempty"`
	Template       *conversation.Template     `json:"template,omitempty"`
	ExternalID     string                     `json:"external_id,omitempty"`
	Pricing        *conversation.Pricing      `json:"pricing,omitempty"`
	ChannelCost    *money.Money               `json:"channel_cost,omitempty"`
	Media          *conversation.Media        `json:"media,omitempty"`
	Reactions      []reactionJSON             `json:"reactions,omitempty"`
}

// reactionJSON is a customer's reaction to a message.
type reactionJSON struct {
	Emoji string   `json:"emoji"`
	At    jsonTime `json:"at"`
}

func messageView(m *conversation.Message) messageJSON {
	out := messageJSON{
		ID: m.ID, ConversationID: m.ConversationID, Role: m.Role, Content: m.Content,
		CreatedAt: jsonTime(m.CreatedAt), Model: m.Model, Usage: m.Usage, UsageEstimated: m.UsageEstimated,
		LatencyMS: m.LatencyMS, FirstTokenMS: m.FirstTokenMS, Status: m.Status, Error: m.Error,
		Template: m.Template, ExternalID: m.ExternalID, ProviderCost: m.ProviderCost, FinishReason: m.FinishReason,
		Pricing: m.Pricing, ChannelCost: m.ChannelCost,
	}
	if ch := m.Channel; ch != nil {
		out.Media = ch.Media
		for _, r := range ch.Shown() {
			out.Reactions = append(out.Reactions, reactionJSON{Emoji: r.Emoji, At: jsonTime(r.At)})
		}
	}
	switch {
	case m.Cost != nil:
		out.Cost = *m.Cost
	case m.Model != "":
		out.Cost = jsonNull // a model reply that could not be priced
	}
	return out
}

func messagesView(msgs []*conversation.Message) []messageJSON {
	out := make([]messageJSON, 0, len(msgs))
	for _, m := range msgs {
		out = append(out, messageView(m))
	}
	return out
}
