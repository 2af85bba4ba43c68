package postgres_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"

	"github.com/parley-dev/parley/internal/conversation"
	"github.com/parley-dev/parley/internal/jobs"
)

// TestMigrationMovesJobsToRiver: the jobs the old runner had not finished
// are River jobs after migration 0006, and its table is gone.
func TestMigrationMovesJobsToRiver(t *testing.T) {
	dbURL := schemaURL(t)
	ctx := context.Background()
	db := open(t, dbURL)
	if err := db.MigrateTo(ctx, 5); err != nil {
		t.Fatal(err)
	}
	conn, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	for i, status := range []string{"queued", "running", "done", "failed"} {
		if _, err := conn.Exec(ctx, `INSERT INTO jobs (id, workspace_id, kind, payload, status, max_attempts, run_at, created_at, updated_at)
			VALUES ($1, 'ws_1', 'conversation.extract', $2, $3, 8, now(), now(), now())`,
			"job_"+status, fmt.Sprintf(`{"workspace_id":"ws_1","conversation_id":"conv_%d"}`, i), status); err != nil {
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
	rows, err := conn.Query(ctx, `SELECT args->>'conversation_id' FROM river_job ORDER BY id`)
	if err != nil {
		t.Fatal(err)
	}
	got, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"conv_0", "conv_1"}, got); diff != "" {
		t.Errorf("conversations (-want +got):\n%s", diff)
	}
	var exists bool
	if err := conn.QueryRow(ctx, `SELECT to_regclass('jobs') IS NOT NULL`).Scan(&exists); err != nil || exists {
		t.Errorf("the jobs table is still there (%v)", err)
	}
}
