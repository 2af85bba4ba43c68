// Package app wires Parley together: it opens the store, builds the
// services, the model router and the HTTP server, and runs them. The
// end-to-end tests build the same App.
package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/riverqueue/river"

	"github.com/parley-dev/parley/internal/account"
	"github.com/parley-dev/parley/internal/assistant"
	"github.com/parley-dev/parley/internal/config"
	"github.com/parley-dev/parley/internal/conversation"
	"github.com/parley-dev/parley/internal/events"
	"github.com/parley-dev/parley/internal/fault"
	"github.com/parley-dev/parley/internal/httpapi"
	"github.com/parley-dev/parley/internal/httpx"
	"github.com/parley-dev/parley/internal/jobs"
	"github.com/parley-dev/parley/internal/llm"
	"github.com/parley-dev/parley/internal/llm/offline"
	"github.com/parley-dev/parley/internal/llm/openai"
	"github.com/parley-dev/parley/internal/metrics"
	"github.com/parley-dev/parley/internal/page"
	"github.com/parley-dev/parley/internal/seal"
	"github.com/parley-dev/parley/internal/store"
	"github.com/parley-dev/parley/internal/store/postgres"
	"github.com/parley-dev/parley/internal/store/sqlite"
	"github.com/parley-dev/parley/internal/web"
	"github.com/parley-dev/parley/internal/whatsapp"
	"github.com/parley-dev/parley/internal/whatsapp/cloudapi"
	"github.com/parley-dev/parley/internal/widget"
)

// Version is the release of this binary, set at build time with
// -ldflags "-X github.com/parley-dev/parley/internal/app.Version=…".
var Version = "dev"

// App is one running Parley process.
type App struct {
	Config        *config.Config
	Store         store.Store
	Accounts      *account.Service
	Assistants    *assistant.Service
	Conversations *conversation.Service
	WhatsApp      *whatsapp.Service
	// Jobs is the job engine (River on the store's database).
	Jobs jobs.Engine
	// Events feeds this node's live event subscribers (see RunEvents).
	Events *events.Hub
	// Streams serves the widget's idle event streams without a goroutine
	// each (see httpx.Parker); Serve shuts it down.
	Streams *httpx.Parker
	Metrics *metrics.Metrics
	Log     *slog.Logger
	// Now is the clock every service reads.
	Now func() time.Time
	// ShutdownTimeout is how long Serve gives in-flight requests to finish
	// once asked to stop (default 30 s).
	ShutdownTimeout time.Duration

	// remote is the OpenAI-compatible client, nil without
	// PARLEY_LLM_BASE_URL; it also transcribes the widget's recordings.
	remote *openai.Client
}

// OpenStore opens the store a database URL names: postgres:// or
// postgresql:// for PostgreSQL, anything else (optionally sqlite:PATH) a
// SQLite file.
func OpenStore(ctx context.Context, url string) (store.Store, error) {
	return OpenStoreWith(ctx, url, store.Options{})
}

// StoreOptions are the store settings of cfg: the SQLite reader pool and
// writer cache, the read budget and the heavy reads at once.
func StoreOptions(cfg *config.Config) store.Options {
	return store.Options{Readers: cfg.Readers(), ReadTimeout: cfg.ReadTimeout(), CacheMB: cfg.CacheMB(),
		HeavyReads: cfg.HeavyReadsAtOnce()}
}

// OpenStoreWith is OpenStore with the reader pool and read budget of opts.
func OpenStoreWith(ctx context.Context, url string, opts store.Options) (store.Store, error) {
	switch {
	case strings.HasPrefix(url, "postgres://"), strings.HasPrefix(url, "postgresql://"):
		return postgres.OpenWith(ctx, url, opts)
	default:
		return sqlite.OpenWith(ctx, strings.TrimPrefix(url, "sqlite:"), opts)
	}
}

// Option changes how New and Build wire an App beyond what the
// configuration says. Options are for tests: nothing a user configures
// sets them.
type Option func(*wiring)

// wiring is what Options change.
type wiring struct {
	llmHTTPClient *http.Client
}

// WithLLMHTTPClient makes the OpenAI-compatible client send its requests
// through c instead of its own HTTP client. Tests pass the client of a
// provider fake (llmtest.Provider.Client), which reaches the fake whatever
// the host, so the App runs against the provider's real base URL.
func WithLLMHTTPClient(c *http.Client) Option {
	return func(w *wiring) { w.llmHTTPClient = c }
}

