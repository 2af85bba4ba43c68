package events

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"
)

// Reader is what the hub reads events from.
type Reader interface {
	Events(ctx context.Context, q Query) ([]Event, error)
	LastEventPos(ctx context.Context) (Pos, error)
}

// Hub fans committed events out to this node's live subscribers (SSE
// clients). It never trusts the order or the content of a wake-up: woken
// (after a local commit, or by PostgreSQL's NOTIFY from any node), it
// reads the events after the last one it delivered from the table, in
// order, so every node delivers every event once and in the same order.
// A subscriber too slow to keep its buffer from filling is dropped — its
// channel closed — rather than ever making the hub, or a writer, wait;
// its client reconnects and catches up from the table.
type Hub struct {
	// Source is where events are read.
	Source Reader
	// Buffer is how many events a subscriber may fall behind before it
	// is dropped (default 256).
	Buffer int
	// Poll is how often the hub reads without being woken, for wake-ups
	// lost while a listener reconnects (default 2 s).
	Poll time.Duration
	// Log receives read failures (nil: slog.Default).
	Log *slog.Logger

	mu   sync.Mutex
	subs map[*Subscription]struct{} // to a whole workspace
	// conv holds the subscribers to one conversation, by its id, so an
	// event is handed only to those of its conversation: a node holding
	// thousands of widget streams does not wake each for every event.
	conv    map[string]map[*Subscription]struct{}
	wakeC   chan struct{}
	started chan struct{} // closed once Run knows where to start
	once    sync.Once
}

// batch is how many events the hub reads at a time.
const batch = 500

// Subscription is one subscriber's feed of a workspace's events.
type Subscription struct {
	// C delivers the events in order; it is closed when the subscriber
	// is dropped or closes.
	C            <-chan Event
	c            chan Event
	workspace    string
	conversation string // "" for the whole workspace
	hub          *Hub
	// notify, when set, is called after each event queued on c and
	// after c is closed, with hub.mu held (see Notify).
	notify func()
}

func (h *Hub) init() {
	h.once.Do(func() {
		h.subs = make(map[*Subscription]struct{})
		h.conv = make(map[string]map[*Subscription]struct{})
		h.wakeC = make(chan struct{}, 1)
		h.started = make(chan struct{})
	})
}

// Subscribe registers a subscriber to the events of one workspace that
// the hub reads from now on. It waits until the hub runs and knows where
// it starts (or ctx ends), so that a subscriber that then reads what is
// already in the table, and after it what the hub delivers, misses
// nothing in between.
func (h *Hub) Subscribe(ctx context.Context, workspaceID string) (*Subscription, error) {
	return h.subscribe(ctx, workspaceID, "", h.Buffer)
}

// ConversationBuffer is the buffer of a subscription to one
// conversation: its events come a few at a time (a message, its reply),
// and a subscriber dropped for falling behind resumes from the table, so
// a small buffer loses nothing and keeps many idle streams cheap.
const ConversationBuffer = 16

// SubscribeConversation is Subscribe to the events of one conversation
// only, with a buffer of ConversationBuffer events (the web widget's
// streams).
func (h *Hub) SubscribeConversation(ctx context.Context, workspaceID, conversationID string) (*Subscription, error) {
	return h.subscribe(ctx, workspaceID, conversationID, ConversationBuffer)
}

func (h *Hub) subscribe(ctx context.Context, workspaceID, conversationID string, n int) (*Subscription, error) {
	h.init()
	select {
	case <-h.started:
	case <-ctx.Done():
		return nil, fmt.Errorf("subscribe to events: %w", context.Cause(ctx))
	}
	if n <= 0 {
		n = 256
	}
	c := make(chan Event, n)
	s := &Subscription{C: c, c: c, workspace: workspaceID, conversation: conversationID, hub: h}
	h.mu.Lock()
	if conversationID == "" {
		h.subs[s] = struct{}{}
	} else {
		if h.conv[conversationID] == nil {
			h.conv[conversationID] = map[*Subscription]struct{}{}
		}
		h.conv[conversationID][s] = struct{}{}
	}
	h.mu.Unlock()
	return s, nil
}

