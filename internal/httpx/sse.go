package httpx

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"sync"
	"time"
)

// SSE writes server-sent events to one response. The headers go out with
// the first event (or Start), so an error found before then can still be
// answered as an ordinary problem. Long-lived streams call Heartbeat so
// that proxies and clients see traffic while nothing happens; Close stops
// it. Its methods may be called from several goroutines.
type SSE struct {
	w   http.ResponseWriter
	rc  *http.ResponseController
	ctx context.Context

	mu      sync.Mutex
	started bool
	failed  error

	beat    sync.Once
	timer   *time.Timer // the next heartbeat; nil without one
	stopped bool        // Close was called: nothing more is written by the heartbeat
}

// NewSSE returns a stream answering r on w.
func NewSSE(w http.ResponseWriter, r *http.Request) *SSE {
	return &SSE{w: w, rc: http.NewResponseController(w), ctx: r.Context()}
}

// errBadField refuses an id or event name that would break the framing
// of the stream (a line break would start a new field) or that clients
// must ignore (an id holding NUL).
var errBadField = errors.New("sse: ids and event names must not contain CR, LF or NUL")

// Started reports whether the headers have been sent: from then on an
// error can only be reported inside the stream.
func (s *SSE) Started() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.started
}

// Start sends the headers now, for streams that should tell the client
// at once that they are open.
func (s *SSE) Start() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.write(nil)
}

// Send writes one event whose data is v as JSON.
func (s *SSE) Send(event string, v any) error { return s.SendID("", event, v) }

// SendID is Send with an "id:" line, which the client sends back as
// Last-Event-ID when it reconnects; "" writes none.
func (s *SSE) SendID(id, event string, v any) error {
	msg, err := formatEvent(id, event, v)
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.write(msg)
}

// formatEvent is one event as it goes on the wire: an optional "id:"
// line, the event name and v as JSON.
func formatEvent(id, event string, v any) ([]byte, error) {
	if strings.ContainsAny(id, "\r\n\x00") || strings.ContainsAny(event, "\r\n\x00") {
		return nil, errBadField
	}
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	msg := make([]byte, 0, len(id)+len(event)+len(b)+24)
	if id != "" {
		msg = append(msg, "id: "+id+"\n"...)
	}
	msg = append(msg, "event: "+event+"\ndata: "...)
	msg = append(msg, b...) // JSON from encoding/json holds no raw line breaks
	msg = append(msg, "\n\n"...)
	return msg, nil
}

// write sends the headers if they have not gone yet, then b, and
// flushes. After a failed write every call returns that failure: the
// client is gone. The caller holds mu.
func (s *SSE) write(b []byte) error {
	if s.failed != nil {
		return s.failed
	}
	if !s.started {
		h := s.w.Header()
		h.Set("Content-Type", "text/event-stream")
		h.Set("Cache-Control", "no-store")
		h.Set("X-Accel-Buffering", "no") // nginx would otherwise buffer the stream
		s.w.WriteHeader(http.StatusOK)
		s.started = true
	}
	if len(b) > 0 {
		if _, err := s.w.Write(b); err != nil {
			s.failed = err
			return err
		}
	}
	if err := s.rc.Flush(); err != nil {
		s.failed = err
	}
	return s.failed
}

// ping is the heartbeat: a comment line, which clients ignore.
var ping = []byte(": ping\n\n")

// Heartbeat sends a ": ping" comment every interval until Close is
// called, the request ends or a write fails, so that idle connections are
// not closed by proxies and a client that went away is noticed. It starts
// the stream if no event has. Only the first call has an effect.
//
// The beat is a timer, not a goroutine: a node holding ten thousand idle
// streams (the web widget's) keeps no extra stack per stream for it.
func (s *SSE) Heartbeat(every time.Duration) {
	if every <= 0 {
		return
	}
	s.beat.Do(func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		s.timer = time.AfterFunc(every, func() {
			s.mu.Lock()
			defer s.mu.Unlock()
			if s.stopped || s.ctx.Err() != nil || s.write(ping) != nil {
				return
			}
			s.timer.Reset(every)
		})
	})
}

// Close stops the heartbeat; a beat being written finishes first, so
// nothing is written after Close returns (and the handler, which returns
// after it, ends the response). It is safe to call more than once.
func (s *SSE) Close() {
	s.beat.Do(func() {}) // no heartbeat may start after Close
	s.mu.Lock()
	defer s.mu.Unlock()
	s.stopped = true
	if s.timer != nil {
		s.timer.Stop()
	}
}
