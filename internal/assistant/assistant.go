// Package assistant holds the configuration of an AI assistant (model,
// prompts, knowledge, variable schema, pre-chat form and widget look), the
// service that validates and stores it, and the model price table.
package assistant

import (
	"context"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/parley-dev/parley/internal/fault"
	"github.com/parley-dev/parley/internal/page"
)

// Variable types an assistant can extract or collect.
const (
	TypeString  = "string"
	TypeNumber  = "number"
	TypeBoolean = "boolean"
	TypeDate    = "date"
	TypeEnum    = "enum"
)

// VariableDef describes one variable the assistant extracts when a
// conversation ends.
type VariableDef struct {
	Name        string   `json:"name"`
	Type        string   `json:"type"`
	Description string   `json:"description"`
	Values      []string `json:"values,omitempty"`
}

// PrechatField is one field of the widget's pre-chat form.
type PrechatField struct {
	Name        string   `json:"name"`
	Label       string   `json:"label"`
	Type        string   `json:"type"`
	Required    bool     `json:"required"`
	Placeholder string   `json:"placeholder"`
	Options     []string `json:"options,omitempty"`
}

// Widget is the look of the embeddable web widget.
type Widget struct {
	Mode         string `json:"mode"`
	Title        string `json:"title"`
	Color        string `json:"color"`
	Position     string `json:"position"`
	AvatarURL    string `json:"avatar_url"`
	Placeholder  string `json:"placeholder"`
	LauncherText string `json:"launcher_text"`
	// IdleTimeoutMinutes is how long a widget conversation may sit with
	// no message before a returning visitor starts a new one.
	IdleTimeoutMinutes int `json:"idle_timeout_minutes"`
	// IdentitySecretSet reports whether the assistant has an identity
	// secret (the secret itself is never shown); the service keeps it.
	IdentitySecretSet bool `json:"identity_secret_set"`
	// IdentitySecret is a change of the identity secret, write-only: nil
	// keeps it, "" removes it. The service seals it into
	// Assistant.SealedIdentitySecret and clears this field.
	IdentitySecret *string `json:"-"`
}

// DefaultIdleTimeoutMinutes is the widget's idle timeout unless the
// assistant sets one.
const DefaultIdleTimeoutMinutes = 30

// MinIdentitySecret is the shortest identity secret accepted: a short one
// could be guessed from the hashes a site publishes in its pages.
const MinIdentitySecret = 16

// Settings are the user-editable parts of an assistant.
type Settings struct {
	Name            string        `json:"name"`
	Model           string        `json:"model"`
	SystemPrompt    string        `json:"system_prompt"`
	Greeting        string        `json:"greeting"`
	Temperature     float64       `json:"temperature"`
	MaxOutputTokens int           `json:"max_output_tokens"`
	Knowledge       string        `json:"knowledge"`
	Variables       []VariableDef `json:"variables"`
	// SkipDefaultVariables turns off the "summary" and "status" variables
	// every conversation otherwise gets when it ends.
	SkipDefaultVariables bool           `json:"skip_default_variables"`
	PrechatForm          []PrechatField `json:"prechat_form"`
	Widget               Widget         `json:"widget"`
	AllowedOrigins       []string       `json:"allowed_origins"`
	AIEnabled            bool           `json:"ai_enabled"`
}

// Assistant is a configured AI assistant of one workspace.
type Assistant struct {
	ID          string
	WorkspaceID string
	PublicKey   string
	// SealedIdentitySecret is the widget identity secret encrypted with
	// the instance key (see seal), "" when there is none.
	SealedIdentitySecret string
	Settings
	CreatedAt time.Time
	UpdatedAt time.Time
}

// Defaults returns the settings of a new assistant before the caller's
// values are applied.
func Defaults() Settings {
	return Settings{
		Model:           "offline",
		Temperature:     0.7,
		MaxOutputTokens: 1024,
		Variables:       []VariableDef{},
		PrechatForm:     []PrechatField{},
		Widget: Widget{
			Mode:         "chat",
			Title:        "Chat with us",
			Color:        "#8b5cf6",
			Position:     "bottom-right",
			Placeholder:  "Type a message…",
			LauncherText: "Chat",
			// As long as a visitor plausibly stays on a page.
			IdleTimeoutMinutes: DefaultIdleTimeoutMinutes,
		},
		AllowedOrigins: []string{},
		AIEnabled:      true,
	}
}

