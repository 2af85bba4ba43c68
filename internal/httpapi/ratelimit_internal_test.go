package httpapi

import (
	"testing"
	"time"

	"github.com/parley-dev/parley/internal/config"
)

// TestDefaultRateLimitFitsScripts: with the default setting one key may
// send a burst of 200 requests and then 100 a second, so an import
// script is not stopped at 10 requests a second.
func TestDefaultRateLimitFitsScripts(t *testing.T) {
	r, err := config.ParseRate(config.DefaultAPIRateLimit)
	if err != nil {
		t.Fatal(err)
	}
	l := NewKeyLimiter(r.N, r.Per)
	t0 := time.Unix(1_800_000_000, 0)
	for i := range 200 {
		if ok, _ := l.allow("k", t0); !ok {
			t.Fatalf("request %d of a burst of 200 refused", i+1)
		}
	}
	if ok, wait := l.allow("k", t0); ok || wait <= 0 || wait > 20*time.Millisecond {
		t.Errorf("request 201 at once: allowed %v, wait %v; want refused for about 10 ms", ok, wait)
	}
	for i := range 100 {
		if ok, _ := l.allow("k", t0.Add(time.Second)); !ok {
			t.Fatalf("request %d of the next second refused", i+1)
		}
	}
	if ok, _ := l.allow("k", t0.Add(time.Second)); ok {
		t.Error("more than 100 requests allowed in the second after the burst")
	}
}
