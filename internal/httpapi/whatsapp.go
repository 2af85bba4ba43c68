package httpapi

import (
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/parley-dev/parley/internal/conversation"
	"github.com/parley-dev/parley/internal/fault"
	"github.com/parley-dev/parley/internal/httpx"
	"github.com/parley-dev/parley/internal/money"
	"github.com/parley-dev/parley/internal/whatsapp"
)

// registerWhatsApp adds the WhatsApp routes.
func (a *API) registerWhatsApp(h func(pattern string, fn http.HandlerFunc)) {
	h("POST /api/v1/whatsapp/senders", a.createSender)
	h("GET /api/v1/whatsapp/senders", a.listSenders)
	h("GET /api/v1/whatsapp/senders/{id}", a.getSender)
	h("PATCH /api/v1/whatsapp/senders/{id}", a.updateSender)
	h("DELETE /api/v1/whatsapp/senders/{id}", a.deleteSender)
	h("POST /api/v1/whatsapp/senders/{id}/refresh", a.refreshSender)
	h("GET /api/v1/whatsapp/unrouted", a.listUnrouted)
	h("GET /api/v1/whatsapp/templates", a.listTemplates)
	h("POST /api/v1/whatsapp/templates", a.createTemplate)
	h("POST /api/v1/whatsapp/templates/sync", a.syncTemplates)
	h("GET /api/v1/whatsapp/templates/{id}", a.getTemplate)
	h("DELETE /api/v1/whatsapp/templates/{id}", a.deleteTemplate)
	h("POST /api/v1/whatsapp/messages/template", a.sendTemplate)
	h("GET /api/v1/whatsapp/rates", a.listRates)
	h("POST /api/v1/whatsapp/rates", a.createRate)
	h("DELETE /api/v1/whatsapp/rates/{id}", a.deleteRate)
	h("GET /api/v1/whatsapp/media/{id}", a.getMedia)
}

// senderJSONFull is a sender as the API shows it: never its token.
type senderJSONFull struct {
	ID             string   `json:"id"`
	Name           string   `json:"name"`
	Phone          string   `json:"phone"`
	PhoneNumberID  string   `json:"phone_number_id"`
	WABAID         string   `json:"waba_id"`
	AssistantID    string   `json:"assistant_id"`
	AccessTokenSet bool     `json:"access_token_set"`
	Status         *string  `json:"status"`
	QualityRating  *string  `json:"quality_rating"`
	CreatedAt      jsonTime `json:"created_at"`
	UpdatedAt      jsonTime `json:"updated_at"`
}

func senderView(s *whatsapp.Sender) senderJSONFull {
	return senderJSONFull{ID: s.ID, Name: s.Name, Phone: s.Phone, PhoneNumberID: s.PhoneNumberID, WABAID: s.WABAID,
		AssistantID: s.AssistantID, AccessTokenSet: s.SealedToken != "", Status: optString(s.Status),
		QualityRating: optString(s.QualityRating), CreatedAt: jsonTime(s.CreatedAt), UpdatedAt: jsonTime(s.UpdatedAt)}
}

type senderInput struct {
	Name          *string `json:"name"`
	Phone         *string `json:"phone"`
	PhoneNumberID *string `json:"phone_number_id"`
	WABAID        *string `json:"waba_id"`
	AccessToken   *string `json:"access_token"`
	AssistantID   *string `json:"assistant_id"`
}

func (in senderInput) domain() whatsapp.SenderInput {
	return whatsapp.SenderInput{Name: in.Name, Phone: in.Phone, PhoneNumberID: in.PhoneNumberID, WABAID: in.WABAID,
		AccessToken: in.AccessToken, AssistantID: in.AssistantID}
}

