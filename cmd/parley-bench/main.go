// Command parley-bench fills a Parley database with generated
// conversations and measures the operations users wait on: list pages at
// any depth, filtered lists, search, counts and posting a message with an
// offline reply. Timings are server-side (service calls, no HTTP).
//
//	parley-bench seed --database-url bench.db --conversations 1000000 --messages-per 10
//	parley-bench seed --database-url bench-ja.db --conversations 100000 --cjk 0.2
//	parley-bench run  --database-url bench.db --iterations 300
//	parley-bench jobs --database-url jobs.db --conversations 2000   (kill -9 harness, see jobs.go)
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/parley-dev/parley/internal/app"
	"github.com/parley-dev/parley/internal/assistant"
	"github.com/parley-dev/parley/internal/config"
	"github.com/parley-dev/parley/internal/conversation"
	"github.com/parley-dev/parley/internal/ids"
	"github.com/parley-dev/parley/internal/jobs"
	"github.com/parley-dev/parley/internal/llm"
	"github.com/parley-dev/parley/internal/money"
	"github.com/parley-dev/parley/internal/page"
)

func main() {
	if len(os.Args) >= 2 && (os.Args[1] == "jobs" || os.Args[1] == "jobs-work") {
		run := jobsMain
		if os.Args[1] == "jobs-work" {
			run = jobsWork
		}
		if err := run(os.Args[2:]); err != nil {
			fail(err)
		}
		return
	}
	if len(os.Args) < 2 || (os.Args[1] != "seed" && os.Args[1] != "run") {
		fmt.Fprintln(os.Stderr, "usage: parley-bench seed|run|jobs [flags]   (parley-bench seed -h for flags)")
		os.Exit(2)
	}
	fs := flag.NewFlagSet("parley-bench "+os.Args[1], flag.ExitOnError)
	dbURL := fs.String("database-url", "bench.db", "SQLite path or postgres:// URL")
	n := fs.Int("conversations", 100_000, "seed: conversations to create")
	per := fs.Int("messages-per", 10, "seed: messages per conversation")
	iters := fs.Int("iterations", 200, "run: samples per measurement")
	cjk := fs.Float64("cjk", 0, "seed: share of messages written in Japanese, for the CJK search measurements")
	_ = fs.Parse(os.Args[2:])

	ctx := context.Background()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	st, err := app.OpenStore(ctx, *dbURL)
	if err != nil {
		fail(err)
	}
	defer st.Close()
	if err := st.Migrate(ctx); err != nil {
		fail(err)
	}
	a, err := app.Build(&config.Config{DatabaseURL: *dbURL, AdminEmail: "bench@example.com", AdminPassword: "bench-password"}, st, log, jobs.Config{})
	if err != nil {
		fail(err)
	}
	if err := a.Bootstrap(ctx); err != nil {
		fail(err)
	}
	ws, err := a.Accounts.DefaultWorkspace(ctx)
	if err != nil {
		fail(err)
	}
	asst, err := a.Assistants.List(ctx, ws, page.Request{Limit: 1})
	if err != nil || len(asst.Items) == 0 {
		fail(fmt.Errorf("no assistant: %w", err))
	}
	if os.Args[1] == "seed" {
		err = seed(ctx, a, ws, asst.Items[0], *n, *per, *cjk)
	} else {
		err = bench(ctx, a, ws, *iters)
	}
	if err != nil {
		fail(err)
	}
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "parley-bench:", err)
	os.Exit(1)
}

// vocabulary gives generated messages a realistic spread: a few words are
// in most conversations, most words are rare.
var vocabulary = strings.Fields(`order parcel delivery refund coffee beans subscription pause cancel invoice
	address shipping tracking number please thanks hello help account password login payment card
	discount code wholesale decaf roast light medium dark grinder filter espresso machine broken
	damaged return exchange week tomorrow today monday friday weekend store hours open closed
	email phone callback manager complaint review gift voucher bag kilo gram price cost total`)