// New checks the configuration, opens the store and builds the services.
// It does not migrate.
func New(ctx context.Context, cfg *config.Config, log *slog.Logger, opts ...Option) (*App, error) {
	if err := CheckConfig(cfg); err != nil {
		return nil, fmt.Errorf("configuration: %w", err)
	}
	st, err := OpenStoreWith(ctx, cfg.DatabaseURL, StoreOptions(cfg))
	if err != nil {
		return nil, fmt.Errorf("open database: %w", err)
	}
	a, err := Build(cfg, st, log, jobs.Config{}, opts...)
	if err != nil {
		_ = st.Close()
		return nil, err
	}
	return a, nil
}

// Build wires an App around an open store; jc tunes its job engine.
func Build(cfg *config.Config, st store.Store, log *slog.Logger, jc jobs.Config, opts ...Option) (*App, error) {
	var w wiring
	for _, o := range opts {
		o(&w)
	}
	a := &App{Config: cfg, Store: st, Metrics: metrics.New(), Log: log, Now: time.Now}
	st.Errors().SetLogger(log)
	a.Metrics.WatchDatabase(st.Driver(), st.Pools, st.Errors().Counts)
	a.Accounts = &account.Service{Store: st, Now: a.now}
	// One box seals every stored secret (widget identity secrets,
	// WhatsApp access tokens), each bound to the id of its row.
	secrets := &seal.Box{Key: func(ctx context.Context) ([]byte, error) {
		k, err := a.SecretKey(ctx)
		return []byte(k), err
	}}
	a.Assistants = &assistant.Service{Store: st, Now: a.now, Secrets: secrets}
	router := &llm.Router{Offline: offline.New()}
	if cfg.LLMBaseURL != "" {
		reply, idle := cfg.LLMTimeouts()
		a.remote = openai.New(cfg.LLMBaseURL, cfg.LLMAPIKey, openai.Options{
			Compat: cfg.LLMCompat, ReplyTimeout: reply, IdleTimeout: idle, Logger: log, HTTPClient: w.llmHTTPClient})
		router.Remote = a.remote
	}
	replyTimeout, _ := cfg.LLMTimeouts()
	a.Conversations = &conversation.Service{
		Store: st, Assistants: a.Assistants, Model: router, Now: a.now, Observer: a.Metrics,
		ReplyTimeout: replyTimeout,
	}
	a.WhatsApp = &whatsapp.Service{
		Store: st, Conversations: a.Conversations, Assistants: a.Assistants,
		Graph: cloudapi.NewClient(cfg.WhatsAppGraphURL), Now: a.now, Secrets: secrets, Log: log,
	}
	a.Conversations.Channels = map[string]conversation.Channel{
		conversation.TypeWidget:   widget.Channel{},
		conversation.TypeWhatsApp: whatsapp.Channel{S: a.WhatsApp},
	}
	workers := river.NewWorkers()
	extract := &jobs.ExtractWorker{Conversations: a.Conversations}
	river.AddWorker(workers, extract)
	river.AddWorker(workers, &jobs.ReplyWorker{Conversations: a.Conversations})
	river.AddWorker(workers, &jobs.SendWorker{WhatsApp: a.WhatsApp})
	if jc.Logger == nil {
		jc.Logger = log
	}
	engine, err := st.Jobs(workers, jc)
	if err != nil {
		return nil, fmt.Errorf("job engine: %w", err)
	}
	extract.Jobs = engine
	a.Jobs = engine
	a.Conversations.Queue = engine
	a.WhatsApp.Queue = engine
	a.Metrics.WatchJobs(engine.Backlog)
	a.Events = &events.Hub{Source: st, Log: log}
	a.Streams = &httpx.Parker{}
	a.Conversations.Events = &events.Recorder{Store: st, Committer: st, Hub: a.Events}
	return a, nil
}

