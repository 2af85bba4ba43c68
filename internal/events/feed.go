package events

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/parley-dev/parley/internal/fault"
)

// Feed is a workspace's events as its consumers read them: paged from
// the table, or live from the hub after catching up.
type Feed struct {
	Store Store
	Hub   *Hub
}

// subscribeWait bounds how long Live waits for the hub: it starts with the
// node, and should it not have (its database unreachable), a stream
// should say so rather than hang.
const subscribeWait = 5 * time.Second

// Live subscribes to the workspace's events as they are recorded, on any
// node. A hub that is not running yet is a CodeUnavailable fault, whose
// message names what is unavailable (what, e.g. "live events").
func (f *Feed) Live(ctx context.Context, workspaceID, what string) (*Subscription, error) {
	subCtx, cancel := context.WithTimeout(ctx, subscribeWait)
	defer cancel()
	sub, err := f.Hub.Subscribe(subCtx, workspaceID)
	if err != nil {
		return nil, fault.New(fault.CodeUnavailable, "%s are not available yet; try again", what)
	}
	return sub, nil
}

// LiveConversation is Live for the events of one conversation only (see
// Hub.SubscribeConversation).
func (f *Feed) LiveConversation(ctx context.Context, workspaceID, conversationID, what string) (*Subscription, error) {
	subCtx, cancel := context.WithTimeout(ctx, subscribeWait)
	defer cancel()
	sub, err := f.Hub.SubscribeConversation(subCtx, workspaceID, conversationID)
	if err != nil {
		return nil, fault.New(fault.CodeUnavailable, "%s are not available yet; try again", what)
	}
	return sub, nil
}

// Follow hands send the events of q after q.After, each once and in
// order: first those in the table, a page (q.Limit, default 100) at a
// time, then the live ones of sub, which the caller subscribed before, so
// that no event falls between the two (live events already handed over
// are skipped). It returns when ctx ends, when send reports false (the
// client is gone), when a table read fails, or when the hub drops sub for
// falling behind: in each case the client resumes after the last event it
// got.
func (f *Feed) Follow(ctx context.Context, sub *Subscription, q Query, send func(Event) bool) {
	if q.Limit <= 0 {
		q.Limit = 100
	}
	hand := func(e Event) bool {
		q.After = e.Pos
		return send(e)
	}
	for {
		evs, err := f.Store.Events(ctx, q)
		if err != nil {
			return
		}
		for _, e := range evs {
			if !hand(e) {
				return
			}
		}
		if len(evs) < q.Limit {
			break
		}
	}
	for {
		select {
		case <-ctx.Done():
			return
		case e, ok := <-sub.C:
			if !ok {
				return
			}
			if q.After.Less(e.Pos) && q.Matches(e) && !hand(e) {
				return
			}
		}
	}
}

// Check validates q's filters and its resume point: a point before the
// pruning horizon answers cursor_expired, since events after it are gone.
// The zero After (no resume point) starts at the oldest event kept.
func (f *Feed) Check(ctx context.Context, q Query) error {
	var v fault.Validation
	for _, t := range q.Types {
		if !slices.Contains(Types, t) {
			v.Add("type", "%q is not an event type; use one of %v", t, Types)
			break
		}
	}
	if err := v.Err(); err != nil {
		return err
	}
	if q.After == (Pos{}) {
		return nil
	}
	h, err := f.Store.EventHorizon(ctx)
	if err != nil {
		return fmt.Errorf("events: %w", err)
	}
	if q.After.Less(h) {
		return &fault.Error{Code: fault.CodeCursorExpired,
			Message: "after: events after this one are older than the retention and have been deleted; start again without after (from the oldest event kept)"}
	}
	return nil
}

// List returns the events of q (whose WorkspaceID must be set), oldest
// first, after checking it.
func (f *Feed) List(ctx context.Context, q Query) ([]Event, error) {
	if q.WorkspaceID == "" {
		return nil, fmt.Errorf("events: list without a workspace")
	}
	if err := f.Check(ctx, q); err != nil {
		return nil, err
	}
	evs, err := f.Store.Events(ctx, q)
	if err != nil {
		return nil, fmt.Errorf("events: %w", err)
	}
	return evs, nil
}

// Matches reports whether ev is one q selects (its position aside).
func (q Query) Matches(ev Event) bool {
	return (q.WorkspaceID == "" || ev.WorkspaceID == q.WorkspaceID) &&
		(q.ConversationID == "" || ev.ConversationID == q.ConversationID) &&
		(len(q.Types) == 0 || slices.Contains(q.Types, ev.Type))
}
