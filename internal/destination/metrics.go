package destination

import (
	"context"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// metrics is the destinations' Prometheus collector: counters kept as deliveries happen, and lag
// and dead-letter gauges computed from every running destination at scrape time.
type metrics struct {
	m         *Manager
	delivered *prometheus.CounterVec
	failures  *prometheus.CounterVec
	lag       *prometheus.Desc
	lagSecs   *prometheus.Desc
	dead      *prometheus.Desc
	paused    *prometheus.Desc
}

func newMetrics(m *Manager) *metrics {
	labels := []string{"workspace", "destination"}
	return &metrics{
		m: m,
		delivered: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "segd_destination_delivered_total", Help: "Changes accepted by a destination's receiver (replays included).",
		}, labels),
		failures: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "segd_destination_failures_total", Help: "Failed delivery attempts (each retry counts).",
		}, labels),
		lag:     prometheus.NewDesc("segd_destination_lag_changes", "Changes in the feed after the destination's cursor.", labels, nil),
		lagSecs: prometheus.NewDesc("segd_destination_lag_seconds", "Age of the oldest change not yet delivered (0 when caught up).", labels, nil),
		dead:    prometheus.NewDesc("segd_destination_dead_letters", "Dead-letter batches waiting for a replay.", labels, nil),
		paused:  prometheus.NewDesc("segd_destination_paused", "1 when the destination is paused.", labels, nil),
	}
}

func wsLabel(ws uint32) string { return strconv.FormatUint(uint64(ws), 10) }

// Describe implements prometheus.Collector.
func (x *metrics) Describe(ch chan<- *prometheus.Desc) {
	x.delivered.Describe(ch)
	x.failures.Describe(ch)
	ch <- x.lag
	ch <- x.lagSecs
	ch <- x.dead
	ch <- x.paused
}

// Collect implements prometheus.Collector.
func (x *metrics) Collect(ch chan<- prometheus.Metric) {
	x.delivered.Collect(ch)
	x.failures.Collect(ch)
	x.m.mu.Lock()
	rs := make([]*runner, 0, len(x.m.runners))
	for _, r := range x.m.runners {
		rs = append(rs, r)
	}
	x.m.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for _, r := range rs {
		st := r.status(ctx)
		ws := wsLabel(r.ws)
		ch <- prometheus.MustNewConstMetric(x.lag, prometheus.GaugeValue, float64(st.LagChanges), ws, r.cfg.ID)
		ch <- prometheus.MustNewConstMetric(x.lagSecs, prometheus.GaugeValue, st.LagSeconds, ws, r.cfg.ID)
		ch <- prometheus.MustNewConstMetric(x.dead, prometheus.GaugeValue, float64(st.DeadLetters), ws, r.cfg.ID)
		p := 0.0
		if r.cfg.Paused {
			p = 1
		}
		ch <- prometheus.MustNewConstMetric(x.paused, prometheus.GaugeValue, p, ws, r.cfg.ID)
	}
}
