package web

import (
	"fmt"
	"net/http"
	"strings"

	"github.com/parley-dev/parley/internal/conversation"
	"github.com/parley-dev/parley/internal/fault"
	"github.com/parley-dev/parley/internal/httpx"
	"github.com/parley-dev/parley/internal/whatsapp"
)

// waView is what a WhatsApp conversation's page shows beyond the
// transcript: its 24-hour window and, once that has closed, the template
// composer (only approved templates of the conversation's sender's
// account may be sent then).
type waView struct {
	Window whatsapp.Window
	// Sender is the conversation's number; nil when it was deleted.
	Sender *whatsapp.Sender
	// Templates are the approved templates of the sender's account;
	// Selected is the one the composer shows, with its placeholders.
	Templates []*whatsapp.Template
	Selected  *whatsapp.Template
	Params    []string
	// Error is why the last send was refused; ParamsError concerns the
	// placeholders' values; Sent names the template just sent, and
	// SentTo the conversation it went to when that is another one.
	Error, ParamsError, Sent, SentTo string
}

// ParamFields pairs each {{n}} of the selected template with the value
// typed for it.
func (v *waView) ParamFields() []paramField {
	if v.Selected == nil {
		return nil
	}
	out := make([]paramField, v.Selected.ParamCount())
	for i := range out {
		out[i].N = i + 1
		if i < len(v.Params) {
			out[i].Value = v.Params[i]
		}
	}
	return out
}

type paramField struct {
	N     int
	Value string
}

// windowText is the window's state as the page says it before its
// script counts down: "Window open · 3 h 12 min left".
func windowText(w whatsapp.Window) string {
	if !w.IsOpen {
		return "Window closed — send a template"
	}
	return "Window open · " + leftText(w.MinutesRemaining)
}

func leftText(min int) string {
	switch {
	case min < 1:
		return "less than a minute left"
	case min < 60:
		return fmt.Sprintf("%d min left", min)
	}
	return fmt.Sprintf("%d h %d min left", min/60, min%60)
}

// whatsAppView reads what a WhatsApp conversation's page needs; nil for
// other conversations. selected names the template the composer shows
// (empty: the first).
func (d *Dashboard) whatsAppView(r *http.Request, c *conversation.Conversation, selected string) (*waView, error) {
	if c.Type != conversation.TypeWhatsApp || d.WhatsApp == nil {
		return nil, nil
	}
	v := &waView{Window: d.WhatsApp.Window(c)}
	ws := workspace(r)
	if c.SenderID == "" {
		return v, nil
	}
	snd, err := d.WhatsApp.GetSender(r.Context(), ws, c.SenderID)
	if fault.Is(err, fault.CodeNotFound) {
		return v, nil
	} else if err != nil {
		return nil, err
	}
	v.Sender = snd
	if v.Window.IsOpen {
		return v, nil
	}
	all, err := d.WhatsApp.ListTemplates(r.Context(), ws)
	if err != nil {
		return nil, err
	}
	for _, t := range all {
		if t.WABAID == snd.WABAID && t.Status == whatsapp.TemplateApproved {
			v.Templates = append(v.Templates, t)
			if t.ID == selected || (selected == "" && v.Selected == nil) {
				v.Selected = t
			}
		}
	}
	if v.Selected == nil && len(v.Templates) > 0 {
		v.Selected = v.Templates[0]
	}
	return v, nil
}

// compose answers the composer area alone: after the window opened or
// closed (app.js asks when its countdown ends or a customer message
// arrives), or when another template is picked.
func (d *Dashboard) compose(w http.ResponseWriter, r *http.Request) {
	c, err := d.Conversations.Get(r.Context(), workspace(r), r.PathValue("id"))
	if err != nil {
		d.renderError(w, r, err)
		return
	}
	wa, err := d.whatsAppView(r, c, r.URL.Query().Get("template_id"))
	if err != nil {
		d.renderError(w, r, err)
		return
	}
	d.render(w, r, http.StatusOK, "conversation", map[string]any{"Fragment": "compose", "C": c, "WA": wa, "Composer": map[string]any{}})
}

// sendTemplate sends an approved template to the conversation's customer
// through the WhatsApp service, as the API's template send does, and
// shows the result in the composer.
func (d *Dashboard) sendTemplate(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	_ = r.ParseForm()
	ws := workspace(r)
	c, err := d.Conversations.Get(r.Context(), ws, r.PathValue("id"))
	if err != nil {
		d.renderError(w, r, err)
		return
	}
	if c.Type != conversation.TypeWhatsApp {
		d.renderError(w, r, fault.New(fault.CodeValidation, "Templates are sent on WhatsApp conversations only."))
		return
	}
	wa, err := d.whatsAppView(r, c, r.PostFormValue("template_id"))
	if err != nil {
		d.renderError(w, r, err)
		return
	}
	wa.Params = r.PostForm["param"]
	status := http.StatusOK
	show := func(code int) {
		d.render(w, r, code, "conversation", map[string]any{"Fragment": "compose", "C": c, "WA": wa, "Composer": map[string]any{}})
	}
	switch {
	case wa.Sender == nil:
		wa.Error = "This conversation's WhatsApp number was disconnected; connect it again on the WhatsApp page to write to this customer."
	case wa.Selected == nil || wa.Selected.ID != r.PostFormValue("template_id"):
		wa.Error = "Pick an approved template of this number's account."
	case c.Customer.Phone == "":
		wa.Error = "This customer shares only a WhatsApp user id, not a phone number: templates are sent to phone numbers."
	}
	if wa.Error != "" {
		show(http.StatusUnprocessableEntity)
		return
	}
	params := make([]string, len(wa.Params))
	for i, p := range wa.Params {
		params[i] = strings.TrimSpace(p)
	}
	conv, _, err := d.WhatsApp.SendTemplate(r.Context(), ws, whatsapp.TemplateSend{SenderID: c.SenderID, To: c.Customer.Phone,
		Template: wa.Selected.Name, Language: wa.Selected.Language, Params: params})
	switch {
	case err == nil:
		wa.Sent, wa.Params = wa.Selected.Name, nil
		if conv.ID != c.ID {
			wa.SentTo = conv.ID
		}
		w.Header().Set("HX-Trigger", "tail-refresh")
	case fieldErrors(err)["params"] != "":
		wa.ParamsError, status = fieldErrors(err)["params"], http.StatusUnprocessableEntity
	default:
		// Meta's or the service's refusal (template not approved, a
		// number Meta rejects, …) is shown in the composer; failures of
		// ours go to the error page.
		p := httpx.ProblemFor(err)
		if p.Status >= 500 {
			d.renderError(w, r, err)
			return
		}
		wa.Error, status = p.Detail, p.Status
	}
	show(status)
}
