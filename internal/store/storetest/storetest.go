// Package storetest is the conformance suite every store adapter must
// pass. It tests behaviour through store.Store only, so SQLite and
// PostgreSQL are held to exactly the same contract.
package storetest

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/riverqueue/river"

	"github.com/parley-dev/parley/internal/account"
	"github.com/parley-dev/parley/internal/assistant"
	"github.com/parley-dev/parley/internal/conversation"
	"github.com/parley-dev/parley/internal/fault"
	"github.com/parley-dev/parley/internal/ids"
	"github.com/parley-dev/parley/internal/jobs"
	"github.com/parley-dev/parley/internal/llm"
	"github.com/parley-dev/parley/internal/money"
	"github.com/parley-dev/parley/internal/page"
	"github.com/parley-dev/parley/internal/store"
)

// Opener returns a fresh, migrated-or-not store for one test.
type Opener func(t *testing.T) store.Store

// Run runs the whole suite. open must return an empty store each call.
func Run(t *testing.T, open Opener) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s store.Store)
	}{
		{"Migrate", testMigrate},
		{"Accounts", testAccounts},
		{"APIKeys", testAPIKeys},
		{"Sessions", testSessions},
		{"Users", testUsers},
		{"Assistants", testAssistants},
		{"Prices", testPrices},
		{"PriceConflicts", testPriceConflicts},
		{"ConversationCreateAndAppend", testCreateAndAppend},
		{"ConversationUpdate", testUpdate},
		{"ConversationIsolation", testIsolation},
		{"CursorBounds", testCursorBounds},
		{"Within", testWithin},
		{"ConcurrentWithin", testConcurrentWithin},
		{"ConversationCounts", testCounts},
		{"ConversationCountBuckets", testCountBuckets},
		{"ConversationCountQueryBound", testCountQueryBound},
		{"Analytics", testAnalytics},
		{"ConversationListOrders", testListOrders},
		{"ConversationListTies", testListTies},
		{"ConversationListFilters", testListFilters},
		{"ConversationSearch", testSearch},
		{"ConversationSearchFilters", testSearchFilters},
		{"ConversationSearchLanguages", testSearchLanguages},
		{"ConversationCountTermsKept", testCountTermsKept},
		{"ConversationCountTermsWords", testCountTermsWords},
		{"ConversationCountTermsRandom", testCountTermsRandom},
		{"Messages", testMessages},
		{"Snapshot", testSnapshot},
		{"Delete", testDelete},
		{"Jobs", testJobs},
		{"Events", testEvents},
		{"EventOrder", testEventOrder},
		{"EventPrune", testEventPrune},
		{"JobsPickup", testJobsPickup},
		{"ConcurrentAppends", testConcurrentAppends},
		{"Errors", testErrors},
		{"Bootstrap", testBootstrap},
		{"Widget", testWidget},
		{"WhatsAppSenders", testWhatsAppSenders},
		{"WhatsAppWamids", testWhatsAppWamids},
		{"WhatsAppEarlyReceipts", testWhatsAppEarlyReceipts},
		{"WhatsAppWamidLock", testWhatsAppWamidLock},
		{"WhatsAppThreads", testWhatsAppThreads},
		{"WhatsAppStatuses", testWhatsAppStatuses},
		{"WhatsAppTemplates", testWhatsAppTemplates},
		{"WhatsAppRates", testWhatsAppRates},
		{"WhatsAppUnrouted", testWhatsAppUnrouted},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := open(t)
			if tc.name != "Migrate" {
				if err := s.Migrate(context.Background()); err != nil {
					t.Fatalf("migrate: %v", err)
				}
			}
			tc.fn(t, s)
		})
	}
}

var base = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func at(sec int) time.Time { return base.Add(time.Duration(sec) * time.Second) }

