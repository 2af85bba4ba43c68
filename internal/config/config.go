// Package config reads Parley's configuration from flags and PARLEY_*
// environment variables (a flag wins), with X_FILE variants that read a
// secret from a file.
package config

import (
	"errors"
	"flag"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"
)

// Config is the whole configuration of one process.
type Config struct {
	Addr                string
	DatabaseURL         string
	BaseURL             string
	AdminEmail          string
	AdminPassword       string
	LLMBaseURL          string
	LLMAPIKey           string
	LLMCompat           string
	LLMTimeout          string
	LLMIdleTimeout      string
	LLMTranscription    string
	SecretKey           string
	WhatsAppAppSecret   string
	WhatsAppVerifyToken string
	WhatsAppGraphURL    string
	LogFormat           string
	APIRateLimit        string
	MetricsToken        string
	EventRetention      string
	SQLiteReaders       string
	HeavyReads          string
	SQLiteCacheMB       string
	QueryTimeout        string
	TrustedProxiesList  string

	// BodyReadTimeout bounds reading a request body, from the handler's
	// start to the body's end; zero means DefaultBodyReadTimeout. It is no
	// setting of its own (tests shorten it).
	BodyReadTimeout time.Duration

	// Widget holds the public widget API's rate limits, per minute; zero
	// fields take DefaultWidgetLimits, negative ones turn that limit off.
	// They are no settings of their own yet (tests lower them).
	Widget WidgetLimits
}

// WidgetLimits are the widget API's rate limits, in requests a minute per
// node: PerIP for every request of one address, PerVisitor for the
// messages and streams of one visitor, Starts for the sessions one
// address starts (each may create a conversation).
type WidgetLimits struct {
	PerIP, PerVisitor, Starts int
}

// DefaultWidgetLimits let a busy office behind one address chat, and a
// visitor type as fast as a person does.
var DefaultWidgetLimits = WidgetLimits{PerIP: 600, PerVisitor: 30, Starts: 30}

// WidgetLimits returns the widget's limits with the defaults filled in.
func (c *Config) WidgetLimits() WidgetLimits {
	w, d := c.Widget, DefaultWidgetLimits
	for _, p := range []struct {
		v   *int
		def int
	}{{&w.PerIP, d.PerIP}, {&w.PerVisitor, d.PerVisitor}, {&w.Starts, d.Starts}} {
		if *p.v == 0 {
			*p.v = p.def
		}
	}
	return w
}

// DefaultBodyReadTimeout is long enough for an 8 MiB assistant over a slow
// link, and short enough that clients who announce a body and never send
// it cannot pile up connections.
const DefaultBodyReadTimeout = 30 * time.Second

// option is one setting: its flag, its variable and where it lands.
type option struct {
	flag, env, def, usage string
	secret                bool
	dst                   func(*Config) *string
}

