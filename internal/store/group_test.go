package store_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/parley-dev/parley/internal/store"
)

// fakeTx is a transaction of writes as strings, with savepoints: what a
// single-writer database does with the Group's calls, without one.
type fakeTx struct {
	id      int
	writes  []string
	marks   []int // open savepoints: len(writes) at each
	lostNow bool  // the next rollback to a savepoint fails (the database rolled back)
}

// fakeDB records what each transaction committed.
type fakeDB struct {
	mu        sync.Mutex
	begun     int
	committed [][]string
	failNext  bool // the next commit fails
	// savepoints counts the savepoints taken, rolledBack the transactions
	// rolled back whole.
	savepoints, rolledBack int
}

func (db *fakeDB) group(maxBatch int) *store.Group[*fakeTx] {
	return &store.Group[*fakeTx]{
		Owner: db,
		Begin: func() (*fakeTx, error) {
			db.mu.Lock()
			defer db.mu.Unlock()
			db.begun++
			return &fakeTx{id: db.begun}, nil
		},
		Commit: func(tx *fakeTx) error {
			db.mu.Lock()
			defer db.mu.Unlock()
			if db.failNext {
				db.failNext = false
				return errors.New("disk full")
			}
			db.committed = append(db.committed, tx.writes)
			return nil
		},
		Rollback: func(*fakeTx) { db.rolledBack++ },
		Savepoint: func(tx *fakeTx) error {
			db.savepoints++
			tx.marks = append(tx.marks, len(tx.writes))
			return nil
		},
		Release: func(tx *fakeTx) error { tx.marks = tx.marks[:len(tx.marks)-1]; return nil },
		RollbackTo: func(tx *fakeTx) error {
			if tx.lostNow {
				return errors.New("no such savepoint")
			}
			tx.writes = tx.writes[:tx.marks[len(tx.marks)-1]]
			tx.marks = tx.marks[:len(tx.marks)-1]
			return nil
		},
		MaxBatch: maxBatch,
		MaxAge:   time.Hour, // batches end on MaxBatch or when nobody waits
	}
}

// write records w in the transaction of ctx.
func write(t *testing.T, db *fakeDB, ctx context.Context, w string) {
	tx, ok := store.TxFrom[*fakeTx](ctx, db)
	if !ok {
		t.Errorf("%s: no transaction in the context", w)
		return
	}
	tx.writes = append(tx.writes, w)
}

// TestGroupBatches: callers arriving while the writer is busy share a
// transaction; each is acknowledged only after the commit that holds its
// writes, with its hooks; a caller that fails loses only its own writes.
func TestGroupBatches(t *testing.T) {
	db := &fakeDB{}
	g := db.group(100)
	ctx := context.Background()
	const callers = 20
	release := make(chan struct{})
	started := make(chan struct{})
	errs := make([]error, callers)
	committedAtHook := make([]bool, callers)
	var wg sync.WaitGroup
	// The first caller holds the writer until the others wait for it.
	wg.Add(1)
	go func() {
		defer wg.Done()
		errs[0] = g.Within(ctx, func(ctx context.Context) error {
			write(t, db, ctx, "w0")
			close(started)
			<-release
			return nil
		})
	}()
	<-started
	for i := 1; i < callers; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = g.Within(ctx, func(ctx context.Context) error {
				write(t, db, ctx, fmt.Sprintf("w%d", i))
				// A nested Within joins.
				if err := g.Within(ctx, func(ctx context.Context) error { write(t, db, ctx, fmt.Sprintf("n%d", i)); return nil }); err != nil {
					return err
				}
				store.AfterCommit(ctx, db, func() { // sees the commit
					db.mu.Lock()
					defer db.mu.Unlock()
					for _, c := range db.committed {
						if slices.Contains(c, fmt.Sprintf("w%d", i)) {
							committedAtHook[i] = true
						}
					}
				})
				if i%5 == 0 {
					return fmt.Errorf("caller %d gives up", i)
				}
				return nil
			})
		}()
	}
	// Let the others queue up behind the first.
	time.Sleep(50 * time.Millisecond)
	close(release)
	wg.Wait()

	var all []string
	for _, c := range db.committed {
		all = append(all, c...)
	}
	for i := range callers {
		failed := i != 0 && i%5 == 0
		if failed != (errs[i] != nil) {
			t.Errorf("caller %d: err = %v", i, errs[i])
		}
		if got := slices.Contains(all, fmt.Sprintf("w%d", i)); got == failed {
			t.Errorf("caller %d (failed: %v): its write committed: %v", i, failed, got)
		}
		if i > 0 && committedAtHook[i] == failed {
			t.Errorf("caller %d (failed: %v): hook saw its commit: %v", i, failed, committedAtHook[i])
		}
	}
	if len(db.committed) >= callers/2 {
		t.Errorf("%d commits for %d callers that arrived together: not batched (%v)", len(db.committed), callers, db.committed)
	}
}

