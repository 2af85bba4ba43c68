package sqlite_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/parley-dev/parley/internal/store/sqlite"
)

// TestBackgroundCheckpoint checks that the WAL is copied back into the
// database by the store's own checkpoints while the writer only keeps a
// far-off backstop: after writes, a background round finds the WAL and
// copies all of it, and the writer never checkpointed at SQLite's
// default 1,000 pages.
func TestBackgroundCheckpoint(t *testing.T) {
	ctx := context.Background()
	db, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "parley.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = db.Close() }()
	if err := db.Migrate(ctx); err != nil { // writes the whole schema through the WAL
		t.Fatal(err)
	}
	if n, err := db.WriterPragma(ctx, "wal_autocheckpoint"); err != nil || n != 10000 {
		t.Fatalf("writer's wal_autocheckpoint = %d (%v), want the 10000-page backstop", n, err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		rounds, wal, copied := db.Checkpoints()
		if rounds > 0 && wal > 0 && copied == wal {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no background checkpoint copied the WAL: %d rounds, last %d of %d pages", rounds, copied, wal)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