var options = []option{
	{"addr", "PARLEY_ADDR", "127.0.0.1:8080", "listen address (:0 picks a free port; the real one is logged as addr=)", false, func(c *Config) *string { return &c.Addr }},
	{"database-url", "PARLEY_DATABASE_URL", "parley.db", "SQLite file path (or sqlite:PATH), or postgres://…", true, func(c *Config) *string { return &c.DatabaseURL }},
	{"base-url", "PARLEY_BASE_URL", "", "public URL for widget snippets and webhook URLs (default http://ADDR)", false, func(c *Config) *string { return &c.BaseURL }},
	{"admin-email", "PARLEY_ADMIN_EMAIL", "admin@localhost", "email of the first owner, created on first start only", false, func(c *Config) *string { return &c.AdminEmail }},
	{"admin-password", "PARLEY_ADMIN_PASSWORD", "", "password of the first owner (default: generated and logged once)", true, func(c *Config) *string { return &c.AdminPassword }},
	{"llm-base-url", "PARLEY_LLM_BASE_URL", "", "OpenAI-compatible server, e.g. https://api.openai.com/v1 (unset: only the offline model)", false, func(c *Config) *string { return &c.LLMBaseURL }},
	{"llm-api-key", "PARLEY_LLM_API_KEY", "", "API key of the OpenAI-compatible server", true, func(c *Config) *string { return &c.LLMAPIKey }},
	{"llm-compat", "PARLEY_LLM_COMPAT", "auto", "the server's dialect of the OpenAI API (auto: from the base URL; see docs/MODELS.md)", false, func(c *Config) *string { return &c.LLMCompat }},
	{"llm-timeout", "PARLEY_LLM_TIMEOUT", "5m", "longest one model reply or extraction may take, retries included", false, func(c *Config) *string { return &c.LLMTimeout }},
	{"llm-idle-timeout", "PARLEY_LLM_IDLE_TIMEOUT", "60s", "longest a streaming reply may stay silent (before its first word and between chunks)", false, func(c *Config) *string { return &c.LLMIdleTimeout }},
	{"llm-transcription-model", "PARLEY_LLM_TRANSCRIPTION_MODEL", DefaultTranscriptionModel, "speech-to-text model of the OpenAI-compatible server ({base}/audio/transcriptions), for voice_chat widgets in browsers without speech recognition; off: none (unused without PARLEY_LLM_BASE_URL)", false, func(c *Config) *string { return &c.LLMTranscription }},
	{"secret-key", "PARLEY_SECRET_KEY", "", "key for encrypting stored secrets and signing sessions (default: generated into the database)", true, func(c *Config) *string { return &c.SecretKey }},
	{"whatsapp-app-secret", "PARLEY_WHATSAPP_APP_SECRET", "", "Meta app secret, to check webhook signatures", true, func(c *Config) *string { return &c.WhatsAppAppSecret }},
	{"whatsapp-verify-token", "PARLEY_WHATSAPP_VERIFY_TOKEN", "", "token Meta sends to verify the webhook", true, func(c *Config) *string { return &c.WhatsAppVerifyToken }},
	{"whatsapp-graph-url", "PARLEY_WHATSAPP_GRAPH_URL", "https://graph.facebook.com/v26.0", "Graph API base URL", false, func(c *Config) *string { return &c.WhatsAppGraphURL }},
	{"api-rate-limit", "PARLEY_API_RATE_LIMIT", DefaultAPIRateLimit, "requests per API key, per node, as N/s or N/m (a bare number is a minute); bursts of two seconds' worth are allowed; 0 turns the limit off", false, func(c *Config) *string { return &c.APIRateLimit }},
	{"event-retention", "PARLEY_EVENT_RETENTION", "7d", "how long events (GET /api/v1/events) are kept: a duration like 72h, or days like 7d; at least 1m", false, func(c *Config) *string { return &c.EventRetention }},
	{"sqlite-readers", "PARLEY_SQLITE_READERS", "", "SQLite reader connections (default: twice the CPUs, at least 4)", false, func(c *Config) *string { return &c.SQLiteReaders }},
	{"heavy-reads", "PARLEY_HEAVY_READS", "", "searches and counts with a text query run at once on this node; others wait their turn within the query timeout (default: half the CPUs, at least 1), so lists and pages keep the other cores", false, func(c *Config) *string { return &c.HeavyReads }},
	{"sqlite-cache-mb", "PARLEY_SQLITE_CACHE_MB", "", "SQLite writer's page cache in MB (default 64); a large database written fast (a bulk import, heavy ingest) wants the indexes' hot pages to fit", false, func(c *Config) *string { return &c.SQLiteCacheMB }},
	{"query-timeout", "PARLEY_QUERY_TIMEOUT", "10s", "time budget of one list or search; past it the query is stopped and the API answers 503 query_timeout", false, func(c *Config) *string { return &c.QueryTimeout }},
	{"trusted-proxies", "PARLEY_TRUSTED_PROXIES", "", "comma-separated addresses or CIDRs of reverse proxies whose X-Forwarded-For names the client (per-address rate limits); unset: the connection's address, headers ignored", false, func(c *Config) *string { return &c.TrustedProxiesList }},
	{"log-format", "PARLEY_LOG_FORMAT", "text", "log format: text or json", false, func(c *Config) *string { return &c.LogFormat }},
	{"metrics-token", "PARLEY_METRICS_TOKEN", "", "bearer token /metrics requires (it shows the models and costs of every workspace); unset: /metrics is open, so keep it off the public network", true, func(c *Config) *string { return &c.MetricsToken }},
}

