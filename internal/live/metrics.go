package live

import (
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// stats are the worker's figures for /metrics: written by the worker, read at scrape time.
type stats struct {
	cacheHits, cacheLoads                 atomic.Int64
	cacheProfiles, cacheEvent, cacheBytes atomic.Int64
	timers                                atomic.Int64
	scanning                              atomic.Bool // a re-arm scan runs
	commits                               atomic.Int64
	steps                                 atomic.Int64         // evaluation steps (applyChanges)
	evaluations                           atomic.Int64         // profiles re-evaluated by steps (jobs with segments left)
	parallel                              atomic.Int64         // profiles evaluated by the parallel path
	skipped                               atomic.Int64         // segment evaluations the data could not move (pol)
	timerPuts, timerDeletes               atomic.Int64         // timer documents written and deleted
	delay                                 prometheus.Histogram // queued → evaluated and durable, per commit
}

func newStats() *stats {
	return &stats{delay: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "segd_live_delay_seconds",
		Help:    "Time from a commit reaching the real-time evaluator to its membership changes being durable.",
		Buckets: prometheus.ExponentialBuckets(0.0001, 2, 20)})}
}

// observe records the worker's cache and timer figures after a step.
func (l *Live) observe() {
	s := l.stats
	s.cacheHits.Store(int64(l.cache.hits))
	s.cacheLoads.Store(int64(l.cache.misses))
	s.cacheProfiles.Store(int64(l.cache.ll.Len()))
	s.cacheEvent.Store(int64(l.cache.events))
	s.cacheBytes.Store(int64(l.cache.bytes))
	s.timers.Store(int64(l.timers.due.len()))
	s.scanning.Store(l.scan.running)
}

// evaluated records that the commits queued at the given times are done.
func (l *Live) evaluated(queued []time.Time) {
	now := time.Now()
	for _, q := range queued {
		l.stats.delay.Observe(now.Sub(q).Seconds())
	}
	l.stats.commits.Add(int64(len(queued)))
}

var (
	descCacheHits = prometheus.NewDesc("segd_live_cache_hits_total",
		"Evaluations whose profile data was in the real-time cache.", nil, nil)
	descCacheLoads = prometheus.NewDesc("segd_live_cache_loads_total",
		"Profiles the real-time evaluator read from the store (cache misses, prefetches included).", nil, nil)
	descCacheProfiles = prometheus.NewDesc("segd_live_cache_profiles", "Profiles held by the real-time cache.", nil, nil)
	descCacheEvents   = prometheus.NewDesc("segd_live_cache_events", "Decoded events held by the real-time cache.", nil, nil)
	descCacheBytes    = prometheus.NewDesc("segd_live_cache_bytes", "Memory of the events held by the real-time cache, estimated (bounded at 2 GiB).", nil, nil)
	descTimers        = prometheus.NewDesc("segd_live_timers", "Armed per-profile timers.", nil, nil)
	descQueue         = prometheus.NewDesc("segd_live_queue", "Commits waiting for the real-time evaluator.", nil, nil)
	descCommits       = prometheus.NewDesc("segd_live_commits_total", "Commits the real-time evaluator has applied.", nil, nil)
	descSteps         = prometheus.NewDesc("segd_live_steps_total",
		"Evaluation steps: each evaluates the profiles that one or more queued commits changed, every profile once.", nil, nil)
	descEvaluations = prometheus.NewDesc("segd_live_profile_evaluations_total",
		"Profiles re-evaluated for changes (each for the segments its changes may move, once per step), timers not included.", nil, nil)
	descParallel = prometheus.NewDesc("segd_live_parallel_evaluations_total",
		"Profile re-evaluations spread over all processors (steps with many profiles to re-evaluate).", nil, nil)
	descSkipped = prometheus.NewDesc("segd_live_skipped_evaluations_total",
		"Segment re-evaluations left out because the new data could only move the segment where the profile already was (a member of a count >= N receiving another event).", nil, nil)
	descTimerPuts = prometheus.NewDesc("segd_live_timer_writes_total",
		"Timer documents written (a timer armed, or moved earlier than its stored document).", nil, nil)
	descTimerDeletes = prometheus.NewDesc("segd_live_timer_deletes_total",
		"Timer documents deleted (a timer fired, was cancelled or replaced by an earlier one).", nil, nil)
	descScanning = prometheus.NewDesc("segd_live_scanning",
		"1 while the real-time evaluator re-arms timers by reading every profile (after a segment change and at start).", nil, nil)
)

// Describe implements prometheus.Collector.
func (l *Live) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descCacheHits, descCacheLoads, descCacheProfiles, descCacheEvents, descCacheBytes, descTimers, descQueue, descCommits, descSteps, descEvaluations, descParallel, descSkipped, descTimerPuts, descTimerDeletes, descScanning} {
		ch <- d
	}
	l.stats.delay.Describe(ch)
}

// Collect implements prometheus.Collector.
func (l *Live) Collect(ch chan<- prometheus.Metric) {
	s := l.stats
	l.qmu.Lock()
	queued := len(l.queue)
	l.qmu.Unlock()
	for _, m := range []struct {
		d *prometheus.Desc
		t prometheus.ValueType
		v int64
	}{
		{descCacheHits, prometheus.CounterValue, s.cacheHits.Load()},
		{descCacheLoads, prometheus.CounterValue, s.cacheLoads.Load()},
		{descCacheProfiles, prometheus.GaugeValue, s.cacheProfiles.Load()},
		{descCacheEvents, prometheus.GaugeValue, s.cacheEvent.Load()},
		{descCacheBytes, prometheus.GaugeValue, s.cacheBytes.Load()},
		{descTimers, prometheus.GaugeValue, s.timers.Load()},
		{descQueue, prometheus.GaugeValue, int64(queued)},
		{descCommits, prometheus.CounterValue, s.commits.Load()},
		{descSteps, prometheus.CounterValue, s.steps.Load()},
		{descEvaluations, prometheus.CounterValue, s.evaluations.Load()},
		{descParallel, prometheus.CounterValue, s.parallel.Load()},
		{descSkipped, prometheus.CounterValue, s.skipped.Load()},
		{descTimerPuts, prometheus.CounterValue, s.timerPuts.Load()},
		{descTimerDeletes, prometheus.CounterValue, s.timerDeletes.Load()},
		{descScanning, prometheus.GaugeValue, b2i(s.scanning.Load())},
	} {
		ch <- prometheus.MustNewConstMetric(m.d, m.t, float64(m.v))
	}
	s.delay.Collect(ch)
}

func b2i(b bool) int64 {
	if b {
		return 1
	}
	return 0
}
