package openai

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"
	"time"

	sdk "github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/packages/ssestream"

	"github.com/parley-dev/parley/internal/llm"
)

// stream sends a streamed request and reads its events. Every read resets
// the idle timer, so a slow model that keeps sending may run as long as
// the reply timeout allows. A stream that ends before its finish chunk or
// [DONE], or reports an error midway, is an *llm.IncompleteError carrying
// what arrived and the usage reported.
//
// The SDK's decoder splits the server-sent events and its types read each
// chunk. The events are walked here rather than through the SDK's typed
// ssestream.Stream, which ends alike on [DONE] and on a connection that
// dropped: Parley must tell a complete reply from a cut one.
func (c *Client) stream(ctx context.Context, p sdk.ChatCompletionNewParams, start time.Time, onDelta llm.DeltaFunc) (llm.Response, error) {
	res, err := c.send(ctx, p, true)
	if err != nil {
		return llm.Response{}, err
	}
	defer res.Body.Close()
	if mt, _, _ := mime.ParseMediaType(res.Header.Get("Content-Type")); mt == "application/json" {
		// A server that does not stream answers with the whole reply.
		data, err := io.ReadAll(io.LimitReader(res.Body, maxBody))
		if err != nil {
			return llm.Response{}, fmt.Errorf("read the model reply: %w", err)
		}
		resp, err := c.readComplete(data)
		if err == nil && resp.Content != "" {
			resp.FirstToken = time.Since(start)
			_ = onDelta(resp.Content)
		}
		return resp, err
	}

	var (
		content  strings.Builder
		resp     llm.Response
		finish   string
		done     bool
		listener = onDelta
		midErr   error
	)
	// chunk handles one event; it reports false to stop reading.
	chunk := func(ev ssestream.Event) bool {
		payload := bytes.TrimSpace(ev.Data)
		if len(payload) == 0 {
			return true
		}
		if string(payload) == "[DONE]" {
			done = true
			return false
		}
		var ch sdk.ChatCompletionChunk
		if err := json.Unmarshal(payload, &ch); err != nil {
			midErr = &llm.ProviderError{Status: http.StatusBadGateway, Code: llm.CodeProviderError,
				Message: "the stream sent a chunk that is not valid JSON"}
			return false
		}
		if ev.Type == "error" || present(ch.JSON.ExtraFields["error"]) {
			midErr = parseError(http.StatusBadGateway, payload, c.apiKey)
			return false
		}
		if ch.Model != "" {
			resp.Model = ch.Model
		}
		// Usage may come in every chunk (running totals) or only the last:
		// the last one reported is the call's.
		if u, cost, ok, err := usageOf(payload); err != nil {
			midErr = &llm.ProviderError{Status: http.StatusBadGateway, Code: llm.CodeProviderError, Message: err.Error()}
			return false
		} else if ok {
			resp.Usage = u
			if cost != nil {
				resp.ProviderCost = cost
			}
		} else if cost != nil {
			resp.ProviderCost = cost
		}
		if len(ch.Choices) == 0 {
			return true
		}
		choice := ch.Choices[0]
		if choice.FinishReason != "" {
			finish = finishReason(choice.FinishReason)
		}
		delta := text(choice.Delta.Content, choice.Delta.JSON.Content, choice.Delta.Refusal)
		if delta == "" {
			return true
		}
		if content.Len() == 0 {
			resp.FirstToken = time.Since(start)
		}
		content.WriteString(delta)
		if listener != nil && listener(delta) != nil {
			listener = nil // the caller left; finish the reply anyway
		}
		return true
	}

	dec := ssestream.NewDecoder(res)
	for dec.Next() && chunk(dec.Event()) {
	}
	readErr := dec.Err() // nil at the end of the body
	resp.Content = content.String()
	switch {
	case midErr != nil:
		resp.FinishReason = llm.FinishError
		return resp, &llm.IncompleteError{Reason: llm.IncompleteCut, Response: resp, Err: midErr}
	case finish != "":
		resp.FinishReason = finish // complete even if the usage chunk was lost
	case done:
		resp.FinishReason = llm.FinishStop
	default:
		if readErr == nil {
			readErr = io.ErrUnexpectedEOF
		}
		resp.FinishReason = llm.FinishError
		return resp, &llm.IncompleteError{Reason: llm.IncompleteCut, Response: resp, Err: readErr}
	}
	return resp, nil
}