func (a *API) createSender(w http.ResponseWriter, r *http.Request) {
	var in senderInput
	if err := httpx.Decode(w, r, defaultBodyLimit, &in); err != nil {
		httpx.WriteProblem(w, r, err)
		return
	}
	s, err := a.WhatsApp.CreateSender(r.Context(), workspaceID(r.Context()), in.domain())
	if err != nil {
		httpx.WriteProblem(w, r, err)
		return
	}
	httpx.WriteJSON(w, http.StatusCreated, senderView(s))
}

func (a *API) listSenders(w http.ResponseWriter, r *http.Request) {
	req, ok := a.listRequest(w, r, nil)
	if !ok {
		return
	}
	rows, err := a.WhatsApp.ListSenders(r.Context(), workspaceID(r.Context()))
	if err != nil {
		httpx.WriteProblem(w, r, err)
		return
	}
	res := pageInMemory(rows, req, func(s *whatsapp.Sender) string { return s.ID })
	httpx.WriteJSON(w, http.StatusOK, newList(res, senderView, a.cursorWriter(r)))
}

func (a *API) getSender(w http.ResponseWriter, r *http.Request) {
	s, err := a.WhatsApp.GetSender(r.Context(), workspaceID(r.Context()), r.PathValue("id"))
	if err != nil {
		httpx.WriteProblem(w, r, err)
		return
	}
	httpx.WriteJSON(w, http.StatusOK, senderView(s))
}

func (a *API) updateSender(w http.ResponseWriter, r *http.Request) {
	var in senderInput
	if err := httpx.Decode(w, r, defaultBodyLimit, &in); err != nil {
		httpx.WriteProblem(w, r, err)
		return
	}
	s, err := a.WhatsApp.UpdateSender(r.Context(), workspaceID(r.Context()), r.PathValue("id"), in.domain())
	if err != nil {
		httpx.WriteProblem(w, r, err)
		return
	}
	httpx.WriteJSON(w, http.StatusOK, senderView(s))
}

