package metrics

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/parley-dev/parley/internal/jobs"
)

var jobBacklog = prometheus.NewDesc("parley_jobs_backlog",
	"Background jobs not finished yet, by kind and state (available, pending, retryable, running, scheduled), read on each scrape.",
	[]string{"kind", "state"}, nil)

// WatchJobs reports the job engine's backlog, counted on each scrape (a
// scrape waits at most 2 s for it; on a timeout the backlog is left out
// rather than stale).
func (m *Metrics) WatchJobs(backlog func(ctx context.Context) ([]jobs.Count, error)) {
	m.reg.MustRegister(&jobsCollector{backlog: backlog})
}

// jobsCollector reads the job backlog when scraped.
type jobsCollector struct {
	backlog func(ctx context.Context) ([]jobs.Count, error)
}

func (c *jobsCollector) Describe(ch chan<- *prometheus.Desc) { ch <- jobBacklog }

func (c *jobsCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	counts, err := c.backlog(ctx)
	if err != nil {
		return // the database's own metrics tell of the outage
	}
	for _, n := range counts {
		ch <- prometheus.MustNewConstMetric(jobBacklog, prometheus.GaugeValue, float64(n.N), n.Kind, n.State)
	}
}
