// Package jobs runs durable background work: jobs are rows in the
// database, enqueued in the same transaction as the change that needs
// them, claimed with a lease so a crashed node's jobs are picked up again,
// and retried with exponential backoff until they succeed or run out of
// attempts (then they stay, failed and visible, with their last error).
package jobs

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/parley-dev/parley/internal/fault"
	"github.com/parley-dev/parley/internal/ids"
)

// Job states.
const (
	StatusQueued  = "queued"
	StatusRunning = "running"
	StatusDone    = "done"
	StatusFailed  = "failed"
)

// Job is one unit of background work.
type Job struct {
	ID          string
	WorkspaceID string
	Kind        string
	Payload     json.RawMessage
	Status      string
	Attempts    int
	MaxAttempts int
	RunAt       time.Time
	LockedUntil *time.Time
	LastError   string
	CreatedAt   time.Time
	UpdatedAt   time.Time
}

// New makes a queued job that runs at once.
func New(workspaceID, kind string, payload any, now time.Time) (*Job, error) {
	b, err := json.Marshal(payload)
	if err != nil {
		return nil, fmt.Errorf("job payload: %w", err)
	}
	now = now.UTC().Truncate(time.Millisecond)
	return &Job{ID: ids.NewAt("job", now), WorkspaceID: workspaceID, Kind: kind, Payload: b,
		Status: StatusQueued, MaxAttempts: 8, RunAt: now, CreatedAt: now, UpdatedAt: now}, nil
}

// Store persists jobs.
type Store interface {
	// EnqueueJobs stores new jobs.
	EnqueueJobs(ctx context.Context, js []*Job) error
	// ClaimJobs marks up to n due jobs (queued with run_at <= now, or
	// running with an expired lease) running until now+lease, counts an
	// attempt, and returns them.
	ClaimJobs(ctx context.Context, now time.Time, lease time.Duration, n int) ([]*Job, error)
	// FinishJob records the outcome of an attempt: done when errMsg is
	// empty, queued again at retryAt, or failed when retryAt is nil.
	FinishJob(ctx context.Context, id, errMsg string, retryAt *time.Time, now time.Time) error
	// GetJob returns a job by id.
	GetJob(ctx context.Context, id string) (*Job, error)
}

// Handler does one job. An error schedules a retry.
type Handler func(ctx context.Context, j *Job) error

// Observer hears how jobs end, for metrics.
type Observer interface {
	Job(kind, result string, d time.Duration)
}

// Runner claims and runs jobs until its context ends.
type Runner struct {
	Store    Store
	Handlers map[string]Handler
	Now      func() time.Time
	Observer Observer // optional
	// Poll is the pause between empty claims (default 1 s).
	Poll time.Duration
	// Lease is how long a claimed job is ours (default 2 minutes).
	Lease time.Duration
	// Workers is how many jobs run at once (default 4).
	Workers int

	wake chan struct{}
	once sync.Once
}

func (r *Runner) init() {
	r.once.Do(func() {
		r.wake = make(chan struct{}, 1)
		if r.Poll == 0 {
			r.Poll = time.Second
		}
		if r.Lease == 0 {
			r.Lease = 2 * time.Minute
		}
		if r.Workers == 0 {
			r.Workers = 4
		}
	})
}

// Wake makes the runner look for jobs now rather than at its next poll.
func (r *Runner) Wake() {
	r.init()
	select {
	case r.wake <- struct{}{}:
	default:
	}
}

// Backoff is the wait before the next attempt after n failed attempts:
// 10 s doubling, at most an hour.
func Backoff(n int) time.Duration {
	d := 10 * time.Second << min(n-1, 9)
	return min(d, time.Hour)
}

// Run works until ctx ends, then waits for the jobs it is running; a job
// cut off by shutdown is retried after its lease.
func (r *Runner) Run(ctx context.Context) {
	r.init()
	sem := make(chan struct{}, r.Workers)
	var wg sync.WaitGroup
	defer wg.Wait()
	for {
		free := r.Workers - len(sem)
		var claimed []*Job
		if free > 0 {
			var err error
			claimed, err = r.Store.ClaimJobs(ctx, r.Now(), r.Lease, free)
			// An outage is logged by the store, once per interval.
			if err != nil && ctx.Err() == nil && !fault.Is(err, fault.CodeUnavailable) {
				slog.ErrorContext(ctx, "claim jobs", "err", err)
			}
		}
		for _, j := range claimed {
			sem <- struct{}{}
			wg.Add(1)
			go func(j *Job) {
				defer func() { <-sem; wg.Done() }()
				r.run(context.WithoutCancel(ctx), j)
			}(j)
		}
		if len(claimed) == free && free > 0 {
			continue // there may be more
		}
		select {
		case <-ctx.Done():
			return
		case <-r.wake:
		case <-time.After(r.Poll):
		}
	}
}

