package openai

import (
	"context"
	"errors"
	"testing"

	"github.com/parley-dev/parley/internal/llm"
	"github.com/parley-dev/parley/internal/llm/llmtest"
)

func TestTranscribe(t *testing.T) {
	fake := llmtest.New(t)
	fake.Transcript = func(r llmtest.TranscriptionRequest) string { return "  Hallo, " + r.Language + "!  " }
	c := New(fake.BaseURL(), "sk-test", Options{MaxRetries: 1})
	audio := []byte("\x1a\x45\xdf\xa3 not really opus")
	text, err := c.Transcribe(context.Background(), "whisper-1", llm.Audio{Data: audio, ContentType: "audio/webm", Filename: "speech.webm", Language: "de"})
	if err != nil || text != "Hallo, de!" {
		t.Fatalf("transcript %q, %v", text, err)
	}
	got := fake.Transcriptions()
	if len(got) != 1 {
		t.Fatalf("%d requests", len(got))
	}
	r := got[0]
	if r.Model != "whisper-1" || r.Language != "de" || r.Filename != "speech.webm" || r.ContentType != "audio/webm" ||
		string(r.Audio) != string(audio) || r.Authorization != "Bearer sk-test" {
		t.Errorf("request %+v", r)
	}
	// A format the provider cannot read: its own message, not retried.
	_, err = c.Transcribe(context.Background(), "whisper-1", llm.Audio{Data: audio, ContentType: "audio/webm", Filename: "speech.txt"})
	var pe *llm.ProviderError
	if !errors.As(err, &pe) || pe.Status != 400 || pe.Param != "file" || len(fake.Transcriptions()) != 1 {
		t.Errorf("bad format: %v (%d requests)", err, len(fake.Transcriptions()))
	}
	// A server error is retried; a refused key is not.
	fake.FailNext(llmtest.Failure{Status: 503})
	if text, err := c.Transcribe(context.Background(), "whisper-1", llm.Audio{Data: audio, Filename: "a.ogg", ContentType: "audio/ogg"}); err != nil || text == "" {
		t.Errorf("after a 503: %q, %v", text, err)
	}
	fake.FailNext(llmtest.Failure{Status: 401, Message: "Incorrect API key provided: sk-test."})
	_, err = c.Transcribe(context.Background(), "whisper-1", llm.Audio{Data: audio, Filename: "a.ogg", ContentType: "audio/ogg"})
	if !errors.As(err, &pe) || pe.Code != llm.CodeProviderAuth || len(fake.Transcriptions()) != 4 {
		t.Errorf("refused key: %v (%d requests)", err, len(fake.Transcriptions()))
	}
}