// Notify makes the hub call f after it queues an event on C and after it
// closes C, so that a server holding many subscriptions needs no
// goroutine parked on each channel: f schedules the work, and the work
// drains C without waiting (see Follower.Pending). f is called with the
// hub's lock held: it must return at once and must not call the hub or
// the subscription. Notify calls f once itself, after setting it, for
// events that came before. Only the first call has an effect.
func (s *Subscription) Notify(f func()) {
	s.hub.mu.Lock()
	set := s.notify == nil
	if set {
		s.notify = f
	}
	s.hub.mu.Unlock()
	if set {
		f()
	}
}

// Close unsubscribes; it may be called more than once.
func (s *Subscription) Close() {
	s.hub.mu.Lock()
	defer s.hub.mu.Unlock()
	s.hub.drop(s)
}

// drop removes s and closes its channel; h.mu is held.
func (h *Hub) drop(s *Subscription) {
	set := h.subs
	if s.conversation != "" {
		set = h.conv[s.conversation]
	}
	if _, ok := set[s]; ok {
		delete(set, s)
		if len(set) == 0 && s.conversation != "" {
			delete(h.conv, s.conversation)
		}
		close(s.c)
		if s.notify != nil {
			s.notify()
		}
	}
}

// Subscribers is how many subscribers are registered.
func (h *Hub) Subscribers() int {
	h.init()
	h.mu.Lock()
	defer h.mu.Unlock()
	n := len(h.subs)
	for _, set := range h.conv {
		n += len(set)
	}
	return n
}

// Wake tells the hub that events may have committed. It never blocks.
func (h *Hub) Wake() {
	h.init()
	select {
	case h.wakeC <- struct{}{}:
	default:
	}
}

// Run delivers events until ctx ends, starting after the newest event
// committed when it starts.
func (h *Hub) Run(ctx context.Context) {
	h.init()
	poll := h.Poll
	if poll <= 0 {
		poll = 2 * time.Second
	}
	log := h.Log
	if log == nil {
		log = slog.Default()
	}
	var pos Pos
	started := false
	tick := time.NewTicker(poll)
	defer tick.Stop()
	for {
		if !started {
			p, err := h.Source.LastEventPos(ctx)
			if err == nil {
				pos, started = p, true
				close(h.started)
			} else if ctx.Err() == nil {
				log.Warn("events: cannot read the newest event", "err", err)
			}
		}
		for started {
			evs, err := h.Source.Events(ctx, Query{After: pos, Limit: batch})
			if err != nil {
				if ctx.Err() == nil {
					log.Warn("events: cannot read new events", "err", err)
				}
				break
			}
			for _, ev := range evs {
				h.deliver(ev)
				pos = ev.Pos
			}
			if len(evs) < batch {
				break
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-h.wakeC:
		case <-tick.C:
		}
	}
}

// deliver hands ev to every subscriber of its workspace, dropping those
// whose buffer is full.
func (h *Hub) deliver(ev Event) {
	h.mu.Lock()
	defer h.mu.Unlock()
	hand := func(s *Subscription) {
		if s.workspace != ev.WorkspaceID {
			return
		}
		select {
		case s.c <- ev:
			if s.notify != nil {
				s.notify()
			}
		default:
			h.drop(s)
		}
	}
	for s := range h.subs {
		hand(s)
	}
	if ev.ConversationID != "" {
		for s := range h.conv[ev.ConversationID] {
			hand(s)
		}
	}
}

// CloseAll drops every subscriber, so their streams end (at shutdown:
// clients reconnect to another node and resume where they were).
func (h *Hub) CloseAll() {
	h.init()
	h.mu.Lock()
	defer h.mu.Unlock()
	for s := range h.subs {
		h.drop(s)
	}
	for _, set := range h.conv {
		for s := range set {
			h.drop(s)
		}
	}
}
