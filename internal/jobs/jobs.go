// Package jobs runs durable background work on River
// (github.com/riverqueue/river): jobs are rows in the store's database,
// inserted in the same transaction as the change that needs them, worked
// by typed workers that call the services, retried with backoff, and
// completed in the same transaction as their effect, so a crash can never
// leave an effect without its completion or run an effect twice.
//
// River stays here and in the stores' river.go files: the domain sees only
// its Queue port (conversation.Queue) and plain argument structs with a
// Kind.
package jobs

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver"
	"github.com/riverqueue/river/rivertype"

	"github.com/parley-dev/parley/internal/conversation"
	"github.com/parley-dev/parley/internal/fault"
	"github.com/parley-dev/parley/internal/whatsapp"
)

// MaxAttempts is how often a job is tried before it is discarded (kept,
// failed and visible, with its errors, until the retention period ends).
const MaxAttempts = 8

// Backoff is the wait before the next attempt after n failed attempts:
// 10 s doubling, at most an hour (River's default, attempt⁴ seconds, waits
// too little at first for a rate-limited provider and far too long later).
func Backoff(n int) time.Duration {
	d := 10 * time.Second << min(max(n, 1)-1, 9)
	return min(d, time.Hour)
}

// retryPolicy is Backoff as River's retry policy.
type retryPolicy struct{}

// NextRetry implements river.ClientRetryPolicy.
func (retryPolicy) NextRetry(j *rivertype.JobRow) time.Time {
	return time.Now().Add(Backoff(j.Attempt))
}

// DefaultFetchCooldown is the default Config.FetchCooldown.
const DefaultFetchCooldown = 10 * time.Millisecond

// Config tunes the job engine; the zero value suits a server.
type Config struct {
	// Workers is how many jobs run at once on this node (default 100).
	// Extraction waits on the model, not the CPU.
	Workers int
	// FetchPoll is the longest a node waits before looking for new jobs
	// (default 1 s; 50 ms on SQLite). On PostgreSQL every insert wakes
	// every node at once; on SQLite nothing wakes the node (River wakes
	// it only for inserts made outside a transaction, and ours are all
	// inside one), so the poll is the pickup latency there.
	FetchPoll time.Duration
	// FetchCooldown is the shortest time between two fetches (default
	// 10 ms; River's 100 ms delayed a job inserted just after the last
	// fetch by up to 100 ms, the p50 pickup latency on PostgreSQL). Under
	// load a fetch takes every free worker slot, so fetches stay few.
	FetchCooldown time.Duration
	// CompletedRetention is how long finished jobs are kept before River
	// deletes them (default 24 h). Discarded and cancelled jobs are kept
	// for seven days, for the operator to look at.
	CompletedRetention time.Duration
	// JobTimeout is the longest one attempt may run (default 2 min).
	JobTimeout time.Duration
	// RescueAfter is how long a job may stay running before it is taken
	// for the job of a crashed node and run again (default JobTimeout +
	// 1 min; River's own default is an hour).
	RescueAfter time.Duration
	// Logger receives River's own log.
	Logger *slog.Logger
}

// RiverConfig is the River client configuration for workers and cfg,
// the same on both stores.
func RiverConfig(workers *river.Workers, cfg Config) *river.Config {
	if cfg.Workers <= 0 {
		cfg.Workers = 100
	}
	if cfg.JobTimeout <= 0 {
		cfg.JobTimeout = 2 * time.Minute
	}
	if cfg.RescueAfter < cfg.JobTimeout {
		cfg.RescueAfter = cfg.JobTimeout + time.Minute
	}
	if cfg.FetchCooldown <= 0 {
		cfg.FetchCooldown = DefaultFetchCooldown
	}
	if cfg.FetchPoll > 0 && cfg.FetchCooldown > cfg.FetchPoll {
		cfg.FetchCooldown = cfg.FetchPoll // River requires it
	}
	if cfg.CompletedRetention <= 0 {
		cfg.CompletedRetention = 24 * time.Hour
	}
	return &river.Config{
		Workers:                     workers,
		Queues:                      map[string]river.QueueConfig{river.QueueDefault: {MaxWorkers: cfg.Workers}},
		MaxAttempts:                 MaxAttempts,
		RetryPolicy:                 retryPolicy{},
		JobTimeout:                  cfg.JobTimeout,
		RescueStuckJobsAfter:        cfg.RescueAfter,
		FetchPollInterval:           cfg.FetchPoll,
		FetchCooldown:               cfg.FetchCooldown,
		CompletedJobRetentionPeriod: cfg.CompletedRetention,
		CancelledJobRetentionPeriod: 7 * 24 * time.Hour,
		DiscardedJobRetentionPeriod: 7 * 24 * time.Hour,
		Logger:                      cfg.Logger,
	}
}

