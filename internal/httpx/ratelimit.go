package httpx

import (
	"fmt"
	"math"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"github.com/parley-dev/parley/internal/fault"
)

// Limiter limits requests per key with token buckets held in this
// process: with several nodes, each enforces the limit on its own. The
// key is the caller's choice: an API key's id, a client IP (ClientIP), a
// widget visitor. A nil *Limiter allows everything.
type Limiter struct {
	limit   rate.Limit // requests a second
	burst   int
	words   string // the limit as clients are told it
	subject string // what is limited, as clients are told it: "this API key"

	mu      sync.Mutex
	buckets map[string]*rate.Limiter
}

// maxBuckets bounds memory; past it the buckets start over (full).
const maxBuckets = 100_000

// NewLimiter allows n requests each per, per key, with bursts of up to
// two seconds' worth (at least 10), so a client that pauses briefly may
// catch up but none can hold more than a moment's capacity in reserve.
// n <= 0 turns it off. subject names what a key stands for in the 429
// problem ("this API key", "this address").
func NewLimiter(n int, per time.Duration, subject string) *Limiter {
	if n <= 0 || per <= 0 {
		return nil
	}
	perSecond := float64(n) / per.Seconds()
	var words string
	switch per {
	case time.Second:
		words = fmt.Sprintf("%d requests a second", n)
	case time.Minute:
		words = fmt.Sprintf("%d requests a minute", n)
	default:
		words = fmt.Sprintf("%d requests every %s", n, per)
	}
	return &Limiter{
		limit: rate.Limit(perSecond), burst: max(int(math.Ceil(2*perSecond)), 10), words: words,
		subject: subject, buckets: map[string]*rate.Limiter{},
	}
}

// allow reports whether key may make a request now, and if not, how long
// until it may.
func (l *Limiter) allow(key string, now time.Time) (bool, time.Duration) {
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

// Limited answers 429 with Retry-After and reports true when key is over
// its limit; the caller then stops.
func (l *Limiter) Limited(w http.ResponseWriter, r *http.Request, key string) bool {
	ok, wait := l.allow(key, time.Now())
	if ok {
		return false
	}
	secs := int(math.Ceil(wait.Seconds()))
	w.Header().Set("Retry-After", strconv.Itoa(secs))
	WriteProblem(w, r, fault.New(fault.CodeRateLimited,
		"%s is over its limit of %s; retry in %d s", l.subject, l.words, secs))
	return true
}

// ClientIP returns the address of the client that sent r, to key a
// Limiter by: the one TrustedProxies found in X-Forwarded-For when the
// connection came from a trusted proxy, else the connection's own address
// (RemoteAddr). Forwarding headers from anyone else are ignored: any
// client can send them, so trusting them would let it pick its own bucket.
func ClientIP(r *http.Request) string {
	if ip, ok := r.Context().Value(clientIPKey{}).(string); ok {
		return ip
	}
	return peerIP(r)
}

// peerIP is the address of the connection's other end.
func peerIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr // no port (a test, a Unix socket)
	}
	return host
}
