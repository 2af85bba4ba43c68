package main

// parley-bench load measures Parley under concurrency, through HTTP: it
// starts the real server (app.Serve) on a real listener against a
// database (seed one with parley-bench seed first), then runs keep-alive
// clients against it for a while — posters that post a user message and
// read the offline model's reply, and optionally readers that list,
// count or search at the same time — and reports each class's
// throughput and latency next to the /healthz floor measured just before
// with as many clients. Clients and server share the machine, as they
// would a small box; the floor shows what the HTTP round trip alone
// costs under that sharing.
//
//	parley-bench load --database-url bench.db --posters 32 --duration 10s
//	parley-bench load --database-url bench.db --posters 0 --listers 1 --counters 4 --searchers 4

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"runtime"
	"runtime/pprof"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/parley-dev/parley/internal/app"
	"github.com/parley-dev/parley/internal/config"
	"github.com/parley-dev/parley/internal/conversation"
	"github.com/parley-dev/parley/internal/page"
)

// loadOptions are the flags of parley-bench load.
type loadOptions struct {
	Posters, Shared, PerConversation    int
	Listers, Counters, Searchers        int
	Duration, Warmup, Floor             time.Duration
	CPUProfile, BlockProfile, MutexProf string
}

// loadFlags are parley-bench load's flags: the server's settings (as
// parley serve takes them, PARLEY_* variables included) and the load's.
type loadFlags struct {
	set    *flag.FlagSet
	config func() (*config.Config, error)
	opts   *loadOptions
}

func newLoadFlags() loadFlags {
	fs := flag.NewFlagSet("parley-bench load", flag.ContinueOnError)
	getConfig := config.Register(fs, os.Getenv)
	o := &loadOptions{}
	fs.IntVar(&o.Posters, "posters", 32, "clients posting a user message and reading the offline reply")
	fs.IntVar(&o.Shared, "shared", 1, "posters per conversation (1: each its own)")
	fs.IntVar(&o.PerConversation, "per-conversation", 40, "messages a poster posts before it starts a new conversation")
	fs.IntVar(&o.Listers, "listers", 0, "clients paging the first page of the conversation list")
	fs.IntVar(&o.Counters, "counters", 0, "clients looping on filtered counts (status, assistant, q)")
	fs.IntVar(&o.Searchers, "searchers", 0, "clients looping on searches (a common word, with and without a filter)")
	fs.DurationVar(&o.Duration, "duration", 10*time.Second, "how long the measured load runs")
	fs.DurationVar(&o.Warmup, "warmup", 2*time.Second, "load run first and not measured (tokenizer, caches)")
	fs.DurationVar(&o.Floor, "floor", 3*time.Second, "how long the /healthz floor is measured, with as many clients")
	fs.StringVar(&o.CPUProfile, "cpuprofile", "", "write a CPU profile of the measured load to this file")
	fs.StringVar(&o.BlockProfile, "blockprofile", "", "write a block profile of the measured load to this file")
	fs.StringVar(&o.MutexProf, "mutexprofile", "", "write a mutex profile of the measured load to this file")
	return loadFlags{set: fs, config: getConfig, opts: o}
}

// loadMain is parley-bench load.
func loadMain(args []string) error {
	fs := newLoadFlags()
	if err := fs.set.Parse(args); err != nil {
		return err
	}
	cfg, err := fs.config()
	if err != nil {
		return err
	}
	return load(prepareLoadConfig(cfg), *fs.opts, os.Stdout)
}

// prepareLoadConfig points cfg at a free local port and lifts the rate
// limit: the clients share one key, so the limit would measure itself.
func prepareLoadConfig(cfg *config.Config) *config.Config {
	cfg.Addr = "127.0.0.1:0"
	if cfg.AdminEmail == "" {
		cfg.AdminEmail, cfg.AdminPassword = "bench@example.com", "bench-password"
	}
	cfg.APIRateLimit = "0"
	return cfg
}