// TestGroupLostBatch: when rolling back to a caller's savepoint fails, the
// whole transaction is gone, so every caller of it fails — none is
// acknowledged and no hook runs — and the next caller starts afresh.
func TestGroupLostBatch(t *testing.T) {
	db := &fakeDB{}
	g := db.group(100)
	ctx := context.Background()
	release := make(chan struct{})
	started := make(chan struct{})
	var wg sync.WaitGroup
	var firstErr, secondErr error
	hooks := 0
	wg.Add(2)
	go func() {
		defer wg.Done()
		firstErr = g.Within(ctx, func(ctx context.Context) error {
			write(t, db, ctx, "kept?")
			store.AfterCommit(ctx, db, func() { hooks++ })
			close(started)
			<-release
			return nil
		})
	}()
	<-started
	go func() {
		defer wg.Done()
		secondErr = g.Within(ctx, func(ctx context.Context) error {
			tx, _ := store.TxFrom[*fakeTx](ctx, db)
			tx.lostNow = true
			return errors.New("disk I/O error")
		})
	}()
	time.Sleep(50 * time.Millisecond)
	close(release)
	wg.Wait()
	if !errors.Is(firstErr, store.ErrBatchLost) {
		t.Errorf("the caller whose writes were lost with the batch got %v", firstErr)
	}
	if secondErr == nil || !strings.Contains(secondErr.Error(), "disk I/O error") {
		t.Errorf("the failing caller got %v, want its own error", secondErr)
	}
	if hooks != 0 || len(db.committed) != 0 {
		t.Errorf("after a lost batch: %d hooks, commits %v", hooks, db.committed)
	}
	if err := g.Within(ctx, func(ctx context.Context) error { write(t, db, ctx, "next"); return nil }); err != nil {
		t.Fatal(err)
	}
	if len(db.committed) != 1 || !slices.Equal(db.committed[0], []string{"next"}) {
		t.Errorf("after the lost batch: %v", db.committed)
	}
}

// TestGroupFirstCallerFails: the first caller of a transaction runs
// without a savepoint (it has the transaction to itself); when it fails,
// the whole transaction is rolled back — nothing of it committed, no hook
// run — and the next caller gets a fresh one.
func TestGroupFirstCallerFails(t *testing.T) {
	db := &fakeDB{}
	g := db.group(100)
	ctx := context.Background()
	ran := false
	boom := errors.New("changed my mind")
	err := g.Within(ctx, func(ctx context.Context) error {
		write(t, db, ctx, "gone")
		store.AfterCommit(ctx, db, func() { ran = true })
		return boom
	})
	if !errors.Is(err, boom) || errors.Is(err, store.ErrBatchLost) || ran {
		t.Errorf("err = %v, hook ran: %v", err, ran)
	}
	if db.savepoints != 0 || db.rolledBack != 1 || len(db.committed) != 0 {
		t.Errorf("%d savepoints, %d rollbacks, commits %v; want 0, 1, none", db.savepoints, db.rolledBack, db.committed)
	}
	if err := g.Within(ctx, func(ctx context.Context) error { write(t, db, ctx, "next"); return nil }); err != nil {
		t.Fatal(err)
	}
	if db.begun != 2 || len(db.committed) != 1 || !slices.Equal(db.committed[0], []string{"next"}) {
		t.Errorf("after the failed first caller: %d transactions begun, commits %v", db.begun, db.committed)
	}
}

// TestGroupCommitFails: a failed commit fails the callers whose writes it
// held, and runs none of their hooks.
func TestGroupCommitFails(t *testing.T) {
	db := &fakeDB{failNext: true}
	g := db.group(100)
	ran := false
	err := g.Within(context.Background(), func(ctx context.Context) error {
		write(t, db, ctx, "x")
		store.AfterCommit(ctx, db, func() { ran = true })
		return nil
	})
	if err == nil || !strings.Contains(err.Error(), "commit: disk full") || ran {
		t.Errorf("err = %v, hook ran: %v", err, ran)
	}
}

