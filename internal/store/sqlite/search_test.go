package sqlite_test

import (
	"context"
	"database/sql"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/parley-dev/parley/internal/account"
	"github.com/parley-dev/parley/internal/conversation"
	"github.com/parley-dev/parley/internal/ids"
	"github.com/parley-dev/parley/internal/page"
	"github.com/parley-dev/parley/internal/store/sqlite"
)

// TestMigrationRebuildsSearch fills a database as the release before
// migration 0005 left it (the raw text in the full-text index), then
// migrates: the old rows are found by the new terms, through the index
// walk and through the walk of a phone number's conversations.
func TestMigrationRebuildsSearch(t *testing.T) {
	ctx := context.Background()
	file := filepath.Join(t.TempDir(), "parley.db")
	db, err := sqlite.Open(ctx, file)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = db.Close() }()
	if err := db.MigrateTo(ctx, 4); err != nil {
		t.Fatal(err)
	}
	// Today's writes below maintain the analytics of 0012.
	if err := db.ApplyEarly(ctx, 12); err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC()
	w := &account.Workspace{ID: ids.NewAt(ids.Workspace, now), Name: "W", CreatedAt: now}
	if err := db.CreateWorkspace(ctx, w); err != nil {
		t.Fatal(err)
	}
	const phone = "+815012345678"
	c := &conversation.Conversation{ID: ids.NewAt(ids.Conversation, now), WorkspaceID: w.ID, Type: conversation.TypeAPI,
		Status: conversation.StatusActive, AssistantID: "asst_old", AIEnabled: true, Variables: map[string]conversation.Variable{},
		Customer: conversation.Customer{Name: "山田太郎", Phone: phone, Email: "jürgen@example.de"}, CostComplete: true,
		CreatedAt: now, UpdatedAt: now}
	var msgs []*conversation.Message
	for _, content := range []string{"東京で会いましょう", "Die Straße ist gesperrt."} {
		msgs = append(msgs, &conversation.Message{ID: ids.NewAt(ids.Message, now), Role: conversation.RoleUser, Content: content, CreatedAt: now})
	}
	insertOld(t, file, c, msgs)
	// Index the rows as the release before 0005 did: raw text.
	raw, err := sql.Open("sqlite", file)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = raw.Close() }()
	if _, err := raw.ExecContext(ctx, `INSERT INTO search (search) VALUES ('delete-all');
		INSERT INTO search (rowid, body) SELECT ((549755813887 - (seq >> 24)) << 24) | (seq & 16777215), content FROM messages;
		INSERT INTO search (rowid, body) SELECT (549755813887 - seq) << 24, trim(coalesce(customer_name, '') || ' ' ||
			coalesce(customer_phone, '') || ' ' || coalesce(customer_email, '') || ' ' || coalesce(external_identifier, ''))
			FROM conversations`); err != nil {
		t.Fatal(err)
	}
	found := func(f conversation.Filter) int {
		t.Helper()
		list, err := db.ListConversations(ctx, w.ID, f, conversation.Order{Sort: conversation.SortCreatedAt, Desc: true}, page.Request{Limit: 10})
		if err != nil {
			t.Fatalf("search %q: %v", f.Query, err)
		}
		return len(list)
	}
	// Before migrating, through the old index directly: today's read path
	// selects columns later migrations add.
	matches := func(q string) int {
		t.Helper()
		var n int
		if err := raw.QueryRowContext(ctx, `SELECT count(*) FROM search WHERE search MATCH ?`, q).Scan(&n); err != nil {
			t.Fatalf("search %q: %v", q, err)
		}
		return n
	}
	if n := matches(`"東京"`); n != 0 {
		t.Fatalf("before migrating, 東京 found %d rows: the old index is not as this test assumes", n)
	}
	if n := matches(`"jürgen"`); n != 1 {
		t.Fatalf("before migrating, jürgen found %d rows: the old index is not as this test assumes", n)
	}
	if err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{"東京", "会いましょう", "strasse", "Straße", "gesperrt", "山田", "jurgen", "jürgen", "example"} {
		for _, f := range []conversation.Filter{{Query: q}, {Query: q, CustomerPhone: phone}} {
			if n := found(f); n != 1 {
				t.Errorf("after migrating, q=%q phone=%q found %d conversations, want 1", q, f.CustomerPhone, n)
			}
			// Counts of one word read the terms migration 0018 fills.
			counts, err := db.CountConversations(ctx, w.ID, f)
			if err != nil {
				t.Fatal(err)
			}
			if counts.Total != 1 {
				t.Errorf("after migrating, count q=%q phone=%q = %d, want 1", q, f.CustomerPhone, counts.Total)
			}
		}
	}
}