// StartJobs starts working background jobs, reporting each attempt to the
// metrics. The returned stop asks running jobs to finish, waits for them
// until ctx ends, then cancels those still running and waits for them to
// return (River runs a cut-off job again: its effect and its completion
// commit together, so it never counts twice); stop must return before the
// store closes.
func (a *App) StartJobs(ctx context.Context) (stop func(ctx context.Context), err error) {
	octx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	jobs.Observe(octx, a.Jobs, a.Metrics)
	if err := a.Jobs.Start(context.WithoutCancel(ctx)); err != nil {
		cancel()
		return nil, fmt.Errorf("start jobs: %w", err)
	}
	return func(ctx context.Context) {
		defer cancel()
		if err := a.Jobs.Stop(ctx); err == nil {
			return
		}
		a.Log.Warn("shutting down: cancelling jobs still running")
		hard, done := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer done()
		if err := a.Jobs.StopAndCancel(hard); err != nil {
			a.Log.Error("shutting down: jobs did not stop", "err", err)
		}
	}, nil
}

func (a *App) now() time.Time { return a.Now() }

// shutdownTimeout is ShutdownTimeout or its default, 30 s.
func (a *App) shutdownTimeout() time.Duration {
	if a.ShutdownTimeout <= 0 {
		return 30 * time.Second
	}
	return a.ShutdownTimeout
}

// cursorSecret is the key list cursors are signed with: the instance's
// secret key, shared by every node. Should the database not give it, a
// key of this process is used and logged, so lists still work (their
// cursors then only on this node, until it restarts).
func (a *App) cursorSecret() []byte {
	secret, err := a.SecretKey(context.Background())
	if err != nil {
		a.Log.Error("cannot read the secret key: list cursors are signed with a key of this process only", "err", err)
		secret = account.RandomToken(48)
	}
	return []byte(secret)
}

// Close releases the store.
func (a *App) Close() error { return a.Store.Close() }

// Handler returns the whole HTTP surface.
func (a *App) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = w.Write([]byte("ok\n"))
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), 3*time.Second)
		defer cancel()
		err := a.Store.Ready(ctx)
		a.Metrics.DatabaseReady(a.Store.Driver(), err == nil)
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Header().Set("Cache-Control", "no-store")
		if err != nil {
			// The cause names the database's host, user and name: it is
			// for the log, not for anyone who can reach the port. An
			// outage the store has logged already, once per interval.
			if !fault.Is(err, fault.CodeUnavailable) {
				a.Log.WarnContext(r.Context(), "not ready", "err", err)
			}
			w.Header().Set("Retry-After", httpx.UnavailableRetryAfter)
			w.WriteHeader(http.StatusServiceUnavailable)
			_, _ = w.Write([]byte("not ready\n"))
			return
		}
		_, _ = w.Write([]byte("ready\n"))
	})
	mux.Handle("GET /metrics", a.metricsHandler())
	limit := a.Config.RateLimit()
	api := &httpapi.API{Accounts: a.Accounts, Assistants: a.Assistants, Conversations: a.Conversations,
		Limiter: httpx.NewLimiter(limit.N, limit.Per, "this API key"), Cursors: page.NewCodec(a.cursorSecret()),
		Events: &events.Feed{Store: a.Store, Hub: a.Events}, WhatsApp: a.WhatsApp}
	api.Register(mux)
	wl := a.Config.WidgetLimits()
	wapi := &widget.API{Assistants: a.Assistants, Conversations: a.Conversations,
		Events: &events.Feed{Store: a.Store, Hub: a.Events}, Secret: a.cursorSecret(), Now: a.now, Log: a.Log,
		Parker:     a.Streams,
		PerIP:      httpx.NewLimiter(wl.PerIP, time.Minute, "this address"),
		PerVisitor: httpx.NewLimiter(wl.PerVisitor, time.Minute, "this visitor"),
		Starts:     httpx.NewLimiter(wl.Starts, time.Minute, "this address's new widget sessions")}
	if m := a.Config.TranscriptionModel(); m != "" && a.remote != nil {
		wapi.Transcriber, wapi.TranscriptionModel = a.remote, m
	}
	wapi.Register(mux)
	wh := &cloudapi.Webhook{Ingester: a.WhatsApp, AppSecret: a.Config.WhatsAppAppSecret,
		VerifyToken: a.Config.WhatsAppVerifyToken, Log: a.Log}
	wh.Register(mux)
	dash := &web.Dashboard{Accounts: a.Accounts, Assistants: a.Assistants, Conversations: a.Conversations,
		WhatsApp: a.WhatsApp, WhatsAppSetup: web.WhatsAppSetup{BaseURL: a.Config.BaseURL,
			AppSecretSet: a.Config.WhatsAppAppSecret != "", VerifyTokenSet: a.Config.WhatsAppVerifyToken != ""},
		Events: &events.Feed{Store: a.Store, Hub: a.Events}, Cursors: page.NewCodec(a.cursorSecret()),
		SecureCookies: strings.HasPrefix(a.Config.BaseURL, "https://"), Log: a.Log, Now: a.now}
	dh, err := dash.Handler()
	if err != nil {
		// The templates and assets are embedded: this is a broken build.
		panic(fmt.Sprintf("dashboard: %v", err))
	}
	mux.Handle("/", dh)
	timeout := a.Config.BodyReadTimeout
	if timeout <= 0 {
		timeout = config.DefaultBodyReadTimeout
	}
	return httpx.BodyDeadline(httpx.TrustedProxies(httpx.SecurityHeaders(httpx.Observe(mux, a.Metrics, a.Log)), a.Config.TrustedProxies()), timeout)
}

