package httpapi

import (
	"fmt"
	"math"
	"net/http"
	"strconv"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"github.com/parley-dev/parley/internal/fault"
	"github.com/parley-dev/parley/internal/httpx"
)

// KeyLimiter limits requests per API key with token buckets held in this
// process: with several nodes, each enforces the limit on its own.
type KeyLimiter struct {
	limit rate.Limit // requests a second
	burst int
	words string // the limit as clients are told it

	mu      sync.Mutex
	buckets map[string]*rate.Limiter
}

// maxBuckets bounds memory; past it the buckets start over (full).
const maxBuckets = 100_000

// NewKeyLimiter allows n requests each per, per key, with bursts of up to
// two seconds' worth (at least 10), so a client that pauses briefly may
// catch up but none can hold more than a moment's capacity in reserve.
// n <= 0 turns it off.
func NewKeyLimiter(n int, per time.Duration) *KeyLimiter {
	if n <= 0 || per <= 0 {
		return nil
	}
	perSecond := float64(n) / per.Seconds()
	words := fmt.Sprintf("%d requests a minute", n)
	if per == time.Second {
		words = fmt.Sprintf("%d requests a second", n)
	}
	return &KeyLimiter{
		limit: rate.Limit(perSecond), burst: max(int(math.Ceil(2*perSecond)), 10), words: words,
		buckets: map[string]*rate.Limiter{},
	}
}

// allow reports whether key may make a request now, and if not, how long
// until it may.
func (l *KeyLimiter) allow(key string, now time.Time) (bool, time.Duration) {
	if l == nil {
		return true, 0
	}
	l.mu.Lock()
	b, ok := l.buckets[key]
	if !ok {
		if len(l.buckets) >= maxBuckets {
			clear(l.buckets)
		}
		b = rate.NewLimiter(l.limit, l.burst)
		l.buckets[key] = b
	}
	l.mu.Unlock()
	r := b.ReserveN(now, 1)
	if d := r.DelayFrom(now); d > 0 {
		r.CancelAt(now)
		return false, d
	}
	return true, 0
}

// limited answers 429 with Retry-After when the key is over its limit.
func (l *KeyLimiter) limited(w http.ResponseWriter, r *http.Request, key string) bool {
	ok, wait := l.allow(key, time.Now())
	if ok {
		return false
	}
	secs := int(math.Ceil(wait.Seconds()))
	w.Header().Set("Retry-After", strconv.Itoa(secs))
	httpx.WriteProblem(w, r, fault.New(fault.CodeRateLimited,
		"this API key is over its limit of %s; retry in %d s", l.words, secs))
	return true
}