// Store persists assistants and model prices. Every call is scoped to a
// workspace; another workspace's id behaves as if it did not exist.
type Store interface {
	CreateAssistant(ctx context.Context, a *Assistant) error
	GetAssistant(ctx context.Context, workspaceID, id string) (*Assistant, error)
	// GetAssistantByPublicKey finds an assistant by its widget key, in any
	// workspace.
	GetAssistantByPublicKey(ctx context.Context, publicKey string) (*Assistant, error)
	ListAssistants(ctx context.Context, workspaceID string, req page.Request) ([]*Assistant, error)
	UpdateAssistant(ctx context.Context, a *Assistant) error
	// DeleteAssistant hides an assistant as of at (the service's clock);
	// its conversations keep its name.
	DeleteAssistant(ctx context.Context, workspaceID, id string, at time.Time) error

	CreatePrice(ctx context.Context, p *Price) error
	GetPrice(ctx context.Context, workspaceID, id string) (*Price, error)
	ListPrices(ctx context.Context, workspaceID string) ([]*Price, error)
	UpdatePrice(ctx context.Context, p *Price) error
	DeletePrice(ctx context.Context, workspaceID, id string) error
}

// DefaultVariables are extracted from every ended conversation unless the
// assistant skips them or defines variables of the same names.
var DefaultVariables = []VariableDef{
	{Name: "summary", Type: TypeString, Description: "A one- or two-sentence summary of the conversation."},
	{Name: "status", Type: TypeEnum, Description: "Whether the customer's request was resolved.",
		Values: []string{"resolved", "unresolved", "needs_follow_up"}},
}

// ExtractionSchema returns the variables to extract for this assistant:
// its own, plus the defaults it does not skip or redefine.
func (s *Settings) ExtractionSchema() []VariableDef {
	out := append([]VariableDef(nil), s.Variables...)
	if s.SkipDefaultVariables {
		return out
	}
	for _, d := range DefaultVariables {
		defined := false
		for _, v := range s.Variables {
			defined = defined || v.Name == d.Name
		}
		if !defined {
			out = append(out, d)
		}
	}
	return out
}

// ValidName reports whether s can name a variable or form field: lower
// case letters, digits and _, at most 64, not starting with a digit.
func ValidName(s string) bool { return nameRe.MatchString(s) }

var (
	nameRe  = regexp.MustCompile(`^[a-z_][a-z0-9_]{0,63}$`)
	colorRe = regexp.MustCompile(`^#[0-9a-fA-F]{6}$`)
	placeRe = regexp.MustCompile(`\{\{\s*([a-zA-Z0-9_]+)\s*\}\}`)
)

