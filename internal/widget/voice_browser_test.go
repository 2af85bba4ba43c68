package widget_test

import (
	"bytes"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/parley-dev/parley/internal/browsertest"
	"github.com/parley-dev/parley/internal/llm/llmtest"
)

// fakeSpeech replaces the browser's speech recognition with one that
// "hears" a question (an interim result, then the final one) and speech
// synthesis with one that records what it is asked to say and counts the
// times it is stopped while speaking.
const fakeSpeech = `(function(){
  window.__said = []; window.__stopped = 0;
  function FakeRecognition() { this.lang = ""; this.interimResults = false; }
  FakeRecognition.prototype.start = function () {
    var self = this; window.__listening = self.lang;
    function result(text, final) { var r = [{ transcript: text }]; r.isFinal = final; return { results: [r] }; }
    setTimeout(function () { self.onresult(result("Do you ship", false)); }, 150);
    setTimeout(function () { self.onresult(result("Do you ship abroad?", true)); self.onend(); }, 400);
  };
  FakeRecognition.prototype.stop = function () { this.onend(); };
  FakeRecognition.prototype.abort = function () {};
  window.SpeechRecognition = window.webkitSpeechRecognition = FakeRecognition;
  var synth = { speaking: false, getVoices: function () { return []; },
    speak: function (u) { window.__said.push(u.text); this.speaking = true; },
    cancel: function () { if (this.speaking) window.__stopped++; this.speaking = false; } };
  Object.defineProperty(window, "speechSynthesis", { value: synth, configurable: true });
})()`

// noRecognition takes speech recognition away, as in Firefox.
const noRecognition = `(function(){
  ["SpeechRecognition", "webkitSpeechRecognition"].forEach(function (n) {
    Object.defineProperty(window, n, { value: undefined, configurable: true, writable: true });
  });
})()`

const (
	launcherJS = shadow + `.querySelector("[data-parley=launcher]")`
	micJS      = shadow + `.querySelector("[data-parley=mic]")`
	inputJS    = shadow + `.querySelector("[data-parley=input]")`
)

// voiceHost starts a server (with the fake provider, when given) whose
// Demo Assistant is a voice_chat widget allowed on a host page.
func voiceHost(t *testing.T, fake *llmtest.Server, mode string) (*env, *http.Request) {
	t.Helper()
	var base, pub string
	host := hostPage(t, &base, &pub)
	e := startVoice(t, fake, mode)
	e.Do("PATCH", "/api/v1/assistants/"+e.DemoAssistant, e.Key, map[string]any{"allowed_origins": []string{host.URL}, "prechat_form": []any{},
		"widget": map[string]any{"title": "Acme Support", "color": "#7c3aed"}}).Want(200)
	base, pub = e.URL, e.pub
	req, _ := http.NewRequest("GET", host.URL, nil)
	return e, req
}

