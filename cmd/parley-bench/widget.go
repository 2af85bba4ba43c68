package main

// parley-bench widget measures the web widget's public API from the
// visitors' side, against a server in another process, so the server's
// memory is its own: (1) visitors that each hold the widget's event
// stream open, reporting the server's RSS at each step; (2) visitors that
// chat — each starts a session, opens its stream and sends a message
// every few seconds, timing send → the reply's "done" event — with the
// /healthz floor sampled in the same run.
//
// By default it builds nothing: it starts `parley serve` from --parley
// (go build -o parley ./cmd/parley) on a fresh SQLite database in a
// temporary directory; --url and --pid point it at a running server
// instead. Visitors connect from many loopback addresses (127.x.y.z),
// as visitors come from many addresses, so the per-address limits of the
// widget API apply to a few visitors each, as they would in production.
//
//	parley-bench widget --parley ./parley --streams 0,1000,5000,10000 --visitors 1000 --interval 3s --duration 30s

import (
	"bufio"
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

type widgetOptions struct {
	parley, url, publicKey string
	serverEnv              []string
	pid                    int
	steps                  []int
	visitors, perAddress   int
	interval, duration     time.Duration
	warmup                 time.Duration
}

func widgetMain(args []string) error {
	fs := flag.NewFlagSet("parley-bench widget", flag.ExitOnError)
	var o widgetOptions
	steps := fs.String("streams", "0,1000,5000,10000", "open event streams at which to read the server's RSS (0 skips the phase)")
	fs.StringVar(&o.parley, "parley", "./parley", "the parley binary to start (`go build -o parley ./cmd/parley`)")
	fs.StringVar(&o.url, "url", "", "a running server's base URL instead (with --pid and --public-key)")
	fs.IntVar(&o.pid, "pid", 0, "the running server's process id, for its RSS")
	fs.StringVar(&o.publicKey, "public-key", "", "the running server's assistant public key (pub_…); its pre-chat form must take name and email")
	fs.IntVar(&o.visitors, "visitors", 1000, "chatting visitors (0 skips the phase)")
	fs.IntVar(&o.perAddress, "per-address", 4, "visitors sharing one client address")
	fs.DurationVar(&o.interval, "interval", 3*time.Second, "mean time between one visitor's messages (each waits ±50% of it)")
	fs.DurationVar(&o.duration, "duration", 30*time.Second, "measured chat time")
	fs.DurationVar(&o.warmup, "warmup", 5*time.Second, "chat time before measuring")
	fs.Func("server-env", "KEY=VALUE for the started server's environment (repeatable), e.g. GOMEMLIMIT=250MiB", func(v string) error {
		if !strings.Contains(v, "=") {
			return errors.New("must be KEY=VALUE")
		}
		o.serverEnv = append(o.serverEnv, v)
		return nil
	})
	_ = fs.Parse(args)
	for _, s := range strings.Split(*steps, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || n < 0 {
			return fmt.Errorf("--streams %q: a comma-separated list of counts", *steps)
		}
		o.steps = append(o.steps, n)
	}
	slices.Sort(o.steps)
	limit := raiseFileLimit()
	fmt.Printf("open files limit %d (raised to the hard limit; a child server inherits it)\n", limit)
	if o.url == "" {
		stop, err := startServer(&o)
		if err != nil {
			return err
		}
		defer stop()
	}
	b := &widgetBench{o: o, base: strings.TrimRight(o.url, "/")}
	if n := o.steps[len(o.steps)-1]; n > 0 {
		if err := b.streams(); err != nil {
			return err
		}
	}
	if o.visitors > 0 {
		return b.chat()
	}
	return nil
}

// raiseFileLimit lifts the soft limit on open files to the hard one: each
// stream is a connection on both sides.
func raiseFileLimit() uint64 {
	var r syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &r); err != nil {
		return 0
	}
	r.Cur = r.Max
	_ = syscall.Setrlimit(syscall.RLIMIT_NOFILE, &r)
	return r.Cur
}