// load serves cfg's database and runs o's clients against it.
func load(cfg *config.Config, o loadOptions, out io.Writer) error {
	o.Shared, o.PerConversation = max(o.Shared, 1), max(o.PerConversation, 1)
	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	a, err := app.New(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer a.Close()
	addrc := make(chan string, 1)
	served := make(chan error, 1)
	go func() { served <- a.Serve(ctx, func(addr string) { addrc <- addr }) }()
	var base string
	select {
	case addr := <-addrc:
		base = "http://" + addr
	case err := <-served:
		return fmt.Errorf("serve: %w", err)
	}
	defer func() {
		stop()
		if err := <-served; err != nil {
			fmt.Fprintln(os.Stderr, "parley-bench load: server:", err)
		}
	}()

	ws, err := a.Accounts.DefaultWorkspace(ctx)
	if err != nil {
		return err
	}
	key, _, err := a.Accounts.CreateAPIKey(ctx, ws, "parley-bench load")
	if err != nil {
		return err
	}
	assts, err := a.Assistants.List(ctx, ws, page.Request{Limit: 1})
	if err != nil || len(assts.Items) == 0 {
		return fmt.Errorf("no assistant: %w", err)
	}
	total, err := a.Conversations.Count(ctx, ws, conversation.Filter{})
	if err != nil {
		return err
	}
	clients := o.Posters + o.Listers + o.Counters + o.Searchers
	hc := &http.Client{Transport: &http.Transport{MaxIdleConns: clients + 8, MaxIdleConnsPerHost: clients + 8}}
	c := &loadClient{http: hc, base: base, key: key, assistant: assts.Items[0].ID}

	fmt.Fprintf(out, "%d conversations, %s, GOMAXPROCS %d, SQLite readers %s, %s measured after %s warm-up\n\n",
		total.Total, a.Store.Driver(), runtime.GOMAXPROCS(0), orDefault(cfg.SQLiteReaders, "default"), o.Duration, o.Warmup)

	// One post first: the first reply loads the tokenizer, which no
	// class should measure.
	if err := c.poster(loadOptions{Shared: 1, PerConversation: 1})(0)(ctx); err != nil {
		return fmt.Errorf("first post: %w", err)
	}
	floor := &loadClass{name: "/healthz floor", clients: max(clients, 1)}
	floor.each = func(int) func(context.Context) error {
		return func(ctx context.Context) error { return c.do(ctx, "GET", "/healthz", nil, nil) }
	}
	if err := runClasses(ctx, []*loadClass{floor}, 500*time.Millisecond, o.Floor, loadOptions{}); err != nil {
		return err
	}

	classes := []*loadClass{
		{name: "post message + offline reply", clients: o.Posters, each: c.poster(o)},
		{name: "list: first page", clients: o.Listers, each: c.looping([]string{
			"/api/v1/conversations?per_page=20",
		})},
		{name: "count: filtered", clients: o.Counters, each: c.looping([]string{
			"/api/v1/conversations/count?status=ended",
			"/api/v1/conversations/count?assistant_id=" + url.QueryEscape(assts.Items[0].ID),
			"/api/v1/conversations/count?q=order",
		})},
		{name: "search", clients: o.Searchers, each: c.looping([]string{
			"/api/v1/conversations?q=order&per_page=20",
			"/api/v1/conversations?q=" + url.QueryEscape("café") + "&status=ended&per_page=20",
			"/api/v1/conversations?q=refund&type=whatsapp&per_page=20",
		})},
	}
	classes = slices.DeleteFunc(classes, func(l *loadClass) bool { return l.clients == 0 })
	if err := runClasses(ctx, classes, o.Warmup, o.Duration, o); err != nil {
		return err
	}
	fmt.Fprintln(out, "| class | clients | requests | per second | p50 | p95 | p99 | max | errors |")
	fmt.Fprintln(out, "|---|---|---|---|---|---|---|---|---|")
	for _, l := range append([]*loadClass{floor}, classes...) {
		l.report(out)
	}
	for _, l := range append([]*loadClass{floor}, classes...) {
		if l.firstErr != nil {
			fmt.Fprintf(out, "\nfirst error of %s: %v\n", l.name, l.firstErr)
		}
	}
	return nil
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// loadClient is what every load client shares: one keep-alive HTTP
// client, the server and the API key.
type loadClient struct {
	http      *http.Client
	base, key string
	assistant string
}

// do sends one request and reads its answer whole; a status other than
// 2xx is an error. into, if not nil, receives the decoded JSON body.
func (c *loadClient) do(ctx context.Context, method, path string, body, into any) error {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, rd)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+c.key)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("%s %s: %d %s", method, path, resp.StatusCode, strings.TrimSpace(string(b)))
	}
	if into != nil {
		return json.Unmarshal(b, into)
	}
	return nil
}

// poster returns, for client i, a loop step that posts a user message and
// checks the reply came with it. Posters share a conversation in groups
// of o.Shared and move to a new one after o.PerConversation messages
// each; starting it is not timed.
func (c *loadClient) poster(o loadOptions) func(int) func(context.Context) error {
	var mu sync.Mutex
	convs := map[int]string{} // group → its current conversation
	posted := map[int]int{}
	current := func(ctx context.Context, group int) (string, error) {
		mu.Lock()
		defer mu.Unlock()
		if id, ok := convs[group]; ok && posted[group] < o.PerConversation*o.Shared {
			posted[group]++
			return id, nil
		}
		var created struct {
			ID string `json:"id"`
		}
		err := c.do(ctx, "POST", "/api/v1/conversations", map[string]any{"assistant_id": c.assistant, "type": "api"}, &created)
		if err != nil {
			return "", err
		}
		convs[group], posted[group] = created.ID, 1
		return created.ID, nil
	}
	questions := []string{"Do you ship abroad?", "What are your opening hours?", "How do returns work?", "Can I pause my subscription?"}
	return func(i int) func(context.Context) error {
		group, n := i/o.Shared, 0
		return func(ctx context.Context) error {
			id, err := current(ctx, group)
			if err != nil {
				return err
			}
			n++
			start := time.Now()
			var posted struct {
				Reply *struct {
					ID string `json:"id"`
				} `json:"reply"`
			}
			err = c.do(ctx, "POST", "/api/v1/conversations/"+id+"/messages",
				map[string]any{"role": "user", "content": questions[n%len(questions)]}, &posted)
			timed(ctx, start)
			if err == nil && posted.Reply == nil {
				err = errors.New("no reply")
			}
			return err
		}
	}
}

