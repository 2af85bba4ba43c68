package httpx

import (
	"context"
	"errors"
	"net"
	"net/http"
	"runtime"
	"sync"
	"time"
)

// Parker serves idle server-sent event streams without a goroutine
// each. net/http gives every connection a goroutine for its handler, a
// second that watches for the client hanging up, and about 10 KB of
// buffers; a node holding ten thousand widget streams that are silent
// most of the time would spend most of its memory on them. A handler
// that has sent what it had (the headers, the events it caught up on)
// parks its stream instead: the Parker hijacks the connection, the
// handler returns, net/http lets go of its goroutines and buffers, and
// a few worker goroutines write the stream's later events and its
// heartbeats when there is something to write.
//
// Only HTTP/1.1 GET streams park (HTTP/2 connections carry many
// streams and cannot be hijacked); the response is framed by closing
// the connection (Parkable asks net/http for that), so what a worker
// writes after the hijack needs no framing of its own. Every write has
// a deadline; a stream whose write fails or times out is closed, and
// its client reconnects and resumes. A client that hangs up is noticed
// at the next heartbeat at the latest.
//
// The zero Parker is ready to use; its fields may not change once it
// has parked a stream. Shutdown ends every parked stream.
type Parker struct {
	// Workers is how many goroutines write to parked streams (default:
	// GOMAXPROCS, at least 4). A write blocks its worker for at most
	// WriteTimeout.
	Workers int
	// Heartbeat is how often an idle stream gets a ": ping" comment, so
	// that proxies keep it open and a client that went away is noticed
	// (default 15 s).
	Heartbeat time.Duration
	// WriteTimeout bounds each write to a parked stream (default 10 s):
	// a client that stops reading is dropped instead of holding a
	// worker.
	WriteTimeout time.Duration

	once    sync.Once
	ctx     context.Context // cancelled at Shutdown: feeders stop their work
	cancel  context.CancelFunc
	workers sync.WaitGroup

	mu      sync.Mutex
	cond    *sync.Cond       // signalled when queue grows or the Parker closes
	queue   []*parked        // streams with work to do, first come first served
	streams map[*parked]bool // every parked stream not yet ended
	closed  bool
}

// Feeder produces the events of a parked stream.
type Feeder interface {
	// Watch is called once, as the stream parks: the feeder calls wake
	// whenever Feed may have something to send (wake never blocks).
	Watch(wake func())
	// Feed sends what is ready now, without waiting for more, and
	// reports whether the stream goes on. ctx ends when the Parker shuts
	// down. Feed is never called by two goroutines at once.
	Feed(ctx context.Context, send func(id, event string, v any) error) bool
	// Close releases what the feeder holds; it is called once, when the
	// stream ends, after the last Feed.
	Close()
}

// parked is one parked stream. Its flags are guarded by Parker.mu.
type parked struct {
	conn  net.Conn
	feed  Feeder
	timer *time.Timer // the next heartbeat

	queued  bool // in the queue
	running bool // a worker is serving it
	again   bool // woken while running: serve it once more
	beat    bool // a heartbeat is due
	ended   bool
}

func (p *Parker) init() {
	p.once.Do(func() {
		p.ctx, p.cancel = context.WithCancel(context.Background())
		p.cond = sync.NewCond(&p.mu)
		p.streams = make(map[*parked]bool)
		n := p.Workers
		if n <= 0 {
			n = max(4, runtime.GOMAXPROCS(0))
		}
		p.workers.Add(n)
		for range n {
			go p.work()
		}
	})
}

func (p *Parker) heartbeat() time.Duration {
	if p.Heartbeat <= 0 {
		return 15 * time.Second
	}
	return p.Heartbeat
}

func (p *Parker) writeTimeout() time.Duration {
	if p.WriteTimeout <= 0 {
		return 10 * time.Second
	}
	return p.WriteTimeout
}

// Parkable reports whether the stream answering r may park, and if so
// asks net/http to frame the response by closing the connection
// (Transfer-Encoding: identity, which it turns into Connection: close
// and no chunking), so that after the hijack the Parker writes events
// as they are. Call it before the headers go out; a stream that then
// does not park is still a correct, if not kept-alive, response.
func (p *Parker) Parkable(w http.ResponseWriter, r *http.Request) bool {
	if p == nil || r.Method != http.MethodGet || r.ProtoMajor != 1 || r.ProtoMinor < 1 {
		return false
	}
	p.init()
	p.mu.Lock()
	closed := p.closed
	p.mu.Unlock()
	if closed {
		return false
	}
	w.Header().Set("Transfer-Encoding", "identity")
	return true
}

// errParked fails writes through an SSE whose stream was parked.
var errParked = errors.New("sse: the stream was handed to a Parker")