// In voice_chat with the browser's speech recognition, what the visitor
// says is sent, the reply is read aloud, and typing stops the reading.
func TestWidgetVoiceInBrowser(t *testing.T) {
	_, host := voiceHost(t, nil, "voice_chat")
	ctx := browsertest.New(t, browsertest.Desktop)
	browsertest.Do(t, ctx,
		browsertest.InitScript(fakeSpeech),
		chromedp.Navigate(host.URL.String()),
		until(launcherJS),
		js(`Parley.open()`),
		until(micJS+` && !`+micJS+`.hidden && !`+shadow+`.querySelector("[data-parley=speaker]").hidden`),
		js(micJS+`.click()`),
		until(`window.__listening === "en"`),
		until(shadow+`.querySelector("[data-parley=message][data-role=user][data-id]")`),
		until(shadow+`.querySelector("[data-parley=message][data-role=assistant][data-id]")`),
		until(`window.__said.length === 1`),
	)
	if got := browsertest.Eval[string](t, ctx, shadow+`.querySelector("[data-parley=message][data-role=user]").textContent`); got != "Do you ship abroad?" {
		t.Errorf("sent %q", got)
	}
	said := browsertest.Eval[string](t, ctx, `window.__said[0]`)
	reply := browsertest.Eval[string](t, ctx, `Array.prototype.slice.call(`+shadow+`.querySelectorAll("[data-parley=message][data-role=assistant] div")).pop().textContent`)
	if said == "" || said != reply {
		t.Errorf("read aloud %q for the reply %q", said, reply)
	}
	if p := browsertest.Eval[string](t, ctx, shadow+`.querySelector("[data-parley=speaker]").getAttribute("aria-pressed")`); p != "true" {
		t.Errorf("speaker toggle %s after speaking to the mic", p)
	}
	browsertest.Screenshot(t, ctx, "desktop-voice")
	// Typing stops the reading; the toggle turns reading off.
	browsertest.Do(t, ctx, js(inputJS+`.focus()`), chromedp.KeyEvent("T"), until(`window.__stopped === 1`),
		js(shadow+`.querySelector("[data-parley=speaker]").click()`))
	if p := browsertest.Eval[string](t, ctx, shadow+`.querySelector("[data-parley=speaker]").getAttribute("aria-pressed")`); p != "false" {
		t.Errorf("speaker toggle %s after turning it off", p)
	}

	// Mobile: the voice controls fit the full-screen panel.
	m := browsertest.New(t, browsertest.Mobile)
	browsertest.Do(t, m, browsertest.InitScript(fakeSpeech), chromedp.Navigate(host.URL.String()), until(launcherJS),
		js(`Parley.open()`), until(shadow+`.querySelector("[data-parley=message][data-role=assistant]")`))
	browsertest.Screenshot(t, m, "mobile-voice")
}

// Without speech recognition, the microphone records (Chromium's fake
// device), the recording goes to the server, the fake provider
// transcribes it, and the text lands in the input for the visitor to send.
func TestWidgetRecordingInBrowser(t *testing.T) {
	fake := llmtest.New(t)
	e, host := voiceHost(t, fake, "voice_chat")
	ctx := browsertest.New(t, browsertest.Desktop, browsertest.FakeMedia...)
	recBar := shadow + `.querySelector("[data-parley=recording]")`
	browsertest.Do(t, ctx,
		browsertest.InitScript(noRecognition),
		chromedp.Navigate(host.URL.String()),
		until(launcherJS),
		js(`Parley.open()`),
		until(micJS+` && !`+micJS+`.hidden && `+inputJS+` && `+shadow+`.activeElement === `+inputJS),
		js(micJS+`.click()`),
		until(micJS+`.getAttribute("aria-pressed") === "true" && !`+recBar+`.hidden`),
		browsertest.WaitText("parley-widget >>> [data-parley=recording]", "0:01 / 1:00"),
	)
	browsertest.Screenshot(t, ctx, "desktop-recording")
	browsertest.Do(t, ctx,
		js(micJS+`.click()`),
		until(inputJS+`.value === `+jsString(llmtest.DefaultTranscript)),
		until(recBar+`.hidden && `+inputJS+` && `+shadow+`.activeElement === `+inputJS),
	)
	got := fake.Transcriptions()
	if len(got) != 1 || !strings.HasPrefix(got[0].ContentType, "audio/webm") || got[0].Filename != "speech.webm" ||
		!bytes.HasPrefix(got[0].Audio, []byte("\x1a\x45\xdf\xa3")) || len(got[0].Audio) < 1000 || got[0].Language != "en" {
		t.Fatalf("provider got %d transcriptions: %+v", len(got), summary(got))
	}
	if n := browsertest.Eval[int](t, ctx, shadow+`.querySelectorAll("[data-parley=message][data-role=user]").length`); n != 0 {
		t.Errorf("the transcript was sent before the visitor sent it (%d messages)", n)
	}
	browsertest.Do(t, ctx,
		chromedp.KeyEvent("\r"),
		browsertest.WaitText("parley-widget >>> [data-parley=message][data-role=user]", llmtest.DefaultTranscript),
		until(shadow+`.querySelector("[data-parley=message][data-role=assistant][data-id]")`),
	)
	// Cancel: nothing is sent to the server.
	browsertest.Do(t, ctx,
		js(micJS+`.click()`),
		until(`!`+recBar+`.hidden && !`+shadow+`.querySelector("[data-parley=record-cancel]").hidden`),
		chromedp.Sleep(300*time.Millisecond),
		js(shadow+`.querySelector("[data-parley=record-cancel]").click()`),
		until(recBar+`.hidden && `+micJS+`.getAttribute("aria-pressed") === "false"`),
		chromedp.Sleep(300*time.Millisecond),
	)
	if n := len(fake.Transcriptions()); n != 1 {
		t.Errorf("a cancelled recording was sent: %d transcriptions", n)
	}
	if msgs := e.Do("GET", "/api/v1/conversations?type=widget", e.Key, nil).Want(200).JSON["data"].([]any); len(msgs) != 1 {
		t.Errorf("%d widget conversations", len(msgs))
	}
}

