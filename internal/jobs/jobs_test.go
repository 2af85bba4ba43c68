package jobs_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/parley-dev/parley/internal/jobs"
	"github.com/parley-dev/parley/internal/store/sqlite"
)

// clock is a settable time for the runner.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time      { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *clock) Add(d time.Duration) { c.mu.Lock(); c.now = c.now.Add(d); c.mu.Unlock() }

func TestRunner(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	db, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "jobs.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = db.Close() }()
	if err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	clk := &clock{now: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	var mu sync.Mutex
	calls := map[string]int{}
	r := &jobs.Runner{
		// The test moves its clock an hour at a time; a long lease keeps a
		// running job from being claimed again meanwhile.
		Store: db, Now: clk.Now, Poll: 5 * time.Millisecond, Lease: 10_000 * time.Hour,
		Handlers: map[string]jobs.Handler{
			"flaky": func(ctx context.Context, j *jobs.Job) error {
				mu.Lock()
				defer mu.Unlock()
				calls["flaky"]++
				if calls["flaky"] < 3 {
					return errors.New("not yet")
				}
				return nil
			},
			"panics": func(ctx context.Context, j *jobs.Job) error { panic("boom") },
			"refused": func(ctx context.Context, j *jobs.Job) error {
				return fmt.Errorf("extract: %w", jobs.Permanent(errors.New("the provider refused the key")))
			},
		},
	}
	flaky, _ := jobs.New("ws", "flaky", nil, clk.Now())
	panics, _ := jobs.New("ws", "panics", nil, clk.Now())
	panics.MaxAttempts = 1
	orphan, _ := jobs.New("ws", "nobody-handles-this", nil, clk.Now())
	refused, _ := jobs.New("ws", "refused", nil, clk.Now())
	if err := db.EnqueueJobs(ctx, []*jobs.Job{flaky, panics, orphan, refused}); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { r.Run(ctx); close(done) }()

	wait := func(id, status string) *jobs.Job {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for {
			j, err := db.GetJob(ctx, id)
			if err != nil {
				t.Fatal(err)
			}
			if j.Status == status {
				return j
			}
			if time.Now().After(deadline) {
				t.Fatalf("job %s: status %s, want %s (%s)", j.Kind, j.Status, status, j.LastError)
			}
			// Move time past any backoff so retries come due.
			clk.Add(time.Hour)
			r.Wake()
			time.Sleep(5 * time.Millisecond)
		}
	}
	if j := wait(flaky.ID, jobs.StatusDone); j.Attempts != 3 {
		t.Errorf("flaky attempts %d", j.Attempts)
	}
	if j := wait(panics.ID, jobs.StatusFailed); j.LastError != "job panicked: boom" {
		t.Errorf("panic recorded as %q", j.LastError)
	}
	if j := wait(orphan.ID, jobs.StatusFailed); j.Attempts != 1 {
		t.Errorf("unknown kind attempts %d (%s)", j.Attempts, j.LastError)
	}
	// A permanent failure is not run (and billed) again.
	if j := wait(refused.ID, jobs.StatusFailed); j.Attempts != 1 {
		t.Errorf("permanent failure attempts %d (%s)", j.Attempts, j.LastError)
	}
	cancel()
	<-done
}

func TestBackoff(t *testing.T) {
	for n, want := range map[int]time.Duration{1: 10 * time.Second, 2: 20 * time.Second, 4: 80 * time.Second, 20: time.Hour} {
		if got := jobs.Backoff(n); got != want {
			t.Errorf("Backoff(%d) = %s, want %s", n, got, want)
		}
	}
}
