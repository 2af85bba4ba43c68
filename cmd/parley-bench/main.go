// Command parley-bench fills a Parley database with generated
// conversations and measures the operations users wait on: list pages at
// any depth, filtered lists, search, counts and posting a message with an
// offline reply. `run` measures through HTTP: the app's handler on a
// loopback listener, keep-alive clients, each request next to the
// /healthz floor of the same run (`run --service` times service calls).
//
//	parley-bench seed --database-url bench.db --conversations 1000000 --messages-per 10
//	parley-bench seed --database-url bench-ja.db --conversations 100000 --cjk 0.2
//	parley-bench run  --database-url bench.db --iterations 300 [--clients 4] [--only 'count .*q=']
//	parley-bench verify --database-url bench.db   (counters against the rows)
//	parley-bench load --database-url bench.db --posters 32   (through HTTP, under concurrency; see load.go)
//	parley-bench jobs --database-url jobs.db --conversations 2000   (kill -9 harness, see jobs.go)
//	parley-bench whatsapp --database-url wa.db --messages 50000 --clients 32   (webhook ingest, see whatsapp.go)
//	parley-bench widget --parley ./parley   (widget streams and chat against a parley serve child, see widget.go)
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
	"regexp"
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
	// Subcommands with flag sets of their own.
	subcommands := map[string]func([]string) error{"load": loadMain, "jobs": jobsMain, "jobs-work": jobsWork,
		"whatsapp": whatsappMain, "widget": widgetMain}
	if len(os.Args) >= 2 && subcommands[os.Args[1]] != nil {
		if err := subcommands[os.Args[1]](os.Args[2:]); err != nil {
			fail(err)
		}
		return
	}
	if len(os.Args) < 2 || (os.Args[1] != "seed" && os.Args[1] != "run" && os.Args[1] != "verify") {
		fmt.Fprintln(os.Stderr, "usage: parley-bench seed|run|verify|load|jobs|whatsapp|widget [flags]   (parley-bench seed -h for flags)")
		os.Exit(2)
	}
	fs := flag.NewFlagSet("parley-bench "+os.Args[1], flag.ExitOnError)
	dbURL := fs.String("database-url", "bench.db", "SQLite path or postgres:// URL")
	n := fs.Int("conversations", 100_000, "seed: conversations to create")
	per := fs.Int("messages-per", 10, "seed: messages per conversation")
	iters := fs.Int("iterations", 200, "run: samples per measurement")
	clients := fs.Int("clients", 1, "run: keep-alive HTTP clients sending each request at once")
	budget := fs.Duration("step-budget", 30*time.Second, "run: stop sampling a request after this long")
	only := fs.String("only", "", "run: measure only the requests whose name matches this regular expression")
	post := fs.Bool("post", true, "run: also measure posting a message with an offline reply")
	service := fs.Bool("service", false, "run: time service calls (no HTTP) as before, instead of the HTTP matrix")
	cjk := fs.Float64("cjk", 0, "seed: share of messages written in Japanese, for the CJK search measurements")
	nAsst := fs.Int("assistants", 40, "seed: assistants sharing the conversations (one owns half, one owns 9)")
	long := fs.Int("long", 5000, "seed: messages in the one long conversation (0: none)")
	cpuProfile := fs.String("cpuprofile", "", "seed, run: write a CPU profile to this file")
	cacheMB := fs.String("sqlite-cache-mb", "", "SQLite writer's page cache in MB, as PARLEY_SQLITE_CACHE_MB (a large seed wants 1024)")
	_ = fs.Parse(os.Args[2:])

	ctx := context.Background()
	a, ws, asst, closeStore, err := openWith(ctx, *dbURL, func(c *config.Config) { c.SQLiteCacheMB = *cacheMB })
	if err != nil {
		fail(err)
	}
	defer closeStore()
	stopProfile, err := startCPUProfile(*cpuProfile)
	if err != nil {
		fail(err)
	}
	defer func() { _ = stopProfile() }()
	switch os.Args[1] {
	case "seed":
		err = seed(ctx, a, ws, asst, seedOptions{N: *n, Per: *per, CJK: *cjk, Assistants: *nAsst, Long: *long})
	case "verify":
		err = verify(ctx, a, ws, os.Stdout)
	case "run":
		if *service {
			err = bench(ctx, a, ws, *iters)
			break
		}
		opt := runOptions{Iterations: *iters, Clients: *clients, StepBudget: *budget, Post: *post}
		if *only != "" {
			if opt.Only, err = regexp.Compile(*only); err != nil {
				fail(err)
			}
		}
		err = httpBench(ctx, a, ws, opt)
	}
	err = errors.Join(err, stopProfile())
	if err != nil {
		fail(err)
	}
}