func sentence(r *rand.Rand, words int) string {
	var b strings.Builder
	for i := 0; i < words; i++ {
		if i > 0 {
			b.WriteByte(' ')
		}
		// A skewed pick: low indexes are common.
		idx := int(float64(len(vocabulary)) * r.Float64() * r.Float64())
		b.WriteString(vocabulary[idx])
	}
	// One rare token per message, so searches for rare terms have few hits.
	fmt.Fprintf(&b, " ref%d", r.IntN(1_000_000))
	return b.String()
}

// japanese is a skewed vocabulary of Japanese customer-service words,
// written as Japanese is: without spaces, joined by particles.
var japanese = strings.Fields(`注文 荷物 配送 返金 コーヒー 豆 定期便 解約 請求書 住所 発送 追跡番号 お願い
	ありがとう ログイン パスワード 支払い カード 割引 焙煎 深煎り エスプレッソ 故障 交換 明日 今日 週末 営業時間
	東京 大阪 京都 店舗 電話 メール 担当者 苦情 ギフト 袋 価格 合計`)

var particles = []string{"を", "は", "が", "で", "に", "の", "と", "も"}

// japaneseSentence is sentence in Japanese: words drawn the same skewed
// way, each followed by a particle, and one rare token.
func japaneseSentence(r *rand.Rand, words int) string {
	var b strings.Builder
	for i := 0; i < words; i++ {
		b.WriteString(japanese[int(float64(len(japanese))*r.Float64()*r.Float64())])
		b.WriteString(particles[r.IntN(len(particles))])
	}
	fmt.Fprintf(&b, "。ref%d", r.IntN(1_000_000))
	return b.String()
}

var types = []string{conversation.TypeWidget, conversation.TypeWidget, conversation.TypeWhatsApp, conversation.TypeAPI, conversation.TypeTest}

// seed creates n conversations of per messages each, spread over the year
// before now, through the store's normal create path; a share cjk of the
// messages is in Japanese.
func seed(ctx context.Context, a *app.App, ws string, asst *assistant.Assistant, n, per int, cjk float64) error {
	r := rand.New(rand.NewPCG(1, 2))
	start := time.Now().Add(-365 * 24 * time.Hour).Truncate(time.Millisecond)
	step := 365 * 24 * time.Hour / time.Duration(max(n, 1))
	began := time.Now()
	price := money.Money(150)                // nano-USD per reply, as a priced model would cost
	var counted []*conversation.Conversation // created, not yet added to the counters
	for i := 0; i < n; i++ {
		created := start.Add(time.Duration(i) * step)
		typ := types[r.IntN(len(types))]
		c := &conversation.Conversation{
			ID: ids.NewAt(ids.Conversation, created), WorkspaceID: ws, Type: typ, Status: conversation.StatusActive,
			AssistantID: asst.ID, AIEnabled: true, Variables: map[string]conversation.Variable{},
			CostComplete: true, CreatedAt: created, UpdatedAt: created,
		}
		if r.IntN(3) == 0 {
			c.Status = conversation.StatusEnded
		}
		if typ == conversation.TypeWhatsApp || r.IntN(4) == 0 {
			c.Customer.Phone = fmt.Sprintf("+1555%07d", r.IntN(10_000_000))
		}
		if typ == conversation.TypeWhatsApp {
			c.SenderID, c.SenderPhone = "wa_bench", "+15550000000"
		}
		msgs := make([]*conversation.Message, 0, per)
		for j := 0; j < per; j++ {
			at := created.Add(time.Duration(j) * 20 * time.Second)
			m := &conversation.Message{ID: ids.NewAt(ids.Message, at), Role: conversation.RoleUser,
				Content: sentence(r, 6+r.IntN(14)), CreatedAt: at}
			if cjk > 0 && r.Float64() < cjk { // no extra draw without --cjk: the same data as before
				m.Content = japaneseSentence(r, 4+r.IntN(8))
			}
			if j%2 == 1 {
				m.Role, m.Model = conversation.RoleAssistant, "gpt-4o-mini"
				u := llm.Usage{InputTokens: int64(40 + 30*j), OutputTokens: int64(20 + r.IntN(60))}
				m.Usage = &u
				cost := price + money.Money(r.IntN(100))
				m.Cost = &cost
			}
			msgs = append(msgs, m)
		}
		if err := a.Store.CreateConversation(ctx, c, msgs); err != nil {
			return fmt.Errorf("conversation %d: %w", i, err)
		}
		counted = append(counted, c)
		if len(counted) == 1000 || i+1 == n {
			if err := a.Store.AddCounts(ctx, ws, conversation.CountChange(counted, nil)); err != nil {
				return fmt.Errorf("count conversations: %w", err)
			}
			counted = counted[:0]
		}
		if (i+1)%10_000 == 0 || i+1 == n {
			el := time.Since(began)
			rate := float64(i+1) / el.Seconds()
			fmt.Fprintf(os.Stderr, "\rseeded %d/%d conversations (%.0f/s, %s elapsed, ~%s left)   ", i+1, n, rate,
				el.Round(time.Second), (time.Duration(float64(n-i-1)/rate) * time.Second).Round(time.Second))
		}
	}
	fmt.Fprintln(os.Stderr)
	// A bulk import grows the tables from nothing in one go: gather the
	// planner statistics now rather than at the next start or hourly round.
	if an, ok := a.Store.(interface{ Analyze(context.Context) error }); ok {
		if err := an.Analyze(ctx); err != nil {
			return err
		}
	}
	return nil
}