// Register adds every setting as a flag of fs and returns a function that,
// after fs is parsed, fills in what flags left unset from the environment
// and validates the result.
func Register(fs *flag.FlagSet, getenv func(string) string) func() (*Config, error) {
	cfg := &Config{}
	for _, o := range options {
		fs.StringVar(o.dst(cfg), o.flag, "", o.usage+" [$"+o.env+"]")
	}
	return func() (*Config, error) {
		set := map[string]bool{}
		fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
		for _, o := range options {
			if set[o.flag] {
				continue
			}
			v, err := lookup(o, getenv)
			if err != nil {
				return nil, err
			}
			*o.dst(cfg) = v
		}
		return cfg, cfg.validate()
	}
}

// lookup reads a setting's variable, or for a secret its _FILE variant.
func lookup(o option, getenv func(string) string) (string, error) {
	if v := getenv(o.env); v != "" {
		return v, nil
	}
	if o.secret {
		if path := getenv(o.env + "_FILE"); path != "" {
			b, err := os.ReadFile(path)
			if err != nil {
				return "", fmt.Errorf("%s_FILE: %w", o.env, err)
			}
			return strings.TrimRight(string(b), "\r\n"), nil
		}
	}
	return o.def, nil
}

func (c *Config) validate() error {
	var errs []error
	if _, _, err := net.SplitHostPort(c.Addr); err != nil {
		errs = append(errs, fmt.Errorf("PARLEY_ADDR %q: must be host:port or :port", c.Addr))
	}
	if c.LogFormat != "text" && c.LogFormat != "json" {
		errs = append(errs, fmt.Errorf("PARLEY_LOG_FORMAT %q: must be text or json", c.LogFormat))
	}
	for _, u := range []struct{ name, val string }{
		{"PARLEY_BASE_URL", c.BaseURL}, {"PARLEY_LLM_BASE_URL", c.LLMBaseURL}, {"PARLEY_WHATSAPP_GRAPH_URL", c.WhatsAppGraphURL},
	} {
		if u.val == "" {
			continue
		}
		p, err := url.Parse(u.val)
		if err != nil || (p.Scheme != "http" && p.Scheme != "https") || p.Host == "" {
			errs = append(errs, fmt.Errorf("%s %q: must be an http(s) URL", u.name, u.val))
		}
	}
	for _, d := range []struct{ name, val string }{{"PARLEY_LLM_TIMEOUT", c.LLMTimeout}, {"PARLEY_LLM_IDLE_TIMEOUT", c.LLMIdleTimeout}} {
		if v, err := time.ParseDuration(d.val); err != nil || v < time.Second {
			errs = append(errs, fmt.Errorf("%s %q: must be a duration of at least 1s, like 90s or 5m", d.name, d.val))
		}
	}
	if _, err := ParseRate(c.APIRateLimit); err != nil {
		errs = append(errs, fmt.Errorf("PARLEY_API_RATE_LIMIT %q: %w", c.APIRateLimit, err))
	}
	if _, err := ParseRetention(c.EventRetention); err != nil {
		errs = append(errs, fmt.Errorf("PARLEY_EVENT_RETENTION %q: %w", c.EventRetention, err))
	}
	if c.DatabaseURL == "" {
		errs = append(errs, errors.New("PARLEY_DATABASE_URL: must not be empty"))
	}
	if c.SQLiteReaders != "" {
		if n, err := strconv.Atoi(c.SQLiteReaders); err != nil || n < 1 || n > 256 {
			errs = append(errs, fmt.Errorf("PARLEY_SQLITE_READERS %q: must be a number from 1 to 256", c.SQLiteReaders))
		}
	}
	if c.HeavyReads != "" {
		if n, err := strconv.Atoi(c.HeavyReads); err != nil || n < 1 || n > 256 {
			errs = append(errs, fmt.Errorf("PARLEY_HEAVY_READS %q: must be a number from 1 to 256", c.HeavyReads))
		}
	}
	if c.SQLiteCacheMB != "" {
		if n, err := strconv.Atoi(c.SQLiteCacheMB); err != nil || n < 2 || n > 65536 {
			errs = append(errs, fmt.Errorf("PARLEY_SQLITE_CACHE_MB %q: must be a number from 2 to 65536", c.SQLiteCacheMB))
		}
	}
	if v, err := time.ParseDuration(c.QueryTimeout); err != nil || v < 100*time.Millisecond {
		errs = append(errs, fmt.Errorf("PARLEY_QUERY_TIMEOUT %q: must be a duration of at least 100ms, like 10s", c.QueryTimeout))
	}
	if _, err := ParseProxies(c.TrustedProxiesList); err != nil {
		errs = append(errs, fmt.Errorf("PARLEY_TRUSTED_PROXIES %q: %w", c.TrustedProxiesList, err))
	}
	return errors.Join(errs...)
}

