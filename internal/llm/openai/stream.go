package openai

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"
	"time"

	"github.com/parley-dev/parley/internal/llm"
)

// maxLine bounds one line of a stream; a longer one is a broken server.
const maxLine = 4 << 20

// stream sends a streamed request and reads its server-sent events. Every
// line read resets the idle timer, so a slow model that keeps sending may
// run as long as the reply timeout allows. A stream that ends before its
// finish chunk or [DONE], or reports an error midway, is an
// *llm.IncompleteError carrying what arrived and the usage reported.
func (c *Client) stream(ctx context.Context, body map[string]any, start time.Time, onDelta llm.DeltaFunc) (llm.Response, error) {
	res, a, err := c.send(ctx, body, true)
	if err != nil {
		return llm.Response{}, err
	}
	defer a.cancel()
	defer res.Body.Close()
	if mt, _, _ := mime.ParseMediaType(res.Header.Get("Content-Type")); mt == "application/json" {
		// A server that does not stream answers with the whole reply.
		data, err := io.ReadAll(io.LimitReader(res.Body, maxBody))
		if err != nil {
			return llm.Response{}, fmt.Errorf("read the model reply: %w", a.err(ctx, err))
		}
		resp, err := c.readComplete(data)
		if err == nil && resp.Content != "" {
			resp.FirstToken = time.Since(start)
			_ = onDelta(resp.Content)
		}
		return resp, err
	}

	var (
		text     strings.Builder
		resp     llm.Response
		finish   string
		done     bool
		listener = onDelta
		data     []string
		event    string
		midErr   error
	)
	// dispatch handles one event; it reports false to stop reading.
	dispatch := func() bool {
		payload := strings.Join(data, "\n")
		name := event
		data, event = data[:0], ""
		if payload == "" {
			return true
		}
		if payload == "[DONE]" {
			done = true
			return false
		}
		var w wireReply
		if err := json.Unmarshal([]byte(payload), &w); err != nil {
			midErr = &llm.ProviderError{Status: http.StatusBadGateway, Code: llm.CodeProviderError,
				Message: "the stream sent a chunk that is not valid JSON"}
			return false
		}
		if name == "error" || len(w.Error) > 0 && string(w.Error) != "null" {
			midErr = parseError(http.StatusBadGateway, []byte(payload), c.apiKey)
			return false
		}
		if w.Model != "" {
			resp.Model = w.Model
		}
		// Usage may come in every chunk (running totals) or only the last:
		// the last one reported is the call's.
		if u, cost, ok, err := w.usage(); err != nil {
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
		if len(w.Choices) == 0 {
			return true
		}
		ch := w.Choices[0]
		if ch.FinishReason != nil && *ch.FinishReason != "" {
			finish = finishReason(*ch.FinishReason)
		}
		delta := ch.Delta.text()
		if delta == "" {
			return true
		}
		if text.Len() == 0 {
			resp.FirstToken = time.Since(start)
		}
		text.WriteString(delta)
		if listener != nil && listener(delta) != nil {
			listener = nil // the caller left; finish the reply anyway
		}
		return true
	}

	r := bufio.NewReaderSize(res.Body, 64<<10)
	var readErr error
read:
	for {
		line, err := readLine(r)
		a.touch()
		if err == nil || line != "" {
			switch {
			case line == "":
				if !dispatch() {
					break read
				}
			case strings.HasPrefix(line, ":"): // a comment: a keep-alive
			case strings.HasPrefix(line, "data:"):
				data = append(data, strings.TrimPrefix(strings.TrimPrefix(line, "data:"), " "))
			case strings.HasPrefix(line, "event:"):
				event = strings.TrimSpace(strings.TrimPrefix(line, "event:"))
			}
		}
		if err != nil {
			if len(data) > 0 {
				dispatch() // a last event without its blank line
			}
			if !errors.Is(err, io.EOF) {
				readErr = a.err(ctx, err)
			}
			break
		}
	}
	resp.Content = text.String()
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

// readLine reads one line without its line ending.
func readLine(r *bufio.Reader) (string, error) {
	var b []byte
	for {
		part, isPrefix, err := r.ReadLine()
		b = append(b, part...)
		if len(b) > maxLine {
			return "", errors.New("a stream line is longer than 4 MiB")
		}
		if err != nil || !isPrefix {
			return string(b), err
		}
	}
}
