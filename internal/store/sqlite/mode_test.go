package sqlite_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/parley-dev/parley/internal/store/sqlite"
)

// TestFilesArePrivate: the database holds API key hashes, the generated
// secret key and every transcript, so it and its WAL and shared-memory
// files are readable by their owner only, whatever the umask.
func TestFilesArePrivate(t *testing.T) {
	file := filepath.Join(t.TempDir(), "parley.db")
	db, err := sqlite.Open(context.Background(), file)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = db.Close() }()
	if err := db.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{file, file + "-wal", file + "-shm"} {
		st, err := os.Stat(f)
		if err != nil {
			t.Fatal(err)
		}
		if mode := st.Mode().Perm(); mode != 0o600 {
			t.Errorf("%s: mode %o, want 600", filepath.Base(f), mode)
		}
	}
}