// ParseProxies reads a comma-separated list of addresses (10.0.0.1, ::1)
// and CIDRs (10.0.0.0/8); an address stands for itself alone.
func ParseProxies(s string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		if p, err := netip.ParsePrefix(f); err == nil {
			out = append(out, p.Masked())
			continue
		}
		a, err := netip.ParseAddr(f)
		if err != nil {
			return nil, fmt.Errorf("%q is neither an address nor a CIDR such as 10.0.0.0/8", f)
		}
		a = a.Unmap()
		out = append(out, netip.PrefixFrom(a, a.BitLen()))
	}
	return out, nil
}

// TrustedProxies returns PARLEY_TRUSTED_PROXIES (nil when unset or
// invalid; validate refuses an invalid one).
func (c *Config) TrustedProxies() []netip.Prefix {
	p, _ := ParseProxies(c.TrustedProxiesList)
	return p
}

// Usage writes the environment variables and what they mean.
func Usage() string {
	var b strings.Builder
	for _, o := range options {
		def := o.def
		if def == "" {
			def = "unset"
		}
		extra := ""
		if o.secret {
			extra = " (or " + o.env + "_FILE)"
		}
		fmt.Fprintf(&b, "  %-30s --%-22s default %s%s\n      %s\n", o.env, o.flag, def, extra, o.usage)
	}
	return b.String()
}

// DefaultAPIRateLimit fits server-to-server use: an import script may
// send 100 requests a second per key, with bursts of 200.
const DefaultAPIRateLimit = "100/s"

// Rate is a request rate: N requests each Per.
type Rate struct {
	N   int
	Per time.Duration
}

// ParseRate reads "N/s", "N/m" or a bare N, which means N a minute (the
// setting's unit before "/s" was accepted, so old configurations keep
// their meaning). "0" is no limit: the zero Rate.
func ParseRate(s string) (Rate, error) {
	num, unit, hasUnit := strings.Cut(strings.TrimSpace(s), "/")
	per := time.Minute
	if hasUnit {
		switch unit {
		case "s":
			per = time.Second
		case "m":
			per = time.Minute
		default:
			return Rate{}, fmt.Errorf("unit %q: must be s (a second) or m (a minute), as in 100/s or 6000/m", unit)
		}
	}
	n, err := strconv.Atoi(num)
	if err != nil || n < 0 {
		return Rate{}, errors.New("must be a whole number of requests per second or minute, such as 100/s or 6000/m, or 0 for no limit")
	}
	if n == 0 {
		return Rate{}, nil
	}
	return Rate{N: n, Per: per}, nil
}

// String says the rate in words, for messages to API clients.
func (r Rate) String() string {
	if r.N == 0 {
		return "no limit"
	}
	unit := "a minute"
	if r.Per == time.Second {
		unit = "a second"
	}
	return fmt.Sprintf("%d requests %s", r.N, unit)
}