// insertOpts are the options a job of args's kind is inserted with: an
// extraction is unique per conversation among jobs not yet finished, so
// ending a conversation twice, or asking again while one waits, runs one
// extraction.
func insertOpts(args conversation.JobArgs) *river.InsertOpts {
	switch args.(type) {
	case conversation.ExtractArgs, *conversation.ExtractArgs:
		return &river.InsertOpts{UniqueOpts: river.UniqueOpts{ByArgs: true, ByState: []rivertype.JobState{
			rivertype.JobStateAvailable, rivertype.JobStatePending, rivertype.JobStateRetryable,
			rivertype.JobStateRunning, rivertype.JobStateScheduled,
		}}}
	}
	return nil
}

// Count is the number of jobs of one kind in one state.
type Count struct {
	Kind, State string
	N           int64
}

// Engine is River bound to one store: the conversation Queue port, the
// completion of a job inside a store transaction, and the client's life.
type Engine interface {
	conversation.Queue
	// CompleteTx marks the running job done in the store transaction of
	// ctx, so it commits with the job's effect.
	CompleteTx(ctx context.Context, job *rivertype.JobRow) error
	// Start starts working jobs.
	Start(ctx context.Context) error
	// Stop stops fetching and waits for running jobs until ctx ends.
	Stop(ctx context.Context) error
	// StopAndCancel cancels running jobs' contexts and waits for them.
	StopAndCancel(ctx context.Context) error
	// Subscribe delivers River's events of the given kinds.
	Subscribe(kinds ...river.EventKind) (<-chan *river.Event, func())
	// Backlog counts unfinished jobs by kind and state.
	Backlog(ctx context.Context) ([]Count, error)
}

// Client is the Engine over a River client whose transactions are TTx; a
// store fills in how its transactions are found and opened.
type Client[TTx any] struct {
	River *river.Client[TTx]
	// Tx finds the store transaction in ctx.
	Tx func(ctx context.Context) (TTx, bool)
	// Within runs fn in a store transaction (the store's Within).
	Within func(ctx context.Context, fn func(ctx context.Context) error) error
	// Complete completes a job in tx (Complete with the store's driver).
	Complete func(ctx context.Context, tx TTx, job *rivertype.JobRow) error
	// Count counts unfinished jobs by kind and state.
	Count func(ctx context.Context) ([]Count, error)
	// Wake, when not nil, tells the nodes in tx that jobs were inserted,
	// so they fetch them as soon as tx commits. River's own insert
	// notification is sent at most once per fetch cooldown, so a job
	// inserted right after another would wait for the fetch poll.
	Wake func(ctx context.Context, tx TTx) error
	// Defer, when not nil, may take the inserts of a transaction to make
	// them all at once when it commits (SQLite's group commit: one
	// statement for the jobs of every caller of the batch); it reports
	// whether it took them.
	Defer func(ctx context.Context, params []river.InsertManyParams) bool
}

// Enqueue implements conversation.Queue: the jobs are inserted in the
// store transaction of ctx, committing or rolling back with it, or in a
// transaction of their own when ctx holds none.
func (c *Client[TTx]) Enqueue(ctx context.Context, args ...conversation.JobArgs) error {
	if len(args) == 0 {
		return nil
	}
	params := make([]river.InsertManyParams, len(args))
	plain := true // no unique jobs, whose duplicates one statement must not hold twice
	for i, a := range args {
		params[i] = river.InsertManyParams{Args: a, InsertOpts: insertOpts(a)}
		plain = plain && params[i].InsertOpts == nil
	}
	insert := func(ctx context.Context) error {
		tx, ok := c.Tx(ctx)
		if !ok {
			return fmt.Errorf("enqueue: no transaction")
		}
		if _, err := c.River.InsertManyTx(ctx, tx, params); err != nil {
			return fmt.Errorf("enqueue: %w", err)
		}
		if c.Wake != nil {
			if err := c.Wake(ctx, tx); err != nil {
				return fmt.Errorf("enqueue: wake workers: %w", err)
			}
		}
		return nil
	}
	if _, ok := c.Tx(ctx); ok {
		if plain && c.Defer != nil && c.Defer(ctx, params) {
			return nil
		}
		return insert(ctx)
	}
	return c.Within(ctx, insert)
}

// CompleteTx implements Engine.
func (c *Client[TTx]) CompleteTx(ctx context.Context, job *rivertype.JobRow) error {
	tx, ok := c.Tx(ctx)
	if !ok {
		return fmt.Errorf("complete job %d: no transaction", job.ID)
	}
	if err := c.Complete(ctx, tx, job); err != nil {
		return fmt.Errorf("complete job %d: %w", job.ID, err)
	}
	return nil
}

// Start implements Engine.
func (c *Client[TTx]) Start(ctx context.Context) error { return c.River.Start(ctx) }

// Stop implements Engine.
func (c *Client[TTx]) Stop(ctx context.Context) error { return c.River.Stop(ctx) }

// StopAndCancel implements Engine.
func (c *Client[TTx]) StopAndCancel(ctx context.Context) error { return c.River.StopAndCancel(ctx) }

