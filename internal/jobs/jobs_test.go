package jobs

import (
	"testing"
	"time"
)

// TestRiverConfigFetch: the default fetch cooldown is short, so a job
// inserted just after a fetch is not held back by it, and a poll shorter
// than the cooldown lowers the cooldown (River rejects the pair otherwise).
func TestRiverConfigFetch(t *testing.T) {
	for _, tc := range []struct {
		in            Config
		poll, cooldwn time.Duration
	}{
		{Config{}, 0, 10 * time.Millisecond},
		{Config{FetchPoll: 50 * time.Millisecond}, 50 * time.Millisecond, 10 * time.Millisecond},
		{Config{FetchPoll: 5 * time.Millisecond}, 5 * time.Millisecond, 5 * time.Millisecond},
		{Config{FetchPoll: 20 * time.Millisecond, FetchCooldown: 5 * time.Millisecond}, 20 * time.Millisecond, 5 * time.Millisecond},
	} {
		got := RiverConfig(nil, tc.in)
		if got.FetchPollInterval != tc.poll || got.FetchCooldown != tc.cooldwn {
			t.Errorf("RiverConfig(%+v): poll %v, cooldown %v; want %v, %v", tc.in, got.FetchPollInterval, got.FetchCooldown, tc.poll, tc.cooldwn)
		}
	}
}
