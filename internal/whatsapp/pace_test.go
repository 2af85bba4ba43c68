package whatsapp_test

import (
	"testing"
	"time"

	"github.com/parley-dev/parley/internal/whatsapp"
)

// TestPacerNumberThroughput: a number sends its burst of 80 at once, then
// one every 12.5 ms; a send told to wait takes nothing from the schedule.
func TestPacerNumberThroughput(t *testing.T) {
	p := &whatsapp.Pacer{}
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	for i := range 80 {
		// 80 customers: the pair limit is not what stops them.
		if wait := p.Reserve(now, "106540352242922", "+1555000"+string(rune('A'+i%26))+string(rune('a'+i/26))); wait != 0 {
			t.Fatalf("send %d of the burst waits %s", i+1, wait)
		}
	}
	if wait := p.Reserve(now, "106540352242922", "+15550009999"); wait != whatsapp.NumberInterval {
		t.Fatalf("the 81st send waits %s, want %s", wait, whatsapp.NumberInterval)
	}
	// Asking again does not push the wait further out.
	if wait := p.Reserve(now, "106540352242922", "+15550009999"); wait != whatsapp.NumberInterval {
		t.Fatalf("asked again, the 81st send waits %s", wait)
	}
	// Another number has its own throughput.
	if wait := p.Reserve(now, "106540352240000", "+15550009999"); wait != 0 {
		t.Errorf("another number waits %s", wait)
	}
	now = now.Add(whatsapp.NumberInterval)
	if wait := p.Reserve(now, "106540352242922", "+15550009999"); wait != 0 {
		t.Errorf("one interval later the send still waits %s", wait)
	}
	// Over one second the number sends at most 80 + 80 (the burst, then
	// the rate).
	sent := 0
	for range 1000 {
		now = now.Add(time.Millisecond)
		for p.Reserve(now, "106540352242922", "+1555"+now.Format("150405.000")) == 0 {
			sent++
		}
	}
	if sent < 79 || sent > 81 {
		t.Errorf("%d sends in the next second, want 80", sent)
	}
}

// TestPacerPairLimit: one customer gets Meta's burst of 45, then one
// message every 6 seconds; after a quiet spell the burst is back.
func TestPacerPairLimit(t *testing.T) {
	p := &whatsapp.Pacer{}
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	for i := range whatsapp.PairBurst {
		if wait := p.Reserve(now.Add(time.Duration(i)*20*time.Millisecond), "1065", "+447700900123"); wait != 0 {
			t.Fatalf("message %d of the burst waits %s", i+1, wait)
		}
	}
	now = now.Add(time.Second)
	wait := p.Reserve(now, "1065", "+447700900123")
	if wait <= 0 || wait > whatsapp.PairInterval {
		t.Fatalf("the 46th message waits %s, want up to %s", wait, whatsapp.PairInterval)
	}
	// Others are not held up by this customer.
	if w := p.Reserve(now, "1065", "US.13491208655302741918"); w != 0 {
		t.Errorf("another customer waits %s", w)
	}
	now = now.Add(wait)
	if w := p.Reserve(now, "1065", "+447700900123"); w != 0 {
		t.Errorf("after the wait it still waits %s", w)
	}
	if w := p.Reserve(now, "1065", "+447700900123"); w != whatsapp.PairInterval {
		t.Errorf("the next one waits %s, want %s", w, whatsapp.PairInterval)
	}
	// Quiet for 45 intervals: a full burst again.
	now = now.Add(whatsapp.PairBurst * whatsapp.PairInterval)
	for i := range whatsapp.PairBurst {
		if w := p.Reserve(now, "1065", "+447700900123"); w != 0 {
			t.Fatalf("after a quiet spell message %d waits %s", i+1, w)
		}
	}
}

// TestPacerSettings: a pacer set tighter than Meta's defaults paces by
// its own numbers.
func TestPacerSettings(t *testing.T) {
	p := &whatsapp.Pacer{PairInterval: time.Minute, PairBurst: 1}
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	if w := p.Reserve(now, "1", "+1"); w != 0 {
		t.Fatalf("first waits %s", w)
	}
	if w := p.Reserve(now.Add(time.Second), "1", "+1"); w != 59*time.Second {
		t.Errorf("second waits %s, want 59s", w)
	}
}