// startServer starts parley serve on a fresh SQLite database and a free
// port, waits for it, and finds the Demo Assistant's public key with an
// API key made by `parley apikey create`.
func startServer(o *widgetOptions) (func(), error) {
	dir, err := os.MkdirTemp("", "parley-bench-widget-")
	if err != nil {
		return nil, err
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	addr := l.Addr().String()
	_ = l.Close()
	env := append(os.Environ(), "PARLEY_ADDR="+addr, "PARLEY_DATABASE_URL="+filepath.Join(dir, "parley.db"),
		"PARLEY_ADMIN_EMAIL=bench@example.com", "PARLEY_ADMIN_PASSWORD=bench-password-123", "PARLEY_LOG_FORMAT=text")
	env = append(env, o.serverEnv...)
	logFile, err := os.Create(filepath.Join(dir, "server.log"))
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(o.parley, "serve")
	cmd.Env, cmd.Stdout, cmd.Stderr = env, logFile, logFile
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", o.parley, err)
	}
	stop := func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		done := make(chan struct{})
		go func() { _ = cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(20 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
		_ = logFile.Close()
		_ = os.RemoveAll(dir)
	}
	o.url, o.pid = "http://"+addr, cmd.Process.Pid
	for start := time.Now(); ; time.Sleep(50 * time.Millisecond) {
		if res, err := http.Get(o.url + "/healthz"); err == nil {
			_ = res.Body.Close()
			break
		}
		if time.Since(start) > 30*time.Second {
			stop()
			return nil, errors.New("the server did not come up in 30 s")
		}
	}
	keyCmd := exec.Command(o.parley, "apikey", "create", "--name", "bench")
	keyCmd.Env = env
	out, err := keyCmd.Output()
	if err != nil {
		stop()
		return nil, fmt.Errorf("apikey create: %w", err)
	}
	req, _ := http.NewRequest("GET", o.url+"/api/v1/assistants", nil)
	req.Header.Set("Authorization", "Bearer "+strings.TrimSpace(string(out)))
	var list struct {
		Data []struct {
			PublicKey string `json:"public_key"`
		} `json:"data"`
	}
	res, err := http.DefaultClient.Do(req)
	if err == nil {
		err = json.NewDecoder(res.Body).Decode(&list)
		_ = res.Body.Close()
	}
	if err != nil || len(list.Data) == 0 {
		stop()
		return nil, fmt.Errorf("find the assistant (%d found): %w", len(list.Data), cmp.Or(err, errors.New("none")))
	}
	o.publicKey = list.Data[0].PublicKey
	fmt.Printf("server: %s serve, pid %d, %s, database %s\n", o.parley, o.pid, o.url, filepath.Join(dir, "parley.db"))
	return stop, nil
}

type widgetBench struct {
	o    widgetOptions
	base string

	mu      sync.Mutex
	clients map[int]*http.Client // by client address
}

// client returns the HTTP client of the n-th client address,
// 127.(10+n/62500).(n/250%250).(n%250+1).
func (b *widgetBench) client(n int) *http.Client {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.clients == nil {
		b.clients = map[int]*http.Client{}
	}
	if c := b.clients[n]; c != nil {
		return c
	}
	ip := net.IPv4(127, byte(10+n/62500), byte(n/250%250), byte(n%250+1))
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: ip}, Timeout: 10 * time.Second}
	c := &http.Client{Transport: &http.Transport{DialContext: d.DialContext, MaxIdleConnsPerHost: 16, DisableCompression: true}}
	b.clients[n] = c
	return c
}

// visitor is one started session.
type visitor struct {
	n      int
	token  string
	client *http.Client
}

