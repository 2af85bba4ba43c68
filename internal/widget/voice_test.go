package widget_test

import (
	"bytes"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/parley-dev/parley/internal/apptest"
	"github.com/parley-dev/parley/internal/config"
	"github.com/parley-dev/parley/internal/llm/llmtest"
	"github.com/parley-dev/parley/internal/widget"
)

// webm is the start of a WebM file (its EBML magic) and some bytes: what
// the endpoint checks, and what the fake provider records.
var webm = append([]byte("\x1a\x45\xdf\xa3"), bytes.Repeat([]byte{0x42}, 3000)...)

// startVoice starts a server whose OpenAI-compatible provider is fake,
// with the Demo Assistant's widget in mode.
func startVoice(t *testing.T, fake *llmtest.Server, mode string, configure ...func(*config.Config)) *env {
	t.Helper()
	srv := apptest.Start(t, testDB(t), append([]func(*config.Config){func(c *config.Config) {
		if fake != nil {
			c.LLMBaseURL, c.LLMAPIKey = fake.BaseURL(), "sk-fake"
		}
	}}, configure...)...)
	srv.Do("PATCH", "/api/v1/assistants/"+srv.DemoAssistant, srv.Key, map[string]any{
		"allowed_origins": []string{site}, "widget": map[string]any{"mode": mode}}).Want(http.StatusOK)
	a := srv.Do("GET", "/api/v1/assistants/"+srv.DemoAssistant, srv.Key, nil).Want(http.StatusOK)
	return &env{Server: srv, pub: a.Str("public_key")}
}

func (e *env) session(t *testing.T) string {
	t.Helper()
	return e.call(t, "POST", e.w("/sessions"), site, "", map[string]any{}).want(t, 201).str("token")
}

func (e *env) transcribe(t *testing.T, origin, token, contentType string, audio []byte, query string) *resp {
	t.Helper()
	return e.call(t, "POST", e.w("/session/transcriptions"+query), origin, token, audio, "Content-Type", contentType)
}

func TestWidgetTranscription(t *testing.T) {
	fake := llmtest.New(t)
	e := startVoice(t, fake, "voice_chat")
	cfg := e.call(t, "GET", e.w("/config"), site, "", nil).want(t, 200)
	if v := cfg.json["voice"].(map[string]any); v["transcription"] != true || v["max_seconds"] != float64(widget.MaxAudioSeconds) || v["max_bytes"] != float64(widget.MaxAudioBytes) {
		t.Errorf("voice %v", v)
	}
	tok := e.session(t)

	// A recording becomes text, through the provider's /audio/transcriptions.
	r := e.transcribe(t, site, tok, "audio/webm;codecs=opus", webm, "?language=de").want(t, 200)
	if r.str("text") != llmtest.DefaultTranscript || r.header.Get("Access-Control-Allow-Origin") != site {
		t.Errorf("transcription %s %v", r.body, r.header)
	}
	got := fake.Transcriptions()
	if len(got) != 1 || got[0].Model != config.DefaultTranscriptionModel || got[0].Language != "de" || got[0].Filename != "speech.webm" ||
		!bytes.Equal(got[0].Audio, webm) || got[0].Authorization != "Bearer sk-fake" {
		t.Fatalf("provider got %+v", got)
	}
	// Nothing is stored: the transcript is the visitor's to send.
	if n := len(e.call(t, "GET", e.w("/session"), site, tok, nil).want(t, 200).json["messages"].([]any)); n > 1 {
		t.Errorf("%d messages after a transcription", n)
	}

	// Refused before the provider is asked.
	other := e.Do("POST", "/api/v1/assistants", e.Key, map[string]any{"name": "Other", "model": "offline", "widget": map[string]any{"mode": "voice_chat"}}).Want(201)
	for name, c := range map[string]struct {
		path, origin, token, ctype string
		audio                      []byte
		status                     int
		code                       string
	}{
		"too big":          {"", site, tok, "audio/webm", append(webm, make([]byte, widget.MaxAudioBytes)...), 413, "payload_too_large"},
		"wrong type":       {"", site, tok, "text/plain", webm, 415, "unsupported_media_type"},
		"no type":          {"", site, tok, "", webm, 415, "unsupported_media_type"},
		"not what it says": {"", site, tok, "audio/ogg", webm, 422, "validation_failed"},
		"empty":            {"", site, tok, "audio/webm", []byte{}, 422, "validation_failed"},
		"bad language":     {"?language=deu", site, tok, "audio/webm", webm, 422, "validation_failed"},
		"no token":         {"", site, "", "audio/webm", webm, 401, "unauthorized"},
		"forged token":     {"", site, tok[:len(tok)-4] + "AAAA", "audio/webm", webm, 401, "unauthorized"},
		"wrong origin":     {"", "https://evil.example", tok, "audio/webm", webm, 403, "forbidden"},
		"other assistant":  {"/widget/v1/" + other.Str("public_key") + "/session/transcriptions", site, tok, "audio/webm", webm, 401, "unauthorized"},
	} {
		path := c.path
		if path == "" || strings.HasPrefix(path, "?") {
			path = e.w("/session/transcriptions" + path)
		}
		r := e.call(t, "POST", path, c.origin, c.token, c.audio, "Content-Type", c.ctype)
		if r.status != c.status || r.str("code") != c.code || !strings.Contains(r.header.Get("Content-Type"), "problem+json") {
			t.Errorf("%s: %d %s", name, r.status, r.body)
		}
	}
	if n := len(fake.Transcriptions()); n != 1 {
		t.Errorf("refused requests reached the provider: %d requests", n)
	}

	// The provider's failures become problems the visitor can act on; its
	// own words (and the key it names) stay in the log.
	for _, c := range []struct {
		fail   llmtest.Failure
		tries  int // the client retries a 500
		status int
		code   string
	}{
		{llmtest.Failure{Status: 400, Message: "Audio file is too short. Minimum audio length is 0.1 seconds."}, 1, 422, "validation_failed"},
		{llmtest.Failure{Status: 401, Message: "Incorrect API key provided: sk-fake."}, 1, 503, "model_unavailable"},
		{llmtest.Failure{Status: 500}, 3, 502, "model_failed"},
	} {
		for range c.tries {
			fake.FailNext(c.fail)
		}
		r := e.transcribe(t, site, tok, "audio/webm", webm, "")
		if r.status != c.status || r.str("code") != c.code || strings.Contains(string(r.body), "sk-fake") || !strings.Contains(r.str("detail"), "type your message") {
			t.Errorf("provider %d: %d %s", c.fail.Status, r.status, r.body)
		}
	}
}

