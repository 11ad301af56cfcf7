package compute_test

import (
	"context"
	"fmt"
	"os"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/segd/segd/internal/analytics/compute"
	"github.com/segd/segd/internal/demodata"
	"github.com/segd/segd/internal/engine"
	"github.com/segd/segd/internal/index"
	"github.com/segd/segd/internal/message"
)

var kinds = map[demodata.Kind]index.EventKind{demodata.KindTrack: index.Track, demodata.KindPage: index.Page,
	demodata.KindScreen: index.Screen, demodata.KindIdentify: index.Identify}

// demoIndex builds an index straight from the generator (profile = customer index), with the
// device type enrichment would add: the fast path for clustering tests and benchmarks.
func demoIndex(tb testing.TB, o demodata.Options) *index.Index {
	tb.Helper()
	ix := index.New()
	batch := make([]index.Event, 0, 8192)
	agents := map[string]string{}
	err := demodata.Generate(context.Background(), o, demodata.Sink{
		Customer: func(c *demodata.Customer) error {
			ix.LoadProfile(index.Profile{ID: c.Index, Traits: c.Traits()})
			return nil
		},
		Event: func(r *demodata.EventRow) error {
			if r.Kind == demodata.KindIdentify {
				return nil
			}
			p := r.Properties(map[string]any{})
			if r.Agent != "" {
				d, ok := agents[r.Agent]
				if !ok {
					d = message.ParseUserAgent(r.Agent).DeviceType
					agents[r.Agent] = d
				}
				p["device_type"] = d
			}
			batch = append(batch, index.Event{Profile: r.Customer, Kind: kinds[r.Kind], Name: r.Name, Time: time.UnixMilli(r.Time).UTC(), Props: p})
			if len(batch) == cap(batch) {
				ix.AddEvents(batch)
				batch = batch[:0]
			}
			return nil
		},
	})
	if err != nil {
		tb.Fatal(err)
	}
	ix.AddEvents(batch)
	return ix
}

// TestDemoClusters clusters the demo customers twice with the same seed: same partition,
// readable descriptions for every cluster.
func TestDemoClusters(t *testing.T) {
	ix := demoIndex(t, demodata.Demo(demoEnd))
	run := func() *compute.Result {
		res, err := compute.Compute(context.Background(), ix, compute.Options{At: demoEnd})
		if err != nil {
			t.Fatal(err)
		}
		if res.Clusters == nil {
			t.Fatalf("no clusters: %s", res.Report.Error)
		}
		return res
	}
	a, b := run(), run()
	t.Logf("k = %d over %d customers, features %v\n%s", a.Clusters.Model.K, len(a.Profiles), a.Clusters.Features, a.Clusters)
	if a.Clusters.Model.K < 2 || fmt.Sprint(a.Cluster) != fmt.Sprint(b.Cluster) {
		t.Fatalf("k = %d; reruns agree: %v", a.Clusters.Model.K, fmt.Sprint(a.Cluster) == fmt.Sprint(b.Cluster))
	}
	vocabulary := []string{"buys", "spends", "bought", "on ", "customer", "joined", "orders", "likely", "while"}
	total := 0
	for _, s := range a.Clusters.Summary {
		total += s.Size
		ok := false
		for _, w := range vocabulary {
			ok = ok || strings.Contains(s.Description, w)
		}
		if !ok || len(s.Phrases) == 0 {
			t.Errorf("cluster %d: description %q is not a readable phrase", s.ID, s.Description)
		}
	}
	if total != len(a.Profiles) {
		t.Errorf("cluster sizes add up to %d, want %d", total, len(a.Profiles))
	}
}

// BenchmarkRecompute computes every model trait (RFM, BG/NBD and Gamma-Gamma fits and scores,
// holdout check, price sensitivity, cross-sell, clusters) and the stage rules for a demo base
// of SEGD_BENCH_CUSTOMERS customers (default 100,000) over a year.
func BenchmarkRecompute(b *testing.B) {
	n := 100_000
	if v := benchCustomers(); v > 0 {
		n = v
	}
	o := demodata.OneM(demoEnd)
	o.Customers = n
	o.Workers = runtime.GOMAXPROCS(0)
	ix := demoIndex(b, o)
	snap := ix.Acquire() // the first Acquire sorts the tables: the server's index is kept sorted
	events := snap.Events()
	snap.Release()
	b.ResetTimer()
	for b.Loop() {
		res, err := compute.Compute(context.Background(), ix, compute.Options{At: demoEnd})
		if err != nil {
			b.Fatal(err)
		}
		cfg := compute.Config{}
		cfg.Validate()
		schema := compute.CheckSchema(ix.Schema())
		for _, rules := range [][]compute.StageRule{cfg.Lifecycle, cfg.Funnel} {
			if _, err := compute.Stages(context.Background(), ix, rules, schema, engineAt(demoEnd)); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(res.Report.Customers), "customers")
		b.ReportMetric(float64(events), "events")
		b.Logf("%d profiles, %d events, %d customers, %d orders: models %s %v", n, events, res.Report.Customers, res.Report.Orders, res.Report.Took, res.Report.Timings)
	}
}

func benchCustomers() int {
	var n int
	fmt.Sscan(os.Getenv("SEGD_BENCH_CUSTOMERS"), &n)
	return n
}

func engineAt(at time.Time) engine.Options { return engine.Options{At: at} }
