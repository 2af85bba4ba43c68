package events

import (
	"context"
	"sync"
	"testing"
	"time"
)

// memory is an in-memory event table.
type memory struct {
	mu  sync.Mutex
	evs []Event
}

func (m *memory) add(ws string, n int) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for range n {
		p := Pos{Seq: int64(len(m.evs) + 1)}
		m.evs = append(m.evs, Event{ID: p.ID(), Pos: p, WorkspaceID: ws, Type: MessageCreated})
	}
}

func (m *memory) Events(_ context.Context, q Query) ([]Event, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []Event
	for _, e := range m.evs {
		if q.After.Less(e.Pos) && (q.WorkspaceID == "" || q.WorkspaceID == e.WorkspaceID) && len(out) < q.Limit {
			out = append(out, e)
		}
	}
	return out, nil
}

func (m *memory) LastEventPos(context.Context) (Pos, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if len(m.evs) == 0 {
		return Pos{}, nil
	}
	return m.evs[len(m.evs)-1].Pos, nil
}

func startHub(t *testing.T, h *Hub) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { h.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
}

func receive(t *testing.T, s *Subscription, n int) []Event {
	t.Helper()
	var got []Event
	for len(got) < n {
		select {
		case e, ok := <-s.C:
			if !ok {
				t.Fatalf("closed after %d events", len(got))
			}
			got = append(got, e)
		case <-time.After(2 * time.Second):
			t.Fatalf("got %d of %d events", len(got), n)
		}
	}
	return got
}

// The hub delivers what committed after it started, in order, to the
// subscribers of each event's workspace only.
func TestHubDelivers(t *testing.T) {
	m := &memory{}
	m.add("ws_a", 2) // before the hub starts: not delivered live
	h := &Hub{Source: m, Poll: time.Hour}
	startHub(t, h)
	ctx := context.Background()
	a, err := h.Subscribe(ctx, "ws_a")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := h.Subscribe(ctx, "ws_b")
	m.add("ws_a", 1)
	m.add("ws_b", 1)
	m.add("ws_a", 1)
	h.Wake()
	got := receive(t, a, 2)
	if got[0].Pos.Seq != 3 || got[1].Pos.Seq != 5 {
		t.Errorf("workspace A got %+v", got)
	}
	if got := receive(t, b, 1); got[0].WorkspaceID != "ws_b" {
		t.Errorf("workspace B got %+v", got)
	}
	select {
	case e := <-a.C:
		t.Errorf("extra event %+v", e)
	case <-time.After(50 * time.Millisecond):
	}
	a.Close()
	a.Close()
	if _, ok := <-a.C; ok || h.Subscribers() != 1 {
		t.Errorf("after Close: open channel or %d subscribers", h.Subscribers())
	}
}

// A subscriber that does not read is dropped once its buffer is full;
// the others, and the writers, never wait for it.
func TestHubDropsSlowSubscriber(t *testing.T) {
	m := &memory{}
	h := &Hub{Source: m, Poll: time.Hour, Buffer: 2}
	startHub(t, h)
	ctx := context.Background()
	slow, _ := h.Subscribe(ctx, "ws_a")
	fast, _ := h.Subscribe(ctx, "ws_a")
	got := make(chan []Event)
	go func() {
		var evs []Event
		for e := range fast.C {
			evs = append(evs, e)
			if len(evs) == 10 {
				break
			}
		}
		got <- evs
	}()
	for range 10 {
		m.add("ws_a", 1)
		h.Wake() // never blocks
		time.Sleep(5 * time.Millisecond)
	}
	select {
	case evs := <-got:
		if len(evs) != 10 || evs[9].Pos.Seq != 10 {
			t.Errorf("fast subscriber got %d events", len(evs))
		}
	case <-time.After(3 * time.Second):
		t.Fatal("the fast subscriber was held up")
	}
	var n int
	for range slow.C {
		n++
	}
	if n != 2 {
		t.Errorf("slow subscriber got %d events before being dropped, want its buffer's 2", n)
	}
}

// Subscribe waits for the hub to know where it starts, or for ctx.
func TestSubscribeBeforeRun(t *testing.T) {
	h := &Hub{Source: &memory{}}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if _, err := h.Subscribe(ctx, "ws_a"); err == nil {
		t.Fatal("Subscribe without a running hub succeeded")
	}
}

func TestParseID(t *testing.T) {
	p := Pos{Seq: 1<<40 + 7}
	if got, ok := ParseID(p.ID()); !ok || got != p {
		t.Errorf("round trip of %s: %v %v", p.ID(), got, ok)
	}
	for _, bad := range []string{"", "evt_", "evt_1", "msg_0000000000000001", "evt_00000000000000001",
		"evt_000000000000000G", "evt_00000000000000A1", "evt_8000000000000001"} {
		if _, ok := ParseID(bad); ok {
			t.Errorf("ParseID(%q) accepted", bad)
		}
	}
}

// A conversation's subscriber gets that conversation's events only (and
// only in its workspace), next to the workspace's subscribers; closing
// and CloseAll drop it.
func TestHubConversationSubscriber(t *testing.T) {
	m := &memory{}
	h := &Hub{Source: m, Poll: time.Hour}
	startHub(t, h)
	ctx := context.Background()
	conv, _ := h.SubscribeConversation(ctx, "ws_a", "conv_1")
	other, _ := h.SubscribeConversation(ctx, "ws_a", "conv_1")
	all, _ := h.Subscribe(ctx, "ws_a")
	if h.Subscribers() != 3 || cap(conv.c) != ConversationBuffer {
		t.Fatalf("%d subscribers, buffer %d", h.Subscribers(), cap(conv.c))
	}
	m.mu.Lock()
	for i, c := range []struct{ ws, conv string }{{"ws_a", "conv_2"}, {"ws_a", "conv_1"}, {"ws_b", "conv_1"}, {"ws_a", ""}} {
		p := Pos{Seq: int64(i + 1)}
		m.evs = append(m.evs, Event{ID: p.ID(), Pos: p, WorkspaceID: c.ws, ConversationID: c.conv, Type: MessageCreated})
	}
	m.mu.Unlock()
	h.Wake()
	if got := receive(t, all, 3); got[0].Pos.Seq != 1 || got[1].Pos.Seq != 2 || got[2].Pos.Seq != 4 {
		t.Errorf("workspace subscriber got %+v", got)
	}
	if got := receive(t, conv, 1); got[0].Pos.Seq != 2 {
		t.Errorf("conversation subscriber got %+v", got)
	}
	select {
	case e := <-conv.C:
		t.Errorf("extra event %+v", e)
	case <-time.After(50 * time.Millisecond):
	}
	conv.Close()
	if _, ok := <-conv.C; ok || h.Subscribers() != 2 {
		t.Errorf("after Close: open channel or %d subscribers", h.Subscribers())
	}
	h.CloseAll()
	n := 0
	for range other.C { // the event it had, then closed
		n++
	}
	if h.Subscribers() != 0 || n != 1 {
		t.Errorf("after CloseAll: %d subscribers, %d events left", h.Subscribers(), n)
	}
}
