package widget

import (
	"bytes"
	"context"
	"errors"
	"mime"
	"net/http"
	"regexp"
	"strings"

	"github.com/parley-dev/parley/internal/assistant"
	"github.com/parley-dev/parley/internal/fault"
	"github.com/parley-dev/parley/internal/httpx"
	"github.com/parley-dev/parley/internal/llm"
)

// Limits of a recording sent for transcription. A minute of speech is
// what a chat message holds; at the widget's 32 kbit/s Opus it is about
// 240 KB, so MaxAudioBytes leaves room for browsers that ignore the
// bitrate asked for, and keeps one request's cost bounded.
const (
	MaxAudioSeconds = 60
	MaxAudioBytes   = 2 << 20
)

// audioTypes are the recording formats taken, each with the extension
// the provider tells the format by and how its content begins (so a body
// that is not what its Content-Type says is refused here, not billed).
var audioTypes = map[string]struct {
	ext   string
	magic func([]byte) bool
}{
	"audio/webm":  {"webm", prefix("\x1a\x45\xdf\xa3")},
	"audio/ogg":   {"ogg", prefix("OggS")},
	"audio/mp4":   {"mp4", isMP4},
	"audio/x-m4a": {"m4a", isMP4},
	"audio/mpeg":  {"mp3", isMP3},
	"audio/wav":   {"wav", isWAV},
	"audio/x-wav": {"wav", isWAV},
	"audio/wave":  {"wav", isWAV},
	"audio/flac":  {"flac", prefix("fLaC")},
}

func prefix(p string) func([]byte) bool {
	return func(b []byte) bool { return bytes.HasPrefix(b, []byte(p)) }
}

func isMP4(b []byte) bool { return len(b) >= 8 && string(b[4:8]) == "ftyp" }
func isWAV(b []byte) bool {
	return len(b) >= 12 && string(b[:4]) == "RIFF" && string(b[8:12]) == "WAVE"
}
func isMP3(b []byte) bool {
	return bytes.HasPrefix(b, []byte("ID3")) || (len(b) >= 2 && b[0] == 0xff && b[1]&0xe0 == 0xe0)
}

// voiceJSON tells the widget which voice input it may offer: the
// browser's own speech recognition needs nothing from the server; where a
// browser has none, Transcription says whether it may record and send
// the audio here instead (within MaxSeconds and MaxBytes).
type voiceJSON struct {
	Transcription bool `json:"transcription"`
	MaxSeconds    int  `json:"max_seconds"`
	MaxBytes      int  `json:"max_bytes"`
}

// transcribes reports whether recordings of this assistant's visitors
// are transcribed: a speech-to-text model is configured and the
// assistant is in voice_chat mode (a chat-only widget has no microphone,
// so its key cannot be used to spend on transcription).
func (a *API) transcribes(as *assistant.Assistant) bool {
	return a.Transcriber != nil && a.TranscriptionModel != "" && as.Widget.Mode == modeVoiceChat
}

func (a *API) voice(as *assistant.Assistant) voiceJSON {
	return voiceJSON{Transcription: a.transcribes(as), MaxSeconds: MaxAudioSeconds, MaxBytes: MaxAudioBytes}
}

// modeVoiceChat is the widget mode with a microphone.
const modeVoiceChat = "voice_chat"

var (
	errNoTranscription = fault.New(fault.CodeNotFound, "speech transcription is not available for this assistant: the browser's own speech recognition is the only voice input")
	languageRe         = regexp.MustCompile(`^[a-z]{2}$`)
)

// transcribe turns the visitor's recording (the raw body, of an audio
// Content-Type) into text with the configured speech-to-text model and
// answers {"text": …}. The widget puts the text in the visitor's input,
// to be read and sent. Nothing is stored: the recording is not kept.
func (a *API) transcribe(w http.ResponseWriter, r *http.Request, s *session) {
	if !s.transcribes {
		httpx.WriteProblem(w, r, errNoTranscription)
		return
	}
	if a.PerVisitor.Limited(w, r, s.Visitor) {
		return
	}
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	format, ok := audioTypes[strings.ToLower(mt)]
	if err != nil || !ok {
		httpx.WriteProblem(w, r, fault.New(fault.CodeUnsupportedMedia,
			"Content-Type must be one of audio/webm, audio/ogg, audio/mp4, audio/mpeg, audio/wav or audio/flac"))
		return
	}
	lang := r.URL.Query().Get("language")
	if lang != "" && !languageRe.MatchString(lang) {
		httpx.WriteProblem(w, r, fault.Invalid("language", "must be a two-letter ISO-639-1 code such as en"))
		return
	}
	if r.ContentLength > MaxAudioBytes {
		httpx.WriteProblem(w, r, fault.New(fault.CodeTooLarge, "the recording is larger than the limit of %d bytes", MaxAudioBytes))
		return
	}
	audio, err := httpx.ReadBody(w, r, MaxAudioBytes)
	if err != nil {
		httpx.WriteProblem(w, r, err)
		return
	}
	switch {
	case len(audio) == 0:
		httpx.WriteProblem(w, r, fault.Invalid("audio", "the recording is empty"))
		return
	case !format.magic(audio):
		httpx.WriteProblem(w, r, fault.Invalid("audio", "the body is not %s audio", mt))
		return
	}
	text, err := a.Transcriber.Transcribe(r.Context(), a.TranscriptionModel,
		llm.Audio{Data: audio, ContentType: mt, Filename: "speech." + format.ext, Language: lang})
	if err != nil {
		a.logger().WarnContext(r.Context(), "widget: transcription failed", "assistant", s.Assistant, "err", err)
		httpx.WriteProblem(w, r, transcriptionProblem(r.Context(), err))
		return
	}
	httpx.WriteJSON(w, http.StatusOK, map[string]string{"text": text})
}

// transcriptionProblem says what the visitor can do about a failed
// transcription; the provider's own words are logged for the operator.
func transcriptionProblem(ctx context.Context, err error) error {
	var pe *llm.ProviderError
	switch {
	case errors.Is(err, context.Canceled) && ctx.Err() != nil:
		return err // the visitor left
	case errors.Is(err, context.DeadlineExceeded):
		return fault.New(fault.CodeModelTimeout, "the recording took too long to transcribe; try a shorter one or type your message")
	case errors.As(err, &pe) && pe.Status >= 400 && pe.Status < 500 && pe.Code == llm.CodeProviderError:
		return fault.Invalid("audio", "the recording could not be understood; try again or type your message")
	case errors.As(err, &pe) && !pe.Temporary():
		return fault.New(fault.CodeModelUnavailable, "speech transcription is unavailable at the moment; type your message instead")
	}
	return fault.New(fault.CodeModelFailed, "the recording could not be transcribed; try again or type your message")
}