func (a *API) deleteSender(w http.ResponseWriter, r *http.Request) {
	if err := a.WhatsApp.DeleteSender(r.Context(), workspaceID(r.Context()), r.PathValue("id")); err != nil {
		httpx.WriteProblem(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// refreshSender reads the number's status and quality rating from the
// Graph API now.
func (a *API) refreshSender(w http.ResponseWriter, r *http.Request) {
	s, err := a.WhatsApp.RefreshSender(r.Context(), workspaceID(r.Context()), r.PathValue("id"))
	if err != nil {
		httpx.WriteProblem(w, r, err)
		return
	}
	httpx.WriteJSON(w, http.StatusOK, senderView(s))
}

// unroutedJSON is a webhook change no sender took; its payload is the
// change's JSON text as Meta sent it, byte for byte.
type unroutedJSON struct {
	ID            string   `json:"id"`
	Reason        string   `json:"reason"`
	Detail        string   `json:"detail"`
	WABAID        string   `json:"waba_id"`
	PhoneNumberID string   `json:"phone_number_id"`
	Payload       string   `json:"payload"`
	ReceivedAt    jsonTime `json:"received_at"`
}

func unroutedView(u *whatsapp.Unrouted) unroutedJSON {
	return unroutedJSON{ID: u.ID, Reason: u.Reason, Detail: u.Detail, WABAID: u.WABAID, PhoneNumberID: u.PhoneNumberID,
		Payload: string(u.Payload), ReceivedAt: jsonTime(u.ReceivedAt)}
}

// listUnrouted pages the webhook changes no sender took that this
// workspace may see, oldest first. API keys act as the workspace's owner.
func (a *API) listUnrouted(w http.ResponseWriter, r *http.Request) {
	req, ok := a.listRequest(w, r, nil)
	if !ok {
		return
	}
	res, err := a.WhatsApp.ListUnrouted(r.Context(), workspaceID(r.Context()), req)
	if err != nil {
		httpx.WriteProblem(w, r, err)
		return
	}
	httpx.WriteJSON(w, http.StatusOK, newList(res, unroutedView, a.cursorWriter(r)))
}

type templateJSON struct {
	ID         string          `json:"id"`
	SenderID   string          `json:"sender_id"`
	WABAID     string          `json:"waba_id"`
	Name       string          `json:"name"`
	Language   string          `json:"language"`
	Category   string          `json:"category"`
	Status     string          `json:"status"`
	Reason     *string         `json:"reason"`
	Components json.RawMessage `json:"components"`
	ParamCount int             `json:"param_count"`
	CreatedAt  jsonTime        `json:"created_at"`
	UpdatedAt  jsonTime        `json:"updated_at"`
}

func templateView(t *whatsapp.Template) templateJSON {
	comps := t.Components
	if len(comps) == 0 {
		comps = json.RawMessage("[]")
	}
	return templateJSON{ID: t.ID, SenderID: t.SenderID, WABAID: t.WABAID, Name: t.Name, Language: t.Language,
		Category: t.Category, Status: t.Status, Reason: optString(t.Reason), Components: comps,
		ParamCount: t.ParamCount(), CreatedAt: jsonTime(t.CreatedAt), UpdatedAt: jsonTime(t.UpdatedAt)}
}

func (a *API) listTemplates(w http.ResponseWriter, r *http.Request) {
	req, ok := a.listRequest(w, r, nil)
	if !ok {
		return
	}
	rows, err := a.WhatsApp.ListTemplates(r.Context(), workspaceID(r.Context()))
	if err != nil {
		httpx.WriteProblem(w, r, err)
		return
	}
	res := pageInMemory(rows, req, func(t *whatsapp.Template) string { return t.ID })
	httpx.WriteJSON(w, http.StatusOK, newList(res, templateView, a.cursorWriter(r)))
}

func (a *API) getTemplate(w http.ResponseWriter, r *http.Request) {
	t, err := a.WhatsApp.GetTemplate(r.Context(), workspaceID(r.Context()), r.PathValue("id"))
	if err != nil {
		httpx.WriteProblem(w, r, err)
		return
	}
	httpx.WriteJSON(w, http.StatusOK, templateView(t))
}

func (a *API) createTemplate(w http.ResponseWriter, r *http.Request) {
	var in struct {
		SenderID   string          `json:"sender_id"`
		Name       string          `json:"name"`
		Language   string          `json:"language"`
		Category   string          `json:"category"`
		Components json.RawMessage `json:"components"`
	}
	if err := httpx.Decode(w, r, defaultBodyLimit, &in); err != nil {
		httpx.WriteProblem(w, r, err)
		return
	}
	t, err := a.WhatsApp.CreateTemplate(r.Context(), workspaceID(r.Context()), whatsapp.TemplateInput{
		SenderID: in.SenderID, Name: in.Name, Language: in.Language, Category: in.Category, Components: in.Components})
	if err != nil {
		httpx.WriteProblem(w, r, err)
		return
	}
	httpx.WriteJSON(w, http.StatusCreated, templateView(t))
}

func (a *API) deleteTemplate(w http.ResponseWriter, r *http.Request) {
	if err := a.WhatsApp.DeleteTemplate(r.Context(), workspaceID(r.Context()), r.PathValue("id")); err != nil {
		httpx.WriteProblem(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (a *API) syncTemplates(w http.ResponseWriter, r *http.Request) {
	var in struct {
		SenderID string `json:"sender_id"`
	}
	if err := httpx.Decode(w, r, defaultBodyLimit, &in); err != nil {
		httpx.WriteProblem(w, r, err)
		return
	}
	rows, err := a.WhatsApp.SyncTemplates(r.Context(), workspaceID(r.Context()), in.SenderID)
	if err != nil {
		httpx.WriteProblem(w, r, err)
		return
	}
	out := struct {
		Data []templateJSON `json:"data"`
	}{Data: make([]templateJSON, 0, len(rows))}
	for _, t := range rows {
		out.Data = append(out.Data, templateView(t))
	}
	httpx.WriteJSON(w, http.StatusOK, out)
}

func (a *API) sendTemplate(w http.ResponseWriter, r *http.Request) {
	var in struct {
		SenderID  string   `json:"sender_id"`
		To        string   `json:"to"`
		Recipient string   `json:"recipient"`
		Template  string   `json:"template"`
		Language  string   `json:"language"`
		Params    []string `json:"params"`
		Header    *struct {
			Type     string `json:"type"`
			Text     string `json:"text"`
			Link     string `json:"link"`
			MediaID  string `json:"media_id"`
			Filename string `json:"filename"`
			// A location header's place.
			Latitude  *float64 `json:"latitude"`
			Longitude *float64 `json:"longitude"`
			Name      string   `json:"name"`
			Address   string   `json:"address"`
		} `json:"header"`
		Buttons []struct {
			Index   int    `json:"index"`
			SubType string `json:"sub_type"`
			Value   string `json:"value"`
		} `json:"buttons"`
	}
	if err := httpx.Decode(w, r, defaultBodyLimit, &in); err != nil {
		httpx.WriteProblem(w, r, err)
		return
	}
	if in.SenderID == "" {
		httpx.WriteProblem(w, r, fault.Invalid("sender_id", "is required"))
		return
	}
	send := whatsapp.TemplateSend{SenderID: in.SenderID, To: in.To, Recipient: in.Recipient, Template: in.Template,
		Language: in.Language, Params: in.Params}
	if h := in.Header; h != nil {
		send.Header = &conversation.TemplateHeader{Type: h.Type, Text: h.Text, Link: h.Link, MediaID: h.MediaID, Filename: h.Filename,
			Latitude: h.Latitude, Longitude: h.Longitude, Name: h.Name, Address: h.Address}
	}
	for _, b := range in.Buttons {
		send.Buttons = append(send.Buttons, conversation.TemplateButton{Index: b.Index, SubType: b.SubType, Value: b.Value})
	}
	c, m, err := a.WhatsApp.SendTemplate(r.Context(), workspaceID(r.Context()), send)
	if err != nil {
		httpx.WriteProblem(w, r, err)
		return
	}
	httpx.WriteJSON(w, http.StatusCreated, map[string]any{"conversation": a.convView(r)(c), "message": messageView(m)})
}

type rateJSON struct {
	ID            string      `json:"id"`
	Category      string      `json:"category"`
	Market        string      `json:"market"`
	Price         money.Money `json:"price_per_message"`
	EffectiveFrom jsonTime    `json:"effective_from"`
	CreatedAt     jsonTime    `json:"created_at"`
}

func rateView(r *whatsapp.Rate) rateJSON {
	return rateJSON{ID: r.ID, Category: r.Category, Market: r.Market, Price: r.Price,
		EffectiveFrom: jsonTime(r.EffectiveFrom), CreatedAt: jsonTime(r.CreatedAt)}
}

func (a *API) listRates(w http.ResponseWriter, r *http.Request) {
	req, ok := a.listRequest(w, r, nil)
	if !ok {
		return
	}
	rows, err := a.WhatsApp.ListRates(r.Context(), workspaceID(r.Context()))
	if err != nil {
		httpx.WriteProblem(w, r, err)
		return
	}
	res := pageInMemory(rows, req, func(x *whatsapp.Rate) string { return x.ID })
	httpx.WriteJSON(w, http.StatusOK, newList(res, rateView, a.cursorWriter(r)))
}

func (a *API) createRate(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Category      string  `json:"category"`
		Market        string  `json:"market"`
		Price         *string `json:"price_per_message"`
		EffectiveFrom *string `json:"effective_from"`
	}
	if err := httpx.Decode(w, r, defaultBodyLimit, &in); err != nil {
		httpx.WriteProblem(w, r, err)
		return
	}
	var v fault.Validation
	ri := whatsapp.RateInput{Category: in.Category, Market: in.Market}
	if in.Price != nil {
		p, err := money.Parse(*in.Price)
		if err != nil {
			v.Add("price_per_message", "must be a decimal string of USD, e.g. \"0.0250\"")
		} else {
			ri.Price = &p
		}
	}
	if in.EffectiveFrom != nil {
		t, err := time.Parse(time.RFC3339Nano, *in.EffectiveFrom)
		if err != nil {
			v.Add("effective_from", "must be an RFC 3339 time")
		} else {
			ri.EffectiveFrom = &t
		}
	}
	if err := v.Err(); err != nil {
		httpx.WriteProblem(w, r, err)
		return
	}
	rate, err := a.WhatsApp.CreateRate(r.Context(), workspaceID(r.Context()), ri)
	if err != nil {
		httpx.WriteProblem(w, r, err)
		return
	}
	httpx.WriteJSON(w, http.StatusCreated, rateView(rate))
}

func (a *API) deleteRate(w http.ResponseWriter, r *http.Request) {
	if err := a.WhatsApp.DeleteRate(r.Context(), workspaceID(r.Context()), r.PathValue("id")); err != nil {
		httpx.WriteProblem(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// getMedia streams a customer's media from Meta, through the sender's
// token (media ids expire 7 days after the message).
func (a *API) getMedia(w http.ResponseWriter, r *http.Request) {
	sender := r.URL.Query().Get("sender_id")
	if sender == "" {
		httpx.WriteProblem(w, r, fault.Invalid("sender_id", "is required"))
		return
	}
	f, err := a.WhatsApp.Media(r.Context(), workspaceID(r.Context()), sender, r.PathValue("id"))
	if err != nil {
		httpx.WriteProblem(w, r, err)
		return
	}
	defer f.Body.Close()
	ct := f.MimeType
	if ct == "" {
		ct = "application/octet-stream"
	}
	w.Header().Set("Content-Type", ct)
	w.Header().Set("Cache-Control", "private, max-age=3600")
	w.Header().Set("Content-Disposition", "attachment")
	if f.Size > 0 {
		w.Header().Set("Content-Length", strconv.FormatInt(f.Size, 10))
	}
	_, _ = io.Copy(w, f.Body)
}

// windowJSON is the WhatsApp service window of a conversation.
type windowJSON struct {
	IsOpen                bool      `json:"is_open"`
	ExpiresAt             *jsonTime `json:"expires_at"`
	MinutesRemaining      int       `json:"minutes_remaining"`
	LastCustomerMessageAt *jsonTime `json:"last_customer_message_at"`
	CanSendFreeform       bool      `json:"can_send_freeform"`
	RequiresTemplate      bool      `json:"requires_template"`
}

// convView returns the conversation view of r: with WhatsApp's sender
// name (the workspace's senders read once per request, when needed) and
// window.
func (a *API) convView(r *http.Request) func(*conversation.Conversation) conversationJSON {
	var names map[string]string
	return func(c *conversation.Conversation) conversationJSON {
		out := conversationView(c)
		if c.Type != conversation.TypeWhatsApp || a.WhatsApp == nil {
			return out
		}
		if names == nil {
			names, _ = a.WhatsApp.SenderNames(r.Context(), workspaceID(r.Context()))
			if names == nil {
				names = map[string]string{}
			}
		}
		if out.WhatsAppSender != nil {
			out.WhatsAppSender.Name = optString(names[c.SenderID])
		}
		win := a.WhatsApp.Window(c)
		out.WhatsAppWindow = &windowJSON{IsOpen: win.IsOpen, ExpiresAt: optTime(win.ExpiresAt),
			MinutesRemaining: win.MinutesRemaining, LastCustomerMessageAt: optTime(win.LastCustomerMessageAt),
			CanSendFreeform: win.CanSendFreeform, RequiresTemplate: win.RequiresTemplate}
		return out
	}
}