// With neither speech recognition nor transcription, there is no mic.
func TestWidgetNoVoiceInputInBrowser(t *testing.T) {
	_, host := voiceHost(t, nil, "voice_chat")
	ctx := browsertest.New(t, browsertest.Desktop, browsertest.FakeMedia...)
	browsertest.Do(t, ctx, browsertest.InitScript(noRecognition), chromedp.Navigate(host.URL.String()), until(launcherJS),
		js(`Parley.open()`), until(inputJS+` && `+shadow+`.activeElement === `+inputJS))
	if hidden := browsertest.Eval[bool](t, ctx, micJS+`.hidden && getComputedStyle(`+micJS+`).display === "none"`); !hidden {
		t.Error("a microphone is shown with no way to hear it")
	}
}

// The open panel keeps focus inside: Tab and Shift+Tab cycle through its
// controls, and Escape closes it and returns focus to the launcher.
func TestWidgetFocusTrapInBrowser(t *testing.T) {
	_, host := voiceHost(t, nil, "chat")
	ctx := browsertest.New(t, browsertest.Desktop)
	active := `(function(){var a=` + shadow + `.activeElement; return document.activeElement === document.querySelector("parley-widget") && a ? (a.getAttribute("data-parley") || a.getAttribute("aria-label") || a.tagName) : "outside"})()`
	browsertest.Do(t, ctx, chromedp.Navigate(host.URL.String()), until(launcherJS), js(launcherJS+`.focus()`), chromedp.KeyEvent("\r"),
		until(inputJS+` && `+shadow+`.activeElement === `+inputJS))
	var forward, backward []string
	for range 7 {
		browsertest.Do(t, ctx, chromedp.KeyEvent("\t"))
		forward = append(forward, browsertest.Eval[string](t, ctx, active))
	}
	for range 7 {
		browsertest.Do(t, ctx, chromedp.KeyEvent("\t", chromedp.KeyModifiers(chromedp.ModifierShift)))
		backward = append(backward, browsertest.Eval[string](t, ctx, active))
	}
	// The panel's controls: close, the input, send (no mic in chat mode).
	wantF := []string{"send", "Close chat", "input", "send", "Close chat", "input", "send"}
	wantB := []string{"input", "Close chat", "send", "input", "Close chat", "send", "input"}
	if strings.Join(forward, ",") != strings.Join(wantF, ",") || strings.Join(backward, ",") != strings.Join(wantB, ",") {
		t.Errorf("Tab went %v, Shift+Tab %v", forward, backward)
	}
	browsertest.Do(t, ctx, chromedp.KeyEvent("\u001b"),
		until(shadow+`.querySelector("[data-parley=panel]").hidden`))
	if got := browsertest.Eval[string](t, ctx, active); got != "launcher" {
		t.Errorf("after Escape the focus is on %s", got)
	}
	if exp := browsertest.Eval[string](t, ctx, launcherJS+`.getAttribute("aria-expanded")`); exp != "false" {
		t.Errorf("launcher aria-expanded %s", exp)
	}
}

func jsString(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range s {
		switch r {
		case '"', '\\':
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	b.WriteByte('"')
	return b.String()
}

func summary(rs []llmtest.TranscriptionRequest) []string {
	var out []string
	for _, r := range rs {
		out = append(out, r.ContentType+" "+r.Filename+" "+r.Language+" "+strings.TrimSpace(string(bytes.ToValidUTF8(r.Audio[:min(8, len(r.Audio))], nil))))
	}
	return out
}
