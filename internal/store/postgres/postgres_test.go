package postgres_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/parley-dev/parley/internal/account"
	"github.com/parley-dev/parley/internal/conversation"
	"github.com/parley-dev/parley/internal/ids"
	"github.com/parley-dev/parley/internal/llm"
	"github.com/parley-dev/parley/internal/page"
	"github.com/parley-dev/parley/internal/store"
	"github.com/parley-dev/parley/internal/store/pgtest"
	"github.com/parley-dev/parley/internal/store/postgres"
	"github.com/parley-dev/parley/internal/store/storetest"
)

func schemaURL(t *testing.T) string { return pgtest.SchemaURL(t) }

// open opens a store (a "node") on dbURL, closed when the test ends.
func open(t *testing.T, dbURL string) *postgres.DB {
	t.Helper()
	db, err := postgres.Open(context.Background(), dbURL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	return db
}

func TestConformance(t *testing.T) {
	schemaURL(t) // skip early, visibly, when unset
	storetest.Run(t, func(t *testing.T) store.Store { return open(t, schemaURL(t)) })
}

// TestMigrateTogether starts several nodes on one empty database at once:
// the advisory lock makes exactly one of them apply each migration.
func TestMigrateTogether(t *testing.T) {
	dbURL := schemaURL(t)
	ctx := context.Background()
	const nodes = 4
	dbs := make([]*postgres.DB, nodes)
	for i := range dbs {
		dbs[i] = open(t, dbURL)
	}
	var wg sync.WaitGroup
	errs := make([]error, nodes)
	for i, db := range dbs {
		wg.Add(1)
		go func() { defer wg.Done(); errs[i] = db.Migrate(ctx) }()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("node %d: migrate: %v", i, err)
		}
	}
	for i, db := range dbs {
		if err := db.Ready(ctx); err != nil {
			t.Fatalf("node %d: ready: %v", i, err)
		}
	}
}

// fixture is a migrated schema with one workspace, seen from two nodes.
type fixture struct {
	a, b *postgres.DB
	ws   string
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	dbURL := schemaURL(t)
	f := &fixture{a: open(t, dbURL), b: open(t, dbURL)}
	ctx := context.Background()
	if err := f.a.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC()
	w := &account.Workspace{ID: ids.NewAt(ids.Workspace, now), Name: "W", CreatedAt: now}
	if err := f.a.CreateWorkspace(ctx, w); err != nil {
		t.Fatal(err)
	}
	f.ws = w.ID
	return f
}

func (f *fixture) conv(t *testing.T, at time.Time, mod func(*conversation.Conversation)) *conversation.Conversation {
	t.Helper()
	c := &conversation.Conversation{
		ID: ids.NewAt(ids.Conversation, at), WorkspaceID: f.ws, Type: conversation.TypeAPI,
		Status: conversation.StatusActive, AssistantID: "asst_none", AIEnabled: true,
		CostComplete: true, CreatedAt: at, UpdatedAt: at,
	}
	if mod != nil {
		mod(c)
	}
	if err := f.a.CreateConversation(context.Background(), c, nil); err != nil {
		t.Fatal(err)
	}
	return c
}

