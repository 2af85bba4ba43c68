package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"testing"
)

// TestStatementCache: the writer's statements are prepared once and
// reused with new arguments; a query run again while its own rows are
// still open gets a statement of its own (the open rows are not reset);
// scripts of several statements still run whole; a table rebuilt under a
// cached statement is seen as rebuilt; the cache stays bounded.
func TestStatementCache(t *testing.T) {
	ctx := context.Background()
	c, err := newCachingConnector("file:" + filepath.Join(t.TempDir(), "cache.db"))
	if err != nil {
		t.Fatal(err)
	}
	db := sql.OpenDB(c)
	defer func() { _ = db.Close() }()
	db.SetMaxOpenConns(1)
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	_, err = db.ExecContext(ctx, `CREATE TABLE t (a INTEGER); CREATE TABLE u (b TEXT)`) // a script
	must(err)
	for i := range 100 {
		_, err := db.ExecContext(ctx, `INSERT INTO t (a) VALUES (?)`, i)
		must(err)
	}
	count := func(q string, args ...any) (n int) {
		t.Helper()
		must(db.QueryRowContext(ctx, q, args...).Scan(&n))
		return n
	}
	if n := count(`SELECT count(*) FROM t WHERE a >= ?`, 0); n != 100 {
		t.Fatalf("%d rows, want 100", n)
	}
	if n := count(`SELECT count(*) FROM t WHERE a >= ?`, 90); n != 10 {
		t.Fatalf("the cached count with a new argument: %d, want 10", n)
	}

	// The same query inside its own open rows, on the one connection.
	const q = `SELECT a FROM t WHERE a < ? ORDER BY a`
	conn, err := db.Conn(ctx)
	must(err)
	rows, err := conn.QueryContext(ctx, q, 5)
	must(err)
	defer rows.Close()
	var outer []int
	for rows.Next() {
		var a int
		must(rows.Scan(&a))
		outer = append(outer, a)
		var inner int
		must(conn.QueryRowContext(ctx, q, 1).Scan(&inner))
		if inner != 0 {
			t.Errorf("inner query = %d, want 0", inner)
		}
	}
	must(rows.Err())
	must(rows.Close())
	if fmt.Sprint(outer) != "[0 1 2 3 4]" {
		t.Errorf("outer rows %v, want [0 1 2 3 4]: the inner run reset them", outer)
	}
	var a int
	must(conn.QueryRowContext(ctx, q, 3).Scan(&a)) // the cached one, free again

	// Rebuilt under a cached statement: SQLite prepares it again.
	_, err = conn.ExecContext(ctx, `DROP TABLE t; CREATE TABLE t (z TEXT, a INTEGER); INSERT INTO t (a) VALUES (7)`)
	must(err)
	must(conn.QueryRowContext(ctx, q, 100).Scan(&a))
	if a != 7 {
		t.Errorf("after the rebuild: %d, want 7", a)
	}

	for i := range stmtCacheSize + 50 {
		var n int
		must(conn.QueryRowContext(ctx, fmt.Sprintf(`SELECT %d`, i)).Scan(&n))
	}
	must(conn.Raw(func(dc any) error {
		if n := len(dc.(*cachingConn).stmts); n > stmtCacheSize {
			t.Errorf("%d statements cached, want at most %d", n, stmtCacheSize)
		}
		return nil
	}))
	must(conn.Close())
}
