package config

import (
	"flag"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func load(t *testing.T, args []string, env map[string]string) (*Config, error) {
	t.Helper()
	fs := flag.NewFlagSet("test", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	done := Register(fs, func(k string) string { return env[k] })
	if err := fs.Parse(args); err != nil {
		t.Fatal(err)
	}
	return done()
}

func TestPrecedence(t *testing.T) {
	secret := filepath.Join(t.TempDir(), "key")
	if err := os.WriteFile(secret, []byte("sk-from-file\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := load(t, []string{"--addr", ":9000"}, map[string]string{
		"PARLEY_ADDR": "127.0.0.1:1", "PARLEY_DATABASE_URL": "x.db", "PARLEY_LLM_API_KEY_FILE": secret,
	})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Addr != ":9000" || cfg.DatabaseURL != "x.db" || cfg.LLMAPIKey != "sk-from-file" {
		t.Errorf("cfg %+v", cfg)
	}
	if cfg.LogFormat != "text" || cfg.AdminEmail != "admin@localhost" || cfg.RateLimit() != (Rate{N: 100, Per: time.Second}) ||
		cfg.WhatsAppGraphURL != "https://graph.facebook.com/v26.0" || cfg.LLMCompat != "auto" || cfg.TranscriptionModel() != "" {
		t.Errorf("defaults %+v", cfg)
	}
	if reply, idle := cfg.LLMTimeouts(); reply != 5*time.Minute || idle != time.Minute {
		t.Errorf("LLM timeouts %s, %s", reply, idle)
	}
	if d := cfg.EventRetentionPeriod(); d != 7*24*time.Hour {
		t.Errorf("event retention %s", d)
	}
	for in, want := range map[string]time.Duration{"2d": 48 * time.Hour, "90m": 90 * time.Minute} {
		if cfg, err := load(t, nil, map[string]string{"PARLEY_EVENT_RETENTION": in}); err != nil || cfg.EventRetentionPeriod() != want {
			t.Errorf("PARLEY_EVENT_RETENTION=%s: %v, %v", in, cfg, err)
		}
	}
	if cfg.Readers() != 0 || cfg.ReadTimeout() != 10*time.Second {
		t.Errorf("readers %d, read timeout %s", cfg.Readers(), cfg.ReadTimeout())
	}
	if cfg, err := load(t, nil, map[string]string{"PARLEY_SQLITE_READERS": "12", "PARLEY_QUERY_TIMEOUT": "2s"}); err != nil ||
		cfg.Readers() != 12 || cfg.ReadTimeout() != 2*time.Second {
		t.Errorf("readers/timeout: %v, %v", cfg, err)
	}
	// The plain variable wins over its _FILE twin.
	cfg, _ = load(t, nil, map[string]string{"PARLEY_LLM_API_KEY": "direct", "PARLEY_LLM_API_KEY_FILE": secret})
	if cfg.LLMAPIKey != "direct" {
		t.Errorf("key %q", cfg.LLMAPIKey)
	}
}

func TestInvalid(t *testing.T) {
	cases := map[string]map[string]string{
		"PARLEY_ADDR":              {"PARLEY_ADDR": "nope"},
		"PARLEY_LOG_FORMAT":        {"PARLEY_LOG_FORMAT": "xml"},
		"PARLEY_LLM_BASE_URL":      {"PARLEY_LLM_BASE_URL": "ftp://x"},
		"PARLEY_API_RATE_LIMIT":    {"PARLEY_API_RATE_LIMIT": "-1"},
		"PARLEY_API_RATE_LIMIT ":   {"PARLEY_API_RATE_LIMIT": "100/h"},
		"PARLEY_API_RATE_LIMIT  ":  {"PARLEY_API_RATE_LIMIT": "fast"},
		"PARLEY_LLM_API_KEY_FILE":  {"PARLEY_LLM_API_KEY_FILE": "/does/not/exist"},
		"PARLEY_LLM_TIMEOUT":       {"PARLEY_LLM_TIMEOUT": "soon"},
		"PARLEY_LLM_IDLE_TIMEOUT":  {"PARLEY_LLM_IDLE_TIMEOUT": "10ms"},
		"PARLEY_EVENT_RETENTION":   {"PARLEY_EVENT_RETENTION": "soon"},
		"PARLEY_EVENT_RETENTION ":  {"PARLEY_EVENT_RETENTION": "0d"},
		"PARLEY_EVENT_RETENTION  ": {"PARLEY_EVENT_RETENTION": "30s"},
		"PARLEY_SQLITE_READERS":    {"PARLEY_SQLITE_READERS": "0"},
		"PARLEY_SQLITE_READERS ":   {"PARLEY_SQLITE_READERS": "many"},
		"PARLEY_QUERY_TIMEOUT":     {"PARLEY_QUERY_TIMEOUT": "1ms"},
		"PARLEY_QUERY_TIMEOUT ":    {"PARLEY_QUERY_TIMEOUT": "soon"},
	}
	for want, env := range cases {
		_, err := load(t, nil, env)
		if err == nil || !strings.Contains(err.Error(), strings.TrimSpace(want)) {
			t.Errorf("%v: err = %v", env, err)
		}
	}
}

func TestPublicBaseURL(t *testing.T) {
	c := &Config{}
	if got := c.PublicBaseURL("[::]:8080"); got != "http://127.0.0.1:8080" {
		t.Errorf("got %s", got)
	}
	c.BaseURL = "https://chat.example.com/"
	if got := c.PublicBaseURL("x"); got != "https://chat.example.com" {
		t.Errorf("got %s", got)
	}
}

// TestRateLimitUnits: a bare number keeps meaning requests a minute, as it
// did before units were accepted; 0 turns the limit off.
func TestRateLimitUnits(t *testing.T) {
	for in, want := range map[string]Rate{
		"100/s": {100, time.Second}, "6000/m": {6000, time.Minute}, "600": {600, time.Minute}, "0": {}, "0/s": {},
	} {
		cfg, err := load(t, nil, map[string]string{"PARLEY_API_RATE_LIMIT": in})
		if err != nil {
			t.Errorf("%s: %v", in, err)
			continue
		}
		if got := cfg.RateLimit(); got != want {
			t.Errorf("%s: %+v, want %+v", in, got, want)
		}
	}
}

func TestTranscriptionModel(t *testing.T) {
	for _, c := range []struct {
		env  map[string]string
		want string
	}{
		{map[string]string{}, ""},
		{map[string]string{"PARLEY_LLM_BASE_URL": "https://api.openai.com/v1"}, "whisper-1"},
		{map[string]string{"PARLEY_LLM_BASE_URL": "https://api.groq.com/openai/v1", "PARLEY_LLM_TRANSCRIPTION_MODEL": "whisper-large-v3"}, "whisper-large-v3"},
		{map[string]string{"PARLEY_LLM_BASE_URL": "http://localhost:11434/v1", "PARLEY_LLM_TRANSCRIPTION_MODEL": "off"}, ""},
		{map[string]string{"PARLEY_LLM_TRANSCRIPTION_MODEL": "whisper-1"}, ""},
	} {
		cfg, err := load(t, nil, c.env)
		if err != nil || cfg.TranscriptionModel() != c.want {
			t.Errorf("%v: %q, %v; want %q", c.env, cfg.TranscriptionModel(), err, c.want)
		}
	}
	if got := (&Config{LLMBaseURL: "https://api.openai.com/v1"}).TranscriptionModel(); got != DefaultTranscriptionModel {
		t.Errorf("a configuration built by hand: %q", got)
	}
}

func TestTrustedProxies(t *testing.T) {
	cfg, err := load(t, nil, map[string]string{"PARLEY_TRUSTED_PROXIES": "10.0.0.0/8, 192.168.1.7,::1, ::ffff:172.16.0.1"})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, p := range cfg.TrustedProxies() {
		got = append(got, p.String())
	}
	if strings.Join(got, " ") != "10.0.0.0/8 192.168.1.7/32 ::1/128 172.16.0.1/32" {
		t.Errorf("proxies %v", got)
	}
	if _, err := load(t, nil, map[string]string{"PARLEY_TRUSTED_PROXIES": "10.0.0.0/8,proxy.local"}); err == nil || !strings.Contains(err.Error(), "proxy.local") {
		t.Errorf("a host name was taken: %v", err)
	}
	if cfg, _ := load(t, nil, nil); cfg.TrustedProxies() != nil {
		t.Errorf("default %v", cfg.TrustedProxies())
	}
}
