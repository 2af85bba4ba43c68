package conversation

import (
	"fmt"
	"net/mail"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/parley-dev/parley/internal/assistant"
	"github.com/parley-dev/parley/internal/fault"
)

// MaxVariables is the most variables one conversation can hold.
const MaxVariables = 100

// NormalizePhone returns a phone number in E.164 form ("+15551234567"),
// accepting the spaces, dots, dashes and brackets people type. A number
// without a leading + is taken to already include its country code.
func NormalizePhone(s string) (string, bool) {
	var b strings.Builder
	b.WriteByte('+')
	for i, r := range strings.TrimSpace(s) {
		switch {
		case r >= '0' && r <= '9':
			b.WriteRune(r)
		case r == '+' && i == 0:
		case r == ' ' || r == '-' || r == '.' || r == '(' || r == ')':
		default:
			return "", false
		}
	}
	out := b.String()
	if n := len(out) - 1; n < 7 || n > 15 || out[1] == '0' {
		return "", false
	}
	return out, true
}

// visibleText reports whether s has a character a reader would see: not
// only whitespace (Unicode's, not just ASCII's), control characters and
// format characters, which include the zero-width space, non-joiner and
// joiner (U+200B..U+200D), the word joiner (U+2060) and the byte-order
// mark (U+FEFF). A message of those alone looks empty in every transcript
// and gives a model nothing to answer.
func visibleText(s string) bool {
	for _, r := range s {
		if !unicode.IsSpace(r) && !unicode.In(r, unicode.Cc, unicode.Cf) {
			return true
		}
	}
	return false
}

// CustomerPatch changes some customer fields; nil fields stay.
type CustomerPatch struct {
	Name  *string
	Phone *string
	Email *string
	// Set by the WhatsApp channel from Meta's webhooks.
	WhatsAppUserID   *string
	WhatsAppUsername *string
}

// apply validates p and applies it to c.
func (p *CustomerPatch) apply(c *Customer, v *fault.Validation) {
	if p == nil {
		return
	}
	if p.Name != nil {
		name := strings.TrimSpace(*p.Name)
		if utf8.RuneCountInString(name) > 200 {
			v.Add("customer.name", "must be at most 200 characters")
		}
		c.Name = name
	}
	if p.Phone != nil {
		c.Phone = ""
		if strings.TrimSpace(*p.Phone) != "" {
			phone, ok := NormalizePhone(*p.Phone)
			if !ok {
				v.Add("customer.phone", "must be a phone number with country code, e.g. +15551234567")
			}
			c.Phone = phone
		}
	}
	if p.WhatsAppUserID != nil {
		c.WhatsAppUserID = strings.TrimSpace(*p.WhatsAppUserID)
	}
	if p.WhatsAppUsername != nil {
		c.WhatsAppUsername = strings.TrimSpace(*p.WhatsAppUsername)
	}
	if p.Email != nil {
		c.Email = ""
		if e := strings.TrimSpace(*p.Email); e != "" {
			addr, err := mail.ParseAddress(e)
			if err != nil || addr.Name != "" || len(e) > 254 {
				v.Add("customer.email", "must be an email address")
			} else {
				c.Email = addr.Address
			}
		}
	}
}

func validExternalID(s string, v *fault.Validation) string {
	s = strings.TrimSpace(s)
	if utf8.RuneCountInString(s) > 256 {
		v.Add("external_identifier", "must be at most 256 characters")
	}
	return s
}

// typedVariables checks raw variable values against the assistant's
// schema and turns them into typed Variables from the given source: a
// number must be a JSON number, a boolean true or false, a date a real
// calendar day as YYYY-MM-DD, an enum one of its values. Variables the
// schema does not name are free, their type inferred from the value
// (string, number or boolean). A nil value is kept as nil: it means
// "remove" to an update.
func typedVariables(raw map[string]any, schema []assistant.VariableDef, source string, v *fault.Validation) map[string]Variable {
	if len(raw) > MaxVariables {
		v.Add("variables", "must have at most %d entries", MaxVariables)
		return nil
	}
	defs := make(map[string]assistant.VariableDef, len(schema))
	for _, d := range schema {
		defs[d.Name] = d
	}
	out := make(map[string]Variable, len(raw))
	for name, val := range raw {
		field := "variables." + name
		if !assistant.ValidName(name) {
			v.Add(field, "name must be lower-case letters, digits and _ (at most 64), not starting with a digit")
			continue
		}
		if val == nil {
			out[name] = Variable{Source: source}
			continue
		}
		typed, typ, err := typeValue(val, defs[name])
		if err != nil {
			v.Add(field, "%s", err.Error())
			continue
		}
		out[name] = Variable{Value: typed, Type: typ, Source: source}
	}
	return out
}

// typeValue converts a JSON value to the variable type the schema gives,
// or infers the type when the schema does not name the variable.
func typeValue(val any, def assistant.VariableDef) (any, string, error) {
	switch def.Type {
	case "":
		switch x := val.(type) {
		case string:
			if utf8.RuneCountInString(x) > 4096 {
				return nil, "", fmt.Errorf("must be at most 4096 characters")
			}
			return x, assistant.TypeString, nil
		case float64:
			return x, assistant.TypeNumber, nil
		case bool:
			return x, assistant.TypeBoolean, nil
		}
		return nil, "", fmt.Errorf("must be a string, number or boolean")
	case assistant.TypeString:
		if x, ok := val.(string); ok && utf8.RuneCountInString(x) <= 4096 {
			return x, def.Type, nil
		}
		return nil, "", fmt.Errorf("must be a string of at most 4096 characters")
	case assistant.TypeNumber:
		if x, ok := val.(float64); ok {
			return x, def.Type, nil
		}
		return nil, "", fmt.Errorf("must be a number")
	case assistant.TypeBoolean:
		if x, ok := val.(bool); ok {
			return x, def.Type, nil
		}
		return nil, "", fmt.Errorf("must be true or false")
	case assistant.TypeDate:
		if x, ok := val.(string); ok {
			if _, err := time.Parse(time.DateOnly, x); err == nil {
				return x, def.Type, nil
			}
		}
		return nil, "", fmt.Errorf("must be a date like 2026-01-31")
	case assistant.TypeEnum:
		if x, ok := val.(string); ok {
			for _, allowed := range def.Values {
				if x == allowed {
					return x, def.Type, nil
				}
			}
		}
		return nil, "", fmt.Errorf("must be one of %s", strings.Join(def.Values, ", "))
	}
	return nil, "", fmt.Errorf("has an unknown type %q", def.Type)
}

// Strings returns the variables as text, for filling {{name}} templates.
func Strings(vars map[string]Variable) map[string]string {
	out := make(map[string]string, len(vars))
	for name, v := range vars {
		switch x := v.Value.(type) {
		case nil:
		case string:
			out[name] = x
		case float64:
			out[name] = strconv.FormatFloat(x, 'f', -1, 64)
		default:
			out[name] = fmt.Sprint(x)
		}
	}
	return out
}
