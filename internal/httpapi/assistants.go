package httpapi

import (
	"net/http"
	"time"

	"github.com/parley-dev/parley/internal/assistant"
	"github.com/parley-dev/parley/internal/fault"
	"github.com/parley-dev/parley/internal/httpx"
	"github.com/parley-dev/parley/internal/money"
)

// assistantInput is the writable part of an assistant as the API takes
// it, for create and patch alike: every field says whether it was left
// out, null or given, so null means the same everywhere (see optional).
// Its fields mirror assistant.Settings one for one (a test keeps them in
// step).
type assistantInput struct {
	Name                 httpx.Optional[string]                   `json:"name"`
	Model                httpx.Optional[string]                   `json:"model"`
	SystemPrompt         httpx.Optional[string]                   `json:"system_prompt"`
	Greeting             httpx.Optional[string]                   `json:"greeting"`
	Temperature          httpx.Optional[float64]                  `json:"temperature"`
	MaxOutputTokens      httpx.Optional[int]                      `json:"max_output_tokens"`
	Knowledge            httpx.Optional[string]                   `json:"knowledge"`
	Variables            httpx.Optional[[]assistant.VariableDef]  `json:"variables"`
	SkipDefaultVariables httpx.Optional[bool]                     `json:"skip_default_variables"`
	PrechatForm          httpx.Optional[[]assistant.PrechatField] `json:"prechat_form"`
	Widget               httpx.Optional[widgetInput]              `json:"widget"`
	AllowedOrigins       httpx.Optional[[]string]                 `json:"allowed_origins"`
	AIEnabled            httpx.Optional[bool]                     `json:"ai_enabled"`
}

// widgetInput is the writable part of assistant.Widget; a patch changes
// the fields it names and keeps the others.
type widgetInput struct {
	Mode         httpx.Optional[string] `json:"mode"`
	Title        httpx.Optional[string] `json:"title"`
	Color        httpx.Optional[string] `json:"color"`
	Position     httpx.Optional[string] `json:"position"`
	AvatarURL    httpx.Optional[string] `json:"avatar_url"`
	Placeholder  httpx.Optional[string] `json:"placeholder"`
	LauncherText httpx.Optional[string] `json:"launcher_text"`
	// IdleTimeoutMinutes: after this long without a message, a returning
	// visitor starts a new conversation.
	IdleTimeoutMinutes httpx.Optional[int] `json:"idle_timeout_minutes"`
	// IdentitySecret is write-only: "" or null removes it.
	IdentitySecret httpx.Optional[string] `json:"identity_secret"`
}

// apply writes the input onto s. name and model are required: null on
// them is refused. Every other field goes back to its default
// (assistant.Defaults) on null, a whole widget included.
func (in *assistantInput) apply(s *assistant.Settings) error {
	var v fault.Validation
	d := assistant.Defaults()
	in.Name.Require("name", &s.Name, &v)
	in.Model.Require("model", &s.Model, &v)
	in.SystemPrompt.Put(&s.SystemPrompt, d.SystemPrompt)
	in.Greeting.Put(&s.Greeting, d.Greeting)
	in.Temperature.Put(&s.Temperature, d.Temperature)
	in.MaxOutputTokens.Put(&s.MaxOutputTokens, d.MaxOutputTokens)
	in.Knowledge.Put(&s.Knowledge, d.Knowledge)
	in.Variables.Put(&s.Variables, d.Variables)
	in.SkipDefaultVariables.Put(&s.SkipDefaultVariables, d.SkipDefaultVariables)
	in.PrechatForm.Put(&s.PrechatForm, d.PrechatForm)
	in.AllowedOrigins.Put(&s.AllowedOrigins, d.AllowedOrigins)
	in.AIEnabled.Put(&s.AIEnabled, d.AIEnabled)
	switch w, dw := &in.Widget.Value, d.Widget; {
	case !in.Widget.Set:
	case in.Widget.Null:
		s.Widget = dw
	default:
		w.Mode.Put(&s.Widget.Mode, dw.Mode)
		w.Title.Put(&s.Widget.Title, dw.Title)
		w.Color.Put(&s.Widget.Color, dw.Color)
		w.Position.Put(&s.Widget.Position, dw.Position)
		w.AvatarURL.Put(&s.Widget.AvatarURL, dw.AvatarURL)
		w.Placeholder.Put(&s.Widget.Placeholder, dw.Placeholder)
		w.LauncherText.Put(&s.Widget.LauncherText, dw.LauncherText)
		w.IdleTimeoutMinutes.Put(&s.Widget.IdleTimeoutMinutes, dw.IdleTimeoutMinutes)
		if w.IdentitySecret.Set {
			secret := w.IdentitySecret.Value // null: "", removed
			s.Widget.IdentitySecret = &secret
		}
	}
	return v.Err()
}