func wantCode(t *testing.T, err error, code string) {
	t.Helper()
	if !fault.Is(err, code) {
		t.Fatalf("err = %v, want code %s", err, code)
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func testMigrate(t *testing.T, s store.Store) {
	ctx := context.Background()
	if err := s.Ready(ctx); err == nil {
		t.Error("Ready before Migrate = nil")
	}
	must(t, s.Migrate(ctx))
	must(t, s.Migrate(ctx)) // idempotent
	must(t, s.Ready(ctx))
	if d := s.Driver(); d != "sqlite" && d != "postgres" {
		t.Errorf("driver %q", d)
	}
}

func newWorkspace(t *testing.T, s store.Store, name string) string {
	t.Helper()
	w := &account.Workspace{ID: ids.NewAt(ids.Workspace, base), Name: name, CreatedAt: base}
	must(t, s.CreateWorkspace(context.Background(), w))
	return w.ID
}

func testAccounts(t *testing.T, s store.Store) {
	ctx := context.Background()
	ws := newWorkspace(t, s, "One")
	w2 := &account.Workspace{ID: ids.NewAt(ids.Workspace, at(1)), Name: "Two", CreatedAt: at(1)}
	must(t, s.CreateWorkspace(ctx, w2))
	got, err := s.GetWorkspace(ctx, ws)
	must(t, err)
	if got.Name != "One" || !got.CreatedAt.Equal(base) || got.CreatedAt.Location() != time.UTC {
		t.Errorf("workspace %+v", got)
	}
	_, err = s.GetWorkspace(ctx, "ws_missing")
	wantCode(t, err, fault.CodeNotFound)
	all, err := s.ListWorkspaces(ctx)
	must(t, err)
	if len(all) != 2 || all[0].ID != ws || all[1].ID != w2.ID {
		t.Errorf("ListWorkspaces = %v", all)
	}

	u := &account.User{ID: ids.NewAt(ids.User, base), WorkspaceID: ws, Email: "ada@example.com", PasswordHash: "h", Role: account.RoleOwner, CreatedAt: base}
	must(t, s.CreateUser(ctx, u))
	dup := *u
	dup.ID, dup.Email = ids.NewAt(ids.User, base), "ADA@example.com"
	wantCode(t, s.CreateUser(ctx, &dup), fault.CodeConflict)
	gu, err := s.GetUserByEmail(ctx, "Ada@Example.com")
	must(t, err)
	if diff := cmp.Diff(u, gu); diff != "" {
		t.Errorf("user (-want +got):\n%s", diff)
	}
	_, err = s.GetUserByEmail(ctx, "nobody@example.com")
	wantCode(t, err, fault.CodeNotFound)

	k := &account.APIKey{ID: ids.NewAt(ids.APIKey, base), WorkspaceID: ws, Name: "ci", Hash: account.HashKey("pk_secret"), Prefix: "pk_sec", CreatedAt: base}
	must(t, s.CreateAPIKey(ctx, k))
	gk, err := s.GetAPIKeyByHash(ctx, account.HashKey("pk_secret"))
	must(t, err)
	if diff := cmp.Diff(k, gk); diff != "" {
		t.Errorf("key (-want +got):\n%s", diff)
	}
	_, err = s.GetAPIKeyByHash(ctx, account.HashKey("pk_other"))
	wantCode(t, err, fault.CodeNotFound)

	v, err := s.EnsureSetting(ctx, "k", "first")
	must(t, err)
	v2, err := s.EnsureSetting(ctx, "k", "second")
	must(t, err)
	if v != "first" || v2 != "first" {
		t.Errorf("EnsureSetting = %q, %q", v, v2)
	}
}

// API keys are listed per workspace, oldest first, revoked at once, and
// record their last use at most once per interval.
func testAPIKeys(t *testing.T, s store.Store) {
	ctx := context.Background()
	ws, other := newWorkspace(t, s, "A"), newWorkspace(t, s, "B")
	var keys []*account.APIKey
	for i := range 5 {
		secret := fmt.Sprintf("pk_secret%d", i)
		k := &account.APIKey{ID: ids.NewAt(ids.APIKey, at(i)), WorkspaceID: ws, Name: fmt.Sprint("k", i),
			Hash: account.HashKey(secret), Prefix: secret[:9], CreatedAt: at(i)}
		must(t, s.CreateAPIKey(ctx, k))
		keys = append(keys, k)
	}
	must(t, s.CreateAPIKey(ctx, &account.APIKey{ID: ids.NewAt(ids.APIKey, base), WorkspaceID: other, Name: "o",
		Hash: account.HashKey("pk_other"), Prefix: "pk_oth", CreatedAt: base}))
	want := make([]string, len(keys))
	for i, k := range keys {
		want[i] = k.ID
	}
	checkPaging(t, want, func(req page.Request) ([]string, error) {
		list, err := s.ListAPIKeys(ctx, ws, req)
		var out []string
		for _, k := range list {
			out = append(out, k.ID)
		}
		return out, err
	}, func(id string) page.Cursor { return page.Cursor{Key: id} })
	list, err := s.ListAPIKeys(ctx, ws, page.Request{Limit: 1})
	must(t, err)
	if diff := cmp.Diff(keys[:1], list[:1]); diff != "" {
		t.Errorf("listed key (-want +got):\n%s", diff)
	}

	// Last use: the first touch records it; touches within the interval
	// (older than staleBefore) change nothing; a later one moves it on.
	k := keys[0]
	must(t, s.TouchAPIKey(ctx, k.ID, at(100), at(40)))
	must(t, s.TouchAPIKey(ctx, k.ID, at(130), at(70)))
	got, err := s.GetAPIKeyByHash(ctx, k.Hash)
	must(t, err)
	if got.LastUsedAt == nil || !got.LastUsedAt.Equal(at(100)) {
		t.Errorf("last used %v, want %v", got.LastUsedAt, at(100))
	}
	must(t, s.TouchAPIKey(ctx, k.ID, at(161), at(101)))
	got, err = s.GetAPIKeyByHash(ctx, k.Hash)
	must(t, err)
	if got.LastUsedAt == nil || !got.LastUsedAt.Equal(at(161)) || got.LastUsedAt.Location() != time.UTC {
		t.Errorf("last used %v, want %v", got.LastUsedAt, at(161))
	}

	// Revoking: only in the key's own workspace; the key stops at once.
	wantCode(t, s.DeleteAPIKey(ctx, other, k.ID), fault.CodeNotFound)
	must(t, s.DeleteAPIKey(ctx, ws, k.ID))
	_, err = s.GetAPIKeyByHash(ctx, k.Hash)
	wantCode(t, err, fault.CodeNotFound)
	wantCode(t, s.DeleteAPIKey(ctx, ws, k.ID), fault.CodeNotFound)
	list, err = s.ListAPIKeys(ctx, ws, page.Request{Limit: 10})
	must(t, err)
	if len(list) != 4 {
		t.Errorf("%d keys after revoking one of 5", len(list))
	}
}

func newAssistant(t *testing.T, s store.Store, ws, name string) *assistant.Assistant {
	t.Helper()
	set := assistant.Defaults()
	set.Name = name
	set.Knowledge = "We open at nine."
	set.Variables = []assistant.VariableDef{{Name: "plan", Type: assistant.TypeEnum, Values: []string{"free", "pro"}}}
	a := &assistant.Assistant{ID: ids.NewAt(ids.Assistant, base), WorkspaceID: ws, PublicKey: "pub_" + account.RandomToken(24),
		Settings: set, CreatedAt: base, UpdatedAt: base}
	must(t, s.CreateAssistant(context.Background(), a))
	return a
}

func testAssistants(t *testing.T, s store.Store) {
	ctx := context.Background()
	ws, other := newWorkspace(t, s, "A"), newWorkspace(t, s, "B")
	a := newAssistant(t, s, ws, "Support")
	got, err := s.GetAssistant(ctx, ws, a.ID)
	must(t, err)
	if diff := cmp.Diff(a, got); diff != "" {
		t.Errorf("assistant (-want +got):\n%s", diff)
	}
	byKey, err := s.GetAssistantByPublicKey(ctx, a.PublicKey)
	must(t, err)
	if byKey.ID != a.ID {
		t.Errorf("by public key = %s", byKey.ID)
	}
	_, err = s.GetAssistant(ctx, other, a.ID)
	wantCode(t, err, fault.CodeNotFound)

	a.Name, a.UpdatedAt = "Renamed", at(5)
	a.Widget.Color = "#000000"
	must(t, s.UpdateAssistant(ctx, a))
	got, _ = s.GetAssistant(ctx, ws, a.ID)
	if got.Name != "Renamed" || got.Widget.Color != "#000000" || !got.UpdatedAt.Equal(at(5)) {
		t.Errorf("after update: %+v", got)
	}
	foreign := *a
	foreign.WorkspaceID = other
	wantCode(t, s.UpdateAssistant(ctx, &foreign), fault.CodeNotFound)
	wantCode(t, s.DeleteAssistant(ctx, other, a.ID, base), fault.CodeNotFound)

	var all []string
	for i := 0; i < 4; i++ {
		all = append(all, newAssistant(t, s, ws, fmt.Sprintf("n%d", i)).ID)
	}
	all = append([]string{a.ID}, all...)
	checkPaging(t, all, func(req page.Request) ([]string, error) {
		rows, err := s.ListAssistants(ctx, ws, req)
		var out []string
		for _, r := range rows {
			out = append(out, r.ID)
		}
		return out, err
	}, func(id string) page.Cursor { return page.Cursor{Key: id} })

	must(t, s.DeleteAssistant(ctx, ws, a.ID, base))
	_, err = s.GetAssistant(ctx, ws, a.ID)
	wantCode(t, err, fault.CodeNotFound)
	_, err = s.GetAssistantByPublicKey(ctx, a.PublicKey)
	wantCode(t, err, fault.CodeNotFound)
	wantCode(t, s.DeleteAssistant(ctx, ws, a.ID, base), fault.CodeNotFound)
	rows, _ := s.ListAssistants(ctx, ws, page.Request{Limit: 10})
	if len(rows) != 4 {
		t.Errorf("deleted assistant still listed: %d rows", len(rows))
	}
}

// checkPaging walks a list forwards page by page, then backwards with the
// prev cursors, and checks both walks see exactly want, in order.
func checkPaging(t *testing.T, want []string, list func(page.Request) ([]string, error), keyOf func(string) page.Cursor) {
	t.Helper()
	for _, limit := range []int{1, 2, 3, len(want) + 1} {
		var pages [][]string
		req := page.Request{Limit: limit}
		for {
			rows, err := list(req)
			must(t, err)
			res := page.Build(rows, req, keyOf)
			pages = append(pages, res.Items)
			if res.Next == nil {
				break
			}
			if len(pages) > len(want)+2 {
				t.Fatalf("limit %d: paging does not end", limit)
			}
			req.Cursor = res.Next
		}
		var flat []string
		for _, p := range pages {
			flat = append(flat, p...)
		}
		if diff := cmp.Diff(want, flat); diff != "" {
			t.Fatalf("limit %d forward (-want +got):\n%s", limit, diff)
		}
		// Backwards from the last page.
		last := pages[len(pages)-1]
		if len(last) == 0 {
			continue
		}
		back := append([]string(nil), last...)
		cur := keyOf(last[0])
		cur.Before = true
		req = page.Request{Limit: limit, Cursor: &cur}
		for {
			rows, err := list(req)
			must(t, err)
			res := page.Build(rows, req, keyOf)
			back = append(append([]string(nil), res.Items...), back...)
			if res.Prev == nil {
				break
			}
			req.Cursor = res.Prev
			if len(back) > len(want)+limit {
				t.Fatalf("limit %d: backward paging does not end", limit)
			}
		}
		if diff := cmp.Diff(want, back); diff != "" {
			t.Fatalf("limit %d backward (-want +got):\n%s", limit, diff)
		}
	}
}

func testPrices(t *testing.T, s store.Store) {
	ctx := context.Background()
	ws, other := newWorkspace(t, s, "A"), newWorkspace(t, s, "B")
	p := &assistant.Price{ID: ids.NewAt(ids.ModelPrice, base), WorkspaceID: ws, ModelPattern: "acme-.*",
		Input: 2_500_000_000, Output: 10_000_000_000, CachedInput: 1_250_000_000, EffectiveFrom: base, CreatedAt: base}
	must(t, s.CreatePrice(ctx, p))
	got, err := s.GetPrice(ctx, ws, p.ID)
	must(t, err)
	if diff := cmp.Diff(p, got); diff != "" {
		t.Errorf("price (-want +got):\n%s", diff)
	}
	_, err = s.GetPrice(ctx, other, p.ID)
	wantCode(t, err, fault.CodeNotFound)
	p.Output = 12_000_000_000
	must(t, s.UpdatePrice(ctx, p))
	list, err := s.ListPrices(ctx, ws)
	must(t, err)
	if len(list) != 1 || list[0].Output != 12_000_000_000 {
		t.Errorf("ListPrices = %+v", list)
	}
	if l, _ := s.ListPrices(ctx, other); len(l) != 0 {
		t.Errorf("other workspace sees %d prices", len(l))
	}
	wantCode(t, s.DeletePrice(ctx, other, p.ID), fault.CodeNotFound)
	must(t, s.DeletePrice(ctx, ws, p.ID))
	wantCode(t, s.DeletePrice(ctx, ws, p.ID), fault.CodeNotFound)
}

// Two rows of one workspace with the same pattern and effective_from
// would make the price of a reply arbitrary: the store refuses the second
// as a conflict, on create and on update, and stores nothing.
func testPriceConflicts(t *testing.T, s store.Store) {
	ctx := context.Background()
	ws, other := newWorkspace(t, s, "A"), newWorkspace(t, s, "B")
	row := func(ws, pattern string, from time.Time) *assistant.Price {
		return &assistant.Price{ID: ids.NewAt(ids.ModelPrice, base), WorkspaceID: ws, ModelPattern: pattern,
			Input: 1, Output: 2, CachedInput: 1, EffectiveFrom: from, CreatedAt: base}
	}
	first := row(ws, "gpt-4o", base)
	must(t, s.CreatePrice(ctx, first))
	dup := row(ws, "gpt-4o", base)
	err := s.CreatePrice(ctx, dup)
	wantCode(t, err, fault.CodeConflict)
	if !strings.Contains(err.Error(), "gpt-4o") {
		t.Errorf("conflict does not name the pattern: %v", err)
	}
	_, err = s.GetPrice(ctx, ws, dup.ID)
	wantCode(t, err, fault.CodeNotFound)
	// Another time, another pattern or another workspace is no conflict.
	later := row(ws, "gpt-4o", at(60))
	must(t, s.CreatePrice(ctx, later))
	must(t, s.CreatePrice(ctx, row(ws, "gpt-4o.*", base)))
	must(t, s.CreatePrice(ctx, row(other, "gpt-4o", base)))
	// Moving a row onto another's pattern and time is refused too.
	later.EffectiveFrom = base
	wantCode(t, s.UpdatePrice(ctx, later), fault.CodeConflict)
	got, err := s.GetPrice(ctx, ws, later.ID)
	must(t, err)
	if !got.EffectiveFrom.Equal(at(60)) {
		t.Errorf("refused update changed the row: %+v", got)
	}
}

// fixture is a workspace with an assistant, to hang conversations on.
type fixture struct {
	s     store.Store
	ws    string
	asst  *assistant.Assistant
	clock int
}

func newFixture(t *testing.T, s store.Store) *fixture {
	ws := newWorkspace(t, s, "W")
	return &fixture{s: s, ws: ws, asst: newAssistant(t, s, ws, "Helper")}
}

// conv creates a conversation one second after the previous one.
func (f *fixture) conv(t *testing.T, mod func(*conversation.Conversation), first ...*conversation.Message) *conversation.Conversation {
	t.Helper()
	f.clock++
	now := at(f.clock)
	c := &conversation.Conversation{
		ID: ids.NewAt(ids.Conversation, now), WorkspaceID: f.ws, Type: conversation.TypeAPI,
		Status: conversation.StatusActive, AssistantID: f.asst.ID, AssistantName: f.asst.Name, AIEnabled: true,
		Variables: map[string]conversation.Variable{}, CostComplete: true, CreatedAt: now, UpdatedAt: now,
	}
	if mod != nil {
		mod(c)
	}
	for _, m := range first {
		if m.CreatedAt.IsZero() {
			m.CreatedAt = now
		}
	}
	// As the service does: the conversation and its count in one
	// transaction, the count computed by the domain.
	must(t, f.s.Within(context.Background(), func(ctx context.Context) error {
		if err := f.s.CreateConversation(ctx, c, first); err != nil {
			return err
		}
		return f.s.AddCounts(ctx, f.ws, conversation.CountChange([]*conversation.Conversation{c}, nil))
	}))
	if c.Seq == 0 {
		t.Fatal("CreateConversation did not set Seq")
	}
	return c
}

func msg(role, content string, sec int) *conversation.Message {
	return &conversation.Message{ID: ids.NewAt(ids.Message, at(sec)), Role: role, Content: content, CreatedAt: at(sec)}
}

func reply(content string, sec int, in, out, cached int64, cost *money.Money) *conversation.Message {
	m := msg(conversation.RoleAssistant, content, sec)
	m.Model = "acme-1"
	m.Usage = &llm.Usage{InputTokens: in, OutputTokens: out, CachedInputTokens: cached}
	m.Cost = cost
	lat, first := int64(120), int64(30)
	m.LatencyMS, m.FirstTokenMS = &lat, &first
	return m
}

func cost(n int64) *money.Money { m := money.Money(n); return &m }

func testCreateAndAppend(t *testing.T, s store.Store) {
	ctx := context.Background()
	f := newFixture(t, s)
	greet := msg(conversation.RoleAssistant, "Welcome!", 1)
	c := f.conv(t, func(c *conversation.Conversation) {
		c.Customer = conversation.Customer{Name: "Ada", Phone: "+15550001", Email: "ada@example.com"}
		c.ExternalIdentifier = "crm-1"
		c.Variables = map[string]conversation.Variable{"plan": {Value: "pro", Type: "enum", Source: conversation.SourceAPI}}
	}, greet)
	if c.MessageCount != 1 || c.LastMessage == nil || c.LastMessage.Preview != "Welcome!" || greet.Seq == 0 || greet.ConversationID != c.ID {
		t.Errorf("after create: %+v, greeting %+v", c, greet)
	}
	// The store persists the conversation it is given; it decides no
	// field of it (cost completeness included).
	unpriced := f.conv(t, func(c *conversation.Conversation) { c.CostComplete = false })
	if got, err := s.GetConversation(ctx, f.ws, unpriced.ID); err != nil || got.CostComplete {
		t.Errorf("cost_complete not persisted as given: %v %+v", err, got)
	}
	got, err := s.GetConversation(ctx, f.ws, c.ID)
	must(t, err)
	if diff := cmp.Diff(c, got); diff != "" {
		t.Errorf("stored conversation (-want +got):\n%s", diff)
	}
	if got.AssistantName != "Helper" {
		t.Errorf("assistant name %q", got.AssistantName)
	}

	u := msg(conversation.RoleUser, "How much is it?", 10)
	r1 := reply("Ten euros.", 11, 100, 20, 40, cost(412_500))
	_, err = s.AppendMessages(ctx, f.ws, c.ID, []*conversation.Message{u, r1})
	must(t, err)
	r2 := reply("Also, hello.", 12, 50, 5, 0, cost(100))
	after, err := s.AppendMessages(ctx, f.ws, c.ID, []*conversation.Message{r2})
	must(t, err)
	want := llm.Usage{InputTokens: 150, OutputTokens: 25, CachedInputTokens: 40, TotalTokens: 175}
	if after.MessageCount != 4 || after.Usage != want || after.TotalCost != 412_600 || !after.CostComplete {
		t.Errorf("roll-up: count %d usage %+v cost %d complete %v", after.MessageCount, after.Usage, after.TotalCost, after.CostComplete)
	}
	if !after.UpdatedAt.Equal(at(12)) || after.LastMessage.Role != conversation.RoleAssistant || after.LastMessage.Preview != "Also, hello." {
		t.Errorf("recency: %v %+v", after.UpdatedAt, after.LastMessage)
	}
	// An unpriced reply adds its tokens but makes the cost incomplete.
	r3 := reply("Unpriced.", 13, 7, 3, 0, nil)
	after, err = s.AppendMessages(ctx, f.ws, c.ID, []*conversation.Message{r3})
	must(t, err)
	if after.CostComplete || after.TotalCost != 412_600 || after.Usage.TotalTokens != 185 {
		t.Errorf("unpriced: complete %v cost %d tokens %d", after.CostComplete, after.TotalCost, after.Usage.TotalTokens)
	}
	stored, err := s.GetConversation(ctx, f.ws, c.ID)
	must(t, err)
	if diff := cmp.Diff(after, stored); diff != "" {
		t.Errorf("returned vs stored (-returned +stored):\n%s", diff)
	}
	// A customer message a channel received moves the window's start,
	// stored with the roll-up.
	in := msg(conversation.RoleUser, "Still there?", 14)
	in.Channel = &conversation.ChannelData{Kind: "text"}
	after, err = s.AppendMessages(ctx, f.ws, c.ID, []*conversation.Message{in})
	must(t, err)
	stored, err = s.GetConversation(ctx, f.ws, c.ID)
	must(t, err)
	if after.CustomerMessageAt == nil || !after.CustomerMessageAt.Equal(at(14)) || cmp.Diff(after, stored) != "" {
		t.Errorf("customer message time: returned %v, stored %v", after.CustomerMessageAt, stored.CustomerMessageAt)
	}
	msgs, err := s.ListMessages(ctx, f.ws, c.ID, page.Request{Limit: 10})
	must(t, err)
	if len(msgs) != 6 {
		t.Fatalf("%d messages", len(msgs))
	}
	if diff := cmp.Diff(r1, msgs[2]); diff != "" {
		t.Errorf("stored reply (-want +got):\n%s", diff)
	}
	if msgs[4].Cost != nil || msgs[1].Usage != nil || msgs[1].Cost != nil {
		t.Errorf("nullable fields: %+v %+v", msgs[4], msgs[1])
	}
	// Outbound channel fields round-trip.
	out := msg(conversation.RoleOperator, "Template sent", 20)
	out.Status, out.ExternalID = "failed", "wamid.X"
	out.Error = &conversation.MessageError{Code: "131047", Message: "Re-engagement message"}
	out.Template = &conversation.Template{Name: "hello", Language: "en", Params: []string{"Ada"}}
	_, err = s.AppendMessages(ctx, f.ws, c.ID, []*conversation.Message{out})
	must(t, err)
	recent, err := s.RecentMessages(ctx, f.ws, c.ID, 1)
	must(t, err)
	if diff := cmp.Diff(out, recent[0]); diff != "" {
		t.Errorf("channel message (-want +got):\n%s", diff)
	}
}

func testUpdate(t *testing.T, s store.Store) {
	ctx := context.Background()
	f := newFixture(t, s)
	c := f.conv(t, func(c *conversation.Conversation) {
		c.Variables = map[string]conversation.Variable{
			"a": {Value: "x", Type: "string", Source: "api"}, "b": {Value: 2.5, Type: "number", Source: "prechat"},
		}
	})
	off, ended, status := false, at(100), conversation.StatusEnded
	cust := conversation.Customer{Name: "Grace", Phone: "+15559999"}
	ext := "ext-9"
	got, _, err := s.UpdateConversation(ctx, f.ws, c.ID, conversation.Update{
		AIEnabled: &off, Customer: &cust, ExternalIdentifier: &ext, Status: &status, EndedAt: &ended, UpdatedAt: at(100),
		Variables: map[string]conversation.Variable{"a": {}, "c": {Value: true, Type: "boolean", Source: "extracted"}},
	})
	must(t, err)
	wantVars := map[string]conversation.Variable{
		"b": {Value: 2.5, Type: "number", Source: "prechat"}, "c": {Value: true, Type: "boolean", Source: "extracted"},
	}
	if got.AIEnabled || got.Customer != cust || got.ExternalIdentifier != ext || got.Status != status ||
		got.EndedAt == nil || !got.EndedAt.Equal(ended) || !got.UpdatedAt.Equal(at(100)) {
		t.Errorf("update: %+v", got)
	}
	if diff := cmp.Diff(wantVars, got.Variables); diff != "" {
		t.Errorf("variables (-want +got):\n%s", diff)
	}
	stored, _ := s.GetConversation(ctx, f.ws, c.ID)
	if diff := cmp.Diff(got, stored); diff != "" {
		t.Errorf("returned vs stored:\n%s", diff)
	}
	// An older UpdatedAt does not move recency backwards.
	got, _, err = s.UpdateConversation(ctx, f.ws, c.ID, conversation.Update{UpdatedAt: at(50)})
	must(t, err)
	if !got.UpdatedAt.Equal(at(100)) {
		t.Errorf("updated_at moved back to %v", got.UpdatedAt)
	}
}

func testIsolation(t *testing.T, s store.Store) {
	ctx := context.Background()
	f := newFixture(t, s)
	g := newFixture(t, s)
	c := f.conv(t, nil, msg(conversation.RoleUser, "secret words", 1))
	g.conv(t, nil, msg(conversation.RoleUser, "secret words", 1))

	_, err := s.GetConversation(ctx, g.ws, c.ID)
	wantCode(t, err, fault.CodeNotFound)
	_, err = s.AppendMessages(ctx, g.ws, c.ID, []*conversation.Message{msg(conversation.RoleUser, "x", 2)})
	wantCode(t, err, fault.CodeNotFound)
	off := false
	_, _, err = s.UpdateConversation(ctx, g.ws, c.ID, conversation.Update{AIEnabled: &off})
	wantCode(t, err, fault.CodeNotFound)
	_, err = s.ListMessages(ctx, g.ws, c.ID, page.Request{Limit: 5})
	wantCode(t, err, fault.CodeNotFound)
	_, err = s.RecentMessages(ctx, g.ws, c.ID, 5)
	wantCode(t, err, fault.CodeNotFound)
	theirs, err := s.RecentMessages(ctx, f.ws, c.ID, 1)
	must(t, err)
	_, err = s.GetMessage(ctx, g.ws, c.ID, theirs[0].ID)
	wantCode(t, err, fault.CodeNotFound)
	n, err := s.DeleteConversations(ctx, g.ws, []string{c.ID})
	must(t, err)
	if len(n) != 0 {
		t.Errorf("deleted %+v from the wrong workspace", n)
	}
	after, err := s.GetConversation(ctx, f.ws, c.ID)
	must(t, err)
	if after.MessageCount != 1 || !after.AIEnabled {
		t.Errorf("changed from another workspace: %+v", after)
	}
	rows, err := s.ListConversations(ctx, g.ws, conversation.Filter{Query: "secret"}, conversation.Order{Sort: conversation.SortCreatedAt, Desc: true}, page.Request{Limit: 10})
	must(t, err)
	if len(rows) != 1 || rows[0].WorkspaceID != g.ws {
		t.Errorf("search crossed workspaces: %d rows", len(rows))
	}
}

// testCursorBounds pages a conversation's messages with cursors that point
// anywhere (the HTTP layer signs cursors, but the store must not depend on
// it): no row of another conversation or workspace may ever come back.
func testCursorBounds(t *testing.T, s store.Store) {
	ctx := context.Background()
	f := newFixture(t, s)
	g := newFixture(t, s)
	before := g.conv(t, nil, msg(conversation.RoleUser, "older foreign", 1), msg(conversation.RoleAssistant, "older foreign reply", 2))
	own := f.conv(t, nil, msg(conversation.RoleUser, "mine", 3), msg(conversation.RoleAssistant, "mine too", 4))
	after := g.conv(t, nil, msg(conversation.RoleUser, "newer foreign", 5))
	mine := func(req page.Request) {
		t.Helper()
		rows, err := s.ListMessages(ctx, f.ws, own.ID, req)
		must(t, err)
		for _, m := range rows {
			if m.Content != "mine" && m.Content != "mine too" {
				t.Errorf("cursor %+v: a foreign message came back: %q", *req.Cursor, m.Content)
			}
		}
	}
	var seqs []int64
	for _, c := range []*conversation.Conversation{before, after} {
		msgs, err := s.ListMessages(ctx, g.ws, c.ID, page.Request{Limit: 10})
		must(t, err)
		for _, m := range msgs {
			seqs = append(seqs, m.Seq)
		}
	}
	seqs = append(seqs, 0, 1, -1, 1<<62, -(1 << 62))
	for _, seq := range seqs {
		for _, back := range []bool{false, true} {
			mine(page.Request{Limit: 100, Cursor: &page.Cursor{Seq: seq, Key: "x", Before: back}})
		}
	}
}

func testCounts(t *testing.T, s store.Store) {
	ctx := context.Background()
	f := newFixture(t, s)
	other := newFixture(t, s)
	other.conv(t, nil)
	var made []*conversation.Conversation
	for i, typ := range []string{"api", "api", "test", "widget", "whatsapp", "whatsapp", "whatsapp"} {
		typ := typ
		made = append(made, f.conv(t, func(c *conversation.Conversation) {
			c.Type = typ
			if i%2 == 0 {
				c.Status = conversation.StatusEnded
			}
		}))
	}
	got, err := s.CountConversations(ctx, f.ws, conversation.Filter{})
	must(t, err)
	want := conversation.Counts{Total: 7, ByType: map[string]int64{"api": 2, "test": 1, "widget": 1, "whatsapp": 3}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("counts (-want +got):\n%s", diff)
	}
	got, err = s.CountConversations(ctx, f.ws, conversation.Filter{Status: conversation.StatusEnded})
	must(t, err)
	want = conversation.Counts{Total: 4, ByType: map[string]int64{"api": 1, "test": 1, "widget": 0, "whatsapp": 2}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("filtered counts (-want +got):\n%s", diff)
	}
	// Types alone are answered from the counters, exactly.
	got, err = s.CountConversations(ctx, f.ws, conversation.Filter{Types: []string{"whatsapp", "test", "whatsapp"}})
	must(t, err)
	want = conversation.Counts{Total: 4, ByType: map[string]int64{"api": 0, "test": 1, "widget": 0, "whatsapp": 3}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("type counts (-want +got):\n%s", diff)
	}
	gone, err := s.DeleteConversations(ctx, f.ws, []string{made[0].ID, made[4].ID})
	must(t, err)
	want = conversation.NewCounts()
	for _, c := range gone {
		want.Add(c.Type, 1)
	}
	if diff := cmp.Diff(conversation.Counts{Total: 2, ByType: map[string]int64{"api": 1, "test": 0, "widget": 0, "whatsapp": 1}}, want); diff != "" {
		t.Errorf("deleted (-want +got):\n%s", diff)
	}
	// The store only reports what it deleted; the counters follow the
	// change the domain computes from it.
	got, _ = s.CountConversations(ctx, f.ws, conversation.Filter{})
	if got.Total != 7 {
		t.Errorf("DeleteConversations changed the counters itself: %+v", got)
	}
	must(t, s.AddCounts(ctx, f.ws, conversation.CountChange(nil, gone)))
	got, _ = s.CountConversations(ctx, f.ws, conversation.Filter{})
	want = conversation.Counts{Total: 5, ByType: map[string]int64{"api": 1, "test": 1, "widget": 1, "whatsapp": 2}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("counts after delete (-want +got):\n%s", diff)
	}
	empty, err := s.CountConversations(ctx, newWorkspace(t, s, "empty"), conversation.Filter{})
	must(t, err)
	if empty.Total != 0 || len(empty.ByType) != 4 {
		t.Errorf("empty workspace counts %+v", empty)
	}
}

func idsOf(cs []*conversation.Conversation) []string {
	out := make([]string, 0, len(cs))
	for _, c := range cs {
		out = append(out, c.ID)
	}
	return out
}

// listAll returns what a list shows, checking paging forwards and back.
func listAll(t *testing.T, s store.Store, ws string, f conversation.Filter, o conversation.Order, want []string) {
	t.Helper()
	byID := map[string]*conversation.Conversation{}
	checkPaging(t, want, func(req page.Request) ([]string, error) {
		rows, err := s.ListConversations(context.Background(), ws, f, o, req)
		for _, r := range rows {
			byID[r.ID] = r
		}
		return idsOf(rows), err
	}, func(id string) page.Cursor {
		c := byID[id]
		return page.Cursor{Sort: o.Key(), Value: c.SortValue(o.Sort), Seq: c.Seq, Key: c.ID}
	})
}

func testListOrders(t *testing.T, s store.Store) {
	ctx := context.Background()
	f := newFixture(t, s)
	var cs []*conversation.Conversation
	for i := 0; i < 6; i++ {
		cs = append(cs, f.conv(t, nil))
	}
	// Give them different message counts, costs and activity times; ties
	// (cs[0] and cs[5] share counts and cost) fall back to creation order.
	appendN := func(c *conversation.Conversation, n int, sec int, price int64) {
		var msgs []*conversation.Message
		for i := 0; i < n; i++ {
			msgs = append(msgs, reply("r", sec, 1, 1, 0, cost(price)))
		}
		_, err := s.AppendMessages(ctx, f.ws, c.ID, msgs)
		must(t, err)
	}
	appendN(cs[2], 3, 300, 10)
	appendN(cs[4], 1, 100, 50)
	appendN(cs[1], 2, 200, 5)
	appendN(cs[0], 1, 50, 1)
	appendN(cs[5], 1, 60, 1)
	id := func(is ...int) []string {
		var out []string
		for _, i := range is {
			out = append(out, cs[i].ID)
		}
		return out
	}
	cases := []struct {
		o    conversation.Order
		want []string
	}{
		{conversation.Order{Sort: conversation.SortCreatedAt, Desc: true}, id(5, 4, 3, 2, 1, 0)},
		{conversation.Order{Sort: conversation.SortCreatedAt}, id(0, 1, 2, 3, 4, 5)},
		{conversation.Order{Sort: conversation.SortMessageCount, Desc: true}, id(2, 1, 5, 4, 0, 3)},
		{conversation.Order{Sort: conversation.SortMessageCount}, id(3, 0, 4, 5, 1, 2)},
		{conversation.Order{Sort: conversation.SortTotalCost, Desc: true}, id(4, 2, 1, 5, 0, 3)},
		{conversation.Order{Sort: conversation.SortTotalCost}, id(3, 0, 5, 1, 2, 4)},
		{conversation.Order{Sort: conversation.SortUpdatedAt, Desc: true}, id(2, 1, 4, 5, 0, 3)},
		{conversation.Order{Sort: conversation.SortUpdatedAt}, id(3, 0, 5, 4, 1, 2)},
	}
	for _, tc := range cases {
		t.Run(tc.o.Key(), func(t *testing.T) { listAll(t, s, f.ws, conversation.Filter{}, tc.o, tc.want) })
	}
	// A cursor of one ordering is refused by another.
	c := page.Cursor{Sort: "created_at:desc", Seq: cs[3].Seq, Key: cs[3].ID}
	_, err := s.ListConversations(ctx, f.ws, conversation.Filter{}, conversation.Order{Sort: conversation.SortTotalCost, Desc: true}, page.Request{Limit: 2, Cursor: &c})
	if !errors.Is(err, page.ErrBadCursor) {
		t.Errorf("foreign cursor: err = %v", err)
	}
}

// testListTies pages through many conversations that share their sort
// value (message count and cost 0), with a few distinct ones around them,
// on every sort, forwards and back: the keyset's tie-breaker (seq) must
// neither skip nor repeat a row inside a run of equal values.
func testListTies(t *testing.T, s store.Store) {
	ctx := context.Background()
	f := newFixture(t, s)
	var cs []*conversation.Conversation
	for i := 0; i < 12; i++ {
		cs = append(cs, f.conv(t, nil))
	}
	// cs[3] and cs[8] stand out; the other ten tie at 0 messages and cost 0.
	for _, i := range []int{3, 8} {
		_, err := s.AppendMessages(ctx, f.ws, cs[i].ID, []*conversation.Message{reply("r", 100+i, 1, 1, 0, cost(int64(i)))})
		must(t, err)
	}
	var ties []string
	for i, c := range cs {
		if i != 3 && i != 8 {
			ties = append(ties, c.ID)
		}
	}
	rev := func(ids []string) []string {
		out := slices.Clone(ids)
		slices.Reverse(out)
		return out
	}
	asc := append(slices.Clone(ties), cs[3].ID, cs[8].ID)
	desc := append([]string{cs[8].ID, cs[3].ID}, rev(ties)...)
	for _, key := range []string{conversation.SortMessageCount, conversation.SortTotalCost} {
		t.Run(key+":asc", func(t *testing.T) {
			listAll(t, s, f.ws, conversation.Filter{}, conversation.Order{Sort: key}, asc)
		})
		t.Run(key+":desc", func(t *testing.T) {
			listAll(t, s, f.ws, conversation.Filter{}, conversation.Order{Sort: key, Desc: true}, desc)
		})
		// The same with filters that have their own index.
		flt := conversation.Filter{AssistantID: f.asst.ID, Status: conversation.StatusActive}
		t.Run(key+":desc/filtered", func(t *testing.T) {
			listAll(t, s, f.ws, flt, conversation.Order{Sort: key, Desc: true}, desc)
		})
	}
}

func testListFilters(t *testing.T, s store.Store) {
	f := newFixture(t, s)
	other := newAssistant(t, s, f.ws, "Other")
	a := f.conv(t, func(c *conversation.Conversation) { c.Type = conversation.TypeTest })
	b := f.conv(t, func(c *conversation.Conversation) {
		c.Type, c.SenderID, c.SenderPhone = conversation.TypeWhatsApp, "wa_1", "+15550000"
		c.Customer.Phone = "+15551111"
	})
	c := f.conv(t, func(c *conversation.Conversation) { c.AssistantID, c.ExternalIdentifier = other.ID, "ext-1" })
	d := f.conv(t, func(c *conversation.Conversation) { c.Status = conversation.StatusEnded })
	from, to := at(2), at(4)
	desc := conversation.Order{Sort: conversation.SortCreatedAt, Desc: true}
	cases := []struct {
		name string
		f    conversation.Filter
		want []string
	}{
		{"none", conversation.Filter{}, []string{d.ID, c.ID, b.ID, a.ID}},
		{"type", conversation.Filter{Types: []string{"test", "whatsapp"}}, []string{b.ID, a.ID}},
		{"assistant", conversation.Filter{AssistantID: other.ID}, []string{c.ID}},
		{"status", conversation.Filter{Status: conversation.StatusActive}, []string{c.ID, b.ID, a.ID}},
		{"phone", conversation.Filter{CustomerPhone: "+15551111"}, []string{b.ID}},
		{"external", conversation.Filter{ExternalIdentifier: "ext-1"}, []string{c.ID}},
		{"sender", conversation.Filter{WhatsAppSenderPhone: "+15550000"}, []string{b.ID}},
		{"created range", conversation.Filter{CreatedFrom: &from, CreatedTo: &to}, []string{c.ID, b.ID}},
		{"no match", conversation.Filter{CustomerPhone: "+19999999"}, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			want := tc.want
			if want == nil {
				want = []string{}
			}
			rows, err := s.ListConversations(context.Background(), f.ws, tc.f, desc, page.Request{Limit: 10})
			must(t, err)
			got := idsOf(rows)
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
			counts, err := s.CountConversations(context.Background(), f.ws, tc.f)
			must(t, err)
			if counts.Total != int64(len(want)) {
				t.Errorf("count %d, list %d", counts.Total, len(want))
			}
		})
	}
}

func testSearch(t *testing.T, s store.Store) {
	ctx := context.Background()
	f := newFixture(t, s)
	var matching []*conversation.Conversation
	for i := 0; i < 7; i++ {
		text := "nothing to see"
		if i%2 == 0 {
			text = fmt.Sprintf("My PARCEL number %d never arrived", i)
		}
		c := f.conv(t, func(c *conversation.Conversation) {
			if i == 3 {
				c.Type = conversation.TypeTest
			}
		}, msg(conversation.RoleUser, text, i))
		// Several hits in one conversation must not repeat it.
		_, err := s.AppendMessages(ctx, f.ws, c.ID, []*conversation.Message{msg(conversation.RoleAssistant, text+" again", 50)})
		must(t, err)
		if i%2 == 0 {
			matching = append(matching, c)
		}
	}
	named := f.conv(t, func(c *conversation.Conversation) {
		c.Customer = conversation.Customer{Name: "Grace Hopper", Phone: "+15557654321", Email: "grace@navy.example"}
		c.Type = conversation.TypeTest
	})
	desc := conversation.Order{Sort: conversation.SortCreatedAt, Desc: true}
	var want []string
	for i := len(matching) - 1; i >= 0; i-- {
		want = append(want, matching[i].ID)
	}
	listAll(t, s, f.ws, conversation.Filter{Query: "parcel"}, desc, want)
	asc := conversation.Order{Sort: conversation.SortCreatedAt}
	rev := append([]string(nil), want...)
	for i, j := 0, len(rev)-1; i < j; i, j = i+1, j-1 {
		rev[i], rev[j] = rev[j], rev[i]
	}
	listAll(t, s, f.ws, conversation.Filter{Query: "Parcel"}, asc, rev)

	cases := []struct {
		q    string
		typ  []string
		want []string
	}{
		{"parcel arrived", nil, want},
		{"parc*", nil, want},               // a prefix, when asked for
		{"parc", nil, []string{}},          // otherwise whole words
		{"grace", nil, []string{named.ID}}, // customer name
		{"hopper", []string{"test"}, []string{named.ID}},
		{"parcel", []string{"test"}, []string{}}, // combined with a filter
		{"grace@navy.example", nil, []string{named.ID}},
		{"15557654321", nil, []string{named.ID}}, // phone digits
		{"zebra", nil, []string{}},
		{`"parcel*) (`, nil, want},           // FTS syntax is inert
		{`parcel OR zebra`, nil, []string{}}, // OR is a word, not an operator
		{"number 4", nil, []string{matching[2].ID}},
	}
	for _, tc := range cases {
		rows, err := s.ListConversations(ctx, f.ws, conversation.Filter{Query: tc.q, Types: tc.typ}, desc, page.Request{Limit: 20})
		must(t, err)
		got := idsOf(rows)
		if diff := cmp.Diff(tc.want, got); diff != "" {
			t.Errorf("q=%q (-want +got):\n%s", tc.q, diff)
		}
		counts, err := s.CountConversations(ctx, f.ws, conversation.Filter{Query: tc.q, Types: tc.typ})
		must(t, err)
		if counts.Total != int64(len(tc.want)) {
			t.Errorf("q=%q count %d, want %d", tc.q, counts.Total, len(tc.want))
		}
	}
	// A search narrowed by a selective filter takes another path; same answers.
	for q, want := range map[string][]string{"grace": {named.ID}, "parcel": {}, "hopper*": {named.ID}} {
		rows, err := s.ListConversations(ctx, f.ws, conversation.Filter{Query: q, CustomerPhone: "+15557654321"}, desc, page.Request{Limit: 5})
		must(t, err)
		if diff := cmp.Diff(want, idsOf(rows)); diff != "" {
			t.Errorf("q=%s with phone (-want +got):\n%s", q, diff)
		}
	}
	// Customer changes are searchable at once; old values are not.
	name := conversation.Customer{Name: "Katherine Johnson"}
	_, _, err := s.UpdateConversation(ctx, f.ws, named.ID, conversation.Update{Customer: &name, UpdatedAt: at(99)})
	must(t, err)
	for q, n := range map[string]int{"katherine": 1, "grace": 0} {
		rows, err := s.ListConversations(ctx, f.ws, conversation.Filter{Query: q}, desc, page.Request{Limit: 5})
		must(t, err)
		if len(rows) != n {
			t.Errorf("after rename q=%s: %d rows, want %d", q, len(rows), n)
		}
	}
}

func testMessages(t *testing.T, s store.Store) {
	ctx := context.Background()
	f := newFixture(t, s)
	c := f.conv(t, nil)
	var all []string
	for i := 0; i < 7; i++ {
		m := msg(conversation.RoleUser, fmt.Sprintf("m%d", i), i)
		_, err := s.AppendMessages(ctx, f.ws, c.ID, []*conversation.Message{m})
		must(t, err)
		all = append(all, m.ID)
	}
	other := f.conv(t, nil, msg(conversation.RoleUser, "elsewhere", 1)) // a neighbour's messages must not leak in
	seqs := map[string]int64{}
	checkPaging(t, all, func(req page.Request) ([]string, error) {
		rows, err := s.ListMessages(ctx, f.ws, c.ID, req)
		var out []string
		for _, m := range rows {
			seqs[m.ID] = m.Seq
			out = append(out, m.ID)
		}
		return out, err
	}, func(id string) page.Cursor { return page.Cursor{Seq: seqs[id], Key: id} })
	recent, err := s.RecentMessages(ctx, f.ws, c.ID, 3)
	must(t, err)
	if diff := cmp.Diff(all[4:], []string{recent[0].ID, recent[1].ID, recent[2].ID}); diff != "" {
		t.Errorf("recent (-want +got):\n%s", diff)
	}
	_, err = s.ListMessages(ctx, f.ws, "conv_missing", page.Request{Limit: 5})
	wantCode(t, err, fault.CodeNotFound)

	// One message by id: the oldest as well as the newest, as stored;
	// never one of another conversation, even of the same workspace.
	for _, id := range []string{all[0], all[6]} {
		m, err := s.GetMessage(ctx, f.ws, c.ID, id)
		must(t, err)
		if m.ID != id || m.Seq != seqs[id] || m.Content != fmt.Sprintf("m%d", slices.Index(all, id)) {
			t.Errorf("GetMessage(%s) = %+v", id, m)
		}
	}
	elsewhere, err := s.RecentMessages(ctx, f.ws, other.ID, 1)
	must(t, err)
	_, err = s.GetMessage(ctx, f.ws, c.ID, elsewhere[0].ID)
	wantCode(t, err, fault.CodeNotFound)
	_, err = s.GetMessage(ctx, f.ws, c.ID, "msg_missing")
	wantCode(t, err, fault.CodeNotFound)
	_, err = s.GetMessage(ctx, f.ws, "conv_missing", all[0])
	wantCode(t, err, fault.CodeNotFound)
}

func testDelete(t *testing.T, s store.Store) {
	ctx := context.Background()
	f := newFixture(t, s)
	a := f.conv(t, nil, msg(conversation.RoleUser, "unicorn horn", 1))
	b := f.conv(t, nil, msg(conversation.RoleUser, "unicorn tail", 2))
	n, err := s.DeleteConversations(ctx, f.ws, []string{a.ID, "conv_missing", a.ID})
	must(t, err)
	if len(n) != 1 || n[0].ID != a.ID || n[0].Type != conversation.TypeAPI || n[0].AssistantID != a.AssistantID ||
		n[0].Status != a.Status || !n[0].CreatedAt.Equal(a.CreatedAt) {
		t.Errorf("deleted %+v, want one api conversation", n)
	}
	_, err = s.GetConversation(ctx, f.ws, a.ID)
	wantCode(t, err, fault.CodeNotFound)
	_, err = s.ListMessages(ctx, f.ws, a.ID, page.Request{Limit: 5})
	wantCode(t, err, fault.CodeNotFound)
	rows, err := s.ListConversations(ctx, f.ws, conversation.Filter{Query: "unicorn"}, conversation.Order{Sort: conversation.SortCreatedAt, Desc: true}, page.Request{Limit: 5})
	must(t, err)
	if diff := cmp.Diff([]string{b.ID}, idsOf(rows)); diff != "" {
		t.Errorf("search after delete (-want +got):\n%s", diff)
	}
}

// echoArgs is a job of the conformance suite's own.
type echoArgs struct {
	N int `json:"n"`
}

func (echoArgs) Kind() string { return "storetest.echo" }

// echoWorker reports each job's N, completing the job in a store
// transaction as the real workers do.
type echoWorker struct {
	river.WorkerDefaults[echoArgs]
	s    store.Store
	jobs jobs.Engine
	got  chan int
}

func (w *echoWorker) Work(ctx context.Context, j *river.Job[echoArgs]) error {
	err := w.s.Within(ctx, func(ctx context.Context) error { return w.jobs.CompleteTx(ctx, j.JobRow) })
	w.got <- j.Args.N
	return err
}

// testJobs: jobs enqueued inside a Within commit or roll back with it, and
// those that commit run; an extraction is enqueued once per conversation
// while one is pending.
func testJobs(t *testing.T, s store.Store) {
	ctx := context.Background()
	f := newFixture(t, s)
	c := f.conv(t, nil)
	workers := river.NewWorkers()
	w := &echoWorker{s: s, got: make(chan int, 10)}
	river.AddWorker(workers, w)
	river.AddWorker(workers, river.WorkFunc(func(ctx context.Context, j *river.Job[conversation.ExtractArgs]) error { return nil }))
	e, err := s.Jobs(workers, jobs.Config{FetchPoll: 20 * time.Millisecond, FetchCooldown: 5 * time.Millisecond})
	must(t, err)
	w.jobs = e

	// Unique extraction, checked before the engine runs so both wait.
	ex := conversation.ExtractArgs{WorkspaceID: f.ws, ConversationID: c.ID}
	must(t, e.Enqueue(ctx, ex))
	must(t, s.Within(ctx, func(ctx context.Context) error { return e.Enqueue(ctx, ex) }))
	backlog, err := e.Backlog(ctx)
	must(t, err)
	if diff := cmp.Diff([]jobs.Count{{Kind: conversation.JobExtract, State: "available", N: 1}}, backlog); diff != "" {
		t.Errorf("backlog after enqueuing one extraction twice (-want +got):\n%s", diff)
	}

	status := conversation.StatusEnded
	must(t, s.Within(ctx, func(ctx context.Context) error {
		if _, _, err := s.UpdateConversation(ctx, f.ws, c.ID, conversation.Update{Status: &status, UpdatedAt: at(1000)}); err != nil {
			return err
		}
		return e.Enqueue(ctx, echoArgs{N: 1})
	}))
	err = s.Within(ctx, func(ctx context.Context) error {
		must(t, e.Enqueue(ctx, echoArgs{N: 2}))
		return errors.New("roll back")
	})
	if err == nil {
		t.Fatal("rolled-back Within returned nil")
	}
	must(t, e.Enqueue(ctx, echoArgs{N: 3})) // a transaction of its own

	must(t, e.Start(ctx))
	defer func() { must(t, e.Stop(ctx)) }()
	var ran []int
	timeout := time.After(10 * time.Second)
	for len(ran) < 2 {
		select {
		case n := <-w.got:
			ran = append(ran, n)
		case <-timeout:
			t.Fatalf("jobs that ran: %v; want 1 and 3", ran)
		}
	}
	sort.Ints(ran)
	if diff := cmp.Diff([]int{1, 3}, ran); diff != "" {
		t.Errorf("jobs that ran (-want +got):\n%s", diff)
	}
	select {
	case n := <-w.got:
		t.Errorf("job %d ran too", n)
	case <-time.After(200 * time.Millisecond):
	}
}

// testJobsPickup: a job enqueued in a transaction on an idle node runs at
// once after the commit, even right after another job (River's insert
// notifications are rate-limited to one per fetch cooldown, and on SQLite
// an insert inside a transaction wakes nothing): it must not wait for the
// fetch poll. SQLite polls every 50 ms and wakes nothing; PostgreSQL polls
// every second and wakes the nodes at commit, which is what this checks
// there — with a 5 s poll, so that a loaded machine's delays cannot pass
// for it.
func testJobsPickup(t *testing.T, s store.Store) {
	ctx := context.Background()
	workers := river.NewWorkers()
	w := &echoWorker{s: s, got: make(chan int, 10)}
	river.AddWorker(workers, w)
	cfg, bound := jobs.Config{}, 400*time.Millisecond
	if s.Driver() == "postgres" {
		cfg.FetchPoll, bound = 5*time.Second, 2500*time.Millisecond
	}
	e, err := s.Jobs(workers, cfg)
	must(t, err)
	w.jobs = e
	must(t, e.Start(ctx))
	defer func() { must(t, e.Stop(ctx)) }()
	time.Sleep(300 * time.Millisecond) // the start-up fetch is over: the node is idle
	for n := range 4 {
		start := time.Now()
		must(t, s.Within(ctx, func(ctx context.Context) error { return e.Enqueue(ctx, echoArgs{N: n}) }))
		select {
		case got := <-w.got:
			if got != n {
				t.Fatalf("job %d ran; want %d", got, n)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("job %d did not run", n)
		}
		// Generous for a loaded machine, well under the fetch poll.
		if d := time.Since(start); d > bound {
			t.Errorf("job %d ran %v after its commit; want under %v", n, d.Round(time.Millisecond), bound)
		}
	}
	// Each completed in the worker's transaction; none runs again.
	deadline := time.Now().Add(5 * time.Second)
	for {
		backlog, err := e.Backlog(ctx)
		must(t, err)
		if len(backlog) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("jobs left after they ran: %+v", backlog)
		}
		time.Sleep(10 * time.Millisecond)
	}
	select {
	case n := <-w.got:
		t.Errorf("job %d ran twice", n)
	case <-time.After(100 * time.Millisecond):
	}
}

func testConcurrentAppends(t *testing.T, s store.Store) {
	ctx := context.Background()
	f := newFixture(t, s)
	c := f.conv(t, nil)
	const writers, each = 8, 5
	var wg sync.WaitGroup
	errs := make(chan error, writers*each)
	for w := 0; w < writers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := 0; i < each; i++ {
				m := reply(fmt.Sprintf("w%d-%d", w, i), 10+i, 1, 1, 0, cost(1))
				if _, err := s.AppendMessages(ctx, f.ws, c.ID, []*conversation.Message{m}); err != nil {
					errs <- err
				}
			}
		}(w)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	got, err := s.GetConversation(ctx, f.ws, c.ID)
	must(t, err)
	if got.MessageCount != writers*each || got.TotalCost != writers*each || got.Usage.TotalTokens != 2*writers*each {
		t.Errorf("after concurrent appends: count %d cost %d tokens %d", got.MessageCount, got.TotalCost, got.Usage.TotalTokens)
	}
	msgs, err := s.ListMessages(ctx, f.ws, c.ID, page.Request{Limit: 100})
	must(t, err)
	seen := map[int64]bool{}
	for _, m := range msgs {
		if seen[m.Seq] {
			t.Errorf("seq %d used twice", m.Seq)
		}
		seen[m.Seq] = true
	}
	if len(msgs) != writers*each {
		t.Errorf("%d messages stored", len(msgs))
	}
}