// TestGroupMaxBatch: no transaction holds more callers than MaxBatch, and
// a caller whose context has ended is not run.
func TestGroupMaxBatch(t *testing.T) {
	db := &fakeDB{}
	g := db.group(3)
	release := make(chan struct{})
	started := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		_ = g.Within(context.Background(), func(ctx context.Context) error {
			write(t, db, ctx, "first")
			close(started)
			<-release
			return nil
		})
	}()
	<-started
	gone, cancel := context.WithCancel(context.Background())
	cancel()
	if err := g.Within(gone, func(ctx context.Context) error { t.Error("ran for a caller that had gone"); return nil }); !errors.Is(err, context.Canceled) {
		t.Errorf("caller gone before its turn: %v", err)
	}
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := g.Within(context.Background(), func(ctx context.Context) error { write(t, db, ctx, fmt.Sprint(i)); return nil }); err != nil {
				t.Error(err)
			}
		}()
	}
	time.Sleep(50 * time.Millisecond)
	close(release)
	wg.Wait()
	n := 0
	for _, c := range db.committed {
		n += len(c)
		if len(c) > 3 {
			t.Errorf("a transaction of %d callers, MaxBatch 3: %v", len(c), c)
		}
	}
	if n != 9 {
		t.Errorf("%d writes committed, want 9: %v", n, db.committed)
	}
}

// TestGroupDeferred: what callers defer (store.Defer) is written once for
// the whole batch, just before its commit, in the callers' order, without
// the items of a caller that failed; a failing deferred write loses the
// batch; outside a Group's transaction nothing is deferred.
func TestGroupDeferred(t *testing.T) {
	db := &fakeDB{}
	g := db.group(100)
	ctx := context.Background()
	calls := 0
	failWrite := false
	rows := &store.OnCommit[*fakeTx, string]{Write: func(_ context.Context, tx *fakeTx, items []string) error {
		calls++
		if failWrite {
			return errors.New("constraint failed")
		}
		tx.writes = append(tx.writes, "rows:"+strings.Join(items, ","))
		return nil
	}}
	release := make(chan struct{})
	started := make(chan struct{})
	errs := make([]error, 6)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		errs[0] = g.Within(ctx, func(ctx context.Context) error {
			write(t, db, ctx, "w0")
			if !store.Defer(ctx, db, rows, "a0", "b0") {
				t.Error("a Group's transaction did not defer")
			}
			close(started)
			<-release
			return nil
		})
	}()
	<-started
	for i := 1; i < len(errs); i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// The callers queue in turn, so their order is known.
			time.Sleep(time.Duration(i) * 10 * time.Millisecond)
			errs[i] = g.Within(ctx, func(ctx context.Context) error {
				write(t, db, ctx, fmt.Sprintf("w%d", i))
				store.Defer(ctx, db, rows, fmt.Sprintf("a%d", i))
				if i == 3 {
					return errors.New("caller 3 gives up")
				}
				return nil
			})
		}()
	}
	time.Sleep(100 * time.Millisecond)
	close(release)
	wg.Wait()
	want := []string{"w0", "w1", "w2", "w4", "w5", "rows:a0,b0,a1,a2,a4,a5"}
	if calls != 1 || len(db.committed) != 1 || !slices.Equal(db.committed[0], want) {
		t.Errorf("%d deferred writes, commits %v; want 1, [%v]", calls, db.committed, want)
	}

	failWrite = true
	err := g.Within(ctx, func(ctx context.Context) error {
		write(t, db, ctx, "lost")
		store.Defer(ctx, db, rows, "x")
		return nil
	})
	if !errors.Is(err, store.ErrBatchLost) || !strings.Contains(err.Error(), "constraint failed") || len(db.committed) != 1 {
		t.Errorf("a failing deferred write: err = %v, commits %v", err, db.committed)
	}

	if store.Defer(ctx, db, rows, "no transaction") {
		t.Error("deferred without a transaction")
	}
	_ = store.Within(ctx, db, func() (*fakeTx, error) { return &fakeTx{}, nil }, func(*fakeTx) error { return nil }, func(*fakeTx) {},
		func(ctx context.Context) error {
			if store.Defer(ctx, db, rows, "plain") {
				t.Error("deferred in a transaction that is not a Group's")
			}
			return nil
		})
}