func (r *Runner) run(ctx context.Context, j *Job) {
	start := time.Now()
	h, ok := r.Handlers[j.Kind]
	var err error
	if !ok {
		err = fmt.Errorf("no handler for job kind %q", j.Kind)
	} else {
		jctx, cancel := context.WithTimeout(ctx, r.Lease)
		err = func() (err error) {
			defer func() {
				if v := recover(); v != nil {
					err = fmt.Errorf("job panicked: %v", v)
				}
			}()
			return h(jctx, j)
		}()
		cancel()
	}
	result := "done"
	var errMsg string
	var retryAt *time.Time
	if err != nil {
		errMsg = err.Error()
		if j.Attempts < j.MaxAttempts && ok && !IsPermanent(err) {
			t := r.Now().Add(Backoff(j.Attempts))
			retryAt, result = &t, "retry"
			slog.WarnContext(ctx, "job failed; will retry", "job", j.ID, "kind", j.Kind, "attempt", j.Attempts, "retry_at", t, "err", err)
		} else {
			result = "failed"
			slog.ErrorContext(ctx, "job failed for good", "job", j.ID, "kind", j.Kind, "attempts", j.Attempts, "err", err)
		}
	}
	if ferr := r.Store.FinishJob(ctx, j.ID, errMsg, retryAt, r.Now()); ferr != nil {
		slog.ErrorContext(ctx, "record job outcome; it will run again after its lease", "job", j.ID, "err", ferr)
	}
	if r.Observer != nil {
		r.Observer.Job(j.Kind, result, time.Since(start))
	}
}

// permanentError marks a failure that running the job again cannot fix.
type permanentError struct{ err error }

func (e *permanentError) Error() string { return e.err.Error() }
func (e *permanentError) Unwrap() error { return e.err }

// Permanent marks err as a failure that retrying cannot fix (a refused
// API key, a request the provider rejects as invalid): the job fails at
// once instead of being run, and billed, again and again.
func Permanent(err error) error {
	if err == nil {
		return nil
	}
	return &permanentError{err}
}

// IsPermanent reports whether err was marked with Permanent.
func IsPermanent(err error) bool {
	var p *permanentError
	return errors.As(err, &p)
}

// Args are the arguments of a job: a plain struct, stored as JSON, whose
// Kind names the handler that runs it. Args that also have a
// Workspace() string method are filed under that workspace.
type Args interface{ Kind() string }

// Queue enqueues jobs as part of the change in progress: with the context
// of a store transaction the jobs commit or roll back with it, and the
// runner is woken only after the commit.
type Queue struct {
	Store interface {
		EnqueueJobs(ctx context.Context, js []*Job) error
		AfterCommit(ctx context.Context, fn func())
	}
	Now  func() time.Time
	Wake func() // optional
}

// Enqueue implements the conversation service's Queue.
func (q *Queue) Enqueue(ctx context.Context, args ...Args) error {
	js := make([]*Job, 0, len(args))
	for _, a := range args {
		ws := ""
		if w, ok := a.(interface{ Workspace() string }); ok {
			ws = w.Workspace()
		}
		j, err := New(ws, a.Kind(), a, q.Now())
		if err != nil {
			return err
		}
		js = append(js, j)
	}
	if err := q.Store.EnqueueJobs(ctx, js); err != nil {
		return err
	}
	if q.Wake != nil {
		q.Store.AfterCommit(ctx, q.Wake)
	}
	return nil
}

// Typed adapts a handler of typed args to a Handler: the job's payload is
// decoded into T.
func Typed[T Args](fn func(ctx context.Context, args T) error) Handler {
	return func(ctx context.Context, j *Job) error {
		var args T
		if err := json.Unmarshal(j.Payload, &args); err != nil {
			return Permanent(fmt.Errorf("%s job payload: %w", j.Kind, err))
		}
		return fn(ctx, args)
	}
}