// Validate checks every setting and reports all problems at once.
func (s *Settings) Validate() error {
	var v fault.Validation
	s.Name = strings.TrimSpace(s.Name)
	if n := utf8.RuneCountInString(s.Name); n == 0 || n > 200 {
		v.Add("name", "must be 1 to 200 characters")
	}
	if s.Model == "" || len(s.Model) > 200 {
		v.Add("model", "must be \"offline\" or a model name of at most 200 characters")
	}
	checkLen(&v, "system_prompt", s.SystemPrompt, 100_000)
	checkLen(&v, "greeting", s.Greeting, 4096)
	checkLen(&v, "knowledge", s.Knowledge, 1_000_000)
	if s.Temperature < 0 || s.Temperature > 2 {
		v.Add("temperature", "must be between 0 and 2")
	}
	if s.MaxOutputTokens < 1 || s.MaxOutputTokens > 128_000 {
		v.Add("max_output_tokens", "must be between 1 and 128000")
	}
	seen := map[string]bool{}
	for i, d := range s.Variables {
		f := "variables[" + strconv.Itoa(i) + "]"
		if !nameRe.MatchString(d.Name) {
			v.Add(f+".name", "must be lower-case letters, digits and _ (at most 64), not starting with a digit")
		} else if seen[d.Name] {
			v.Add(f+".name", "%q is defined twice", d.Name)
		}
		seen[d.Name] = true
		switch d.Type {
		case TypeString, TypeNumber, TypeBoolean, TypeDate:
			if len(d.Values) > 0 {
				v.Add(f+".values", "only an enum variable has values")
			}
		case TypeEnum:
			if len(d.Values) == 0 {
				v.Add(f+".values", "an enum variable needs at least one value")
			}
		default:
			v.Add(f+".type", "must be one of string, number, boolean, date, enum")
		}
		checkLen(&v, f+".description", d.Description, 2000)
	}
	seen = map[string]bool{}
	for i, p := range s.PrechatForm {
		f := "prechat_form[" + strconv.Itoa(i) + "]"
		if !nameRe.MatchString(p.Name) {
			v.Add(f+".name", "must be lower-case letters, digits and _ (at most 64), not starting with a digit")
		} else if seen[p.Name] {
			v.Add(f+".name", "%q is defined twice", p.Name)
		}
		seen[p.Name] = true
		if strings.TrimSpace(p.Label) == "" {
			v.Add(f+".label", "is required")
		}
		switch p.Type {
		case "text", "email", "phone", "textarea":
			if len(p.Options) > 0 {
				v.Add(f+".options", "only a select field has options")
			}
		case "select":
			if len(p.Options) == 0 {
				v.Add(f+".options", "a select field needs at least one option")
			}
		default:
			v.Add(f+".type", "must be one of text, email, phone, textarea, select")
		}
	}
	w := &s.Widget
	if w.Mode != "chat" && w.Mode != "voice_chat" {
		v.Add("widget.mode", "must be chat or voice_chat")
	}
	if !colorRe.MatchString(w.Color) {
		v.Add("widget.color", "must be a colour like #8b5cf6")
	}
	if w.Position != "bottom-right" && w.Position != "bottom-left" {
		v.Add("widget.position", "must be bottom-right or bottom-left")
	}
	if w.AvatarURL != "" {
		if u, err := url.Parse(w.AvatarURL); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			v.Add("widget.avatar_url", "must be an http(s) URL")
		}
	}
	checkLen(&v, "widget.title", w.Title, 200)
	checkLen(&v, "widget.placeholder", w.Placeholder, 200)
	checkLen(&v, "widget.launcher_text", w.LauncherText, 100)
	if w.IdleTimeoutMinutes == 0 {
		w.IdleTimeoutMinutes = DefaultIdleTimeoutMinutes // stored before the setting existed
	}
	if w.IdleTimeoutMinutes < 1 || w.IdleTimeoutMinutes > 10080 {
		v.Add("widget.idle_timeout_minutes", "must be between 1 and 10080 (a week)")
	}
	if w.IdentitySecret != nil && *w.IdentitySecret != "" {
		if n := len(*w.IdentitySecret); n < MinIdentitySecret || n > 200 {
			v.Add("widget.identity_secret", "must be %d to 200 characters (or empty to remove it)", MinIdentitySecret)
		}
	}
	for i, o := range s.AllowedOrigins {
		if _, ok := NormalizeOrigin(o); !ok {
			v.Add("allowed_origins["+strconv.Itoa(i)+"]", "must be an origin like https://example.com")
		}
	}
	if s.Variables == nil {
		s.Variables = []VariableDef{}
	}
	if s.PrechatForm == nil {
		s.PrechatForm = []PrechatField{}
	}
	if s.AllowedOrigins == nil {
		s.AllowedOrigins = []string{}
	}
	for i, o := range s.AllowedOrigins {
		if n, ok := NormalizeOrigin(o); ok {
			s.AllowedOrigins[i] = n
		}
	}
	return v.Err()
}

// NormalizeOrigin returns the canonical form of an origin
// ("scheme://host[:port]") and whether o is one.
func NormalizeOrigin(o string) (string, bool) {
	u, err := url.Parse(o)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" ||
		(u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		return "", false
	}
	return strings.ToLower(u.Scheme + "://" + u.Host), true
}

func checkLen(v *fault.Validation, field, s string, max int) {
	if utf8.RuneCountInString(s) > max {
		v.Add(field, "must be at most %d characters", max)
	}
}

// Render fills {{name}} placeholders from vars. A placeholder with no value
// becomes empty text, so a prompt never shows raw braces to a model or user.
func Render(tmpl string, vars map[string]string) string {
	if !strings.Contains(tmpl, "{{") {
		return tmpl
	}
	return placeRe.ReplaceAllStringFunc(tmpl, func(m string) string {
		name := placeRe.FindStringSubmatch(m)[1]
		return vars[name]
	})
}