// Subscribe implements Engine.
func (c *Client[TTx]) Subscribe(kinds ...river.EventKind) (<-chan *river.Event, func()) {
	return c.River.Subscribe(kinds...)
}

// Backlog implements Engine.
func (c *Client[TTx]) Backlog(ctx context.Context) ([]Count, error) { return c.Count(ctx) }

// anyArgs stands for a job's args where only its row matters.
type anyArgs struct{}

// Kind implements river.JobArgs.
func (anyArgs) Kind() string { return "" }

// Complete marks the running job done in tx with River's JobCompleteTx on
// driver TDriver; ctx must be the job's work context (it carries the
// client).
func Complete[TDriver riverdriver.Driver[TTx], TTx any](ctx context.Context, tx TTx, job *rivertype.JobRow) error {
	_, err := river.JobCompleteTx[TDriver](ctx, tx, &river.Job[anyArgs]{JobRow: job})
	return err
}

// ExtractWorker runs conversation.ExtractArgs jobs.
type ExtractWorker struct {
	river.WorkerDefaults[conversation.ExtractArgs]
	Conversations *conversation.Service
	// Jobs completes the job in the transaction that stores the
	// extraction; set once the engine is built.
	Jobs interface {
		CompleteTx(ctx context.Context, job *rivertype.JobRow) error
	}
}

// Work implements river.Worker: it extracts, completing the job in the
// transaction that stores the result; a permanent failure cancels the job
// instead of retrying it.
func (w *ExtractWorker) Work(ctx context.Context, job *river.Job[conversation.ExtractArgs]) error {
	err := w.Conversations.ExtractJob(ctx, job.Args, func(ctx context.Context) error {
		return w.Jobs.CompleteTx(ctx, job.JobRow)
	})
	if fault.IsPermanent(err) {
		return river.JobCancel(err)
	}
	return err
}

// ReplyWorker runs conversation.ReplyArgs jobs: the assistant's reply to
// a customer message on a channel whose replies run in the background.
// The reply job is idempotent (a message already answered is left alone),
// so a run repeated after a crash stores nothing twice.
type ReplyWorker struct {
	river.WorkerDefaults[conversation.ReplyArgs]
	Conversations *conversation.Service
}

// Work implements river.Worker.
func (w *ReplyWorker) Work(ctx context.Context, job *river.Job[conversation.ReplyArgs]) error {
	err := w.Conversations.ReplyJob(ctx, job.Args)
	if fault.IsPermanent(err) {
		return river.JobCancel(err)
	}
	return err
}

// Observer hears how job attempts end, for metrics.
type Observer interface {
	Job(kind, result string, d time.Duration)
}

// Observe reports every job attempt the engine finishes to o (result
// done, retry, failed or cancelled) until ctx ends.
func Observe(ctx context.Context, e Engine, o Observer) {
	ch, cancel := e.Subscribe(river.EventKindJobCompleted, river.EventKindJobFailed, river.EventKindJobCancelled)
	go func() {
		defer cancel()
		for {
			select {
			case <-ctx.Done():
				return
			case ev, ok := <-ch:
				if !ok {
					return
				}
				result := "done"
				switch {
				case ev.Kind == river.EventKindJobCancelled:
					result = "cancelled"
				case ev.Kind == river.EventKindJobFailed && ev.Job.State == rivertype.JobStateDiscarded:
					result = "failed"
				case ev.Kind == river.EventKindJobFailed:
					result = "retry"
				}
				var d time.Duration
				if ev.JobStats != nil {
					d = ev.JobStats.RunDuration
				}
				o.Job(ev.Job.Kind, result, d)
			}
		}
	}()
}

// SendWorker runs whatsapp.SendArgs jobs: an outbound WhatsApp message
// through the Graph API. Meta's rate limits (a number's throughput, one
// user's pair limit) snooze the job for the wait they call for, which
// River does not count as a failed attempt; other temporary failures
// retry with Backoff; permanent ones are recorded on the message by the
// service, which then returns nil.
type SendWorker struct {
	river.WorkerDefaults[whatsapp.SendArgs]
	WhatsApp *whatsapp.Service
}

// Work implements river.Worker.
func (w *SendWorker) Work(ctx context.Context, job *river.Job[whatsapp.SendArgs]) error {
	err := w.WhatsApp.SendJob(ctx, job.Args)
	var snooze *whatsapp.SnoozeError
	if errors.As(err, &snooze) {
		return river.JobSnooze(snooze.After)
	}
	if fault.IsPermanent(err) {
		return river.JobCancel(err)
	}
	if err != nil && job.Attempt >= job.MaxAttempts {
		// River discards the job after this attempt: the message is
		// marked failed, visibly, instead of staying pending for ever.
		if ferr := w.WhatsApp.GiveUp(ctx, job.Args, err); ferr != nil {
			return errors.Join(err, ferr)
		}
		return nil
	}
	return err
}
