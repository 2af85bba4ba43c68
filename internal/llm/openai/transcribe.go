package openai

import (
	"bytes"
	"context"
	"strings"
	"time"

	sdk "github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"

	"github.com/parley-dev/parley/internal/llm"
)

// TranscribeTimeout bounds one transcription, retries included: a minute
// of speech takes a few seconds, and the visitor waits for it.
const TranscribeTimeout = 60 * time.Second

// Transcribe implements llm.Transcriber with the server's
// POST /audio/transcriptions: a multipart form with the recording as
// "file" (its name's extension tells the format), "model" and, when
// known, "language"; the JSON answer's "text" is the transcript. The
// SDK builds the form and retries what may succeed later, as for chat.
func (c *Client) Transcribe(ctx context.Context, model string, a llm.Audio) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, min(TranscribeTimeout, c.o.ReplyTimeout))
	defer cancel()
	p := sdk.AudioTranscriptionNewParams{
		File:  sdk.File(bytes.NewReader(a.Data), a.Filename, a.ContentType),
		Model: model,
	}
	if a.Language != "" {
		p.Language = sdk.String(a.Language)
	}
	x := &exchange{c: c}
	opts := []option.RequestOption{option.WithMiddleware(x.middleware)}
	if dl, ok := ctx.Deadline(); ok {
		opts = append(opts, option.WithMaxRetryDelay(time.Until(dl)))
	}
	res, err := c.audio.New(ctx, p, opts...)
	if err := x.outcome(ctx, err); err != nil {
		return "", err
	}
	return strings.TrimSpace(res.Text), nil
}
