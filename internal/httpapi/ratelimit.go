package httpapi

import (
	"math"
	"net/http"
	"strconv"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"github.com/parley-dev/parley/internal/fault"
)

// KeyLimiter limits requests per API key with token buckets held in this
// process: with several nodes, each enforces the limit on its own.
type KeyLimiter struct {
	perMinute int
	burst     int

	mu      sync.Mutex
	buckets map[string]*rate.Limiter
}

// maxBuckets bounds memory; past it the buckets start over (full).
const maxBuckets = 100_000

// NewKeyLimiter allows perMinute requests a minute per key, with bursts
// of up to a sixth of that (at least 10). perMinute <= 0 turns it off.
func NewKeyLimiter(perMinute int) *KeyLimiter {
	if perMinute <= 0 {
		return nil
	}
	return &KeyLimiter{perMinute: perMinute, burst: max(perMinute/6, 10), buckets: map[string]*rate.Limiter{}}
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
		b = rate.NewLimiter(rate.Limit(float64(l.perMinute)/60), l.burst)
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
	writeProblem(w, r, fault.New(fault.CodeRateLimited,
		"this API key is over its limit of %d requests a minute; retry in %d s", l.perMinute, secs))
	return true
}
