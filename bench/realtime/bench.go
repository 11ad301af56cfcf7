package main

import (
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/segd/segd/bench/hostinfo"
)

// generatedFile, in a generated data directory, holds the time its history ends.
const generatedFile = "rtbench-generated"

type benchOptions struct {
	Data     string
	Bin      string
	Runs     int
	Duration time.Duration
	// PhaseEvents, when positive, makes each closed-loop throughput phase send that many
	// events instead of sending for Duration: phases with and without segments then write
	// the same data, so the store's flushes and compactions owe the same work.
	PhaseEvents int
	// Compact compacts the store before each closed-loop phase, so every one starts from
	// the same state instead of inheriting what earlier phases left to compact.
	Compact   bool
	Customers int
	DebugAddr string
	LogLevel  string
	// LatencyLog, when set, receives every probe of the fixed-rate phases as a CSV line
	// (phase, acknowledgement wall time, ack → webhook latency) to line the tail up with
	// segd's own timeline (collections, compactions, slow steps in its log).
	LatencyLog string
}

func (o *benchOptions) validate() error {
	if o.Runs < 1 || o.Duration <= 0 || o.Customers < 1 {
		return errors.New("-runs, -duration and -customers must be positive")
	}
	return nil
}

func run(ctx context.Context, o benchOptions) error {
	if err := o.validate(); err != nil {
		return err
	}
	say("%s", hostinfo.Line())
	if o.Bin == "" {
		b, err := buildSegd()
		if err != nil {
			return err
		}
		o.Bin = b
	}
	rc, err := startReceiver()
	if err != nil {
		return err
	}
	t0 := time.Now()
	s, err := startServer(o.Bin, o.Data, o.DebugAddr, o.LogLevel, 30*time.Minute)
	if err != nil {
		return err
	}
	defer s.stop()
	say("segd ready in %s (index load and live start)", time.Since(t0).Round(time.Millisecond))
	if b, err := os.ReadFile(filepath.Join(o.Data, generatedFile)); err == nil {
		if end, err := time.Parse(time.RFC3339, string(b)); err == nil {
			// The history ends when it was generated: for a while windows such as "in last 1
			// hour" keep expiring over it, and those exits are membership changes the segments'
			// phases pay for. Runs to compare must start at the same delay after generating.
			say("the data set's history ended %s ago (compare runs started at the same delay)", time.Since(end).Round(time.Minute))
		}
	}
	// The destination exists only while measuring latency: the enters of a backfill (millions
	// at this size) are not what the benchmark measures.
	if err := s.admin("DELETE", "/api/v1/destinations/rtbench", nil, nil); err != nil && !strings.Contains(err.Error(), ": 404") {
		return err
	}
	if err := deleteBenchSegments(s); err != nil {
		return err
	}

	// Without segments.
	// segd's CPU time per event (process_cpu_seconds_total over the events of a phase) moves
	// less with the shared machine's speed than events per second: on a saturated machine
	// the ratio of the two phases' CPU per event predicts the ratio of their throughputs.
	cpu := func() float64 {
		v, err := s.gauge("process_cpu_seconds_total")
		if err != nil {
			say("reading segd's CPU time: %v", err)
		}
		return v
	}
	settle := func() error {
		waited, ok, err := s.settleStore(3 * time.Minute)
		if err != nil {
			return err
		}
		if !ok {
			say("the store still compacts after %s; measuring anyway", waited.Round(time.Second))
		} else if waited > time.Second {
			say("waited %s for the store's compactions to settle", waited.Round(time.Second))
		}
		return nil
	}
	// storeBytes reads the store's written, flushed and compacted byte counters; written is
	// what commits put in the WAL and memtables, the others what flushes and compactions then
	// wrote to tables (a segd without these metrics gives zeros).
	storeBytes := func() [5]float64 {
		var b [5]float64
		for i, name := range []string{"segd_store_written_bytes_total", "segd_store_flushed_bytes_total", "segd_store_compacted_bytes_total",
			"segd_live_timer_writes_total", "segd_live_timer_deletes_total"} {
			b[i], _ = s.gauge(name)
		}
		return b
	}
	// writeAmp reports what a phase of n events made the store write, per event, counting the
	// flushes and compactions it left behind (until the store settles), and what the store
	// flushed and compacted while the phase ran (bEnd is read when it ends): a phase writes
	// only a few L0 compactions' worth, so whether they run during it or after it shows.
	writeAmp := func(label string, b0, bEnd [5]float64, n float64) error {
		if err := settle(); err != nil {
			return err
		}
		b1 := storeBytes()
		say("  %s: store wrote %.0f bytes per event, flushed %.0f, compacted %.0f (until settled; during the phase %.0f and %.0f); timer documents written %.2f, deleted %.2f per event",
			label, (b1[0]-b0[0])/n, (b1[1]-b0[1])/n, (b1[2]-b0[2])/n, (bEnd[1]-b0[1])/n, (bEnd[2]-b0[2])/n, (b1[3]-b0[3])/n, (b1[4]-b0[4])/n)
		return nil
	}
	// startClosedLoop readies the store for a closed-loop phase: compacted (with -compact)
	// and settled.
	startClosedLoop := func() error {
		if o.Compact {
			took, err := s.compact()
			if err != nil {
				return err
			}
			say("store compacted in %s", took.Round(time.Millisecond))
		}
		return settle()
	}
	// withoutSegments runs the closed-loop phases without segments: events/s and segd's CPU
	// per event of each run.
	withoutSegments := func(label, tag string) (rates, cpus []float64, err error) {
		for i := range o.Runs {
			if err := startClosedLoop(); err != nil {
				return nil, nil, err
			}
			say("throughput without real-time segments%s, run %d: sending", label, i+1)
			c0, b0 := cpu(), storeBytes()
			n, took := maxThroughput(s.url, o.Customers, 8, 500, o.Duration, o.PhaseEvents, fmt.Sprintf("%s%d-%d", tag, i, time.Now().UnixNano()))
			v := float64(n) / took.Seconds()
			perEvent, bEnd := (cpu()-c0)/float64(n)*1e6, storeBytes()
			say("throughput without real-time segments%s, run %d: %d events in %s, %.0f events/s, segd CPU %.1f µs per event", label, i+1, n, took.Round(time.Millisecond), v, perEvent)
			if err := writeAmp("without segments", b0, bEnd, float64(n)); err != nil {
				return nil, nil, err
			}
			rates, cpus = append(rates, v), append(cpus, perEvent)
		}
		return rates, cpus, nil
	}
	without, cpuWithout, err := withoutSegments("", "w")
	if err != nil {
		return err
	}

	// The 50 segments.
	t1 := time.Now()
	for _, d := range segments() {
		if err := s.admin("POST", "/api/v1/segments", d, nil); err != nil {
			return fmt.Errorf("create %s (%s): %w", d.Name, d.Query, err)
		}
	}
	created := time.Since(t1)
	// Live backfills the segments in order; a new person's order showing in the
	// personalisation answer means every backfill queued before it is done.
	for n := 0; ; n++ {
		if ok, err := probeLive(s, fmt.Sprintf("warm-%d-%d", time.Now().UnixNano(), n)); err != nil {
			return err
		} else if ok {
			break
		}
		if time.Since(t1) > 2*time.Hour {
			return errors.New("segments not live after 2 hours")
		}
	}
	say("50 segments created in %s; backfilled and live in %s", created.Round(time.Millisecond), time.Since(t1).Round(time.Millisecond))
	if err := s.settle(time.Hour); err != nil {
		return err
	}
	say("timers re-armed and the profile cache warm %s after the first segment was created", time.Since(t1).Round(time.Millisecond))
	if err := s.admin("PUT", "/api/v1/destinations/rtbench", map[string]any{
		"name": "rtbench receiver", "kind": "webhook", "start": "latest", "segments": hookSegments, "linger": "200us", "batch_size": 1000,
		"webhook": map[string]any{"url": rc.url, "timeout": "10s"},
	}, nil); err != nil {
		return err
	}

	var latLog *os.File
	if o.LatencyLog != "" {
		f, err := os.Create(o.LatencyLog)
		if err != nil {
			return err
		}
		defer f.Close()
		fmt.Fprintln(f, "phase,ack_unix_ms,latency_ms")
		latLog = f
	}
	results := map[int][]rateResult{}
	for i := range o.Runs {
		for _, rate := range []int{5000, 20000} {
			// Like the closed-loop phases, a fixed-rate phase starts on a settled store: the
			// compactions the segments' backfill (or the previous phase) left behind are not
			// part of sustaining this rate.
			if err := settle(); err != nil {
				return err
			}
			syncs0, syncErr := s.walSyncs()
			commits0, commitErr := s.latencies("segd_commit_seconds")
			delay0, delayErr := s.latencies("segd_live_delay_seconds")
			say("rate %d/s run %d: sending", rate, i+1)
			res := fixedRate(s.url, rc, o.Customers, rate, o.Duration, fmt.Sprintf("r%d-%d-%d", rate, i, time.Now().UnixNano()))
			say("rate %d/s run %d: achieved %.0f events/s, %d probes, %d without webhook in 10 s, %d late ticks; ack→webhook p50 %s p99 %s max %s",
				rate, i+1, res.achieved, res.probes, res.missing, res.late, pct(res.lat, 0.5), pct(res.lat, 0.99), pct(res.lat, 1))
			// Each probe's membership change waits for a WAL sync before its destination
			// sees it: a disk whose syncs stall shows in the probes' tail.
			if syncs1, err := s.walSyncs(); err == nil && syncErr == nil {
				d := syncs1.since(syncs0)
				n, at := d.over(0.01)
				say("  WAL syncs during the phase: %.0f, p50 ≤ %.2f ms, p99 ≤ %.2f ms, %.0f (%.2f%%) over %.1f ms",
					d.count, 1000*d.quantile(0.5), 1000*d.quantile(0.99), n, 100*n/max(d.count, 1), 1000*at)
			}
			// The parts before and after the acknowledgement: a commit's apply and fsync
			// (request → acknowledgement, without the HTTP parts), and live's delay from a
			// commit reaching it to its membership changes written (not yet synced).
			if commits1, err := s.latencies("segd_commit_seconds"); err == nil && commitErr == nil {
				d := commits1.since(commits0)
				say("  commits: p50 ≤ %.2f ms, p99 ≤ %.2f ms", 1000*d.quantile(0.5), 1000*d.quantile(0.99))
			}
			if delay1, err := s.latencies("segd_live_delay_seconds"); err == nil && delayErr == nil {
				d := delay1.since(delay0)
				say("  live delay: p50 ≤ %.2f ms, p99 ≤ %.2f ms", 1000*d.quantile(0.5), 1000*d.quantile(0.99))
			}
			if latLog != nil {
				for k, l := range res.lat {
					fmt.Fprintf(latLog, "%d-%d,%d,%.3f\n", rate, i+1, res.acked[k].UnixMilli(), float64(l)/float64(time.Millisecond))
				}
			}
			var st struct {
				Status map[string]any `json:"status"`
			}
			if err := s.admin("GET", "/api/v1/destinations/rtbench", nil, &st); err == nil {
				say("  destination: %v; receiver got %d posts, %d changes", st.Status, rc.posts.Load(), rc.changes.Load())
			}
			results[rate] = append(results[rate], res)
		}
	}
	var with, withEff, cpuWith []float64
	for i := range o.Runs {
		if err := startClosedLoop(); err != nil {
			return err
		}
		say("throughput with 50 real-time segments, run %d: sending", i+1)
		l0 := liveWork(s)
		t, c0, b0 := time.Now(), cpu(), storeBytes()
		n, sendTime := maxThroughput(s.url, o.Customers, 8, 500, o.Duration, o.PhaseEvents, fmt.Sprintf("m%d-%d", i, time.Now().UnixNano()))
		v := float64(n) / sendTime.Seconds()
		// Acknowledged is not evaluated: live queues up to MaxQueue commits. Count the time
		// until live has caught up (a probe is visible) as part of the run.
		for k := 0; ; k++ {
			ok, err := probeLive(s, fmt.Sprintf("drain-%d-%d", time.Now().UnixNano(), k))
			if err != nil {
				return err
			}
			if ok {
				break
			}
			if time.Since(t) > 15*time.Minute {
				return errors.New("live did not catch up within 15 minutes of the throughput run")
			}
		}
		drained := time.Since(t)
		eff := float64(n) / drained.Seconds()
		perEvent, bEnd := (cpu()-c0)/float64(n)*1e6, storeBytes()
		say("throughput with 50 real-time segments, run %d: %.0f events/s acknowledged, live caught up %s after the last; %.0f events/s end to end; segd CPU %.1f µs per event",
			i+1, v, (drained - sendTime).Round(time.Millisecond), eff, perEvent)
		if l1 := liveWork(s); l1.commits > l0.commits {
			// how many commits a step took and how many profiles it evaluated: under a
			// saturating load the steps grow and a profile's changes share an evaluation
			say("  live: %.0f commits in %.0f steps, %.3f profile evaluations per event, %.2f segment evaluations skipped per event",
				l1.commits-l0.commits, l1.steps-l0.steps, (l1.evaluations-l0.evaluations)/float64(n), (l1.skipped-l0.skipped)/float64(n))
		}
		if err := writeAmp("with segments", b0, bEnd, float64(n)); err != nil {
			return err
		}
		with = append(with, v)
		withEff = append(withEff, eff)
		cpuWith = append(cpuWith, perEvent)
	}
	time.Sleep(2 * time.Second) // let live drain before the read benchmark

	route := "GET /v1/profiles/segments"
	var pServer, pClient50, pClient99, pRate []float64
	for i := range o.Runs {
		before, err := s.histogram(route)
		if err != nil {
			return err
		}
		lat, rate, fails := personalise(s.url, o.Customers, 10000, o.Duration)
		after, err := s.histogram(route)
		if err != nil {
			return err
		}
		sp99, under := histQuantile(before, after, 0.99, 0.001)
		say("personalisation run %d: %.0f requests/s (%d failed); server p99 ≈ %.3f ms (%.2f%% ≤ 1 ms by the histogram); client p50 %s p99 %s",
			i+1, rate, fails, sp99*1e3, under*100, pct(lat, 0.5), pct(lat, 0.99))
		pServer = append(pServer, sp99*1e3)
		pClient50 = append(pClient50, ms(pct(lat, 0.5)))
		pClient99 = append(pClient99, ms(pct(lat, 0.99)))
		pRate = append(pRate, rate)
	}

	// Without segments again, on the store as the runs with them left it: the store grew by
	// every phase's writes (and the shared machine's speed drifts), so the runs with segments
	// are compared with the runs without them before and after.
	if err := deleteBenchSegments(s); err != nil {
		return err
	}
	if err := s.settle(time.Hour); err != nil {
		return err
	}
	after, cpuAfter, err := withoutSegments(" (after)", "a")
	if err != nil {
		return err
	}

	closed := fmt.Sprintf("closed-loop phases of %s", o.Duration)
	if o.PhaseEvents > 0 {
		closed = fmt.Sprintf("closed-loop phases of %d events", o.PhaseEvents)
	}
	if o.Compact {
		closed += ", each from a compacted store"
	}
	fmt.Printf("\n== medians of %d runs (customers %d, phase %s; %s) ==\n", o.Runs, o.Customers, o.Duration, closed)
	for _, rate := range []int{5000, 20000} {
		var a, p50, p99, miss []float64
		for _, r := range results[rate] {
			a = append(a, r.achieved)
			p50 = append(p50, ms(pct(r.lat, 0.5)))
			p99 = append(p99, ms(pct(r.lat, 0.99)))
			miss = append(miss, float64(r.missing))
		}
		fmt.Printf("%5d events/s target: achieved %.0f/s; ack→webhook p50 %.2f ms, p99 %.2f ms; probes without webhook %.0f\n",
			rate, median(a), median(p50), median(p99), median(miss))
	}
	base := (median(without) + median(after)) / 2
	cpuBase := (median(cpuWithout) + median(cpuAfter)) / 2
	fmt.Printf("throughput without segments: %.0f events/s before, %.0f after (mean %.0f)\n", median(without), median(after), base)
	fmt.Printf("throughput with 50 segments: %.0f events/s acknowledged (%.0f%% of the mean without), %.0f events/s evaluated by live (%.0f%%)\n",
		median(with), 100*median(with)/base, median(withEff), 100*median(withEff)/base)
	fmt.Printf("segd CPU per event: without segments %.1f µs before, %.1f µs after; with 50 segments %.1f µs (end to end; ratio to the mean %.0f%%)\n",
		median(cpuWithout), median(cpuAfter), median(cpuWith), 100*cpuBase/median(cpuWith))
	fmt.Printf("personalisation at 10k/s: achieved %.0f/s, server p99 %.3f ms, client p50 %.2f ms p99 %.2f ms\n",
		median(pRate), median(pServer), median(pClient50), median(pClient99))
	return nil
}

