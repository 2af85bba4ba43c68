// Package metrics defines Parley's Prometheus metrics and serves them.
package metrics

import (
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/parley-dev/parley/internal/llm"
	"github.com/parley-dev/parley/internal/money"
	"github.com/parley-dev/parley/internal/store"
)

// Metrics holds every collector of one process.
type Metrics struct {
	reg *prometheus.Registry

	httpRequests *prometheus.CounterVec
	httpDuration *prometheus.HistogramVec

	llmRequests *prometheus.CounterVec
	llmTokens   *prometheus.CounterVec
	llmCost     *prometheus.CounterVec
	llmUnpriced *prometheus.CounterVec
	llmLatency  *prometheus.HistogramVec

	dbReady *prometheus.GaugeVec

	jobs        *prometheus.CounterVec
	jobDuration *prometheus.HistogramVec
}

// New registers Parley's collectors, plus the Go runtime and process ones,
// on a fresh registry.
func New() *Metrics {
	m := &Metrics{reg: prometheus.NewRegistry()}
	m.httpRequests = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "parley_http_requests_total", Help: "HTTP requests served, by route pattern and status code.",
	}, []string{"method", "route", "code"})
	m.httpDuration = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name: "parley_http_request_duration_seconds", Help: "Time to serve HTTP requests, by route pattern.",
		Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
	}, []string{"method", "route"})
	m.llmRequests = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "parley_llm_requests_total", Help: "Model replies requested, by model and result (ok or error).",
	}, []string{"model", "result"})
	m.llmTokens = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "parley_llm_tokens_total", Help: "Tokens used by model replies, by model and kind (input, cached_input, output).",
	}, []string{"model", "kind"})
	m.llmCost = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "parley_llm_cost_nanousd_total", Help: "Cost of priced model replies in nano-USD, by model.",
	}, []string{"model"})
	m.llmUnpriced = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "parley_llm_unpriced_replies_total", Help: "Model replies whose model has no price, by model.",
	}, []string{"model"})
	m.llmLatency = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name: "parley_llm_reply_seconds", Help: "Time for a model to finish a reply, by model.",
		Buckets: prometheus.ExponentialBuckets(0.0005, 2.5, 14),
	}, []string{"model"})
	m.dbReady = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "parley_database_ready", Help: "1 when the last readiness check reached the database with every migration applied.",
	}, []string{"driver"})
	m.jobs = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "parley_jobs_total", Help: "Background job attempts, by kind and result (done, retry, failed, cancelled).",
	}, []string{"kind", "result"})
	m.jobDuration = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name: "parley_job_duration_seconds", Help: "Time to run one background job attempt, by kind.",
		Buckets: prometheus.ExponentialBuckets(0.001, 4, 10),
	}, []string{"kind"})
	m.reg.MustRegister(m.jobs, m.jobDuration)
	m.reg.MustRegister(m.httpRequests, m.httpDuration, m.llmRequests, m.llmTokens, m.llmCost,
		m.llmUnpriced, m.llmLatency, m.dbReady,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// WatchDatabase reports a store's connection pools and failed queries,
// read from it on each scrape (so the numbers are never stale).
func (m *Metrics) WatchDatabase(driver string, pools func() []store.PoolStats, errs func() map[string]uint64) {
	m.reg.MustRegister(&databaseCollector{driver: driver, pools: pools, errs: errs})
}

var (
	dbConns = prometheus.NewDesc("parley_database_connections",
		"Database connections now, by pool and state (open, in_use, idle).",
		[]string{"driver", "pool", "state"}, nil)
	dbMaxConns = prometheus.NewDesc("parley_database_connections_max",
		"Most connections the pool opens (0: no limit).", []string{"driver", "pool"}, nil)
	dbWaits = prometheus.NewDesc("parley_database_connection_waits_total",
		"Connection acquisitions that had to wait because the pool was busy.", []string{"driver", "pool"}, nil)
	dbWaitTime = prometheus.NewDesc("parley_database_connection_wait_seconds_total",
		"Total time spent waiting for a connection.", []string{"driver", "pool"}, nil)
	dbErrors = prometheus.NewDesc("parley_database_errors_total",
		"Failed database queries, by kind (unavailable, timeout, canceled, constraint, other).",
		[]string{"driver", "kind"}, nil)
)

// databaseCollector reads a store's statistics when scraped.
type databaseCollector struct {
	driver string
	pools  func() []store.PoolStats
	errs   func() map[string]uint64
}

func (c *databaseCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{dbConns, dbMaxConns, dbWaits, dbWaitTime, dbErrors} {
		ch <- d
	}
}

func (c *databaseCollector) Collect(ch chan<- prometheus.Metric) {
	for _, p := range c.pools() {
		for state, n := range map[string]int{"open": p.Open, "in_use": p.InUse, "idle": p.Idle} {
			ch <- prometheus.MustNewConstMetric(dbConns, prometheus.GaugeValue, float64(n), c.driver, p.Pool, state)
		}
		ch <- prometheus.MustNewConstMetric(dbMaxConns, prometheus.GaugeValue, float64(p.Max), c.driver, p.Pool)
		ch <- prometheus.MustNewConstMetric(dbWaits, prometheus.CounterValue, float64(p.Waits), c.driver, p.Pool)
		ch <- prometheus.MustNewConstMetric(dbWaitTime, prometheus.CounterValue, p.WaitTime.Seconds(), c.driver, p.Pool)
	}
	// Every kind, zeros included, so rate() and alerts work from the start.
	counts := c.errs()
	for _, kind := range []string{store.KindUnavailable, store.KindTimeout, store.KindCanceled, store.KindConstraint, store.KindOther} {
		ch <- prometheus.MustNewConstMetric(dbErrors, prometheus.CounterValue, float64(counts[kind]), c.driver, kind)
	}
}

// Handler serves the metrics in the Prometheus text format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{Registry: m.reg})
}

// HTTP records one served request. route is the matched pattern, never
// the raw path, so ids do not explode the label space.
func (m *Metrics) HTTP(method, route string, code int, d time.Duration) {
	m.httpRequests.WithLabelValues(method, route, strconv.Itoa(code)).Inc()
	m.httpDuration.WithLabelValues(method, route).Observe(d.Seconds())
}

// Reply records one model reply (it implements conversation.Observer).
func (m *Metrics) Reply(model string, u llm.Usage, cost *money.Money, latency time.Duration, err error) {
	if err != nil {
		m.llmRequests.WithLabelValues(model, "error").Inc()
		return
	}
	m.llmRequests.WithLabelValues(model, "ok").Inc()
	m.llmTokens.WithLabelValues(model, "input").Add(float64(u.InputTokens))
	m.llmTokens.WithLabelValues(model, "cached_input").Add(float64(u.CachedInputTokens))
	m.llmTokens.WithLabelValues(model, "output").Add(float64(u.OutputTokens))
	m.llmLatency.WithLabelValues(model).Observe(latency.Seconds())
	if cost == nil {
		m.llmUnpriced.WithLabelValues(model).Inc()
		return
	}
	m.llmCost.WithLabelValues(model).Add(float64(*cost))
}

// DatabaseReady records the result of a readiness check.
func (m *Metrics) DatabaseReady(driver string, ok bool) {
	v := 0.0
	if ok {
		v = 1
	}
	m.dbReady.WithLabelValues(driver).Set(v)
}

// Job records one job attempt (it implements jobs.Observer).
func (m *Metrics) Job(kind, result string, d time.Duration) {
	m.jobs.WithLabelValues(kind, result).Inc()
	m.jobDuration.WithLabelValues(kind).Observe(d.Seconds())
}
