package llmtest

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"path"
	"slices"
	"strings"
)

// TranscriptionRequest is what the fake received at /audio/transcriptions.
type TranscriptionRequest struct {
	Model, Language string
	// Filename and ContentType are those of the "file" part.
	Filename, ContentType string
	Audio                 []byte
	Authorization         string
}

// DefaultTranscript is what the fake hears in any recording unless
// Server.Transcript says otherwise.
const DefaultTranscript = "Do you ship to Canada?"

// MaxAudioBytes is OpenAI's documented upload limit (25 MB); the fake
// refuses more, as it does.
const MaxAudioBytes = 25 << 20

// audioFormats are the extensions OpenAI documents as readable; it tells
// the format by the file name's extension.
var audioFormats = []string{"flac", "m4a", "mp3", "mp4", "mpeg", "mpga", "oga", "ogg", "wav", "webm"}

// Transcriptions returns every transcription request received so far.
func (s *Server) Transcriptions() []TranscriptionRequest {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]TranscriptionRequest(nil), s.transcriptions...)
}

// transcribe serves POST /v1/audio/transcriptions as OpenAI documents
// it: a multipart/form-data body with the recording as "file", "model"
// and optional "language", "prompt", "response_format" and
// "temperature"; the answer is {"text": …} (json, the default) or the
// bare text (response_format=text). Errors have OpenAI's shape, type
// invalid_request_error, naming the parameter. Scripted failures
// (FailNext) and Delay apply as to chat completions.
func (s *Server) transcribe(w http.ResponseWriter, r *http.Request) {
	bad := func(status int, param, msg string) {
		writeOpenAIError(w, status, msg, "invalid_request_error", "", param)
	}
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != "multipart/form-data" {
		bad(http.StatusBadRequest, "", "Invalid Content-Type header ("+r.Header.Get("Content-Type")+"), expected multipart/form-data.")
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, MaxAudioBytes+1<<20)
	if err := r.ParseMultipartForm(8 << 20); err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			bad(http.StatusRequestEntityTooLarge, "", fmt.Sprintf("Maximum content size limit (%d) exceeded.", MaxAudioBytes))
			return
		}
		bad(http.StatusBadRequest, "", "Could not parse multipart form: "+err.Error())
		return
	}
	defer func() { _ = r.MultipartForm.RemoveAll() }()
	req := TranscriptionRequest{Model: r.FormValue("model"), Language: r.FormValue("language"),
		Authorization: r.Header.Get("Authorization")}
	if req.Model == "" {
		bad(http.StatusBadRequest, "model", "you must provide a model parameter")
		return
	}
	f, hdr, err := r.FormFile("file")
	if err != nil {
		bad(http.StatusBadRequest, "file", "you must provide a file parameter")
		return
	}
	req.Audio, err = io.ReadAll(f)
	_ = f.Close()
	if err != nil {
		bad(http.StatusBadRequest, "file", "could not read the file: "+err.Error())
		return
	}
	req.Filename, req.ContentType = hdr.Filename, hdr.Header.Get("Content-Type")
	if len(req.Audio) > MaxAudioBytes {
		bad(http.StatusRequestEntityTooLarge, "file", fmt.Sprintf("Maximum content size limit (%d) exceeded (%d bytes read)", MaxAudioBytes, len(req.Audio)))
		return
	}
	if ext := strings.TrimPrefix(strings.ToLower(path.Ext(req.Filename)), "."); !slices.Contains(audioFormats, ext) {
		bad(http.StatusBadRequest, "file", "Invalid file format. Supported formats: ['"+strings.Join(audioFormats, "', '")+"']")
		return
	}
	if req.Language != "" && len(req.Language) != 2 {
		bad(http.StatusBadRequest, "language", "Invalid language '"+req.Language+"'. Language parameter must be specified in ISO-639-1 format.")
		return
	}
	s.mu.Lock()
	s.transcriptions = append(s.transcriptions, req)
	var fail *Failure
	if len(s.failures) > 0 {
		fail = &s.failures[0]
		s.failures = s.failures[1:]
	}
	transcript, delay := s.Transcript, s.Delay
	s.mu.Unlock()
	if !wait(r, delay) || answerFailure(w, fail) {
		return
	}
	text := DefaultTranscript
	if transcript != nil {
		text = transcript(req)
	}
	if r.FormValue("response_format") == "text" {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = io.WriteString(w, text+"\n")
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{"text": text,
		"usage": map[string]any{"type": "duration", "seconds": 1 + len(req.Audio)/16000}})
}