func (a *API) createAssistant(w http.ResponseWriter, r *http.Request) {
	var in assistantInput
	if err := httpx.Decode(w, r, assistantBodyLimit, &in); err != nil {
		httpx.WriteProblem(w, r, err)
		return
	}
	set := assistant.Defaults()
	if err := in.apply(&set); err != nil {
		httpx.WriteProblem(w, r, err)
		return
	}
	as, err := a.Assistants.Create(r.Context(), workspaceID(r.Context()), set)
	if err != nil {
		httpx.WriteProblem(w, r, err)
		return
	}
	httpx.WriteJSON(w, http.StatusCreated, assistantView(as))
}

func (a *API) listAssistants(w http.ResponseWriter, r *http.Request) {
	req, ok := a.listRequest(w, r, nil)
	if !ok {
		return
	}
	res, err := a.Assistants.List(r.Context(), workspaceID(r.Context()), req)
	if err != nil {
		httpx.WriteProblem(w, r, err)
		return
	}
	httpx.WriteJSON(w, http.StatusOK, newList(res, assistantView, a.cursorWriter(r)))
}

func (a *API) getAssistant(w http.ResponseWriter, r *http.Request) {
	as, err := a.Assistants.Get(r.Context(), workspaceID(r.Context()), r.PathValue("id"))
	if err != nil {
		httpx.WriteProblem(w, r, err)
		return
	}
	httpx.WriteJSON(w, http.StatusOK, assistantView(as))
}

func (a *API) updateAssistant(w http.ResponseWriter, r *http.Request) {
	// The body is applied onto the stored settings, so fields it leaves
	// out keep their values; nothing is stored unless all of it is valid.
	var in assistantInput
	if err := httpx.Decode(w, r, assistantBodyLimit, &in); err != nil {
		httpx.WriteProblem(w, r, err)
		return
	}
	as, err := a.Assistants.Update(r.Context(), workspaceID(r.Context()), r.PathValue("id"), in.apply)
	if err != nil {
		httpx.WriteProblem(w, r, err)
		return
	}
	httpx.WriteJSON(w, http.StatusOK, assistantView(as))
}

