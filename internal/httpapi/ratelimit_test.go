package httpapi_test

import (
	"net/http"
	"strconv"
	"testing"

	"github.com/parley-dev/parley/internal/apptest"
	"github.com/parley-dev/parley/internal/config"
)

func TestRateLimit(t *testing.T) {
	s := apptest.Start(t, testDB(t), func(c *config.Config) { c.APIRateLimit = "60" }) // burst 10
	var limited *apptest.Response
	for i := 0; i < 11; i++ {
		r := s.Do("GET", "/api/v1/conversations/count", s.Key, nil)
		if r.Status == http.StatusTooManyRequests {
			limited = r
			break
		}
		r.Want(200)
	}
	if limited == nil {
		t.Fatal("11 requests in a burst of 10 were all allowed")
	}
	if limited.Str("code") != "rate_limited" {
		t.Errorf("problem: %s", limited.Body)
	}
	if secs, err := strconv.Atoi(limited.Header.Get("Retry-After")); err != nil || secs < 1 {
		t.Errorf("Retry-After %q", limited.Header.Get("Retry-After"))
	}
	// Another key has a bucket of its own.
	s.Do("GET", "/api/v1/conversations/count", s.OtherKey, nil).Want(200)
}