// TestMigrationAddsPrefixIndex fills a database as the release before
// migration 0009 left it, then migrates: the full-text index has prefix
// indexes (so q=ord* reads one list, not every term it starts), and the
// old rows are still found, by words and by prefixes.
func TestMigrationAddsPrefixIndex(t *testing.T) {
	ctx := context.Background()
	file := filepath.Join(t.TempDir(), "parley.db")
	db, err := sqlite.Open(ctx, file)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = db.Close() }()
	if err := db.MigrateTo(ctx, 8); err != nil {
		t.Fatal(err)
	}
	// Today's writes below maintain the analytics of 0012.
	if err := db.ApplyEarly(ctx, 12); err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC()
	w := &account.Workspace{ID: ids.NewAt(ids.Workspace, now), Name: "W", CreatedAt: now}
	if err := db.CreateWorkspace(ctx, w); err != nil {
		t.Fatal(err)
	}
	c := &conversation.Conversation{ID: ids.NewAt(ids.Conversation, now), WorkspaceID: w.ID, Type: conversation.TypeAPI,
		Status: conversation.StatusActive, AssistantID: "asst_old", AIEnabled: true, Variables: map[string]conversation.Variable{},
		Customer: conversation.Customer{Name: "Zoë Ordway"}, CostComplete: true, CreatedAt: now, UpdatedAt: now}
	msgs := []*conversation.Message{{ID: ids.NewAt(ids.Message, now), Role: conversation.RoleUser, Content: "Where is my parcel? 配送はいつですか", CreatedAt: now}}
	insertOld(t, file, c, msgs)
	if err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	raw, err := sql.Open("sqlite", file)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = raw.Close() }()
	var ddl string
	if err := raw.QueryRowContext(ctx, `SELECT sql FROM sqlite_master WHERE name = 'search'`).Scan(&ddl); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(ddl, "prefix = '3 4'") {
		t.Errorf("search table %q has no prefix indexes", ddl)
	}
	for _, q := range []string{"parcel", "par*", "parc*", "parce*", "zoe", "ord*", "配送", "配*"} {
		list, err := db.ListConversations(ctx, w.ID, conversation.Filter{Query: q}, conversation.Order{Sort: conversation.SortCreatedAt, Desc: true}, page.Request{Limit: 10})
		if err != nil || len(list) != 1 {
			t.Errorf("after migrating, q=%q found %d conversations (%v), want 1", q, len(list), err)
		}
	}
}

// insertOld stores a conversation and its messages with raw SQL, as an
// older release did: today's store writes columns later migrations add.
// The migrations under test rebuild the search index from these rows.
func insertOld(t *testing.T, file string, c *conversation.Conversation, msgs []*conversation.Message) {
	t.Helper()
	ctx := context.Background()
	raw, err := sql.Open("sqlite", file)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = raw.Close() }()
	var seq int64
	if err := raw.QueryRowContext(ctx, `INSERT INTO conversations (id, workspace_id, type, status, assistant_id, ai_enabled,
		customer_name, customer_phone, customer_email, variables, message_count, cost_complete, created_at, updated_at)
		VALUES (?, ?, ?, ?, ?, 1, ?, ?, ?, '{}', ?, 1, ?, ?) RETURNING seq`, c.ID, c.WorkspaceID, c.Type, c.Status, c.AssistantID,
		nullable(c.Customer.Name), nullable(c.Customer.Phone), nullable(c.Customer.Email), len(msgs),
		c.CreatedAt.UnixMilli(), c.UpdatedAt.UnixMilli()).Scan(&seq); err != nil {
		t.Fatalf("insert conversation: %v", err)
	}
	for i, m := range msgs {
		if _, err := raw.ExecContext(ctx, `INSERT INTO messages (seq, id, role, content, created_at) VALUES (?, ?, ?, ?, ?)`,
			conversation.MessageSeq(seq, int64(i+1)), m.ID, m.Role, m.Content, m.CreatedAt.UnixMilli()); err != nil {
			t.Fatalf("insert message: %v", err)
		}
	}
}

func nullable(s string) any {
	if s == "" {
		return nil
	}
	return s
}