// Without a speech-to-text model, or for a chat-only widget, there is no
// transcription: the config says so and the endpoint is 404.
func TestWidgetTranscriptionOff(t *testing.T) {
	fake := llmtest.New(t)
	for name, e := range map[string]*env{
		"chat mode":    startVoice(t, fake, "chat"),
		"no provider":  startVoice(t, nil, "voice_chat"),
		"model is off": startVoice(t, fake, "voice_chat", func(c *config.Config) { c.LLMTranscription = "off" }),
	} {
		cfg := e.call(t, "GET", e.w("/config"), site, "", nil).want(t, 200)
		if v := cfg.json["voice"].(map[string]any); v["transcription"] != false {
			t.Errorf("%s: voice %v", name, v)
		}
		r := e.transcribe(t, site, e.session(t), "audio/webm", webm, "")
		if r.status != 404 || !strings.Contains(r.str("detail"), "speech recognition") {
			t.Errorf("%s: %d %s", name, r.status, r.body)
		}
	}
	if n := len(fake.Transcriptions()); n != 0 {
		t.Errorf("%d transcriptions", n)
	}
}

func TestWidgetTranscriptionRateLimit(t *testing.T) {
	fake := llmtest.New(t)
	e := startVoice(t, fake, "voice_chat", func(c *config.Config) { c.Widget = config.WidgetLimits{PerIP: 600, PerVisitor: 1, Starts: 30} })
	tok := e.session(t)
	var last *resp
	for range 12 {
		last = e.transcribe(t, site, tok, "audio/webm", webm, "")
	}
	if last.status != 429 || last.header.Get("Retry-After") == "" {
		t.Errorf("transcriptions: %d %s", last.status, last.body)
	}
}

// TestWidgetTranscriptionSlowAndUnsizedBodies: a recording that trickles
// in, or never comes, is cut at the body deadline, and one sent chunked
// without a length is cut at the limit; neither reaches the provider.
func TestWidgetTranscriptionSlowAndUnsizedBodies(t *testing.T) {
	fake := llmtest.New(t)
	const deadline = 300 * time.Millisecond
	e := startVoice(t, fake, "voice_chat", func(c *config.Config) { c.BodyReadTimeout = deadline })
	tok := e.session(t)
	head := "POST " + e.w("/session/transcriptions") + " HTTP/1.1\r\nHost: parley\r\nOrigin: " + site +
		"\r\nAuthorization: Bearer " + tok + "\r\nContent-Type: audio/webm\r\n"
	for name, c := range map[string]struct {
		head  string
		drip  bool
		limit time.Duration
	}{
		"announced, never sent": {head + "Content-Length: 100000\r\n\r\n\x1a\x45\xdf\xa3", false, deadline + 2*time.Second},
		"a byte at a time":      {head + "Content-Length: 100000\r\n\r\n\x1a\x45\xdf\xa3", true, deadline + 2*time.Second},
		"chunked, silent":       {head + "Transfer-Encoding: chunked\r\n\r\n4\r\n\x1a\x45\xdf\xa3\r\n", false, deadline + 2*time.Second},
	} {
		t.Run(name, func(t *testing.T) {
			conn, err := net.Dial("tcp", strings.TrimPrefix(e.URL, "http://"))
			if err != nil {
				t.Fatal(err)
			}
			defer func() { _ = conn.Close() }()
			start := time.Now()
			if _, err := io.WriteString(conn, c.head); err != nil {
				t.Fatal(err)
			}
			if c.drip {
				go func() {
					for range 100 {
						time.Sleep(50 * time.Millisecond)
						if _, err := conn.Write([]byte{0x42}); err != nil {
							return
						}
					}
				}()
			}
			_ = conn.SetReadDeadline(start.Add(10 * time.Second))
			_, err = io.Copy(io.Discard, conn)
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				t.Fatalf("the connection was still open after %v", time.Since(start).Round(time.Millisecond))
			}
			if d := time.Since(start); d > c.limit {
				t.Errorf("the connection was closed only after %v", d)
			}
		})
	}
	// Chunked, no length: read up to the limit, then refused.
	big := append(append([]byte{}, webm...), make([]byte, widget.MaxAudioBytes)...)
	req, _ := http.NewRequest("POST", e.URL+e.w("/session/transcriptions"), io.MultiReader(bytes.NewReader(big)))
	req.Header.Set("Origin", site)
	req.Header.Set("Authorization", "Bearer "+tok)
	req.Header.Set("Content-Type", "audio/webm")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_ = res.Body.Close()
	if res.StatusCode != http.StatusRequestEntityTooLarge || req.ContentLength > 0 {
		t.Errorf("an unsized recording over the limit: %d (length %d)", res.StatusCode, req.ContentLength)
	}
	if n := len(fake.Transcriptions()); n != 0 {
		t.Errorf("%d bodies reached the provider", n)
	}
}
