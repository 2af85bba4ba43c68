package conversation

import (
	"context"
	"errors"
	"testing"
	"time"
)

// TestFlights checks the registry End and Shutdown rely on: replies are
// found by conversation, waited for, cut with a cause, and refused once
// shutdown began.
func TestFlights(t *testing.T) {
	var s Service
	ctx := context.Background()

	// A reply that finishes within the wait is not cut.
	quick, finishQuick := s.flights.start(ctx, "conv_a")
	go func() { time.Sleep(20 * time.Millisecond); finishQuick() }()
	if err := settle(ctx, s.flights.of("conv_a"), time.Second, errEnded); err != nil {
		t.Fatal(err)
	}
	if cause := context.Cause(quick); !errors.Is(cause, context.Canceled) { // finish cancels with no cause of its own
		t.Errorf("a finished reply was cut with %v", cause)
	}
	if n := len(s.flights.of("")); n != 0 {
		t.Fatalf("%d replies still registered after finishing", n)
	}

	// A slow reply is cut with the cause once the wait is over, and settle
	// returns only after it is recorded (finished).
	slow, finishSlow := s.flights.start(ctx, "conv_b")
	other, finishOther := s.flights.start(ctx, "conv_c")
	recorded := make(chan struct{})
	go func() {
		<-slow.Done()
		time.Sleep(20 * time.Millisecond) // recording the failure
		close(recorded)
		finishSlow()
	}()
	if err := settle(ctx, s.flights.of("conv_b"), 10*time.Millisecond, errEnded); err != nil {
		t.Fatal(err)
	}
	select {
	case <-recorded:
	default:
		t.Error("settle returned before the cut reply was recorded")
	}
	if !errors.Is(context.Cause(slow), errEnded) {
		t.Errorf("cut with %v, want errEnded", context.Cause(slow))
	}
	if other.Err() != nil {
		t.Error("another conversation's reply was cut")
	}

	// Shutdown cuts what runs, and replies asked for later start cut.
	go func() { <-other.Done(); finishOther() }()
	if err := s.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	if !errors.Is(context.Cause(other), errShuttingDown) {
		t.Errorf("shutdown cut with %v", context.Cause(other))
	}
	late, finishLate := s.flights.start(ctx, "conv_d")
	defer finishLate()
	if !errors.Is(context.Cause(late), errShuttingDown) {
		t.Errorf("a reply asked for after shutdown was not refused: %v", context.Cause(late))
	}

	// Shutdown gives up when its context ends before a reply is recorded.
	_, finishStuck := s.flights.start(ctx, "conv_e")
	defer finishStuck()
	short, cancel := context.WithTimeout(ctx, 10*time.Millisecond)
	defer cancel()
	if err := s.Shutdown(short); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("shutdown with a stuck reply: %v", err)
	}
}
