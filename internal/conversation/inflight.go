package conversation

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"
)

// ErrorReplyInterrupted is the error code of the failure note recorded for
// a reply cut short by End or by a shutdown.
const ErrorReplyInterrupted = "reply_interrupted"

// recordTimeout bounds the writes that record a reply, or its failure.
// They run on a context of their own, because the reply's context may have
// been cut: a reply the provider already charged for must still be stored.
const recordTimeout = 10 * time.Second

// Causes of a cut reply; reply tells them apart with context.Cause.
var (
	errShuttingDown = errors.New("the server is shutting down")
	errEnded        = errors.New("the conversation was ended")
)

// flight is one reply being written on this node.
type flight struct {
	cancel context.CancelCauseFunc
	done   chan struct{} // closed once the reply, or its failure, is stored
}

// flights tracks the replies in flight on this node by conversation, so
// End can wait for them and Shutdown can cut them before the store closes.
// The zero value is ready; it is safe for concurrent use.
type flights struct {
	mu      sync.Mutex
	closing bool
	byConv  map[string]map[*flight]struct{}
}

// start registers a reply for a conversation. The returned context keeps
// ctx's values but not its cancellation (a reply outlives a client that
// hangs up); it ends when the reply is cut. finish must be called once the
// reply or its failure is stored. After shutdown began, the context comes
// back already cut.
func (fs *flights) start(ctx context.Context, conversationID string) (context.Context, func()) {
	ctx, cancel := context.WithCancelCause(context.WithoutCancel(ctx))
	f := &flight{cancel: cancel, done: make(chan struct{})}
	fs.mu.Lock()
	if fs.byConv == nil {
		fs.byConv = map[string]map[*flight]struct{}{}
	}
	if fs.byConv[conversationID] == nil {
		fs.byConv[conversationID] = map[*flight]struct{}{}
	}
	fs.byConv[conversationID][f] = struct{}{}
	if fs.closing {
		cancel(errShuttingDown)
	}
	fs.mu.Unlock()
	return ctx, func() {
		fs.mu.Lock()
		delete(fs.byConv[conversationID], f)
		if len(fs.byConv[conversationID]) == 0 {
			delete(fs.byConv, conversationID)
		}
		fs.mu.Unlock()
		cancel(nil)
		close(f.done)
	}
}

// of returns the replies in flight for one conversation, or for all of
// them when conversationID is empty.
func (fs *flights) of(conversationID string) []*flight {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	var out []*flight
	for id, set := range fs.byConv {
		if conversationID != "" && id != conversationID {
			continue
		}
		for f := range set {
			out = append(out, f)
		}
	}
	return out
}

// settle waits up to wait for the listed replies to finish, then cuts the
// rest with cause and waits for their failures to be recorded, or for ctx
// to end.
func settle(ctx context.Context, list []*flight, wait time.Duration, cause error) error {
	timer := time.NewTimer(wait)
	defer timer.Stop()
	for i, f := range list {
		select {
		case <-f.done:
		case <-timer.C:
			for _, g := range list[i:] {
				g.cancel(cause)
			}
			return awaitAll(ctx, list[i:])
		case <-ctx.Done():
			return fmt.Errorf("wait for replies in flight: %w", ctx.Err())
		}
	}
	return nil
}

func awaitAll(ctx context.Context, list []*flight) error {
	for _, f := range list {
		select {
		case <-f.done:
		case <-ctx.Done():
			return fmt.Errorf("wait for cut replies to be recorded: %w", ctx.Err())
		}
	}
	return nil
}

// Shutdown cuts every reply in flight on this node, and any asked for
// later, and waits until each is recorded as failed (its caller answers
// 503 service_unavailable, its stream an error event) or ctx ends. Call it
// while the store is still open, and again once nothing can ask for a
// reply any more (the HTTP server has stopped), to catch replies asked for
// in between.
func (s *Service) Shutdown(ctx context.Context) error {
	s.flights.mu.Lock()
	s.flights.closing = true
	s.flights.mu.Unlock()
	list := s.flights.of("")
	for _, f := range list {
		f.cancel(errShuttingDown)
	}
	return awaitAll(ctx, list)
}