// LLMTimeouts returns the reply timeout and the stream idle timeout; zero
// for a setting that is unset or invalid (validate refuses those).
func (c *Config) LLMTimeouts() (reply, idle time.Duration) {
	reply, _ = time.ParseDuration(c.LLMTimeout)
	idle, _ = time.ParseDuration(c.LLMIdleTimeout)
	return reply, idle
}

// DefaultTranscriptionModel is OpenAI's speech-to-text model; other
// servers name theirs differently (Groq: whisper-large-v3).
const DefaultTranscriptionModel = "whisper-1"

// TranscriptionModel returns the speech-to-text model the widget sends
// recordings to, or "" when there is none: no PARLEY_LLM_BASE_URL, or
// PARLEY_LLM_TRANSCRIPTION_MODEL=off. Unset (a configuration built by
// hand) is the default model.
func (c *Config) TranscriptionModel() string {
	m := strings.TrimSpace(c.LLMTranscription)
	switch {
	case c.LLMBaseURL == "" || strings.EqualFold(m, "off"):
		return ""
	case m == "":
		return DefaultTranscriptionModel
	}
	return m
}

// Readers returns PARLEY_SQLITE_READERS; 0 when unset (the store picks).
func (c *Config) Readers() int {
	n, _ := strconv.Atoi(c.SQLiteReaders)
	return n
}

// HeavyReadsAtOnce returns PARLEY_HEAVY_READS; 0 when unset (the store
// picks).
func (c *Config) HeavyReadsAtOnce() int {
	n, _ := strconv.Atoi(c.HeavyReads)
	return n
}

// CacheMB returns PARLEY_SQLITE_CACHE_MB; 0 when unset (the store picks).
func (c *Config) CacheMB() int {
	n, _ := strconv.Atoi(c.SQLiteCacheMB)
	return n
}

// ReadTimeout returns PARLEY_QUERY_TIMEOUT; 0 when unset or invalid
// (validate refuses an invalid one), which leaves the store's default.
func (c *Config) ReadTimeout() time.Duration {
	d, _ := time.ParseDuration(c.QueryTimeout)
	return d
}

// ParseRetention reads a retention period: a Go duration such as 72h, or
// a whole number of days such as 7d (durations have no day unit). It must
// be at least a minute.
func ParseRetention(s string) (time.Duration, error) {
	var d time.Duration
	if days, ok := strings.CutSuffix(strings.TrimSpace(s), "d"); ok {
		n, err := strconv.Atoi(days)
		if err != nil || n < 1 || n > 36500 {
			return 0, errors.New("must be a whole number of days like 7d, or a duration like 72h")
		}
		d = time.Duration(n) * 24 * time.Hour
	} else {
		v, err := time.ParseDuration(s)
		if err != nil {
			return 0, errors.New("must be a duration like 72h, or a number of days like 7d")
		}
		d = v
	}
	if d < time.Minute {
		return 0, errors.New("must be at least 1m")
	}
	return d, nil
}

// EventRetentionPeriod returns how long events are kept (zero for an
// invalid setting, which validate refuses; DefaultEventRetention when
// unset, as in configurations built by hand).
func (c *Config) EventRetentionPeriod() time.Duration {
	if c.EventRetention == "" {
		return DefaultEventRetention
	}
	d, _ := ParseRetention(c.EventRetention)
	return d
}

// DefaultEventRetention is how long events are kept unless configured.
const DefaultEventRetention = 7 * 24 * time.Hour

// RateLimit returns the per-key API limit; the zero Rate means none.
func (c *Config) RateLimit() Rate {
	r, _ := ParseRate(c.APIRateLimit)
	return r
}

// PublicBaseURL returns the configured public URL, or one made from the
// address the server actually listens on.
func (c *Config) PublicBaseURL(listenAddr string) string {
	if c.BaseURL != "" {
		return strings.TrimRight(c.BaseURL, "/")
	}
	host, port, err := net.SplitHostPort(listenAddr)
	if err != nil {
		return "http://" + listenAddr
	}
	if host == "" || host == "0.0.0.0" || host == "::" {
		host = "127.0.0.1"
	}
	return "http://" + net.JoinHostPort(host, port)
}