// hookSegments are the segments the webhook destination subscribes to: the revenue segments
// every probe enters. A destination of all 50 segments is limited by the per-change profile
// read of delivery (see the report), not by live.
var hookSegments = []string{"rt20", "rt21", "rt22"}

func deleteBenchSegments(s *server) error {
	var list struct {
		Segments []struct {
			ID   string `json:"id"`
			Name string `json:"name"`
		} `json:"segments"`
	}
	if err := s.admin("GET", "/api/v1/segments?sizes=false", nil, &list); err != nil {
		return err
	}
	// dependants first: the "in segment" ones have the higher numbers
	sort.Slice(list.Segments, func(i, j int) bool { return list.Segments[i].Name > list.Segments[j].Name })
	for _, sg := range list.Segments {
		if strings.HasPrefix(sg.Name, "rt") {
			if err := s.admin("DELETE", "/api/v1/segments/"+sg.ID, nil, nil); err != nil {
				return err
			}
		}
	}
	return nil
}

func say(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "%s "+format+"\n", append([]any{time.Now().Format("15:04:05")}, args...)...)
}

func pct(d []time.Duration, p float64) time.Duration {
	if len(d) == 0 {
		return 0
	}
	s := append([]time.Duration(nil), d...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return s[int(math.Round(p*float64(len(s)-1)))].Round(10 * time.Microsecond)
}

func ms(d time.Duration) float64 { return float64(d) / 1e6 }

func median(v []float64) float64 {
	if len(v) == 0 {
		return math.NaN()
	}
	s := append([]float64(nil), v...)
	sort.Float64s(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// histQuantile estimates quantile q (seconds) of the observations between two cumulative
// histogram readings by linear interpolation inside the bucket, and the share of
// observations at or below bound (interpolated the same way).
func histQuantile(before, after map[float64]float64, q, bound float64) (float64, float64) {
	var les []float64
	for le := range after {
		les = append(les, le)
	}
	sort.Float64s(les)
	if len(les) == 0 {
		return math.NaN(), math.NaN()
	}
	total := after[les[len(les)-1]] - before[les[len(les)-1]]
	if total <= 0 {
		return math.NaN(), math.NaN()
	}
	at := func(x float64) float64 { // cumulative count at x
		prevLe, prevN := 0.0, 0.0
		for _, le := range les {
			n := after[le] - before[le]
			if x <= le {
				return prevN + (n-prevN)*(x-prevLe)/(le-prevLe)
			}
			prevLe, prevN = le, n
		}
		return total
	}
	want := q * total
	prevLe, prevN := 0.0, 0.0
	quant := les[len(les)-1]
	for _, le := range les {
		n := after[le] - before[le]
		if n >= want {
			quant = prevLe + (le-prevLe)*(want-prevN)/math.Max(n-prevN, 1)
			break
		}
		prevLe, prevN = le, n
	}
	return quant, at(bound) / total
}

// liveCounters are the real-time evaluator's work counters (zeros from a segd without them).
type liveCounters struct{ commits, steps, evaluations, skipped float64 }

func liveWork(s *server) liveCounters {
	var c liveCounters
	c.commits, _ = s.gauge("segd_live_commits_total")
	c.steps, _ = s.gauge("segd_live_steps_total")
	c.evaluations, _ = s.gauge("segd_live_profile_evaluations_total")
	c.skipped, _ = s.gauge("segd_live_skipped_evaluations_total")
	return c
}
