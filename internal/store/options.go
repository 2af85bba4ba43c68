package store

import (
	"context"
	"errors"
	"runtime"
	"time"

	"github.com/parley-dev/parley/internal/fault"
)

// Options tune how a store serves reads; the zero value takes the defaults.
type Options struct {
	// Readers is the size of SQLite's reader pool (0: DefaultReaders).
	// PostgreSQL sizes its pool from the URL (pool_max_conns).
	Readers int
	// ReadTimeout is the time budget of one list or search (0:
	// DefaultReadTimeout).
	ReadTimeout time.Duration
	// CacheMB is the page cache of SQLite's writer connection, in MB (0:
	// DefaultCacheMB). PostgreSQL has its own shared buffers.
	CacheMB int
	// HeavyReads is how many searches and counts with a text query may
	// run at once (0: DefaultHeavyReads); the others wait for a turn
	// within their time budget.
	HeavyReads int
}

// DefaultHeavyReads is how many heavy reads (Options.HeavyReads) run at
// once unless configured: half the CPUs, at least one. Searches and
// counts are the reads that can take many milliseconds of CPU each; run
// as many at once as clients send them, they took every core, and a list
// that costs half a millisecond alone took 40 ms at p95 beside four
// clients counting and four searching. With half the cores theirs at
// most, the rest of the API keeps the other half.
func DefaultHeavyReads() int { return max(1, runtime.NumCPU()/2) }

// DefaultCacheMB is the SQLite writer's page cache unless configured.
// Writes land on random pages of large indexes (a new conversation's
// terms, its customer's phone); a cache that holds their hot pages
// spares a read syscall per page. At a million conversations a 20k-row
// write batch read its pages ~350 times over with 32 MB; the cache only
// grows as pages are touched, so a small database stays small.
const DefaultCacheMB = 64

// DefaultReadTimeout is the budget of a read unless configured: far above
// any list or search that is planned well, and short enough that one
// that is not gives its connection back before requests queue behind it.
const DefaultReadTimeout = 10 * time.Second

// DefaultReaders is the SQLite reader pool size unless configured: two per
// CPU, at least four, so that a few slow reads (a filtered count, a
// search) cannot leave lists waiting for a connection.
func DefaultReaders() int { return max(4, 2*runtime.NumCPU()) }

// WithDefaults fills the zero fields with their defaults.
func (o Options) WithDefaults() Options {
	if o.Readers <= 0 {
		o.Readers = DefaultReaders()
	}
	if o.ReadTimeout <= 0 {
		o.ReadTimeout = DefaultReadTimeout
	}
	if o.CacheMB <= 0 {
		o.CacheMB = DefaultCacheMB
	}
	if o.HeavyReads <= 0 {
		o.HeavyReads = DefaultHeavyReads()
	}
	return o
}

// Budget gives a read its time budget: the context to run it with, and
// done, which ends the budget and turns the error of a read that ran out
// of it into a fault with CodeQueryTimeout (the query itself has been
// interrupted by the context). A caller that went away, or a deadline of
// the caller's own, keeps its error.
func (o Options) Budget(ctx context.Context) (context.Context, func(error) error) {
	bctx, cancel := context.WithTimeout(ctx, o.WithDefaults().ReadTimeout)
	return bctx, func(err error) error {
		cancel()
		if err != nil && errors.Is(bctx.Err(), context.DeadlineExceeded) && ctx.Err() == nil {
			return &fault.Error{Code: fault.CodeQueryTimeout,
				Message: "the query ran out of its time budget; narrow the filters or try again", Err: err}
		}
		return err
	}
}