// testCountBuckets checks every count the day buckets answer against a
// brute-force count of the rows, after random creates, ends and deletes
// made the way the service makes them (the change and its CountChange in
// one transaction), with date ranges that cut days and ranges within one.
func testCountBuckets(t *testing.T, s store.Store) {
	ctx := context.Background()
	f := newFixture(t, s)
	other := newFixture(t, s)
	other.conv(t, nil)
	assts := []string{f.asst.ID, newAssistant(t, s, f.ws, "Second").ID, newAssistant(t, s, f.ws, "Third").ID}
	rnd := rand.New(rand.NewPCG(9, 1))
	start := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	senders := []string{"+15550001", "+15550002"}
	live := map[string]*conversation.Conversation{}
	var order []string
	for i := 0; i < 240; i++ {
		// Most within eight days; a third spread over five months, so
		// ranges cross months and the month buckets count.
		spread := 8 * 24 * time.Hour
		if i%3 == 2 {
			spread = 150 * 24 * time.Hour
		}
		created := start.Add(time.Duration(rnd.Int64N(int64(spread))) + time.Duration(i)*time.Millisecond)
		c := f.conv(t, func(c *conversation.Conversation) {
			c.Type = conversation.Types[rnd.IntN(len(conversation.Types))]
			c.AssistantID = assts[rnd.IntN(len(assts))]
			c.CreatedAt, c.UpdatedAt = created, created
			if c.Type == conversation.TypeWhatsApp {
				c.SenderID, c.SenderPhone = "wa_1", senders[rnd.IntN(len(senders))]
			}
		})
		live[c.ID] = c
		order = append(order, c.ID)
	}
	for i, id := range order {
		switch {
		case i%3 == 0: // end, as Service.End does
			status := conversation.StatusEnded
			must(t, s.Within(ctx, func(ctx context.Context) error {
				after, before, err := s.UpdateConversation(ctx, f.ws, id, conversation.Update{Status: &status, UpdatedAt: at(5000)})
				if err != nil {
					return err
				}
				live[id] = after
				return s.AddCounts(ctx, f.ws, conversation.CountChange([]*conversation.Conversation{after}, []*conversation.Conversation{before}))
			}))
		case i%7 == 1: // delete, as Service.BulkDelete does
			must(t, s.Within(ctx, func(ctx context.Context) error {
				gone, err := s.DeleteConversations(ctx, f.ws, []string{id})
				if err != nil {
					return err
				}
				delete(live, id)
				return s.AddCounts(ctx, f.ws, conversation.CountChange(nil, gone))
			}))
		}
	}
	// Ending an ended conversation again moves nothing.
	status := conversation.StatusEnded
	must(t, s.Within(ctx, func(ctx context.Context) error {
		after, before, err := s.UpdateConversation(ctx, f.ws, order[0], conversation.Update{Status: &status})
		if err != nil {
			return err
		}
		return s.AddCounts(ctx, f.ws, conversation.CountChange([]*conversation.Conversation{after}, []*conversation.Conversation{before}))
	}))
	brute := func(fl conversation.Filter) conversation.Counts {
		want := conversation.NewCounts()
		for _, c := range live {
			if (len(fl.Types) == 0 || slices.Contains(fl.Types, c.Type)) &&
				(fl.AssistantID == "" || c.AssistantID == fl.AssistantID) &&
				(fl.Status == "" || c.Status == fl.Status) &&
				(fl.WhatsAppSenderPhone == "" || c.SenderPhone == fl.WhatsAppSenderPhone) &&
				(fl.CreatedFrom == nil || !c.CreatedAt.Before(*fl.CreatedFrom)) &&
				(fl.CreatedTo == nil || c.CreatedAt.Before(*fl.CreatedTo)) {
				want.Add(c.Type, 1)
			}
		}
		return want.Only(fl.Types)
	}
	tp := func(d time.Duration) *time.Time { x := start.Add(d); return &x }
	mp := func(month time.Month, day, hour int) *time.Time {
		x := time.Date(2026, month, day, hour, 0, 0, 0, time.UTC)
		return &x
	}
	ranges := [][2]*time.Time{
		{nil, nil},
		{tp(24 * time.Hour), tp(72 * time.Hour)},       // whole days
		{tp(30 * time.Hour), tp(100 * time.Hour)},      // partial first and last day
		{tp(30 * time.Hour), nil},                      // from only
		{nil, tp(101*time.Hour + 7*time.Millisecond)},  // to only
		{tp(50 * time.Hour), tp(52 * time.Hour)},       // within a day
		{tp(47 * time.Hour), tp(49 * time.Hour)},       // across midnight
		{tp(60 * time.Hour), tp(50 * time.Hour)},       // empty
		{tp(-48 * time.Hour), tp(30 * 24 * time.Hour)}, // beyond the data
		{mp(2, 20, 10), mp(6, 3, 5)},                   // partial days, whole days and whole months
		{mp(3, 1, 0), mp(6, 1, 0)},                     // whole months only
		{mp(4, 1, 0), mp(4, 1, 0)},                     // empty, on a month's first instant
		{mp(3, 31, 23), mp(4, 1, 1)},                   // across the end of a month
		{mp(3, 2, 0), mp(4, 30, 0)},                    // whole days, no whole month
		{nil, mp(5, 15, 13)},                           // to only, past whole months
		{mp(4, 9, 4), nil},                             // from only, before whole months
		{mp(1, 1, 0), mp(9, 1, 0)},                     // whole months beyond the data
	}
	typeSets := [][]string{nil, {conversation.TypeAPI}, {conversation.TypeWhatsApp, conversation.TypeTest}}
	checked := 0
	checkAll := func() {
		for _, r := range ranges {
			for _, types := range typeSets {
				for _, asst := range append([]string{""}, assts...) {
					for _, st := range []string{"", conversation.StatusActive, conversation.StatusEnded} {
						for _, sender := range append([]string{""}, senders...) {
							fl := conversation.Filter{Types: types, AssistantID: asst, Status: st, WhatsAppSenderPhone: sender,
								CreatedFrom: r[0], CreatedTo: r[1]}
							got, err := s.CountConversations(ctx, f.ws, fl)
							must(t, err)
							if diff := cmp.Diff(brute(fl), got); diff != "" {
								t.Errorf("count %+v (-brute force +got):\n%s", fl, diff)
							}
							checked++
						}
					}
				}
			}
		}
	}
	checkAll()
	// The month buckets the migration builds from the day buckets count
	// the same as the ones the writes kept.
	rb, ok := s.(interface{ RebuildMonthBuckets(context.Context) error })
	if !ok {
		t.Fatalf("%T has no RebuildMonthBuckets (export_test.go) to test its backfill with", s)
	}
	must(t, rb.RebuildMonthBuckets(ctx))
	checked = 0
	checkAll()
	if total := brute(conversation.Filter{}).Total; total < 150 || checked != len(ranges)*len(typeSets)*4*3*3 {
		t.Fatalf("checked %d filters over %d conversations", checked, total)
	}
}

