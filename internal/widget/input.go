package widget

import (
	"net/mail"
	"regexp"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/parley-dev/parley/internal/assistant"
	"github.com/parley-dev/parley/internal/conversation"
	"github.com/parley-dev/parley/internal/fault"
)

// Input limits of the public API: anyone on the internet can call it.
const (
	maxFieldLen     = 200  // a pre-chat text, email, phone or select value
	maxTextareaLen  = 2000 // a pre-chat textarea
	maxVariables    = 20   // variables set with Parley.setVariables
	maxVariableText = 500
	maxUserID       = 200
)

// visitorIDRe is the form of the visitor ids the server issues; anything
// else is ignored and a new id issued.
var visitorIDRe = regexp.MustCompile(`^vis_[A-Za-z0-9_-]{32}$`)

// startInput is the body of a session start.
type startInput struct {
	VisitorID string            `json:"visitor_id"`
	Prechat   map[string]string `json:"prechat"`
	Variables map[string]any    `json:"variables"`
	Identity  *identityInput    `json:"identity"`
}

// identityInput is what window.Parley.identify gave.
type identityInput struct {
	UserID   string `json:"user_id"`
	UserHash string `json:"user_hash"`
	Name     string `json:"name"`
	Email    string `json:"email"`
	Phone    string `json:"phone"`
}

// hasControl reports whether s holds a control character other than the
// line breaks and tabs allowed where multiline is.
func hasControl(s string, multiline bool) bool {
	for _, r := range s {
		if unicode.IsControl(r) && (!multiline || (r != '\n' && r != '\r' && r != '\t')) {
			return true
		}
	}
	return false
}

// checkPrechat validates the pre-chat answers against the assistant's form
// (the browser validated them already; this is the check that counts)
// and returns them as variables, with the customer fields they fill.
func checkPrechat(form []assistant.PrechatField, in map[string]string, cust *conversation.CustomerPatch, v *fault.Validation) map[string]any {
	vars := map[string]any{}
	for name := range in {
		if !slices.ContainsFunc(form, func(f assistant.PrechatField) bool { return f.Name == name }) {
			v.Add("prechat."+name, "is not a field of this assistant's pre-chat form")
		}
	}
	for _, f := range form {
		field := "prechat." + f.Name
		val := strings.TrimSpace(in[f.Name])
		if val == "" {
			if f.Required {
				v.Add(field, "is required")
			}
			continue
		}
		limit := maxFieldLen
		if f.Type == "textarea" {
			limit = maxTextareaLen
		}
		if utf8.RuneCountInString(val) > limit {
			v.Add(field, "must be at most %d characters", limit)
			continue
		}
		if hasControl(val, f.Type == "textarea") {
			v.Add(field, "must not contain control characters")
			continue
		}
		switch f.Type {
		case "email":
			a, err := mail.ParseAddress(val)
			if err != nil || a.Address != val || !strings.Contains(val, ".") {
				v.Add(field, "must be an email address like name@example.com")
				continue
			}
			if cust.Email == nil {
				cust.Email = &val
			}
		case "phone":
			if _, ok := conversation.NormalizePhone(val); !ok {
				v.Add(field, "must be a phone number with country code, like +44 20 7946 0958")
				continue
			}
			if cust.Phone == nil {
				cust.Phone = &val
			}
		case "select":
			if !slices.Contains(f.Options, val) {
				v.Add(field, "must be one of the form's options")
				continue
			}
		}
		if f.Name == "name" && cust.Name == nil {
			cust.Name = &val
		}
		vars[f.Name] = val
	}
	return vars
}

// checkVariables validates the variables a page set with
// Parley.setVariables: a few scalar values with variable names.
func checkVariables(in map[string]any, vars map[string]any, v *fault.Validation) {
	if len(in) > maxVariables {
		v.Add("variables", "at most %d variables may be set", maxVariables)
		return
	}
	for name, val := range in {
		field := "variables." + name
		if !assistant.ValidName(name) {
			v.Add(field, "must be named with lower-case letters, digits and _ (at most 64)")
			continue
		}
		switch x := val.(type) {
		case string:
			if utf8.RuneCountInString(x) > maxVariableText || hasControl(x, true) {
				v.Add(field, "must be text of at most %d characters without control characters", maxVariableText)
				continue
			}
		case float64, bool:
		default:
			v.Add(field, "must be a string, a number or a boolean")
			continue
		}
		if _, taken := vars[name]; !taken { // the form's answer wins
			vars[name] = val
		}
	}
}

// checkIdentity validates identify()'s data and fills the customer fields
// it gives where the form did not.
func checkIdentity(id *identityInput, cust *conversation.CustomerPatch, v *fault.Validation) {
	if id == nil {
		return
	}
	if utf8.RuneCountInString(id.UserID) > maxUserID || hasControl(id.UserID, false) {
		v.Add("identity.user_id", "must be at most %d characters without control characters", maxUserID)
	}
	if id.UserHash != "" && id.UserID == "" {
		v.Add("identity.user_id", "is required with user_hash")
	}
	for _, p := range []struct {
		field string
		val   string
		dst   **string
	}{{"identity.name", id.Name, &cust.Name}, {"identity.email", id.Email, &cust.Email}, {"identity.phone", id.Phone, &cust.Phone}} {
		val := strings.TrimSpace(p.val)
		if val == "" {
			continue
		}
		if utf8.RuneCountInString(val) > maxFieldLen || hasControl(val, false) {
			v.Add(p.field, "must be at most %d characters without control characters", maxFieldLen)
			continue
		}
		if *p.dst == nil {
			*p.dst = &val
		}
	}
}