// start starts visitor n's session, answering the Demo Assistant's
// pre-chat form.
func (b *widgetBench) start(ctx context.Context, n int) (*visitor, error) {
	v := &visitor{n: n, client: b.client(n / max(1, b.o.perAddress))}
	body := fmt.Sprintf(`{"prechat":{"name":"Visitor %d","email":"visitor%d@example.com"}}`, n, n)
	req, _ := http.NewRequestWithContext(ctx, "POST", b.base+"/widget/v1/"+b.o.publicKey+"/sessions", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	res, err := v.client.Do(req)
	if err != nil {
		return nil, err
	}
	defer res.Body.Close()
	var s struct {
		Token string `json:"token"`
	}
	if err := json.NewDecoder(res.Body).Decode(&s); err != nil || res.StatusCode/100 != 2 {
		return nil, fmt.Errorf("start session %d: status %d: %w", n, res.StatusCode, cmp.Or(err, errors.New("refused")))
	}
	v.token = s.Token
	return v, nil
}

// stream opens the visitor's event stream and returns once the server
// has answered (the stream is open); ctx closes it.
func (b *widgetBench) stream(ctx context.Context, v *visitor) error {
	req, _ := http.NewRequestWithContext(ctx, "GET", b.base+"/widget/v1/"+b.o.publicKey+"/session/events", nil)
	req.Header.Set("Authorization", "Bearer "+v.token)
	req.Header.Set("Accept", "text/event-stream")
	res, err := v.client.Do(req) //nolint:bodyclose // closed by the reader below, when ctx ends the stream
	if err != nil {
		return err
	}
	if res.StatusCode != http.StatusOK {
		_ = res.Body.Close()
		return fmt.Errorf("stream %d: status %d", v.n, res.StatusCode)
	}
	go func() { _, _ = io.Copy(io.Discard, res.Body); _ = res.Body.Close() }()
	return nil
}

// each runs fn for 0 ≤ i < n on up to workers goroutines; the first error
// stops it.
func each(n, workers int, fn func(i int) error) error {
	var next atomic.Int64
	var first error
	var failed atomic.Bool
	var once sync.Once
	var wg sync.WaitGroup
	for range min(n, workers) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= n || failed.Load() {
					return
				}
				if err := fn(i); err != nil {
					once.Do(func() { first = err; failed.Store(true) })
					return
				}
			}
		}()
	}
	wg.Wait()
	return first
}

// serverStats reads the server's resident memory (kB, /proc/PID/status)
// and, from /metrics, its goroutines and Go heap in use.
func (b *widgetBench) serverStats() string {
	rss := "?"
	if data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", b.o.pid)); err == nil {
		for _, line := range strings.Split(string(data), "\n") {
			if f := strings.Fields(line); len(f) >= 2 && f[0] == "VmRSS:" {
				kb, _ := strconv.Atoi(f[1])
				rss = fmt.Sprintf("%.1f MB", float64(kb)/1024)
			}
		}
	}
	gor, heap := "?", "?"
	if res, err := http.Get(b.base + "/metrics"); err == nil {
		sc := bufio.NewScanner(res.Body)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			if v, ok := strings.CutPrefix(sc.Text(), "go_goroutines "); ok {
				gor = v
			}
			if v, ok := strings.CutPrefix(sc.Text(), "go_memstats_heap_inuse_bytes "); ok {
				f, _ := strconv.ParseFloat(v, 64)
				heap = fmt.Sprintf("%.1f MB", f/(1<<20))
			}
		}
		_ = res.Body.Close()
	}
	return fmt.Sprintf("%s | %s | %s", rss, heap, gor)
}

// streams opens event streams step by step and reports the server's
// memory at each step, then closes them.
func (b *widgetBench) streams() error {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	fmt.Println("\n| open streams | server RSS | Go heap in use | goroutines | time to open the step |")
	fmt.Println("|---|---|---|---|---|")
	open := 0
	for _, target := range b.o.steps {
		start := time.Now()
		err := each(target-open, 64, func(i int) error {
			v, err := b.start(ctx, open+i)
			if err != nil {
				return err
			}
			return b.stream(ctx, v)
		})
		if err != nil {
			return err
		}
		took := time.Since(start)
		open = target
		time.Sleep(3 * time.Second) // let the server settle
		fmt.Printf("| %d | %s | %v |\n", open, b.serverStats(), took.Round(time.Millisecond))
	}
	cancel()
	time.Sleep(3 * time.Second) // the server closes the streams
	return nil
}

// questions are what chatting visitors ask (the offline model answers
// them from the Demo Assistant's knowledge).
var questions = []string{"Do you ship abroad?", "What are your opening hours?", "How do I return a bag of beans?",
	"Can I pause my subscription?", "Do you sell decaf?", "How long does delivery take?"}

