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
	fl := f.Follower(sub, q)
	if fl.CatchUp(ctx, send) {
		fl.Live(ctx, send)
	}
}

// Follower is Follow taken apart, for a server that holds many streams
// without a goroutine waiting on each (httpx.Parker): CatchUp hands over
// the events in the table, then, each time the subscription announces
// something (Subscription.Notify), Pending hands over what it holds
// without waiting. Together they deliver exactly what Follow does. A
// Follower is used by one goroutine at a time.
type Follower struct {
	feed *Feed
	sub  *Subscription
	q    Query
}

// Follower returns a Follower of the events of q after q.After: those
// in the table, then the live ones of sub, which the caller subscribed
// before.
func (f *Feed) Follower(sub *Subscription, q Query) *Follower {
	if q.Limit <= 0 {
		q.Limit = 100
	}
	return &Follower{feed: f, sub: sub, q: q}
}

// CatchUp hands send the events in the table after the resume point, a
// page at a time. It reports false when the stream should end: a table
// read failed, or send reported false.
func (fl *Follower) CatchUp(ctx context.Context, send func(Event) bool) bool {
	for {
		evs, err := fl.feed.Store.Events(ctx, fl.q)
		if err != nil {
			return false
		}
		for _, e := range evs {
			fl.q.After = e.Pos
			if !send(e) {
				return false
			}
		}
		if len(evs) < fl.q.Limit {
			return true
		}
	}
}

// Live hands send the live events as they come, until ctx ends, send
// reports false or the hub drops the subscription: the rest of Follow,
// for a caller that keeps a goroutine on the stream after all.
func (fl *Follower) Live(ctx context.Context, send func(Event) bool) {
	for {
		select {
		case <-ctx.Done():
			return
		case e, ok := <-fl.sub.C:
			if !ok || !fl.hand(e, send) {
				return
			}
		}
	}
}

// Pending hands send the live events the subscription holds now, without
// waiting for more, skipping those CatchUp already handed over. It
// reports false when the stream should end: send reported false, or the
// hub dropped the subscription (for falling behind, or at shutdown).
func (fl *Follower) Pending(send func(Event) bool) bool {
	for {
		select {
		case e, ok := <-fl.sub.C:
			if !ok || !fl.hand(e, send) {
				return false
			}
		default:
			return true
		}
	}
}

// hand passes a live event on unless it is not newer than the last one
// handed over or not one the query selects.
func (fl *Follower) hand(e Event, send func(Event) bool) bool {
	if !fl.q.After.Less(e.Pos) || !fl.q.Matches(e) {
		return true
	}
	fl.q.After = e.Pos
	return send(e)
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
