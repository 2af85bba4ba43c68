package store

import (
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/parley-dev/parley/internal/fault"
)

// Kinds of failed queries, as counted on /metrics. Each adapter decides
// which of its driver's errors is which.
const (
	// KindUnavailable: the database cannot be reached or cannot work
	// (connection refused or lost, pool closed, locked past the busy
	// timeout, disk I/O errors). Requests answer 503 until it is back.
	KindUnavailable = "unavailable"
	// KindTimeout: the query's deadline passed.
	KindTimeout = "timeout"
	// KindCanceled: the caller went away.
	KindCanceled = "canceled"
	// KindConstraint: a constraint refused a write (often expected, as
	// with a duplicate that the store turns into a conflict).
	KindConstraint = "constraint"
	// KindOther: anything else, which is a bug.
	KindOther = "other"
)

// OutageLogInterval is how often, at most, an outage is logged: while the
// database is down every request fails, and one line per request would
// bury everything else (and fill disks).
const OutageLogInterval = 10 * time.Second

// Errors counts a store's failed queries by kind and reports outages:
// errors of KindUnavailable become a fault with CodeUnavailable (the API
// answers 503 with Retry-After), logged at most once per interval with
// the number of errors left unlogged.
type Errors struct {
	driver string

	mu         sync.Mutex
	log        *slog.Logger
	counts     map[string]uint64
	logged     time.Time // when the last outage line was written
	suppressed int       // outage errors since then
}

// NewErrors returns the error record of a store with the given driver.
func NewErrors(driver string) *Errors {
	return &Errors{driver: driver, counts: map[string]uint64{}}
}

// SetLogger sets where outages are reported (default: slog's default).
func (e *Errors) SetLogger(l *slog.Logger) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.log = l
}

// recorded marks an error already counted, so an error that passes
// through several of an adapter's exits is counted once.
type recorded struct{ err error }

func (r *recorded) Error() string { return r.err.Error() }
func (r *recorded) Unwrap() error { return r.err }

// Record counts err as a failed query of the given kind and returns the
// error the store's callers get: for KindUnavailable a fault with
// CodeUnavailable wrapping err, else err itself (marked as counted).
// nil, errors already recorded and faults (domain results, not query
// failures) pass through unchanged.
func (e *Errors) Record(err error, kind string) error {
	if err == nil {
		return nil
	}
	var (
		rec *recorded
		fe  *fault.Error
	)
	if errors.As(err, &rec) || errors.As(err, &fe) {
		return err
	}
	e.mu.Lock()
	e.counts[kind]++
	if kind != KindUnavailable {
		e.mu.Unlock()
		return &recorded{err: err}
	}
	now := time.Now()
	logIt := e.logged.IsZero() || now.Sub(e.logged) >= OutageLogInterval
	suppressed, log := e.suppressed, e.log
	if logIt {
		e.logged, e.suppressed = now, 0
	} else {
		e.suppressed++
	}
	e.mu.Unlock()
	if logIt {
		if log == nil {
			log = slog.Default()
		}
		log.Warn("database unavailable: requests answer 503 until it is back",
			"driver", e.driver, "err", err, "unlogged_errors", suppressed, "log_interval", OutageLogInterval)
	}
	return &fault.Error{Code: fault.CodeUnavailable,
		Message: "the database is unavailable; try again shortly", Err: &recorded{err: err}}
}

// Counts returns how many failed queries of each kind there have been.
func (e *Errors) Counts() map[string]uint64 {
	e.mu.Lock()
	defer e.mu.Unlock()
	out := make(map[string]uint64, len(e.counts))
	for k, v := range e.counts {
		out[k] = v
	}
	return out
}

// PoolStats describes one connection pool at a moment.
type PoolStats struct {
	// Pool names the pool within its store ("write", "read", "main").
	Pool string
	// Max is the most connections the pool opens (0: no limit).
	Max int
	// Open, InUse and Idle count its connections now.
	Open, InUse, Idle int
	// Waits counts the acquisitions that had to wait for a connection,
	// and WaitTime is their total wait, since the pool opened.
	Waits    int64
	WaitTime time.Duration
}
