package sqlite

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/parley-dev/parley/internal/conversation"
	"github.com/parley-dev/parley/internal/fault"
	"github.com/parley-dev/parley/internal/page"
	"github.com/parley-dev/parley/internal/store"
)

// TestKeysetSeeksOnTieBreaker checks the plan of every query a deep page
// runs: SQLite does not seek a row value (value, seq) on an index, it
// seeks on value alone and skips the cursor value's ties row by row, so
// the list must seek the ties by rowid in a query of their own.
func TestKeysetSeeksOnTieBreaker(t *testing.T) {
	ctx := context.Background()
	db, err := Open(ctx, filepath.Join(t.TempDir(), "parley.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = db.Close() }()
	if err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	for _, sort := range []string{conversation.SortCreatedAt, conversation.SortUpdatedAt, conversation.SortMessageCount, conversation.SortTotalCost} {
		for _, desc := range []bool{false, true} {
			for _, before := range []bool{false, true} {
				o := conversation.Order{Sort: sort, Desc: desc}
				req := page.Request{Limit: 20, Cursor: &page.Cursor{Sort: o.Key(), Value: int64(7), Seq: 1000, Before: before}}
				qs := listQueries("ws", conversation.Filter{}, o, req)
				var tie bool
				for _, q := range qs {
					plan := explain(t, db, q.sql, append(q.args, req.Limit+1))
					if strings.Contains(plan, "SCAN") || strings.Contains(plan, "TEMP B-TREE") {
						t.Errorf("%s before=%v: plan %q does not seek", o.Key(), before, plan)
					}
					if strings.Contains(plan, "rowid<?") || strings.Contains(plan, "rowid>?") {
						tie = true
					}
				}
				if !tie {
					t.Errorf("%s before=%v: no query seeks the ties by rowid", o.Key(), before)
				}
			}
		}
	}
}

func explain(t *testing.T, db *DB, q string, args []any) string {
	t.Helper()
	rows, err := db.read.QueryContext(context.Background(), "EXPLAIN QUERY PLAN "+q, args...)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var b strings.Builder
	for rows.Next() {
		var id, parent, unused int
		var detail string
		if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
			t.Fatal(err)
		}
		b.WriteString(detail + "; ")
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

// TestFilterCombinationsSeekOneIndex checks that every pair of the
// equality filters the list API allows (assistant, status, type) seeks
// one index on both and reads it in created_at order: with an index on
// one filter only, a small assistant's ended conversations are found by
// walking all of that assistant's (or all ended) conversations.
func TestFilterCombinationsSeekOneIndex(t *testing.T) {
	ctx := context.Background()
	db, err := Open(ctx, filepath.Join(t.TempDir(), "parley.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = db.Close() }()
	if err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		f    conversation.Filter
		want string
	}{
		{conversation.Filter{AssistantID: "asst", Status: conversation.StatusEnded}, "assistant_id=? AND status=?"},
		{conversation.Filter{AssistantID: "asst", Types: []string{conversation.TypeAPI}}, "assistant_id=? AND type=?"},
		{conversation.Filter{Types: []string{conversation.TypeAPI}, Status: conversation.StatusEnded}, "type=? AND status=?"},
	}
	for _, tc := range cases {
		for _, cursor := range []*page.Cursor{nil, {Sort: "created_at:desc", Value: int64(7), Seq: 1000}} {
			o := conversation.Order{Sort: conversation.SortCreatedAt, Desc: true}
			for _, q := range listQueries("ws", tc.f, o, page.Request{Limit: 20, Cursor: cursor}) {
				plan := explain(t, db, q.sql, append(q.args, 21))
				if !strings.Contains(plan, tc.want) || strings.Contains(plan, "TEMP B-TREE") {
					t.Errorf("%+v: plan %q, want a seek on %q in order", tc.f, plan, tc.want)
				}
			}
		}
	}
}

// TestMigrateGathersStatistics checks that a database with rows gets
// planner statistics when it starts (Migrate), and again from Analyze.
func TestMigrateGathersStatistics(t *testing.T) {
	ctx := context.Background()
	file := filepath.Join(t.TempDir(), "parley.db")
	db, err := Open(ctx, file)
	if err != nil {
		t.Fatal(err)
	}
	if err := db.MigrateTo(ctx, 8); err != nil {
		t.Fatal(err)
	}
	// Rows as an import leaves them; foreign keys are off on this one
	// connection so no workspace is needed.
	conn, err := db.write.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{`PRAGMA foreign_keys=OFF`, `WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM n WHERE i < 500)
		INSERT INTO conversations (id, workspace_id, type, status, assistant_id, ai_enabled, created_at, updated_at)
		SELECT 'c' || i, 'ws', 'api', CASE WHEN i % 5 = 0 THEN 'active' ELSE 'ended' END, 'a' || (i % 3), 1, i, i FROM n`,
		`PRAGMA foreign_keys=ON`} {
		if _, err := conn.ExecContext(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	_ = conn.Close()
	stats := func() int {
		var n int
		if err := db.read.QueryRowContext(ctx, `SELECT count(*) FROM sqlite_stat1 WHERE tbl = 'conversations'`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	if err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	if n := stats(); n == 0 {
		t.Fatal("no statistics for conversations after Migrate")
	}
	if _, err := db.write.ExecContext(ctx, `DELETE FROM sqlite_stat1`); err != nil {
		t.Fatal(err)
	}
	if err := db.Analyze(ctx); err != nil {
		t.Fatal(err)
	}
	if n := stats(); n == 0 {
		t.Fatal("no statistics for conversations after Analyze")
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
}

// TestReadBudget checks that a list or a count past its time budget fails with
// CodeQueryTimeout, and that modernc interrupts a running statement when
// its context ends (so the reader connection comes back at once).
func TestReadBudget(t *testing.T) {
	ctx := context.Background()
	db, err := OpenWith(ctx, filepath.Join(t.TempDir(), "parley.db"), store.Options{ReadTimeout: time.Nanosecond})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = db.Close() }()
	if err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	_, err = db.ListConversations(ctx, "ws", conversation.Filter{}, conversation.Order{Sort: conversation.SortCreatedAt, Desc: true}, page.Request{Limit: 20})
	var fe *fault.Error
	if !errors.As(err, &fe) || fe.Code != fault.CodeQueryTimeout {
		t.Fatalf("list past its budget: err = %v, want code %s", err, fault.CodeQueryTimeout)
	}
	// Counts with filters run queries too, within the same budget.
	_, err = db.CountConversations(ctx, "ws", conversation.Filter{Status: conversation.StatusEnded, CustomerPhone: "+15550001111"})
	if !errors.As(err, &fe) || fe.Code != fault.CodeQueryTimeout {
		t.Fatalf("count past its budget: err = %v, want code %s", err, fault.CodeQueryTimeout)
	}
	// A caller that goes away keeps its own error.
	gone, cancel := context.WithCancel(ctx)
	cancel()
	_, err = db.ListConversations(gone, "ws", conversation.Filter{}, conversation.Order{Sort: conversation.SortCreatedAt, Desc: true}, page.Request{Limit: 20})
	if !errors.Is(err, context.Canceled) || errors.As(err, &fe) && fe.Code == fault.CodeQueryTimeout {
		t.Fatalf("canceled list: err = %v", err)
	}

	slow, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel()
	start := time.Now()
	var n int64
	err = db.read.QueryRowContext(slow, `WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n) SELECT max(i) FROM n`).Scan(&n)
	if err == nil || time.Since(start) > 2*time.Second {
		t.Fatalf("endless query: err = %v after %s, want an interrupt at 50 ms", err, time.Since(start))
	}
}
