package web

import (
	"encoding/json"
	"net/http"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/parley-dev/parley/internal/money"
	"github.com/parley-dev/parley/internal/page"
	"github.com/parley-dev/parley/internal/whatsapp"
)

// WhatsAppSetup is what the /whatsapp page says of the instance's
// webhook configuration: whether each secret is set, never its value.
type WhatsAppSetup struct {
	// BaseURL is PARLEY_BASE_URL; empty: the URL the page was reached at.
	BaseURL        string
	AppSecretSet   bool
	VerifyTokenSet bool
}

// webhookURL is where Meta must deliver this instance's webhooks.
func (d *Dashboard) webhookURL(r *http.Request) string {
	base := strings.TrimRight(d.WhatsAppSetup.BaseURL, "/")
	if base == "" {
		scheme := "http"
		if r.TLS != nil {
			scheme = "https"
		}
		base = scheme + "://" + r.Host
	}
	return base + "/webhooks/whatsapp"
}

// whatsappPage shows the senders, templates and rate card. Agents see it
// read-only; the handlers that change anything require admin.
func (d *Dashboard) whatsappPage(w http.ResponseWriter, r *http.Request) {
	d.renderWhatsApp(w, r, http.StatusOK, map[string]any{})
}

func (d *Dashboard) renderWhatsApp(w http.ResponseWriter, r *http.Request, status int, data map[string]any) {
	ctx, ws := r.Context(), workspace(r)
	senders, err := d.WhatsApp.ListSenders(ctx, ws)
	if err != nil {
		d.renderError(w, r, err)
		return
	}
	templates, err := d.WhatsApp.ListTemplates(ctx, ws)
	if err != nil {
		d.renderError(w, r, err)
		return
	}
	rates, err := d.WhatsApp.ListRates(ctx, ws)
	if err != nil {
		d.renderError(w, r, err)
		return
	}
	sort.SliceStable(rates, func(i, j int) bool {
		a, b := rates[i], rates[j]
		if a.Category != b.Category {
			return a.Category < b.Category
		}
		if a.Market != b.Market {
			return a.Market < b.Market
		}
		return a.EffectiveFrom.Before(b.EffectiveFrom)
	})
	assistants, err := d.Assistants.List(ctx, ws, page.Request{Limit: page.MaxLimit})
	if err != nil {
		d.renderError(w, r, err)
		return
	}
	names := map[string]string{}
	for _, a := range assistants.Items {
		names[a.ID] = a.Name
	}
	senderNames := map[string]string{}
	for _, s := range senders {
		senderNames[s.ID] = s.Name
	}
	kept, err := d.recentUnrouted(r)
	if err != nil {
		d.renderError(w, r, err)
		return
	}
	data["Senders"], data["Templates"], data["Rates"], data["Unrouted"] = senders, templates, rates, kept
	data["Assistants"], data["AssistantNames"], data["SenderNames"] = assistants.Items, names, senderNames
	data["Setup"], data["WebhookURL"] = d.WhatsAppSetup, d.webhookURL(r)
	data["Categories"] = []string{whatsapp.CategoryUtility, whatsapp.CategoryMarketing, whatsapp.CategoryAuthentication}
	data["RateCategories"] = whatsapp.PricingCategories()
	for _, k := range []string{"SenderErrors", "SenderForm", "TemplateErrors", "TemplateForm", "RateErrors", "RateForm"} {
		if _, ok := data[k]; !ok {
			data[k] = map[string]string{}
		}
	}
	d.render(w, r, status, "whatsapp", data)
}

// unroutedShown is how many of the newest kept deliveries the page lists.
const unroutedShown = 20

// afterEveryID sorts after every id (ids are a prefix and lowercase
// Crockford base32, whose last letter is z), in any collation.
const afterEveryID = "unr_zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz"

// recentUnrouted returns the newest webhook changes the workspace's
// senders did not take or Parley could not wholly read, newest first.
func (d *Dashboard) recentUnrouted(r *http.Request) ([]*whatsapp.Unrouted, error) {
	res, err := d.WhatsApp.ListUnrouted(r.Context(), workspace(r),
		page.Request{Limit: unroutedShown, Cursor: &page.Cursor{Key: afterEveryID, Before: true}})
	if err != nil {
		return nil, err
	}
	out := res.Items
	slices.Reverse(out)
	return out, nil
}