// looping returns a loop step that sends GETs to paths in turn.
func (c *loadClient) looping(paths []string) func(int) func(context.Context) error {
	return func(i int) func(context.Context) error {
		n := i
		return func(ctx context.Context) error {
			p := paths[n%len(paths)]
			n++
			return c.do(ctx, "GET", p, nil, nil)
		}
	}
}

// startKey carries, in a step's context, where the step may report the
// start of the part to time (see timed).
type startKey struct{}

// timed lets a step exclude its set-up: the step's latency is measured
// from start rather than from the step's beginning.
func timed(ctx context.Context, start time.Time) {
	if p, ok := ctx.Value(startKey{}).(*time.Time); ok {
		*p = start
	}
}

// loadClass is one kind of client and what it measured.
type loadClass struct {
	name     string
	clients  int
	each     func(client int) func(ctx context.Context) error
	mu       sync.Mutex
	samples  []time.Duration
	errs     int
	firstErr error
	elapsed  time.Duration
}

func (l *loadClass) report(out io.Writer) {
	s := l.samples
	slices.Sort(s)
	pct := func(p float64) string {
		if len(s) == 0 {
			return "–"
		}
		return d(s[min(len(s)-1, int(float64(len(s))*p))])
	}
	rate := float64(len(s)) / l.elapsed.Seconds()
	fmt.Fprintf(out, "| %s | %d | %d | %.0f | %s | %s | %s | %s | %d |\n",
		l.name, l.clients, len(s), rate, pct(0.5), pct(0.95), pct(0.99), pct(1), l.errs)
}

// runClasses runs every class's clients together: warm-up, then the
// measured period (profiled as o asks), then waits for them to stop.
func runClasses(ctx context.Context, classes []*loadClass, warmup, measure time.Duration, o loadOptions) error {
	var measuring atomic.Bool
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	for _, l := range classes {
		for i := range l.clients {
			step := l.each(i)
			wg.Add(1)
			go func() {
				defer wg.Done()
				var local []time.Duration
				errs := 0
				var first error
				for ctx.Err() == nil {
					// Only requests begun and ended within the measured
					// period count: one begun in the warm-up may have
					// waited for it (the tokenizer loads on first use).
					counted := measuring.Load()
					start := time.Now()
					err := step(context.WithValue(ctx, startKey{}, &start))
					took := time.Since(start)
					if ctx.Err() != nil {
						break // cut by the end of the run: not a sample
					}
					if !counted || !measuring.Load() {
						continue
					}
					if err != nil {
						errs++
						if first == nil {
							first = err
						}
						continue
					}
					local = append(local, took)
				}
				l.mu.Lock()
				l.samples = append(l.samples, local...)
				l.errs += errs
				if l.firstErr == nil {
					l.firstErr = first
				}
				l.mu.Unlock()
			}()
		}
	}
	time.Sleep(warmup)
	stopProfiles, err := startProfiles(o)
	if err != nil {
		cancel()
		wg.Wait()
		return err
	}
	measuring.Store(true)
	began := time.Now()
	time.Sleep(measure)
	measuring.Store(false)
	elapsed := time.Since(began)
	profErr := stopProfiles()
	cancel()
	wg.Wait()
	for _, l := range classes {
		l.elapsed = elapsed
	}
	return profErr
}

// startProfiles starts the profiles o asks for; the returned function
// stops them and writes them out.
func startProfiles(o loadOptions) (func() error, error) {
	var stops []func() error
	stopCPU, err := startCPUProfile(o.CPUProfile)
	if err != nil {
		return nil, err
	}
	stops = append(stops, stopCPU)
	write := func(name, file string, rate func(int)) {
		if file == "" {
			return
		}
		rate(1)
		stops = append(stops, func() error {
			rate(0)
			f, err := os.Create(file)
			if err != nil {
				return err
			}
			return errors.Join(pprof.Lookup(name).WriteTo(f, 0), f.Close())
		})
	}
	write("block", o.BlockProfile, runtime.SetBlockProfileRate)
	write("mutex", o.MutexProf, func(n int) { runtime.SetMutexProfileFraction(n) })
	return func() error {
		var errs []error
		for _, s := range stops {
			errs = append(errs, s())
		}
		return errors.Join(errs...)
	}, nil
}