// TestAppendAcrossNodes appends to one conversation from two nodes at
// once: the row lock numbers every message once and loses no roll-up.
func TestAppendAcrossNodes(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	c := f.conv(t, time.Now(), nil)
	const writers, each = 6, 5
	var wg sync.WaitGroup
	errs := make(chan error, writers*each)
	for w := range writers {
		db := f.a
		if w%2 == 1 {
			db = f.b
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				m := &conversation.Message{ID: ids.NewAt(ids.Message, time.Now()), Role: conversation.RoleAssistant,
					Content: fmt.Sprintf("w%d-%d", w, i), CreatedAt: time.Now(),
					Usage: &llm.Usage{InputTokens: 2, OutputTokens: 3}}
				if _, err := db.AppendMessages(ctx, f.ws, c.ID, []*conversation.Message{m}); err != nil {
					errs <- err
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	got, err := f.b.GetConversation(ctx, f.ws, c.ID)
	if err != nil {
		t.Fatal(err)
	}
	const n = writers * each
	if got.MessageCount != n || got.Usage.TotalTokens != 5*n || got.Usage.InputTokens != 2*n {
		t.Errorf("roll-up: count %d, tokens %+v", got.MessageCount, got.Usage)
	}
	msgs, err := f.a.ListMessages(ctx, f.ws, c.ID, page.Request{Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	if len(msgs) != n {
		t.Fatalf("%d messages stored, want %d", len(msgs), n)
	}
	for i, m := range msgs {
		if want := conversation.MessageSeq(c.Seq, int64(i+1)); m.Seq != want {
			t.Errorf("message %d: seq %d, want %d", i, m.Seq, want)
		}
	}

	// The daily analytics the nodes added to, each connection in a shard
	// of its own, read as one row; a copy of every row in another shard
	// reads as twice as much.
	day := conversation.DayOf(c.CreatedAt)
	for _, times := range []int64{1, 2} {
		rows, err := f.b.ActivityRows(ctx, f.ws, conversation.ActivityFilter{FromDay: day - 1, ToDay: day + 1})
		if err != nil {
			t.Fatal(err)
		}
		if len(rows) != 1 || rows[0].AssistantMessages != times*n || rows[0].Usage.InputTokens != times*2*n ||
			rows[0].ConversationsStarted != times {
			t.Errorf("analytics (x%d): %+v", times, rows)
		}
		if times == 1 {
			if err := f.a.CopyActivityToShard(ctx, 99); err != nil {
				t.Fatal(err)
			}
		}
	}
}

// TestSearchInput feeds tsquery syntax and non-ASCII words to search:
// nothing reaches to_tsquery but letters and digits, and accented words
// match whole.
func TestSearchInput(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	now := time.Now()
	c := f.conv(t, now, func(c *conversation.Conversation) {
		c.Customer = conversation.Customer{Name: "Zoë Ñandú", Email: "zoe@example.com"}
	})
	m := &conversation.Message{ID: ids.NewAt(ids.Message, now), Role: conversation.RoleUser,
		Content: "¿Dónde está el café? It's at 9:30 — «muy» bien.", CreatedAt: now}
	if _, err := f.a.AppendMessages(ctx, f.ws, c.ID, []*conversation.Message{m}); err != nil {
		t.Fatal(err)
	}
	for q, want := range map[string]int{
		"café":                    1,
		"CAFÉ está":               1,
		"dónde":                   1,
		"muy bien":                1,
		"caf*":                    1,
		"ca*":                     0, // prefixes need three characters
		"zoë":                     1,
		"example com":             1,
		"zoe@example.com":         1,
		"café absent":             0,
		`a' | 'b`:                 0,
		`café & !(x | y):* <-> z`: 0,
		`'\'`:                     0,
		"!!! :* &&":               0,
	} {
		list, err := f.b.ListConversations(ctx, f.ws, conversation.Filter{Query: q},
			conversation.Order{Sort: conversation.SortCreatedAt, Desc: true}, page.Request{Limit: 10})
		if err != nil {
			t.Errorf("search %q: %v", q, err)
			continue
		}
		if len(list) != want {
			t.Errorf("search %q: %d results, want %d", q, len(list), want)
		}
		counts, err := f.b.CountConversations(ctx, f.ws, conversation.Filter{Query: q})
		if err != nil {
			t.Errorf("count %q: %v", q, err)
		} else if counts.Total != int64(want) {
			t.Errorf("count %q: %d, want %d", q, counts.Total, want)
		}
	}
}

// TestSubMillisecondTimes pages through conversations created within one
// millisecond of each other: stored times are truncated to the
// millisecond, as cursors carry them, so no row is skipped.
func TestSubMillisecondTimes(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	base := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	var want []string
	for i := range 5 {
		c := f.conv(t, base.Add(time.Duration(100+i*150)*time.Microsecond), nil)
		want = append(want, c.ID)
	}
	for _, desc := range []bool{false, true} {
		o := conversation.Order{Sort: conversation.SortCreatedAt, Desc: desc}
		var got []string
		req := page.Request{Limit: 2}
		for range 10 {
			rows, err := f.b.ListConversations(ctx, f.ws, conversation.Filter{}, o, req)
			if err != nil {
				t.Fatal(err)
			}
			res := page.Build(rows, req, func(c *conversation.Conversation) page.Cursor {
				return page.Cursor{Sort: o.Key(), Value: c.SortValue(o.Sort), Seq: c.Seq, Key: c.ID}
			})
			for _, c := range res.Items {
				got = append(got, c.ID)
				if !c.CreatedAt.Equal(base) || c.CreatedAt.Location() != time.UTC {
					t.Errorf("created_at %v, want %v", c.CreatedAt, base)
				}
			}
			if res.Next == nil {
				break
			}
			req = page.Request{Limit: 2, Cursor: res.Next}
		}
		if len(got) != len(want) {
			t.Errorf("desc=%v: paged %d of %d conversations", desc, len(got), len(want))
		}
	}
}

// TestConformanceLanguageCollation runs the suite as on a database that
// sorts text by a language's rules, where prefix counts cannot read the
// terms a prefix starts as one index range.
func TestConformanceLanguageCollation(t *testing.T) {
	schemaURL(t)
	defer postgres.SetLanguageCollation()()
	TestConformance(t)
}

// TestConformanceCommonWords runs the suite with every search word
// treated as common, so the conversation-walking search plan is held to
// the same contract as the index-first one.
func TestConformanceCommonWords(t *testing.T) {
	schemaURL(t)
	defer postgres.SetRareLimit(-1)()
	TestConformance(t)
}

// TestAnalyzeVacuumsItsSchema: after a bulk import, Analyze vacuums and
// analyzes the store's own tables (the visibility map lets index-only
// scans skip the table), and only those of its schema.
func TestAnalyzeVacuumsItsSchema(t *testing.T) {
	ctx := context.Background()
	url := schemaURL(t)
	db := open(t, url)
	if err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	if err := db.Analyze(ctx); err != nil {
		t.Fatal(err)
	}
	for _, table := range []string{"conversations", "conversation_terms", "conversation_months"} {
		got, err := db.Vacuumed(ctx, table)
		if err != nil {
			t.Fatal(err)
		}
		if !got {
			t.Errorf("%s was not vacuumed and analyzed", table)
		}
	}
}
