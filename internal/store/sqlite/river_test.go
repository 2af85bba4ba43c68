package sqlite_test

import (
	"context"
	"database/sql"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/riverqueue/river"

	"github.com/parley-dev/parley/internal/conversation"
	"github.com/parley-dev/parley/internal/jobs"
	"github.com/parley-dev/parley/internal/store/sqlite"
)

// TestMigrationMovesJobsToRiver: the jobs the old runner had not finished
// are River jobs after migration 0006, and its table is gone.
func TestMigrationMovesJobsToRiver(t *testing.T) {
	ctx := context.Background()
	file := filepath.Join(t.TempDir(), "parley.db")
	db, err := sqlite.Open(ctx, file)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = db.Close() }()
	if err := db.MigrateTo(ctx, 5); err != nil {
		t.Fatal(err)
	}
	raw, err := sql.Open("sqlite", file)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = raw.Close() }()
	for i, status := range []string{"queued", "running", "done", "failed"} {
		if _, err := raw.ExecContext(ctx, `INSERT INTO jobs (id, workspace_id, kind, payload, status, max_attempts, run_at, created_at, updated_at)
			VALUES (?, 'ws_1', 'conversation.extract', ?, ?, 8, 1, 1, 1)`,
			"job_"+status, `{"workspace_id":"ws_1","conversation_id":"conv_`+string(rune('a'+i))+`"}`, status); err != nil {
			t.Fatal(err)
		}
	}
	if err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	workers := river.NewWorkers()
	river.AddWorker(workers, river.WorkFunc(func(context.Context, *river.Job[conversation.ExtractArgs]) error { return nil }))
	e, err := db.Jobs(workers, jobs.Config{})
	if err != nil {
		t.Fatal(err)
	}
	backlog, err := e.Backlog(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]jobs.Count{{Kind: conversation.JobExtract, State: "available", N: 2}}, backlog); diff != "" {
		t.Errorf("backlog (-want +got):\n%s", diff)
	}
	var args []string
	rows, err := raw.QueryContext(ctx, `SELECT json(args) FROM river_job ORDER BY id`)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = rows.Close() }()
	for rows.Next() {
		var a string
		if err := rows.Scan(&a); err != nil {
			t.Fatal(err)
		}
		args = append(args, a)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	want := []string{`{"workspace_id":"ws_1","conversation_id":"conv_a"}`, `{"workspace_id":"ws_1","conversation_id":"conv_b"}`}
	if diff := cmp.Diff(want, args); diff != "" {
		t.Errorf("args (-want +got):\n%s", diff)
	}
	if _, err := raw.ExecContext(ctx, `SELECT 1 FROM jobs`); err == nil {
		t.Error("the jobs table is still there")
	}
}