// unroutedReason is the page's words for why a change was kept.
func unroutedReason(reason string) string {
	switch reason {
	case whatsapp.UnroutedUnknownNumber:
		return "Unknown number"
	case whatsapp.UnroutedAssistantGone:
		return "Assistant deleted"
	case whatsapp.UnroutedUnreadable:
		return "Partly unreadable"
	case whatsapp.UnroutedNoThread:
		return "No thread for a number change"
	}
	return reason
}

// formOf copies the named form fields, to show them again beside errors.
func formOf(r *http.Request, names ...string) map[string]string {
	out := make(map[string]string, len(names))
	for _, n := range names {
		out[n] = r.PostFormValue(n)
	}
	return out
}

// optField is the form value of name, or nil when the form lacks it or
// leaves it blank and blank means "keep" (write-only fields).
func optField(r *http.Request, name string, blankKeeps bool) *string {
	if _, ok := r.PostForm[name]; !ok {
		return nil
	}
	v := r.PostFormValue(name)
	if blankKeeps && strings.TrimSpace(v) == "" {
		return nil
	}
	return &v
}

// createSender connects a business number. The access token is a
// write-only field: it is sealed by the service and never shown again.
func (d *Dashboard) createSender(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	_ = r.ParseForm()
	in := whatsapp.SenderInput{Name: optField(r, "name", false), Phone: optField(r, "phone", false),
		PhoneNumberID: optField(r, "phone_number_id", false), WABAID: optField(r, "waba_id", false),
		AccessToken: optField(r, "access_token", false), AssistantID: optField(r, "assistant_id", false)}
	_, err := d.WhatsApp.CreateSender(r.Context(), workspace(r), in)
	if fe := fieldErrors(err); fe != nil {
		d.renderWhatsApp(w, r, http.StatusUnprocessableEntity, map[string]any{"SenderErrors": fe,
			"SenderForm": formOf(r, "name", "phone", "phone_number_id", "waba_id", "assistant_id")})
		return
	}
	if err != nil {
		d.renderError(w, r, err)
		return
	}
	http.Redirect(w, r, "/whatsapp#senders", http.StatusSeeOther)
}

// updateSender renames a sender, moves it to another assistant, or
// replaces its access token (left blank: kept).
func (d *Dashboard) updateSender(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	_ = r.ParseForm()
	id := r.PathValue("id")
	in := whatsapp.SenderInput{Name: optField(r, "name", false), AssistantID: optField(r, "assistant_id", false),
		AccessToken: optField(r, "access_token", true)}
	_, err := d.WhatsApp.UpdateSender(r.Context(), workspace(r), id, in)
	if fe := fieldErrors(err); fe != nil {
		d.renderWhatsApp(w, r, http.StatusUnprocessableEntity, map[string]any{"EditSender": id, "SenderErrors": fe,
			"SenderForm": formOf(r, "name", "assistant_id")})
		return
	}
	if err != nil {
		d.renderError(w, r, err)
		return
	}
	redirect(w, r, "/whatsapp#senders")
}

func (d *Dashboard) deleteSender(w http.ResponseWriter, r *http.Request) {
	if err := d.WhatsApp.DeleteSender(r.Context(), workspace(r), r.PathValue("id")); err != nil {
		d.renderError(w, r, err)
		return
	}
	redirect(w, r, "/whatsapp#senders")
}

// templateComponents builds Meta's component array from the form: an
// optional text header, the body with its {{n}} placeholders and their
// example values (Meta's review asks for one per placeholder), and an
// optional footer.
func templateComponents(header, body, footer, examples string) json.RawMessage {
	var comps []map[string]any
	if h := strings.TrimSpace(header); h != "" {
		comps = append(comps, map[string]any{"type": "HEADER", "format": "TEXT", "text": h})
	}
	b := map[string]any{"type": "BODY", "text": strings.TrimSpace(body)}
	var ex []string
	for _, line := range strings.Split(examples, "\n") {
		if line = strings.TrimSpace(line); line != "" {
			ex = append(ex, line)
		}
	}
	if len(ex) > 0 {
		b["example"] = map[string]any{"body_text": [][]string{ex}}
	}
	comps = append(comps, b)
	if f := strings.TrimSpace(footer); f != "" {
		comps = append(comps, map[string]any{"type": "FOOTER", "text": f})
	}
	out, _ := json.Marshal(comps)
	return out
}

