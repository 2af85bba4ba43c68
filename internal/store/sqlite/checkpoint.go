package sqlite

import (
	"context"
	"database/sql"
	"sync/atomic"
	"time"
)

// SQLite copies the WAL's pages back into the database file at a
// checkpoint. Left to itself, the commit that takes the WAL past 1,000
// pages does it, inside the writer's turn, and every caller of that
// group commit waits for the copy. The store runs the checkpoints on a
// connection of its own instead, in the background: PASSIVE ones, which
// copy what no reader still needs and never block the writer or the
// readers. At 32 concurrent WhatsApp senders that took ingest from ~800
// to ~1,000 messages a second and its p95 from ~70 to ~50 ms
// (docs/PERFORMANCE.md). The writer keeps an autocheckpoint of its own,
// far higher, in case the background ever falls behind.

const (
	// checkpointEvery is how often the background checkpoint runs.
	checkpointEvery = 50 * time.Millisecond
	// walBackstopPages is the writer's own autocheckpoint: past it the
	// writer checkpoints, as SQLite does by default at 1,000 pages.
	walBackstopPages = 10000
	// walSizeLimit is what the WAL file is cut back to when SQLite
	// starts it over after a complete checkpoint (journal_size_limit).
	walSizeLimit = 64 << 20
)

// checkpointStats is what the background checkpoints did, for tests:
// rounds run, and the WAL's size and pages copied at the last.
type checkpointStats struct {
	rounds, walPages, copied atomic.Int64
}

// checkpoint runs a PASSIVE checkpoint on conn (every checkpointEvery,
// see every). A failed round is counted with the store's errors.
func (db *DB) checkpoint(ctx context.Context, conn *sql.DB) {
	var busy, log, copied int64
	err := conn.QueryRowContext(ctx, `PRAGMA wal_checkpoint(PASSIVE)`).Scan(&busy, &log, &copied)
	if err != nil {
		_ = db.classify(err)
		return
	}
	db.checkpoints.rounds.Add(1)
	db.checkpoints.walPages.Store(log)
	db.checkpoints.copied.Store(copied)
}
