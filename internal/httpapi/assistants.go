package httpapi

import (
	"net/http"
	"time"

	"github.com/parley-dev/parley/internal/assistant"
	"github.com/parley-dev/parley/internal/fault"
	"github.com/parley-dev/parley/internal/money"
)

func (a *API) createAssistant(w http.ResponseWriter, r *http.Request) {
	set := assistant.Defaults()
	if err := decode(w, r, assistantBodyLimit, &set); err != nil {
		writeProblem(w, r, err)
		return
	}
	as, err := a.Assistants.Create(r.Context(), workspaceID(r.Context()), set)
	if err != nil {
		writeProblem(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, assistantView(as))
}

func (a *API) listAssistants(w http.ResponseWriter, r *http.Request) {
	var v fault.Validation
	req, err := a.listParams(r, &v)
	if err == nil {
		err = v.Err()
	}
	if err != nil {
		writeProblem(w, r, err)
		return
	}
	res, err := a.Assistants.List(r.Context(), workspaceID(r.Context()), req)
	if err != nil {
		writeProblem(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, newList(res, assistantView, a.cursorWriter(r)))
}

func (a *API) getAssistant(w http.ResponseWriter, r *http.Request) {
	as, err := a.Assistants.Get(r.Context(), workspaceID(r.Context()), r.PathValue("id"))
	if err != nil {
		writeProblem(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, assistantView(as))
}

func (a *API) updateAssistant(w http.ResponseWriter, r *http.Request) {
	// The body is decoded onto the stored settings, so fields it leaves
	// out keep their values; nothing is stored unless all of it is valid.
	as, err := a.Assistants.Update(r.Context(), workspaceID(r.Context()), r.PathValue("id"),
		func(s *assistant.Settings) error { return decode(w, r, assistantBodyLimit, s) })
	if err != nil {
		writeProblem(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, assistantView(as))
}

func (a *API) deleteAssistant(w http.ResponseWriter, r *http.Request) {
	if err := a.Assistants.Delete(r.Context(), workspaceID(r.Context()), r.PathValue("id")); err != nil {
		writeProblem(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// priceInput is the writable part of a model price. Amounts arrive as
// decimal strings and are parsed exactly.
type priceInput struct {
	ModelPattern  *string `json:"model_pattern"`
	Input         *string `json:"input_per_mtok"`
	Output        *string `json:"output_per_mtok"`
	CachedInput   *string `json:"cached_input_per_mtok"`
	EffectiveFrom *string `json:"effective_from"`
}

// apply validates the input and applies it to p. With create set, input
// and output prices are required and a missing cached price defaults to
// the input price.
func (in *priceInput) apply(p *assistant.Price, create bool) error {
	var v fault.Validation
	if in.ModelPattern != nil {
		p.ModelPattern = *in.ModelPattern
	} else if create {
		v.Add("model_pattern", "is required")
	}
	for _, f := range []struct {
		field string
		src   *string
		dst   *money.Money
	}{{"input_per_mtok", in.Input, &p.Input}, {"output_per_mtok", in.Output, &p.Output}, {"cached_input_per_mtok", in.CachedInput, &p.CachedInput}} {
		if f.src == nil {
			if create && f.field != "cached_input_per_mtok" {
				v.Add(f.field, "is required")
			}
			continue
		}
		m, err := money.Parse(*f.src)
		if err != nil {
			v.Add(f.field, "must be a decimal string of USD per million tokens, e.g. \"2.50\" (%v)", err)
			continue
		}
		*f.dst = m
	}
	if create && in.CachedInput == nil {
		p.CachedInput = p.Input
	}
	if in.EffectiveFrom != nil {
		t, err := time.Parse(time.RFC3339Nano, *in.EffectiveFrom)
		if err != nil {
			v.Add("effective_from", "must be an RFC 3339 time, e.g. 2026-01-01T00:00:00Z")
		}
		p.EffectiveFrom = t
	}
	return v.Err()
}

func (a *API) createPrice(w http.ResponseWriter, r *http.Request) {
	var in priceInput
	if err := decode(w, r, defaultBodyLimit, &in); err != nil {
		writeProblem(w, r, err)
		return
	}
	var p assistant.Price
	if err := in.apply(&p, true); err != nil {
		writeProblem(w, r, err)
		return
	}
	created, err := a.Assistants.CreatePrice(r.Context(), workspaceID(r.Context()), p)
	if err != nil {
		writeProblem(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, priceView(created))
}

func (a *API) listPrices(w http.ResponseWriter, r *http.Request) {
	var v fault.Validation
	req, err := a.listParams(r, &v)
	if err == nil {
		err = v.Err()
	}
	if err != nil {
		writeProblem(w, r, err)
		return
	}
	rows, err := a.Assistants.ListPrices(r.Context(), workspaceID(r.Context()))
	if err != nil {
		writeProblem(w, r, err)
		return
	}
	res := pageInMemory(rows, req, func(p *assistant.Price) string { return p.ID })
	writeJSON(w, http.StatusOK, newList(res, priceView, a.cursorWriter(r)))
}

// listDefaultPrices shows the built-in price table that applies when a
// workspace has no row of its own for a model.
func (a *API) listDefaultPrices(w http.ResponseWriter, r *http.Request) {
	var v fault.Validation
	req, err := a.listParams(r, &v)
	if err == nil {
		err = v.Err()
	}
	if err != nil {
		writeProblem(w, r, err)
		return
	}
	res := pageInMemory(assistant.BuiltinPrices(), req, func(p *assistant.Price) string {
		return p.ModelPattern + " " + p.EffectiveFrom.UTC().Format(time.RFC3339)
	})
	writeJSON(w, http.StatusOK, newList(res, func(p *assistant.Price) priceJSON {
		v := priceView(p)
		v.Builtin, v.CreatedAt = true, nil
		return v
	}, a.cursorWriter(r)))
}

func (a *API) getPrice(w http.ResponseWriter, r *http.Request) {
	p, err := a.Assistants.GetPrice(r.Context(), workspaceID(r.Context()), r.PathValue("id"))
	if err != nil {
		writeProblem(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, priceView(p))
}

func (a *API) updatePrice(w http.ResponseWriter, r *http.Request) {
	p, err := a.Assistants.UpdatePrice(r.Context(), workspaceID(r.Context()), r.PathValue("id"),
		func(p *assistant.Price) error {
			var in priceInput
			if err := decode(w, r, defaultBodyLimit, &in); err != nil {
				return err
			}
			return in.apply(p, false)
		})
	if err != nil {
		writeProblem(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, priceView(p))
}

func (a *API) deletePrice(w http.ResponseWriter, r *http.Request) {
	if err := a.Assistants.DeletePrice(r.Context(), workspaceID(r.Context()), r.PathValue("id")); err != nil {
		writeProblem(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
