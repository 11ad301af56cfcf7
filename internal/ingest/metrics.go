package ingest

import "github.com/prometheus/client_golang/prometheus"

type metrics struct {
	messages       *prometheus.CounterVec
	commitSeconds  prometheus.Histogram
	groupSize      prometheus.Histogram
	merges         prometheus.Counter
	commitFailures prometheus.Counter
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		messages: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "segd_messages_applied_total",
			Help: "Messages applied by the write pipeline, by outcome."}, []string{"outcome"}),
		commitSeconds: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "segd_commit_seconds",
			Help: "Time to apply and durably commit one group.", Buckets: prometheus.ExponentialBuckets(0.0005, 2, 14)}),
		groupSize: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "segd_commit_group_requests",
			Help: "Requests acknowledged by one fsync.", Buckets: prometheus.ExponentialBuckets(1, 2, 12)}),
		merges: prometheus.NewCounter(prometheus.CounterOpts{Name: "segd_identity_merges_total",
			Help: "Profiles merged by identity resolution."}),
		commitFailures: prometheus.NewCounter(prometheus.CounterOpts{Name: "segd_commit_failures_total",
			Help: "Groups whose commit failed (nothing acknowledged)."}),
	}
	if reg != nil {
		reg.MustRegister(m.messages, m.commitSeconds, m.groupSize, m.merges, m.commitFailures)
	}
	return m
}
