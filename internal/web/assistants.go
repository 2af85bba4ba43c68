package web

import (
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"

	"github.com/parley-dev/parley/internal/assistant"
	"github.com/parley-dev/parley/internal/fault"
	"github.com/parley-dev/parley/internal/page"
)

func (d *Dashboard) assistants(w http.ResponseWriter, r *http.Request) {
	list, err := d.Assistants.List(r.Context(), workspace(r), page.Request{Limit: page.MaxLimit})
	if err != nil {
		d.renderError(w, r, err)
		return
	}
	d.render(w, r, http.StatusOK, "assistants", map[string]any{"List": list.Items})
}

// assistantForm shows a new assistant's form, or an existing one's
// (read-only for agents).
func (d *Dashboard) assistantForm(w http.ResponseWriter, r *http.Request) {
	data := map[string]any{"Set": assistant.Defaults()}
	if id := r.PathValue("id"); id != "" {
		a, err := d.Assistants.Get(r.Context(), workspace(r), id)
		if err != nil {
			d.renderError(w, r, err)
			return
		}
		data["A"], data["Set"] = a, a.Settings
	}
	d.render(w, r, http.StatusOK, "assistant", withJSONFields(data))
}

func withJSONFields(data map[string]any) map[string]any {
	set := data["Set"].(assistant.Settings)
	if _, ok := data["VariablesJSON"]; !ok {
		b, _ := json.MarshalIndent(set.Variables, "", "  ")
		data["VariablesJSON"] = string(b)
	}
	if _, ok := data["PrechatJSON"]; !ok {
		b, _ := json.MarshalIndent(set.PrechatForm, "", "  ")
		data["PrechatJSON"] = string(b)
	}
	return data
}

// saveAssistant creates or updates an assistant from the form. The
// service's validation messages are shown beside their fields and
// nothing is stored.
func (d *Dashboard) saveAssistant(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 1<<20)
	ws, id := workspace(r), r.PathValue("id")
	set := assistant.Defaults()
	var existing *assistant.Assistant
	if id != "" {
		a, err := d.Assistants.Get(r.Context(), ws, id)
		if err != nil {
			d.renderError(w, r, err)
			return
		}
		existing, set = a, a.Settings
	}
	errs := map[string]string{}
	readSettings(r, &set, errs)
	var a *assistant.Assistant
	var err error
	if len(errs) == 0 {
		if existing == nil {
			a, err = d.Assistants.Create(r.Context(), ws, set)
		} else {
			a, err = d.Assistants.Update(r.Context(), ws, id, func(s *assistant.Settings) error { *s = set; return nil })
		}
	}
	var fe *fault.Error
	if errors.As(err, &fe) && fe.Code == fault.CodeValidation {
		for _, f := range fe.Fields {
			k := fieldGroup(f.Field)
			if errs[k] == "" {
				errs[k] = f.Field + ": " + f.Message
			} else {
				errs[k] += "; " + f.Field + ": " + f.Message
			}
		}
	} else if err != nil {
		d.renderError(w, r, err)
		return
	}
	if len(errs) > 0 {
		data := map[string]any{"Set": set, "Errors": errs, "A": existing,
			"VariablesJSON": r.PostFormValue("variables"), "PrechatJSON": r.PostFormValue("prechat_form")}
		d.render(w, r, http.StatusUnprocessableEntity, "assistant", withJSONFields(data))
		return
	}
	http.Redirect(w, r, "/assistants/"+a.ID+"?saved=1", http.StatusSeeOther)
}

// fieldGroup maps a field path of the service ("variables[0].name") to
// the form field it came from ("variables").
func fieldGroup(f string) string {
	if strings.HasPrefix(f, "widget.") {
		return f
	}
	if i := strings.IndexAny(f, "[."); i > 0 {
		return f[:i]
	}
	return f
}

// readSettings copies the form into set; what cannot even be parsed goes
// to errs under its field.
func readSettings(r *http.Request, set *assistant.Settings, errs map[string]string) {
	f := r.PostFormValue
	set.Name, set.Model = strings.TrimSpace(f("name")), strings.TrimSpace(f("model"))
	set.SystemPrompt, set.Greeting, set.Knowledge = f("system_prompt"), f("greeting"), f("knowledge")
	if t, err := strconv.ParseFloat(strings.TrimSpace(f("temperature")), 64); err == nil {
		set.Temperature = t
	} else {
		errs["temperature"] = "must be a number between 0 and 2"
	}
	if n, err := strconv.Atoi(strings.TrimSpace(f("max_output_tokens"))); err == nil {
		set.MaxOutputTokens = n
	} else {
		errs["max_output_tokens"] = "must be a whole number"
	}
	if err := strictJSON(f("variables"), &set.Variables); err != nil {
		errs["variables"] = "must be a JSON list of {name, type, description, values}: " + err.Error()
	}
	if err := strictJSON(f("prechat_form"), &set.PrechatForm); err != nil {
		errs["prechat_form"] = "must be a JSON list of {name, label, type, required, placeholder, options}: " + err.Error()
	}
	set.Widget.Mode, set.Widget.Title, set.Widget.Color = f("widget.mode"), f("widget.title"), strings.TrimSpace(f("widget.color"))
	set.Widget.Position, set.Widget.AvatarURL = f("widget.position"), strings.TrimSpace(f("widget.avatar_url"))
	set.Widget.Placeholder, set.Widget.LauncherText = f("widget.placeholder"), f("widget.launcher_text")
	set.AllowedOrigins = []string{}
	for _, line := range strings.Split(f("allowed_origins"), "\n") {
		if line = strings.TrimSpace(line); line != "" {
			set.AllowedOrigins = append(set.AllowedOrigins, line)
		}
	}
	set.AIEnabled = f("ai_enabled") == "on"
}

func strictJSON[T any](s string, dst *[]T) error {
	if strings.TrimSpace(s) == "" {
		*dst = []T{}
		return nil
	}
	dec := json.NewDecoder(strings.NewReader(s))
	dec.DisallowUnknownFields()
	var out []T
	if err := dec.Decode(&out); err != nil {
		return err
	}
	if out == nil {
		out = []T{}
	}
	*dst = out
	return nil
}

func (d *Dashboard) deleteAssistant(w http.ResponseWriter, r *http.Request) {
	if err := d.Assistants.Delete(r.Context(), workspace(r), r.PathValue("id")); err != nil {
		d.renderError(w, r, err)
		return
	}
	redirect(w, r, "/assistants")
}