// Serve migrates, bootstraps an empty database, runs background jobs and
// serves HTTP until ctx ends, then shuts down gracefully: in-flight
// requests get up to ShutdownTimeout (30 s) to finish, replies still
// streaming near its end are cut and recorded as failed, and running jobs
// get half that time to finish before they are cancelled (a job cut off
// runs again later, and never counts twice); all
// before Serve returns and the caller closes the store. ready, if not nil,
// receives the listening address.
func (a *App) Serve(ctx context.Context, ready func(addr string)) error {
	if err := a.Store.Migrate(ctx); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	if err := a.Bootstrap(ctx); err != nil {
		return fmt.Errorf("first start: %w", err)
	}
	// Scrapes before the first /readyz see the truth too.
	a.Metrics.DatabaseReady(a.Store.Driver(), a.Store.Ready(ctx) == nil)
	ln, err := net.Listen("tcp", a.Config.Addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", a.Config.Addr, err)
	}
	addr := ln.Addr().String()
	srv := a.HTTPServer()
	srv.BaseContext = func(net.Listener) context.Context { return context.WithoutCancel(ctx) }
	a.Log.Info("parley listening", "addr", addr, "url", a.Config.PublicBaseURL(addr),
		"version", Version, "database", a.Store.Driver())
	if ready != nil {
		ready(addr)
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	stopJobs, err := a.StartJobs(ctx)
	if err != nil {
		_ = srv.Close()
		return err
	}
	defer func() {
		// Jobs get the shutdown's time to finish, then are cancelled.
		jctx, cancel := context.WithTimeout(context.Background(), a.shutdownTimeout()/2)
		defer cancel()
		stopJobs(jctx)
	}()
	eventsCtx, stopEvents := context.WithCancel(context.WithoutCancel(ctx))
	eventsDone := make(chan struct{})
	go func() { a.RunEvents(eventsCtx); close(eventsDone) }()
	defer func() { stopEvents(); <-eventsDone }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	a.Log.Info("shutting down: finishing in-flight requests")
	timeout := a.shutdownTimeout()
	sctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	drained := make(chan error, 1)
	go func() { drained <- srv.Shutdown(sctx) }()
	// Replies still streaming when five sixths of the time are gone are
	// cut, while there is time left to record them as failed (with the
	// tokens they spent) and to tell their clients; those that finish
	// earlier are unaffected. Once no request runs, anything left is cut
	// too, so nothing writes after the store closes.
	cut := time.NewTimer(timeout - timeout/6)
	defer cut.Stop()
	var drainErr error
	select {
	case drainErr = <-drained:
	case <-cut.C:
		a.Log.Warn("shutting down: cutting replies still in flight")
		if cerr := a.Conversations.Shutdown(sctx); cerr != nil {
			a.Log.Error("shutting down: replies in flight not recorded", "err", cerr)
		}
		drainErr = <-drained
	}
	if cerr := a.Conversations.Shutdown(sctx); cerr != nil {
		a.Log.Error("shutting down: replies in flight not recorded", "err", cerr)
	}
	// Parked streams began closing with the shutdown (see HTTPServer);
	// wait for them, so none reads the store after it closes.
	if perr := a.Streams.Shutdown(sctx); perr != nil {
		a.Log.Warn("shutting down: event streams cut", "err", perr)
	}
	if drainErr != nil {
		return fmt.Errorf("shutdown: %w", drainErr)
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	a.Log.Info("stopped")
	return nil
}