// chat runs the chatting visitors and reports the send → done round trip
// next to the /healthz floor of the same period.
func (b *widgetBench) chat() error {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	base := 100_000 // addresses of their own, apart from the stream phase's
	visitors := make([]*visitor, b.o.visitors)
	err := each(len(visitors), 64, func(i int) error {
		v, err := b.start(ctx, base+i)
		if err == nil {
			err = b.stream(ctx, v)
		}
		visitors[i] = v
		return err
	})
	if err != nil {
		return err
	}
	fmt.Printf("\n%d visitors chatting, one message each %v on average (%.0f messages/s), %v warm-up, %v measured; server %s\n",
		len(visitors), b.o.interval, float64(len(visitors))/b.o.interval.Seconds(), b.o.warmup, b.o.duration, b.serverStats())
	var measuring atomic.Bool
	var mu sync.Mutex
	var rtt, floor []time.Duration
	var errs atomic.Int64
	var firstErr atomic.Value
	var wg sync.WaitGroup
	for _, v := range visitors {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := rand.New(rand.NewPCG(uint64(v.n), 7))
			for ctx.Err() == nil {
				wait := time.Duration(float64(b.o.interval) * (0.5 + r.Float64()))
				select {
				case <-ctx.Done():
					return
				case <-time.After(wait):
				}
				took, err := b.send(ctx, v, questions[r.IntN(len(questions))])
				if ctx.Err() != nil {
					return
				}
				if !measuring.Load() {
					continue
				}
				if err != nil {
					errs.Add(1)
					firstErr.CompareAndSwap(nil, err.Error())
					continue
				}
				mu.Lock()
				rtt = append(rtt, took)
				mu.Unlock()
			}
		}()
	}
	wg.Add(1)
	go func() { // the floor: /healthz on its own keep-alive connection, 20 times a second
		defer wg.Done()
		c := b.client(200_000)
		for ctx.Err() == nil {
			time.Sleep(50 * time.Millisecond)
			req, _ := http.NewRequestWithContext(ctx, "GET", b.base+"/healthz", nil)
			took, _, _, err := send(c, req)
			if err == nil && measuring.Load() {
				mu.Lock()
				floor = append(floor, took)
				mu.Unlock()
			}
		}
	}()
	time.Sleep(b.o.warmup)
	measuring.Store(true)
	time.Sleep(b.o.duration)
	measuring.Store(false)
	stats := b.serverStats()
	cancel()
	wg.Wait()
	fmt.Println("\n| measured | samples | rate/s | p50 | p95 | p99 | max | errors |")
	fmt.Println("|---|---|---|---|---|---|---|---|")
	for _, m := range []struct {
		name string
		s    []time.Duration
		errs int64
	}{{"message send → reply done", rtt, errs.Load()}, {"/healthz floor", floor, 0}} {
		fmt.Printf("| %s | %d | %.0f | %s | %s | %s | %s | %d |\n", m.name, len(m.s), float64(len(m.s))/b.o.duration.Seconds(),
			d(pct(m.s, 0.5)), d(pct(m.s, 0.95)), d(pct(m.s, 0.99)), d(pct(m.s, 1)), m.errs)
	}
	fmt.Printf("server at the end of the measured period: RSS | Go heap in use | goroutines = %s\n", stats)
	if e := firstErr.Load(); e != nil {
		fmt.Println("first error:", e)
	}
	return nil
}

// send posts a message and reads its reply stream to the "done" event.
func (b *widgetBench) send(ctx context.Context, v *visitor, text string) (time.Duration, error) {
	body, _ := json.Marshal(map[string]string{"content": text})
	req, _ := http.NewRequestWithContext(ctx, "POST", b.base+"/widget/v1/"+b.o.publicKey+"/session/messages", bytes.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+v.token)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "text/event-stream")
	start := time.Now()
	res, err := v.client.Do(req)
	if err != nil {
		return 0, err
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		msg, _ := io.ReadAll(io.LimitReader(res.Body, 300))
		return 0, fmt.Errorf("status %d: %s", res.StatusCode, msg)
	}
	sc := bufio.NewScanner(res.Body)
	for sc.Scan() {
		switch sc.Text() {
		case "event: done":
			took := time.Since(start)
			_, _ = io.Copy(io.Discard, res.Body)
			return took, nil
		case "event: error":
			return 0, errors.New("the reply failed")
		}
	}
	return 0, fmt.Errorf("the stream ended without done: %w", cmp.Or(sc.Err(), io.ErrUnexpectedEOF))
}