// open opens, migrates and bootstraps the database and returns the app,
// its default workspace and first assistant.
func open(ctx context.Context, dbURL string) (*app.App, string, *assistant.Assistant, func(), error) {
	return openWith(ctx, dbURL, nil)
}

// openWith is open with the configuration changed by tweak first.
func openWith(ctx context.Context, dbURL string, tweak func(*config.Config)) (*app.App, string, *assistant.Assistant, func(), error) {
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	cfg := &config.Config{DatabaseURL: dbURL, AdminEmail: "bench@example.com", AdminPassword: "bench-password",
		APIRateLimit: "0"}
	if tweak != nil {
		tweak(cfg)
	}
	st, err := app.OpenStoreWith(ctx, dbURL, app.StoreOptions(cfg))
	if err != nil {
		return nil, "", nil, nil, err
	}
	closeStore := func() { _ = st.Close() }
	fin := func(err error) (*app.App, string, *assistant.Assistant, func(), error) {
		closeStore()
		return nil, "", nil, nil, err
	}
	if err := st.Migrate(ctx); err != nil {
		return fin(err)
	}
	a, err := app.Build(cfg, st, log, jobs.Config{})
	if err != nil {
		return fin(err)
	}
	if err := a.Bootstrap(ctx); err != nil {
		return fin(err)
	}
	ws, err := a.Accounts.DefaultWorkspace(ctx)
	if err != nil {
		return fin(err)
	}
	asst, err := a.Assistants.List(ctx, ws, page.Request{Limit: 1})
	if err != nil || len(asst.Items) == 0 {
		return fin(fmt.Errorf("no assistant: %w", err))
	}
	return a, ws, asst.Items[0], closeStore, nil
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
	email phone callback manager complaint review gift voucher bag kilo gram price cost total
	café Straße naïve crème jalapeño Zürich façade résumé Müller señor`)

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

// pickType draws a conversation type in the proportions of real use:
// mostly the website widget, then WhatsApp, the API and a few tests.
func pickType(r *rand.Rand) string {
	switch x := r.IntN(100); {
	case x < 55:
		return conversation.TypeWidget
	case x < 80:
		return conversation.TypeWhatsApp
	case x < 95:
		return conversation.TypeAPI
	default:
		return conversation.TypeTest
	}
}

// repeatedPhone is the customer who comes back again and again (about one
// conversation in 500), for the customer_phone filter with many matches.
const repeatedPhone = "+15550000001"

// externalID is the external identifier the seed gives the i-th
// conversation when it is an API conversation.
func externalID(i int) string { return fmt.Sprintf("order-%07d", i) }

// seedOptions shape the generated data set.
type seedOptions struct {
	N, Per     int     // conversations, and messages in each
	CJK        float64 // share of messages written in Japanese
	Assistants int     // assistants sharing the conversations, the first one existing
	Long       int     // messages in the one long conversation, 0 for none
}

// seedBatch is how many conversations go into one transaction: batching
// keeps the seed fast, and each batch adds its own counts (the same
// CountChange the service adds) so the counters stay exact.
const seedBatch = 200

// seedAssistants returns n assistants: asst and n-1 more like it.
func seedAssistants(ctx context.Context, a *app.App, ws string, asst *assistant.Assistant, n int) ([]*assistant.Assistant, error) {
	out := []*assistant.Assistant{asst}
	for i := 1; i < n; i++ {
		set := asst.Settings
		set.Name = fmt.Sprintf("Bench assistant %d", i)
		x, err := a.Assistants.Create(ctx, ws, set)
		if err != nil {
			return nil, fmt.Errorf("assistant %d: %w", i, err)
		}
		out = append(out, x)
	}
	return out, nil
}

// pickAssistant gives assistant 0 half the conversations, assistant 1
// exactly nine (spread over the year), and the rest a skewed share of
// the other half: low indexes are busy, high ones quiet.
func pickAssistant(r *rand.Rand, assts []*assistant.Assistant, i, n int) *assistant.Assistant {
	if len(assts) >= 2 {
		if stride := n / 9; stride > 0 && i%stride == stride/2 && i/stride < 9 {
			return assts[1]
		}
	}
	if len(assts) < 3 || r.IntN(2) == 0 {
		return assts[0]
	}
	rest := len(assts) - 2
	return assts[2+int(float64(rest)*r.Float64()*r.Float64())]
}

// seed creates opt.N conversations spread over the year before now,
// shaped like real use (see docs/PERFORMANCE.md, "Data set"), in batched
// transactions through the store's normal create path, and counts them
// the way the service does.
func seed(ctx context.Context, a *app.App, ws string, asst *assistant.Assistant, opt seedOptions) error {
	r := rand.New(rand.NewPCG(1, 2))
	n := opt.N
	assts, err := seedAssistants(ctx, a, ws, asst, max(opt.Assistants, 1))
	if err != nil {
		return err
	}
	start := time.Now().Add(-365 * 24 * time.Hour).Truncate(time.Millisecond)
	step := 365 * 24 * time.Hour / time.Duration(max(n, 1))
	began := time.Now()
	price := money.Money(150) // nano-USD per reply, as a priced model would cost
	// Phones come from a pool a third the size of the data set, so many
	// customers have more than one conversation.
	phones := max(n/3, 1)
	type created struct {
		c    *conversation.Conversation
		msgs []*conversation.Message
	}
	var batch []created
	// On SQLite the conversations' term entries are written in sorted
	// passes at the end (sqlite.DB.DeferTerms): one at a time they land all
	// over a large index and slow a million-conversation seed several-fold.
	wctx, indexTerms := ctx, func(context.Context) error { return nil }
	if d, ok := a.Store.(interface {
		DeferTerms(context.Context) (context.Context, func(context.Context) error, error)
	}); ok {
		if wctx, indexTerms, err = d.DeferTerms(ctx); err != nil {
			return err
		}
	}
	flush := func() error {
		err := a.Store.Within(wctx, func(ctx context.Context) error {
			cs := make([]*conversation.Conversation, 0, len(batch))
			for _, b := range batch {
				if err := a.Store.CreateConversation(ctx, b.c, b.msgs); err != nil {
					return fmt.Errorf("conversation %s: %w", b.c.ID, err)
				}
				cs = append(cs, b.c)
			}
			return a.Store.AddCounts(ctx, ws, conversation.CountChange(cs, nil))
		})
		batch = batch[:0]
		return err
	}
	for i := 0; i < n; i++ {
		at0 := start.Add(time.Duration(i) * step)
		typ := pickType(r)
		as := pickAssistant(r, assts, i, n)
		c := &conversation.Conversation{
			ID: ids.NewAt(ids.Conversation, at0), WorkspaceID: ws, Type: typ, Status: conversation.StatusActive,
			AssistantID: as.ID, AssistantName: as.Name, AIEnabled: true, Variables: map[string]conversation.Variable{},
			CostComplete: true, CreatedAt: at0, UpdatedAt: at0,
		}
		if r.IntN(100) < 84 {
			c.Status = conversation.StatusEnded
		}
		if typ == conversation.TypeWhatsApp || r.IntN(4) == 0 {
			c.Customer.Phone = fmt.Sprintf("+1555%07d", 1_000_000+r.IntN(phones))
			if r.IntN(500) == 0 {
				c.Customer.Phone = repeatedPhone
			}
		}
		if typ == conversation.TypeWhatsApp {
			c.SenderID, c.SenderPhone = "wa_bench", "+15550000000"
		}
		if typ == conversation.TypeAPI {
			// API callers pass their own reference; no random draw, so
			// the rest of the data is the same as before it was added.
			c.ExternalIdentifier = externalID(i)
		}
		per := opt.Per
		if opt.Long > 0 && i == n/2 {
			per = opt.Long // the one long conversation, in the middle of the year
		}
		msgs := make([]*conversation.Message, 0, per)
		for j := 0; j < per; j++ {
			at := at0.Add(time.Duration(j) * 20 * time.Second)
			m := &conversation.Message{ID: ids.NewAt(ids.Message, at), Role: conversation.RoleUser,
				Content: sentence(r, 6+r.IntN(14)), CreatedAt: at}
			if opt.CJK > 0 && r.Float64() < opt.CJK { // no extra draw without --cjk
				m.Content = japaneseSentence(r, 4+r.IntN(8))
			}
			if j%2 == 1 {
				m.Role, m.Model = conversation.RoleAssistant, "gpt-4o-mini"
				u := llm.Usage{InputTokens: int64(40 + 30*min(j, 100)), OutputTokens: int64(20 + r.IntN(60))}
				m.Usage = &u
				cost := price + money.Money(r.IntN(100))
				m.Cost = &cost
			}
			msgs = append(msgs, m)
		}
		batch = append(batch, created{c, msgs})
		if len(batch) == seedBatch || i+1 == n {
			if err := flush(); err != nil {
				return err
			}
		}
		if (i+1)%10_000 == 0 || i+1 == n {
			el := time.Since(began)
			rate := float64(i+1) / el.Seconds()
			fmt.Fprintf(os.Stderr, "\rseeded %d/%d conversations (%.0f/s, %s elapsed, ~%s left)   ", i+1, n, rate,
				el.Round(time.Second), (time.Duration(float64(n-i-1)/rate) * time.Second).Round(time.Second))
		}
	}
	fmt.Fprintln(os.Stderr)
	indexing := time.Now()
	if err := indexTerms(ctx); err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "indexed the conversations' terms in %s\n", time.Since(indexing).Round(time.Second))
	// A bulk import grows the tables from nothing in one go: gather the
	// planner statistics now rather than at the next start or hourly round.
	if an, ok := a.Store.(interface{ Analyze(context.Context) error }); ok {
		if err := an.Analyze(ctx); err != nil {
			return err
		}
	}
	return nil
}

// verify checks the conversation counters against the rows: it walks
// every conversation (fine at 10k, slow at 1M) and compares the total and
// per-type tallies with Count, unfiltered and for each assistant.
func verify(ctx context.Context, a *app.App, ws string, out io.Writer) error {
	svc := a.Conversations
	byType := map[string]int64{}
	byAsst := map[string]int64{}
	var total int64
	req := page.Request{Limit: 500}
	for {
		res, err := svc.List(ctx, ws, conversation.Filter{}, conversation.Order{Sort: conversation.SortCreatedAt}, req)
		if err != nil {
			return fmt.Errorf("list: %w", err)
		}
		for _, c := range res.Items {
			total++
			byType[c.Type]++
			byAsst[c.AssistantID]++
		}
		if res.Next == nil {
			break
		}
		req.Cursor = res.Next
	}
	got, err := svc.Count(ctx, ws, conversation.Filter{})
	if err != nil {
		return fmt.Errorf("count: %w", err)
	}
	if got.Total != total {
		return fmt.Errorf("count total %d, rows %d", got.Total, total)
	}
	for t, k := range byType {
		if got.ByType[t] != k {
			return fmt.Errorf("count of type %s %d, rows %d", t, got.ByType[t], k)
		}
	}
	for id, k := range byAsst {
		c, err := svc.Count(ctx, ws, conversation.Filter{AssistantID: id})
		if err != nil {
			return fmt.Errorf("count assistant %s: %w", id, err)
		}
		if c.Total != k {
			return fmt.Errorf("count of assistant %s %d, rows %d", id, c.Total, k)
		}
	}
	fmt.Fprintf(out, "counts match the rows: %d conversations, %d assistants, by type %v\n", total, len(byAsst), byType)
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
	// Counts filtered by an assistant and by a date range: the oldest
	// conversation's assistant, and its time.
	oldest, err := svc.List(ctx, ws, conversation.Filter{}, conversation.Order{Sort: conversation.SortCreatedAt}, page.Request{Limit: 1})
	if err != nil || len(oldest.Items) == 0 {
		return fmt.Errorf("oldest conversation: %w", err)
	}
	assistantID, firstAt := oldest.Items[0].AssistantID, oldest.Items[0].CreatedAt
	count := func(f conversation.Filter) func(int) error {
		return func(int) error { _, err := svc.Count(ctx, ws, f); return err }
	}
	// A customer phone from the seed's pool (a third as many phones as
	// conversations): most have one or a few conversations, some none.
	pooledPhone := func(i int) string {
		return fmt.Sprintf("+1555%07d", 1_000_000+i*7919%int(max(total.Total/3, 1)))
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
	big, small, err := skewedAssistants(ctx, a, ws)
	if err != nil {
		return err
	}
	// The long conversation (most messages) and cursors into its
	// transcript at the middle and near the end, found by one walk.
	longest, err := svc.List(ctx, ws, conversation.Filter{}, conversation.Order{Sort: conversation.SortMessageCount, Desc: true}, page.Request{Limit: 1})
	if err != nil || len(longest.Items) == 0 {
		return fmt.Errorf("longest conversation: %w", err)
	}
	longID := longest.Items[0].ID
	var transcript []*page.Cursor
	for req := (page.Request{Limit: 50}); ; {
		res, err := svc.Messages(ctx, ws, longID, req)
		if err != nil {
			return fmt.Errorf("transcript: %w", err)
		}
		if res.Next == nil {
			break
		}
		transcript = append(transcript, res.Next)
		req.Cursor = res.Next
	}
	messages := func(c *page.Cursor) func(int) error {
		return func(int) error {
			_, err := svc.Messages(ctx, ws, longID, page.Request{Limit: 50, Cursor: c})
			return err
		}
	}
	var midMsg, lastMsg *page.Cursor
	if len(transcript) > 0 {
		midMsg, lastMsg = transcript[len(transcript)/2], transcript[len(transcript)-1]
	}
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
		{"filtered: big assistant (half the rows)", list(conversation.Filter{AssistantID: big}, desc, nil)},
		{"filtered: big assistant + status=active", list(conversation.Filter{AssistantID: big, Status: conversation.StatusActive}, desc, nil)},
		{"filtered: small assistant (9 rows)", list(conversation.Filter{AssistantID: small}, desc, nil)},
		{"filtered: small assistant + type=whatsapp", list(conversation.Filter{AssistantID: small, Types: []string{"whatsapp"}}, desc, nil)},
		{"filtered: repeated customer_phone", list(conversation.Filter{CustomerPhone: repeatedPhone}, desc, nil)},
		{"search: accented word café", list(conversation.Filter{Query: "café"}, desc, nil)},
		{"search: accented word Straße + big assistant", list(conversation.Filter{Query: "Straße", AssistantID: big}, desc, nil)},
		{"transcript: first page of the long conversation", messages(nil)},
		{"transcript: middle page of the long conversation", messages(midMsg)},
		{"transcript: last page of the long conversation", messages(lastMsg)},
		{"filtered: customer_phone (a few matches)", func(i int) error {
			_, err := svc.List(ctx, ws, conversation.Filter{CustomerPhone: pooledPhone(i)}, desc, page.Request{Limit: 20})
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
			_, err := svc.List(ctx, ws, conversation.Filter{Query: "order", CustomerPhone: pooledPhone(i)}, desc, page.Request{Limit: 20})
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
		{"count: big assistant", count(conversation.Filter{AssistantID: big})},
		{"count: small assistant", count(conversation.Filter{AssistantID: small})},
		{"count: repeated customer_phone", count(conversation.Filter{CustomerPhone: repeatedPhone})},
		{"count: customer_phone", func(i int) error {
			_, err := svc.Count(ctx, ws, conversation.Filter{CustomerPhone: pooledPhone(i)})
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

// skewedAssistants returns the assistants with the most and the fewest
// (but some) conversations, read from the counters.
func skewedAssistants(ctx context.Context, a *app.App, ws string) (big, small string, err error) {
	var hi, lo int64 = -1, -1
	for req := (page.Request{Limit: 100}); ; {
		res, err := a.Assistants.List(ctx, ws, req)
		if err != nil {
			return "", "", fmt.Errorf("assistants: %w", err)
		}
		for _, x := range res.Items {
			c, err := a.Conversations.Count(ctx, ws, conversation.Filter{AssistantID: x.ID})
			if err != nil {
				return "", "", fmt.Errorf("count assistant: %w", err)
			}
			if c.Total > hi {
				hi, big = c.Total, x.ID
			}
			if c.Total > 0 && (lo < 0 || c.Total < lo) {
				lo, small = c.Total, x.ID
			}
		}
		if res.Next == nil {
			return big, small, nil
		}
		req.Cursor = res.Next
	}
}

func d(x time.Duration) string {
	return fmt.Sprintf("%.3f ms", float64(x.Microseconds())/1000)
}
