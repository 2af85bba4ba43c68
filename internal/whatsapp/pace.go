package whatsapp

import (
	"sync"
	"time"
)

// Meta's send limits (Graph API "throughput" and "pair rate limit"): a
// business number sends 80 messages a second by default; one number
// sends one user about one message every 6 seconds, and may burst up to
// 45 messages in 6 seconds, borrowed from that user's later quota (after
// a burst of 20, about two minutes must pass). Going past either is
// error 130429 or 131056.
const (
	NumberInterval = time.Second / 80
	NumberBurst    = 80
	PairInterval   = 6 * time.Second
	PairBurst      = 45
)

// Pacer spaces a node's sends out so they stay within Meta's limits
// instead of running into them: per business number and per (number,
// customer) pair, each a "generic cell rate" schedule — a send is due at
// its theoretical arrival time, which moves one interval on per send and
// may run ahead of the clock by at most burst−1 intervals. A send not due
// yet is told how long to wait, and nothing is taken from the schedule,
// so the job that waits (snoozed by River, not sleeping in a worker)
// asks again then. The schedule lives in this process: nodes sharing a
// number each pace their own sends, and Meta's errors, still honoured,
// catch what they send together.
type Pacer struct {
	// Zero fields take Meta's defaults above.
	NumberInterval, PairInterval time.Duration
	NumberBurst, PairBurst       int

	mu  sync.Mutex
	tat map[string]time.Time // key → theoretical arrival time of its next send
}

// Reserve reports how long a send from number to recipient must wait at
// now; zero means it may go, and it is counted.
func (p *Pacer) Reserve(now time.Time, number, recipient string) time.Duration {
	ni, nb := orDefault(p.NumberInterval, NumberInterval), orDefaultInt(p.NumberBurst, NumberBurst)
	pi, pb := orDefault(p.PairInterval, PairInterval), orDefaultInt(p.PairBurst, PairBurst)
	nk, pk := "n\x00"+number, "p\x00"+number+"\x00"+recipient
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.tat == nil {
		p.tat = map[string]time.Time{}
	}
	nt, nwait := p.due(now, nk, ni, nb)
	pt, pwait := p.due(now, pk, pi, pb)
	if wait := max(nwait, pwait); wait > 0 {
		return wait
	}
	p.tat[nk], p.tat[pk] = nt.Add(ni), pt.Add(pi)
	if len(p.tat) > 10_000 {
		p.forget(now)
	}
	return 0
}

// due is key's schedule at now: its arrival time, and the wait before a
// send fits within the burst.
func (p *Pacer) due(now time.Time, key string, interval time.Duration, burst int) (time.Time, time.Duration) {
	tat := p.tat[key]
	if tat.Before(now) {
		tat = now
	}
	ahead := tat.Sub(now) - time.Duration(burst-1)*interval
	return tat, max(ahead, 0)
}

// forget drops the schedules that have caught up with the clock: they
// say nothing a fresh one would not.
func (p *Pacer) forget(now time.Time) {
	for k, tat := range p.tat {
		if !tat.After(now) {
			delete(p.tat, k)
		}
	}
}

func orDefault(d, def time.Duration) time.Duration {
	if d > 0 {
		return d
	}
	return def
}

func orDefaultInt(n, def int) int {
	if n > 0 {
		return n
	}
	return def
}
