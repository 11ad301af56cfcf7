package httpapi

import "github.com/prometheus/client_golang/prometheus"

type metrics struct {
	requests *prometheus.CounterVec
	latency  *prometheus.HistogramVec
	rejected *prometheus.CounterVec
	received prometheus.Counter
}

func newMetrics(reg *prometheus.Registry) *metrics {
	m := &metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "segd_http_requests_total",
			Help: "HTTP requests by route pattern and status."}, []string{"route", "code"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "segd_http_request_seconds",
			Help: "HTTP request latency by route pattern.", Buckets: prometheus.ExponentialBuckets(0.0001, 2.5, 14)}, []string{"route"}),
		rejected: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "segd_messages_rejected_total",
			Help: "Tracking messages or requests rejected, by reason code."}, []string{"reason"}),
		received: prometheus.NewCounter(prometheus.CounterOpts{Name: "segd_messages_received_total",
			Help: "Tracking messages that passed validation."}),
	}
	reg.MustRegister(m.requests, m.latency, m.rejected, m.received)
	return m
}