func (a *API) deleteAssistant(w http.ResponseWriter, r *http.Request) {
	if err := a.Assistants.Delete(r.Context(), workspaceID(r.Context()), r.PathValue("id")); err != nil {
		httpx.WriteProblem(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// priceInput is the writable part of a model price. Amounts arrive as
// decimal strings and are parsed exactly.
type priceInput struct {
	ModelPattern  httpx.Optional[string] `json:"model_pattern"`
	Input         httpx.Optional[string] `json:"input_per_mtok"`
	Output        httpx.Optional[string] `json:"output_per_mtok"`
	CachedInput   httpx.Optional[string] `json:"cached_input_per_mtok"`
	EffectiveFrom httpx.Optional[string] `json:"effective_from"`
}

// apply validates the input and applies it to p. With create set, the
// pattern and the input and output prices are required. The pattern and
// those prices cannot be null; a null (or, on create, missing) cached
// price is the input price, and a null effective_from its default.
func (in *priceInput) apply(p *assistant.Price, create bool) error {
	var v fault.Validation
	if create && !in.ModelPattern.Set {
		v.Add("model_pattern", "is required")
	}
	in.ModelPattern.Require("model_pattern", &p.ModelPattern, &v)
	for _, f := range []struct {
		field string
		src   httpx.Optional[string]
		dst   *money.Money
	}{{"input_per_mtok", in.Input, &p.Input}, {"output_per_mtok", in.Output, &p.Output}, {"cached_input_per_mtok", in.CachedInput, &p.CachedInput}} {
		cached := f.field == "cached_input_per_mtok"
		switch {
		case !f.src.Set:
			if create && !cached {
				v.Add(f.field, "is required")
			}
			continue
		case f.src.Null:
			if !cached {
				v.Add(f.field, "%s", httpx.NullRefused)
			}
			continue
		}
		m, err := money.Parse(f.src.Value)
		if err != nil {
			v.Add(f.field, "must be a decimal string of USD per million tokens, e.g. \"2.50\" (%v)", err)
			continue
		}
		*f.dst = m
	}
	if (create && !in.CachedInput.Set) || in.CachedInput.Null {
		p.CachedInput = p.Input
	}
	switch {
	case in.EffectiveFrom.Null || (create && !in.EffectiveFrom.Set):
		p.EffectiveFrom = time.Time{}
	case in.EffectiveFrom.Set:
		t, err := time.Parse(time.RFC3339Nano, in.EffectiveFrom.Value)
		if err != nil {
			v.Add("effective_from", "must be an RFC 3339 time, e.g. 2026-01-01T00:00:00Z")
		}
		p.EffectiveFrom = t
	}
	return v.Err()
}

func (a *API) createPrice(w http.ResponseWriter, r *http.Request) {
	var in priceInput
	if err := httpx.Decode(w, r, defaultBodyLimit, &in); err != nil {
		httpx.WriteProblem(w, r, err)
		return
	}
	var p assistant.Price
	if err := in.apply(&p, true); err != nil {
		httpx.WriteProblem(w, r, err)
		return
	}
	created, err := a.Assistants.CreatePrice(r.Context(), workspaceID(r.Context()), p)
	if err != nil {
		httpx.WriteProblem(w, r, err)
		return
	}
	httpx.WriteJSON(w, http.StatusCreated, priceView(created))
}

func (a *API) listPrices(w http.ResponseWriter, r *http.Request) {
	req, ok := a.listRequest(w, r, nil)
	if !ok {
		return
	}
	rows, err := a.Assistants.ListPrices(r.Context(), workspaceID(r.Context()))
	if err != nil {
		httpx.WriteProblem(w, r, err)
		return
	}
	res := pageInMemory(rows, req, func(p *assistant.Price) string { return p.ID })
	httpx.WriteJSON(w, http.StatusOK, newList(res, priceView, a.cursorWriter(r)))
}

// listDefaultPrices shows the built-in price table that applies when a
// workspace has no row of its own for a model.
func (a *API) listDefaultPrices(w http.ResponseWriter, r *http.Request) {
	req, ok := a.listRequest(w, r, nil)
	if !ok {
		return
	}
	res := pageInMemory(assistant.BuiltinPrices(), req, func(p *assistant.Price) string {
		return p.ModelPattern + " " + p.EffectiveFrom.UTC().Format(time.RFC3339)
	})
	httpx.WriteJSON(w, http.StatusOK, newList(res, func(p *assistant.Price) priceJSON {
		v := priceView(p)
		v.Builtin, v.CreatedAt = true, nil
		return v
	}, a.cursorWriter(r)))
}

func (a *API) getPrice(w http.ResponseWriter, r *http.Request) {
	p, err := a.Assistants.GetPrice(r.Context(), workspaceID(r.Context()), r.PathValue("id"))
	if err != nil {
		httpx.WriteProblem(w, r, err)
		return
	}
	httpx.WriteJSON(w, http.StatusOK, priceView(p))
}

func (a *API) updatePrice(w http.ResponseWriter, r *http.Request) {
	p, err := a.Assistants.UpdatePrice(r.Context(), workspaceID(r.Context()), r.PathValue("id"),
		func(p *assistant.Price) error {
			var in priceInput
			if err := httpx.Decode(w, r, defaultBodyLimit, &in); err != nil {
				return err
			}
			return in.apply(p, false)
		})
	if err != nil {
		httpx.WriteProblem(w, r, err)
		return
	}
	httpx.WriteJSON(w, http.StatusOK, priceView(p))
}

func (a *API) deletePrice(w http.ResponseWriter, r *http.Request) {
	if err := a.Assistants.DeletePrice(r.Context(), workspaceID(r.Context()), r.PathValue("id")); err != nil {
		httpx.WriteProblem(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