// createTemplate submits a template for Meta's review.
func (d *Dashboard) createTemplate(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	f := r.PostFormValue
	in := whatsapp.TemplateInput{SenderID: f("sender_id"), Name: strings.TrimSpace(f("name")),
		Language: strings.TrimSpace(f("language")), Category: f("category"),
		Components: templateComponents(f("header"), f("body"), f("footer"), f("examples"))}
	_, err := d.WhatsApp.CreateTemplate(r.Context(), workspace(r), in)
	if fe := fieldErrors(err); fe != nil {
		d.renderWhatsApp(w, r, http.StatusUnprocessableEntity, map[string]any{"TemplateErrors": fe,
			"TemplateForm": formOf(r, "sender_id", "name", "language", "category", "header", "body", "footer", "examples")})
		return
	}
	if err != nil {
		d.renderError(w, r, err)
		return
	}
	http.Redirect(w, r, "/whatsapp#templates", http.StatusSeeOther)
}

// syncTemplates reads the sender's account's templates from Meta.
func (d *Dashboard) syncTemplates(w http.ResponseWriter, r *http.Request) {
	list, err := d.WhatsApp.SyncTemplates(r.Context(), workspace(r), r.PostFormValue("sender_id"))
	if fe := fieldErrors(err); fe != nil {
		d.renderWhatsApp(w, r, http.StatusUnprocessableEntity, map[string]any{"SyncError": fe["sender_id"]})
		return
	}
	if err != nil {
		d.renderError(w, r, err)
		return
	}
	d.renderWhatsApp(w, r, http.StatusOK, map[string]any{"Synced": len(list)})
}

func (d *Dashboard) deleteTemplate(w http.ResponseWriter, r *http.Request) {
	if err := d.WhatsApp.DeleteTemplate(r.Context(), workspace(r), r.PathValue("id")); err != nil {
		d.renderError(w, r, err)
		return
	}
	redirect(w, r, "/whatsapp#templates")
}

// createRate adds a rate card row: USD per message as decimal text,
// parsed exactly; from a date (UTC), or always when left empty.
func (d *Dashboard) createRate(w http.ResponseWriter, r *http.Request) {
	f := r.PostFormValue
	in := whatsapp.RateInput{Category: f("category"), Market: f("market")}
	errs := map[string]string{}
	if s := strings.TrimSpace(f("price_per_message")); s != "" {
		p, err := money.Parse(s)
		if err != nil {
			errs["price_per_message"] = "must be a decimal amount of USD, like 0.0305"
		} else {
			in.Price = &p
		}
	}
	if s := strings.TrimSpace(f("effective_from")); s != "" {
		t, err := time.Parse(time.DateOnly, s)
		if err != nil {
			errs["effective_from"] = "must be a date"
		} else {
			in.EffectiveFrom = &t
		}
	}
	var err error
	if len(errs) == 0 {
		_, err = d.WhatsApp.CreateRate(r.Context(), workspace(r), in)
		if fe := fieldErrors(err); fe != nil {
			errs, err = fe, nil
		}
	}
	if err != nil {
		d.renderError(w, r, err)
		return
	}
	if len(errs) > 0 {
		d.renderWhatsApp(w, r, http.StatusUnprocessableEntity, map[string]any{"RateErrors": errs,
			"RateForm": formOf(r, "category", "market", "price_per_message", "effective_from")})
		return
	}
	http.Redirect(w, r, "/whatsapp#rates", http.StatusSeeOther)
}

func (d *Dashboard) deleteRate(w http.ResponseWriter, r *http.Request) {
	if err := d.WhatsApp.DeleteRate(r.Context(), workspace(r), r.PathValue("id")); err != nil {
		d.renderError(w, r, err)
		return
	}
	redirect(w, r, "/whatsapp#rates")
}