// measurement is one named operation and its samples.
type measurement struct {
	name    string
	samples []time.Duration
}

func (m *measurement) pct(p float64) time.Duration {
	s := append([]time.Duration(nil), m.samples...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	i := int(p * float64(len(s)-1))
	return s[i]
}

func bench(ctx context.Context, a *app.App, ws string, iters int) error {
	svc := a.Conversations
	desc := conversation.Order{Sort: conversation.SortCreatedAt, Desc: true}
	total, err := svc.Count(ctx, ws, conversation.Filter{})
	if err != nil {
		return err
	}
	if total.Total == 0 {
		return errors.New("the database is empty: run `parley-bench seed` first")
	}
	// Cursors at several depths, found once by walking with big pages is
	// too slow at 1M rows, so they are made from conversations picked by
	// position through the created_at ordering in ascending pages.
	depthCursor := func(frac float64) (*page.Cursor, error) {
		res, err := svc.List(ctx, ws, conversation.Filter{}, conversation.Order{Sort: conversation.SortCreatedAt}, page.Request{Limit: 1})
		if err != nil || len(res.Items) == 0 {
			return nil, err
		}
		first := res.Items[0].CreatedAt
		res, err = svc.List(ctx, ws, conversation.Filter{}, desc, page.Request{Limit: 1})
		if err != nil || len(res.Items) == 0 {
			return nil, err
		}
		last := res.Items[0].CreatedAt
		target := first.Add(time.Duration(float64(last.Sub(first)) * frac))
		f := conversation.Filter{CreatedTo: &target}
		res, err = svc.List(ctx, ws, f, desc, page.Request{Limit: 1})
		if err != nil || len(res.Items) == 0 {
			return nil, err
		}
		c := res.Items[0]
		return &page.Cursor{Sort: desc.Key(), Value: c.SortValue(desc.Sort), Seq: c.Seq, Key: c.ID}, nil
	}
	// Counts filtered by an assistant and by a date range: the (only)
	// assistant, and the oldest conversation's time.
	oldest, err := svc.List(ctx, ws, conversation.Filter{}, conversation.Order{Sort: conversation.SortCreatedAt}, page.Request{Limit: 1})
	if err != nil || len(oldest.Items) == 0 {
		return fmt.Errorf("oldest conversation: %w", err)
	}
	assistantID, firstAt := oldest.Items[0].AssistantID, oldest.Items[0].CreatedAt
	count := func(f conversation.Filter) func(int) error {
		return func(int) error { _, err := svc.Count(ctx, ws, f); return err }
	}
	var ms []*measurement
	measure := func(name string, fn func(i int) error) error {
		m := &measurement{name: name}
		for i := 0; i < iters; i++ {
			t0 := time.Now()
			if err := fn(i); err != nil {
				return fmt.Errorf("%s: %w", name, err)
			}
			m.samples = append(m.samples, time.Since(t0))
		}
		ms = append(ms, m)
		fmt.Fprintf(os.Stderr, "measured %s\n", name)
		return nil
	}
	list := func(f conversation.Filter, o conversation.Order, c *page.Cursor) func(int) error {
		return func(int) error {
			_, err := svc.List(ctx, ws, f, o, page.Request{Limit: 20, Cursor: c})
			return err
		}
	}
	mid, err := depthCursor(0.5)
	if err != nil {
		return err
	}
	deep, err := depthCursor(0.001)
	if err != nil {
		return err
	}
	// The same conversation at 50% as a cursor of the message_count and
	// total_cost orders: every seeded conversation has the same message
	// count, so the first is all ties, the worst case of the keyset.
	midConv, err := svc.Get(ctx, ws, mid.Key)
	if err != nil {
		return err
	}
	sortCursor := func(sort string) (conversation.Order, *page.Cursor) {
		o := conversation.Order{Sort: sort, Desc: true}
		return o, &page.Cursor{Sort: o.Key(), Value: midConv.SortValue(sort), Seq: midConv.Seq, Key: midConv.ID}
	}
	byCount, countCur := sortCursor(conversation.SortMessageCount)
	byCost, costCur := sortCursor(conversation.SortTotalCost)
	asstID := midConv.AssistantID
	steps := []struct {
		name string
		fn   func(int) error
	}{
		{"list: first page (created_at desc)", list(conversation.Filter{}, desc, nil)},
		{"list: page at 50% depth", list(conversation.Filter{}, desc, mid)},
		{"list: page at 99.9% depth", list(conversation.Filter{}, desc, deep)},
		{"list: sort=updated_at", list(conversation.Filter{}, conversation.Order{Sort: conversation.SortUpdatedAt, Desc: true}, nil)},
		{"list: sort=total_cost", list(conversation.Filter{}, conversation.Order{Sort: conversation.SortTotalCost, Desc: true}, nil)},
		{"list: sort=message_count at 50% depth (all ties)", list(conversation.Filter{}, byCount, countCur)},
		{"list: sort=total_cost at 50% depth", list(conversation.Filter{}, byCost, costCur)},
		{"filtered: assistant + status=ended", list(conversation.Filter{AssistantID: asstID, Status: "ended"}, desc, nil)},
		{"filtered: assistant + type=whatsapp", list(conversation.Filter{AssistantID: asstID, Types: []string{"whatsapp"}}, desc, nil)},
		{"filtered: type=whatsapp", list(conversation.Filter{Types: []string{"whatsapp"}}, desc, nil)},
		{"filtered: type=test, status=ended", list(conversation.Filter{Types: []string{"test"}, Status: "ended"}, desc, nil)},
		{"filtered: customer_phone (one match)", func(i int) error {
			_, err := svc.List(ctx, ws, conversation.Filter{CustomerPhone: fmt.Sprintf("+1555%07d", i*7919%10_000_000)}, desc, page.Request{Limit: 20})
			return err
		}},
		{"search: common word", list(conversation.Filter{Query: "order"}, desc, nil)},
		{"search: prefix ord*", list(conversation.Filter{Query: "ord*"}, desc, nil)},
		{"search: two words", list(conversation.Filter{Query: "refund parcel"}, desc, nil)},
		{"search: rare token", func(i int) error {
			_, err := svc.List(ctx, ws, conversation.Filter{Query: fmt.Sprintf("ref%d", (i*104729)%1_000_000)}, desc, page.Request{Limit: 20})
			return err
		}},
		{"search: common word + type filter", list(conversation.Filter{Query: "coffee", Types: []string{"test"}}, desc, nil)},
		{"search: common word + customer_phone", func(i int) error {
			_, err := svc.List(ctx, ws, conversation.Filter{Query: "order", CustomerPhone: fmt.Sprintf("+1555%07d", i*7919%10_000_000)}, desc, page.Request{Limit: 20})
			return err
		}},
		// Japanese words (found only in data seeded with --cjk): two
		// characters, four (a phrase of three bigrams), and one character,
		// a prefix of every bigram it starts: a rare noun, and the worst
		// case, a particle in nearly every Japanese message.
		{"search: CJK two-character word", list(conversation.Filter{Query: "注文"}, desc, nil)},
		{"search: CJK four-character word", list(conversation.Filter{Query: "コーヒー"}, desc, nil)},
		{"search: CJK one character (rare)", list(conversation.Filter{Query: "袋"}, desc, nil)},
		{"search: CJK one character (a particle)", list(conversation.Filter{Query: "の"}, desc, nil)},
		{"count: unfiltered", func(int) error { _, err := svc.Count(ctx, ws, conversation.Filter{}); return err }},
		{"count: type=whatsapp", func(int) error {
			_, err := svc.Count(ctx, ws, conversation.Filter{Types: []string{"whatsapp"}})
			return err
		}},
		{"count: status=ended", count(conversation.Filter{Status: conversation.StatusEnded})},
		{"count: assistant_id", count(conversation.Filter{AssistantID: assistantID})},
		{"count: assistant_id + status=ended + type=test", count(conversation.Filter{AssistantID: assistantID, Status: conversation.StatusEnded, Types: []string{"test"}})},
		{"count: status=active + 30 days cut mid-day", func(i int) error {
			from := firstAt.Add(time.Duration(i%200)*24*time.Hour + 7*time.Hour)
			to := from.Add(30*24*time.Hour + 5*time.Hour)
			_, err := svc.Count(ctx, ws, conversation.Filter{Status: conversation.StatusActive, CreatedFrom: &from, CreatedTo: &to})
			return err
		}},
		{"count: customer_phone", func(i int) error {
			_, err := svc.Count(ctx, ws, conversation.Filter{CustomerPhone: fmt.Sprintf("+1555%07d", i*7919%10_000_000)})
			return err
		}},
		{"count: q=order (common word)", count(conversation.Filter{Query: "order"})},
		{"count: q=order + status=ended", count(conversation.Filter{Query: "order", Status: conversation.StatusEnded})},
		{"count: q=rare token", func(i int) error {
			_, err := svc.Count(ctx, ws, conversation.Filter{Query: fmt.Sprintf("ref%d", (i*104729)%1_000_000)})
			return err
		}},
	}
	for _, s := range steps {
		if err := measure(s.name, s.fn); err != nil {
			return err
		}
	}
	// Posting: a new conversation per 10 messages, each user message
	// answered by the offline model.
	asst, err := a.Assistants.List(ctx, ws, page.Request{Limit: 1})
	if err != nil {
		return err
	}
	var convID string
	err = measure("post message + offline reply", func(i int) error {
		if i%10 == 0 {
			c, _, err := svc.Create(ctx, ws, conversation.CreateInput{AssistantID: asst.Items[0].ID, Type: conversation.TypeAPI})
			if err != nil {
				return err
			}
			convID = c.ID
		}
		_, err := svc.PostMessage(ctx, ws, convID, conversation.PostInput{Role: conversation.RoleUser, Content: "Do you ship abroad?"}, nil)
		return err
	})
	if err != nil {
		return err
	}
	fmt.Printf("%d conversations, %s, %d samples each\n\n", total.Total, a.Store.Driver(), iters)
	fmt.Println("| operation | p50 | p95 | p99 | max |")
	fmt.Println("|---|---|---|---|---|")
	for _, m := range ms {
		fmt.Printf("| %s | %s | %s | %s | %s |\n", m.name, d(m.pct(0.5)), d(m.pct(0.95)), d(m.pct(0.99)), d(m.pct(1)))
	}
	return nil
}

func d(x time.Duration) string {
	return fmt.Sprintf("%.3f ms", float64(x.Microseconds())/1000)
}