// Park hands the stream of s, started after Parkable reported true and
// without a heartbeat of its own, to the Parker, which from then on
// feeds it from f. It reports false when the connection cannot be
// hijacked (or the Parker is shutting down): the handler then serves
// the stream itself, as it would have without a Parker. After true, the
// handler must return without touching w, s or f again; f belongs to
// the Parker, which closes it when the stream ends.
func (p *Parker) Park(w http.ResponseWriter, s *SSE, f Feeder) bool {
	p.init()
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.started || s.failed != nil || s.timer != nil || s.stopped {
		return false
	}
	if err := s.rc.Flush(); err != nil {
		s.failed = err
		return false
	}
	conn, rw, err := s.rc.Hijack()
	if err != nil {
		return false
	}
	s.failed = errParked
	// Flushed above, so nothing waits in the writer; what the reader
	// holds was sent after the request, which an event stream ignores.
	if rw.Writer.Buffered() > 0 {
		_ = rw.Flush()
	}
	st := &parked{conn: conn, feed: f}
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		f.Close()
		_ = conn.Close()
		return true // the stream was hijacked: it has ended, like every other at shutdown
	}
	p.streams[st] = true
	st.timer = time.AfterFunc(p.heartbeat(), func() { p.wakeBeat(st) })
	p.mu.Unlock()
	f.Watch(func() { p.wake(st) })
	p.wake(st) // what came before Watch
	return true
}

// Parked is how many streams are parked.
func (p *Parker) Parked() int {
	p.init()
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.streams)
}

// wake queues st for a worker unless it is queued already; a stream a
// worker is serving is served once more afterwards.
func (p *Parker) wake(st *parked) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.wakeLocked(st)
}

func (p *Parker) wakeBeat(st *parked) {
	p.mu.Lock()
	defer p.mu.Unlock()
	st.beat = true
	p.wakeLocked(st)
}

func (p *Parker) wakeLocked(st *parked) {
	switch {
	case st.ended:
	case st.running:
		st.again = true
	case !st.queued:
		st.queued = true
		p.queue = append(p.queue, st)
		p.cond.Signal()
	}
}

// work serves queued streams until the Parker shuts down and the queue
// is empty.
func (p *Parker) work() {
	defer p.workers.Done()
	for {
		p.mu.Lock()
		for len(p.queue) == 0 && !p.closed {
			p.cond.Wait()
		}
		if len(p.queue) == 0 {
			p.mu.Unlock()
			return
		}
		st := p.queue[0]
		p.queue[0] = nil
		p.queue = p.queue[1:]
		st.queued, st.running = false, true
		beat, closed := st.beat, p.closed
		st.beat = false
		p.mu.Unlock()

		ok := !closed && p.serve(st, beat)

		p.mu.Lock()
		st.running = false
		if !ok {
			st.ended = true
			delete(p.streams, st)
		} else if st.again {
			st.again = false
			p.wakeLocked(st)
		}
		p.mu.Unlock()
		if !ok {
			p.end(st)
		}
	}
}

// serve writes what st's feeder has ready, then the heartbeat if one is
// due, and reports whether the stream goes on.
func (p *Parker) serve(st *parked, beat bool) bool {
	send := func(id, event string, v any) error {
		msg, err := formatEvent(id, event, v)
		if err != nil {
			return err
		}
		return p.write(st.conn, msg)
	}
	if !st.feed.Feed(p.ctx, send) {
		return false
	}
	if beat {
		if peerClosed(st.conn) || p.write(st.conn, ping) != nil {
			return false
		}
		st.timer.Reset(p.heartbeat())
	}
	return true
}

// write writes b to conn within the write timeout.
func (p *Parker) write(conn net.Conn, b []byte) error {
	if err := conn.SetWriteDeadline(time.Now().Add(p.writeTimeout())); err != nil {
		return err
	}
	_, err := conn.Write(b)
	return err
}

// end releases an ended stream: its heartbeat, its feeder and its
// connection, whose closing ends the response (the client reconnects
// and resumes after the last event it got).
func (p *Parker) end(st *parked) {
	st.timer.Stop()
	st.feed.Close()
	_ = st.conn.Close()
}

// Shutdown ends every parked stream and stops the workers, waiting for
// them until ctx ends; then it closes the connections of the streams
// still being written, so no worker outlives it for long. Streams that
// park later are closed at once. It is safe to call more than once.
func (p *Parker) Shutdown(ctx context.Context) error {
	if p == nil {
		return nil
	}
	p.init()
	p.mu.Lock()
	if !p.closed {
		p.closed = true
		p.cancel()
		// Every stream is served once more, which ends it (see work).
		for st := range p.streams {
			p.wakeLocked(st)
		}
		p.cond.Broadcast()
	}
	p.mu.Unlock()
	done := make(chan struct{})
	go func() { p.workers.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
	}
	// A worker is stuck in a write (bounded by WriteTimeout): closing
	// the connections under it ends the writes at once.
	p.mu.Lock()
	for st := range p.streams {
		_ = st.conn.Close()
	}
	p.mu.Unlock()
	<-done
	return ctx.Err()
}
