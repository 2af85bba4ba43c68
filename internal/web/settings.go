package web

import (
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/parley-dev/parley/internal/account"
	"github.com/parley-dev/parley/internal/assistant"
	"github.com/parley-dev/parley/internal/fault"
	"github.com/parley-dev/parley/internal/money"
	"github.com/parley-dev/parley/internal/page"
)

// settings shows the workspace, its API keys and model prices. Agents
// see it read-only; the handlers that change anything require admin.
func (d *Dashboard) settings(w http.ResponseWriter, r *http.Request) {
	d.renderSettings(w, r, http.StatusOK, map[string]any{})
}

func (d *Dashboard) renderSettings(w http.ResponseWriter, r *http.Request, status int, data map[string]any) {
	ws := workspace(r)
	wsp, err := d.Accounts.GetWorkspace(r.Context(), ws)
	if err != nil {
		d.renderError(w, r, err)
		return
	}
	data["Workspace"] = wsp
	if account.Can(viewerOf(r.Context()).User.Role, account.RoleAdmin) {
		keys, err := d.Accounts.ListAPIKeys(r.Context(), ws, page.Request{Limit: page.MaxLimit})
		if err != nil {
			d.renderError(w, r, err)
			return
		}
		data["Keys"] = keys.Items
	}
	users, err := d.Accounts.ListUsers(r.Context(), viewerOf(r.Context()).User)
	if err != nil {
		d.renderError(w, r, err)
		return
	}
	data["Users"], data["Roles"] = users, []string{account.RoleOwner, account.RoleAdmin, account.RoleAgent}
	prices, err := d.Assistants.ListPrices(r.Context(), ws)
	if err != nil {
		d.renderError(w, r, err)
		return
	}
	data["Prices"], data["Builtin"] = prices, assistant.BuiltinPrices()
	d.render(w, r, status, "settings", data)
}

func (d *Dashboard) renameWorkspace(w http.ResponseWriter, r *http.Request) {
	_, err := d.Accounts.RenameWorkspace(r.Context(), viewerOf(r.Context()).User, r.PostFormValue("name"))
	if fe := fieldErrors(err); fe != nil {
		d.renderSettings(w, r, http.StatusUnprocessableEntity, map[string]any{"WorkspaceError": fe["name"]})
		return
	}
	if err != nil {
		d.renderError(w, r, err)
		return
	}
	http.Redirect(w, r, "/settings", http.StatusSeeOther)
}

// createKey makes an API key and shows its secret once, on this response
// only (it is not stored).
func (d *Dashboard) createKey(w http.ResponseWriter, r *http.Request) {
	secret, k, err := d.Accounts.CreateAPIKey(r.Context(), workspace(r), r.PostFormValue("name"))
	if fe := fieldErrors(err); fe != nil {
		d.renderSettings(w, r, http.StatusUnprocessableEntity, map[string]any{"KeyError": fe["name"]})
		return
	}
	if err != nil {
		d.renderError(w, r, err)
		return
	}
	d.renderSettings(w, r, http.StatusOK, map[string]any{"NewKey": secret, "NewKeyName": k.Name})
}

func (d *Dashboard) revokeKey(w http.ResponseWriter, r *http.Request) {
	if err := d.Accounts.RevokeAPIKey(r.Context(), workspace(r), r.PathValue("id")); err != nil {
		d.renderError(w, r, err)
		return
	}
	redirect(w, r, "/settings#keys")
}

// createPrice adds a workspace price row; amounts are USD per million
// tokens as decimal text, parsed exactly.
func (d *Dashboard) createPrice(w http.ResponseWriter, r *http.Request) {
	f := r.PostFormValue
	var v fault.Validation
	p := assistant.Price{ModelPattern: strings.TrimSpace(f("model_pattern"))}
	for _, c := range []struct {
		field string
		dst   *money.PerMillion
	}{{"input_per_mtok", &p.Input}, {"output_per_mtok", &p.Output}, {"cached_input_per_mtok", &p.CachedInput}} {
		s := strings.TrimSpace(f(c.field))
		if s == "" && c.field == "cached_input_per_mtok" {
			s = strings.TrimSpace(f("input_per_mtok"))
		}
		m, err := money.Parse(s)
		if err != nil {
			v.Add(c.field, "must be a decimal amount of USD, like 0.15")
			continue
		}
		*c.dst = m
	}
	p.EffectiveFrom = d.Now()
	if s := strings.TrimSpace(f("effective_from")); s != "" {
		t, err := time.Parse(time.DateOnly, s)
		if err != nil {
			v.Add("effective_from", "must be a date")
		}
		p.EffectiveFrom = t
	}
	err := v.Err()
	if err == nil {
		_, err = d.Assistants.CreatePrice(r.Context(), workspace(r), p)
	}
	if fe := fieldErrors(err); fe != nil {
		d.renderSettings(w, r, http.StatusUnprocessableEntity, map[string]any{"PriceErrors": fe, "PriceForm": map[string]string{
			"model_pattern": f("model_pattern"), "input_per_mtok": f("input_per_mtok"), "output_per_mtok": f("output_per_mtok"),
			"cached_input_per_mtok": f("cached_input_per_mtok"), "effective_from": f("effective_from")}})
		return
	}
	if err != nil {
		d.renderError(w, r, err)
		return
	}
	http.Redirect(w, r, "/settings#prices", http.StatusSeeOther)
}

func (d *Dashboard) deletePrice(w http.ResponseWriter, r *http.Request) {
	if err := d.Assistants.DeletePrice(r.Context(), workspace(r), r.PathValue("id")); err != nil {
		d.renderError(w, r, err)
		return
	}
	redirect(w, r, "/settings#prices")
}

// addUser adds a user to the workspace; a generated password is shown on
// this response only.
func (d *Dashboard) addUser(w http.ResponseWriter, r *http.Request) {
	f := r.PostFormValue
	u, generated, err := d.Accounts.AddUser(r.Context(), viewerOf(r.Context()).User, f("email"), f("password"), f("role"))
	if fe := fieldErrors(err); fe != nil {
		d.renderSettings(w, r, http.StatusUnprocessableEntity, map[string]any{"UserErrors": fe,
			"UserForm": map[string]string{"email": f("email"), "role": f("role")}})
		return
	}
	if fe := (*fault.Error)(nil); errors.As(err, &fe) && fe.Code == fault.CodeConflict {
		d.renderSettings(w, r, http.StatusConflict, map[string]any{"UserErrors": map[string]string{"email": fe.Message},
			"UserForm": map[string]string{"email": f("email"), "role": f("role")}})
		return
	}
	if err != nil {
		d.renderError(w, r, err)
		return
	}
	d.renderSettings(w, r, http.StatusOK, map[string]any{"NewUser": u, "NewPassword": generated})
}

func (d *Dashboard) changeUserRole(w http.ResponseWriter, r *http.Request) {
	if _, err := d.Accounts.ChangeRole(r.Context(), viewerOf(r.Context()).User, r.PathValue("id"), r.PostFormValue("role")); err != nil {
		d.renderError(w, r, err)
		return
	}
	redirect(w, r, "/settings#users")
}

// removeUser deletes a user of the workspace; their sessions end with
// them, so they are signed out at once.
func (d *Dashboard) removeUser(w http.ResponseWriter, r *http.Request) {
	if err := d.Accounts.RemoveUser(r.Context(), viewerOf(r.Context()).User, r.PathValue("id")); err != nil {
		d.renderError(w, r, err)
		return
	}
	redirect(w, r, "/settings#users")
}
