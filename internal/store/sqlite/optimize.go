package sqlite

import (
	"context"
	"fmt"
	"time"
)

// optimizeEvery is how often the store refreshes its planner statistics
// while it runs.
const optimizeEvery = time.Hour

// analysisLimit is how many rows of each index ANALYZE samples: enough for
// the planner to tell a filter matching half the table from one matching
// nine rows, and it keeps ANALYZE at a million conversations to well
// under a second, so it can run at start and while serving.
const analysisLimit = 1000

// Optimize refreshes the planner statistics where they are missing or the
// table has changed much since (PRAGMA optimize). Without statistics
// SQLite guesses that every index is equally selective, so a filtered
// list may walk the status index for a small assistant's conversations,
// or a count scan the type index. Migrate runs it, and the store every
// optimizeEvery; it runs on the writer, which is what writes the
// statistics, and readers load them on their next statement.
func (db *DB) Optimize(ctx context.Context) error {
	return db.analyze(ctx, `PRAGMA optimize=0x10002`)
}

// Analyze gathers planner statistics for every table, whatever has
// changed: for after a bulk import (parley-bench seed), where the tables
// grew from nothing in one go.
func (db *DB) Analyze(ctx context.Context) error {
	return db.analyze(ctx, `ANALYZE`)
}

func (db *DB) analyze(ctx context.Context, stmt string) error {
	conn, err := db.write.Conn(ctx)
	if err != nil {
		return fmt.Errorf("sqlite: %s: %w", stmt, db.classify(err))
	}
	defer func() { _ = conn.Close() }()
	if _, err := conn.ExecContext(ctx, fmt.Sprintf(`PRAGMA analysis_limit=%d`, analysisLimit)); err != nil {
		return fmt.Errorf("sqlite: analysis_limit: %w", db.classify(err))
	}
	if _, err := conn.ExecContext(ctx, stmt); err != nil {
		return fmt.Errorf("sqlite: %s: %w", stmt, db.classify(err))
	}
	return nil
}

// every runs fn every interval, with a minute's context, until stop is
// closed, then closes done: the store's background work (Optimize,
// checkpoint). A failure is fn's to count; the next round tries again.
func every(interval time.Duration, stop <-chan struct{}, done chan<- struct{}, fn func(ctx context.Context)) {
	defer close(done)
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case <-t.C:
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			fn(ctx)
			cancel()
		}
	}
}