// testCountQueryBound checks that a count with a text query counts exactly
// up to Filter.CountLimit and past it reports the limit as a lower bound,
// with the other filters applied before the bound.
func testCountQueryBound(t *testing.T, s store.Store) {
	ctx := context.Background()
	f := newFixture(t, s)
	for i, typ := range []string{"api", "api", "test", "api", "widget", "test"} {
		f.conv(t, func(c *conversation.Conversation) { c.Type = typ }, msg(conversation.RoleUser, "bananarama tour", 10+i))
	}
	f.conv(t, nil, msg(conversation.RoleUser, "nothing to see", 30))
	for _, tc := range []struct {
		limit int
		types []string
		total int64
		lower bool
	}{
		{limit: 0, total: 6},
		{limit: 10, total: 6},
		{limit: 6, total: 6},
		{limit: 4, total: 4, lower: true},
		{limit: 1, total: 1, lower: true},
		{limit: 3, types: []string{"api"}, total: 3},
		{limit: 2, types: []string{"api"}, total: 2, lower: true},
		{limit: 2, types: []string{"widget"}, total: 1},
	} {
		got, err := s.CountConversations(ctx, f.ws, conversation.Filter{Query: "bananarama", Types: tc.types, CountLimit: tc.limit})
		must(t, err)
		var sum int64
		for _, n := range got.ByType {
			sum += n
		}
		if got.Total != tc.total || got.TotalIsLowerBound != tc.lower || sum != got.Total {
			t.Errorf("limit %d types %v: %+v, want total %d lower bound %v", tc.limit, tc.types, got, tc.total, tc.lower)
		}
	}
}
