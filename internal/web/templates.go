package web

import (
	"embed"
	"encoding/json"
	"fmt"
	"html/template"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/parley-dev/parley/internal/conversation"
	"github.com/parley-dev/parley/internal/money"
)

//go:embed templates/*.html
var templateFS embed.FS

// pageNames are the page templates; each is parsed with the layout.
var pageNames = []string{"login", "error", "conversations", "conversation", "testchat", "assistants", "assistant", "settings", "analytics", "whatsapp"}

func parsePages(a *assets) (map[string]*template.Template, error) {
	funcs := template.FuncMap{
		"asset":          a.URL,
		"usd":            usd,
		"usdp":           usdPtr,
		"num":            num,
		"typeLabel":      typeLabel,
		"truncate":       truncate,
		"rfc3339":        func(t time.Time) string { return t.UTC().Format(time.RFC3339) },
		"utc":            func(t time.Time) string { return t.UTC().Format("2006-01-02 15:04 UTC") },
		"utcp":           func(t *time.Time) string { return t.UTC().Format("2006-01-02 15:04 UTC") },
		"value":          varValue,
		"bySource":       bySource,
		"json":           toJSON,
		"has":            func(list []string, s string) bool { return contains(list, s) },
		"dict":           dict,
		"int64":          func(p *int64) int64 { return *p },
		"initial":        initial,
		"hasPrefix":      strings.HasPrefix,
		"lower":          strings.ToLower,
		"windowText":     windowText,
		"compact":        compact,
		"someVars":       someVars,
		"deliveryLabel":  deliveryLabel,
		"unroutedReason": unroutedReason,
		"index_":         func(m map[string]string, k string) string { return m[k] },
		"join":           strings.Join,
		"add":            func(a, b int) int { return a + b },
		"add64": func(xs ...int64) int64 {
			var t int64
			for _, x := range xs {
				t += x
			}
			return t
		},
		"ftoa":       func(f float64) string { return strconv.FormatFloat(f, 'f', -1, 64) },
		"perMillion": func(m money.Money) string { return usd(m) },
	}
	out := map[string]*template.Template{}
	for _, name := range pageNames {
		t, err := template.New(name).Funcs(funcs).ParseFS(templateFS, "templates/layout.html", "templates/partials.html", "templates/"+name+".html")
		if err != nil {
			return nil, fmt.Errorf("template %s: %w", name, err)
		}
		out[name] = t
	}
	return out, nil
}

// usd renders nano-USD for people: up to six decimals, trailing zeros cut,
// at least two ("$0.000413", "$1.50").
func usd(m money.Money) string {
	s := m.String() // d.ddddddddd
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	whole, frac, _ := strings.Cut(s, ".")
	// Round to six decimals, half up, on the digits.
	n, _ := strconv.ParseInt(frac, 10, 64)
	r := (n + 500) / 1000
	w, _ := strconv.ParseInt(whole, 10, 64)
	if r == 1_000_000 {
		w, r = w+1, 0
	}
	f := strings.TrimRight(fmt.Sprintf("%06d", r), "0")
	for len(f) < 2 {
		f += "0"
	}
	sign := ""
	if neg && (w != 0 || r != 0) {
		sign = "-"
	}
	return sign + "$" + groupDigits(w) + "." + f
}

func usdPtr(m *money.Money) string {
	if m == nil {
		return "—"
	}
	return usd(*m)
}

func num(v any) string {
	switch n := v.(type) {
	case int64:
		return groupDigits(n)
	case int:
		return groupDigits(int64(n))
	}
	return fmt.Sprint(v)
}

func groupDigits(n int64) string {
	s := strconv.FormatInt(n, 10)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}

func typeLabel(t string) string {
	switch t {
	case conversation.TypeTest:
		return "Test"
	case conversation.TypeWidget:
		return "Web widget"
	case conversation.TypeWhatsApp:
		return "WhatsApp"
	case conversation.TypeAPI:
		return "API"
	}
	return t
}

func truncate(n int, s string) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return strings.TrimSpace(string(r[:n])) + "…"
}

func varValue(v conversation.Variable) string {
	switch x := v.Value.(type) {
	case string:
		return x
	case nil:
		return "—"
	}
	b, _ := json.Marshal(v.Value)
	return string(b)
}

// namedVar is a variable with its name, for ordered display.
type namedVar struct {
	Name string
	conversation.Variable
}

// sourceGroup is the variables of one source.
type sourceGroup struct {
	Source string
	Label  string
	Vars   []namedVar
}

func bySource(vars map[string]conversation.Variable) []sourceGroup {
	labels := map[string]string{conversation.SourcePrechat: "Pre-chat form", conversation.SourceExtracted: "Extracted", conversation.SourceAPI: "Set by API"}
	var out []sourceGroup
	for _, src := range []string{conversation.SourcePrechat, conversation.SourceExtracted, conversation.SourceAPI} {
		g := sourceGroup{Source: src, Label: labels[src]}
		for name, v := range vars {
			if v.Source == src {
				g.Vars = append(g.Vars, namedVar{Name: name, Variable: v})
			}
		}
		if len(g.Vars) > 0 {
			sort.Slice(g.Vars, func(i, j int) bool { return g.Vars[i].Name < g.Vars[j].Name })
			out = append(out, g)
		}
	}
	return out
}

func toJSON(v any) (string, error) {
	b, err := json.MarshalIndent(v, "", "  ")
	return string(b), err
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func dict(kv ...any) (map[string]any, error) {
	if len(kv)%2 != 0 {
		return nil, fmt.Errorf("dict: odd arguments")
	}
	m := map[string]any{}
	for i := 0; i < len(kv); i += 2 {
		k, ok := kv[i].(string)
		if !ok {
			return nil, fmt.Errorf("dict: key %v is not a string", kv[i])
		}
		m[k] = kv[i+1]
	}
	return m, nil
}

func initial(s string) string {
	r, _ := utf8.DecodeRuneInString(strings.TrimSpace(s))
	if r == utf8.RuneError {
		return "?"
	}
	return strings.ToUpper(string(r))
}

// deliveryLabel is a message's delivery status as the transcript shows it.
func deliveryLabel(status string) string {
	switch status {
	case conversation.MessagePending:
		return "sending…"
	case "sent":
		return "✓ sent"
	case "delivered":
		return "✓✓ delivered"
	case "read":
		return "✓✓ read"
	}
	return status
}

// compact renders a count briefly for table cells: 987, 12.3k, 4.5M.
func compact(n int64) string {
	abs := n
	if abs < 0 {
		abs = -abs
	}
	switch {
	case abs < 10_000:
		return groupDigits(n)
	case abs < 1_000_000:
		return strconv.FormatFloat(float64(n)/1e3, 'f', 1, 64) + "k"
	case abs < 1_000_000_000:
		return strconv.FormatFloat(float64(n)/1e6, 'f', 1, 64) + "M"
	}
	return strconv.FormatFloat(float64(n)/1e9, 'f', 1, 64) + "B"
}

// varsShown is the first variables of a conversation, by name, and how
// many more it has: what a table cell has room for.
type varsShown struct {
	Vars []namedVar
	More int
}

func someVars(n int, vars map[string]conversation.Variable) varsShown {
	names := make([]string, 0, len(vars))
	for k := range vars {
		names = append(names, k)
	}
	sort.Strings(names)
	var out varsShown
	for i, k := range names {
		if i == n {
			out.More = len(names) - n
			break
		}
		out.Vars = append(out.Vars, namedVar{Name: k, Variable: vars[k]})
	}
	return out
}
