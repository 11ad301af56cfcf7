package compute_test

import (
	"context"
	"encoding/json"
	"math"
	"reflect"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/segd/segd/internal/analytics/compute"
	"github.com/segd/segd/internal/demodata"
	"github.com/segd/segd/internal/engine"
	"github.com/segd/segd/internal/ingest"
	"github.com/segd/segd/internal/message"
	"github.com/segd/segd/internal/segql/check"
	"github.com/segd/segd/internal/segql/parser"
)

var demoEnd = time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)

// demoWorld loads n demo customers through the write pipeline.
func demoWorld(t testing.TB, n int) *world {
	t.Helper()
	w := newWorld(t)
	o := demodata.Demo(demoEnd)
	o.Customers = n
	var msgs []message.Message
	if err := demodata.Stream(context.Background(), o, func(m *message.Message) error {
		msgs = append(msgs, *m)
		return nil
	}, nil); err != nil {
		t.Fatal(err)
	}
	w.append(t, msgs)
	return w
}

func newRunner(t testing.TB, w *world, now time.Time) *compute.Runner {
	t.Helper()
	r, err := compute.NewRunner(compute.RunnerOptions{Indexes: w, Writer: w.p, Log: w.st, Configs: w.st,
		Every: -1, Now: func() time.Time { return now }, Workspaces: func() []uint32 { return []uint32{w.ws} }})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestComputedTraitsAgreeWithChecker(t *testing.T) {
	var names []string
	for n := range check.ComputedTraits {
		names = append(names, n)
	}
	sort.Strings(names)
	want := slices.Sorted(slices.Values(compute.AllTraits))
	if !slices.Equal(names, want) {
		t.Errorf("check.ComputedTraits = %v\ncompute.AllTraits   = %v", names, want)
	}
}

// TestTraitsInSegQL recomputes a demo workspace through the Runner (traits written with the
// pipeline's SetTraits, so the index sees them as a real-time segment would) and evaluates a
// condition on every computed trait with the engine, checking the members against the
// Result.
func TestTraitsInSegQL(t *testing.T) {
	w := demoWorld(t, 2000)
	r := newRunner(t, w, demoEnd)
	rep, err := r.Recompute(context.Background(), w.ws)
	if err != nil {
		t.Fatal(err)
	}
	js, _ := json.MarshalIndent(rep, "", "  ")
	t.Logf("report: %s", js)
	if rep.Customers < 50 || rep.Changed < rep.Customers || rep.StageChanges == 0 {
		t.Fatalf("report: %d customers, %d changed, %d stage changes", rep.Customers, rep.Changed, rep.StageChanges)
	}
	res := r.Last(w.ws)
	schema := compute.CheckSchema(w.ix.Schema())
	eng := engine.New(w.ix)
	// num is the written (rounded) value of a numeric trait
	num := func(i int, name string) float64 {
		if f, ok := res.Traits(i)[name].(float64); ok {
			return f
		}
		return math.NaN()
	}
	cases := []struct {
		cond string
		want func(i int) bool // over customers; nil: only non-empty
	}{
		{`rfm_recency_days <= 30`, func(i int) bool { return num(i, "rfm_recency_days") <= 30 }},
		{`rfm_frequency >= 3`, func(i int) bool { return res.Frequency[i] >= 3 }},
		{`rfm_monetary > 100`, func(i int) bool { return num(i, "rfm_monetary") > 100 }},
		{`rfm_r = 5`, func(i int) bool { return res.R[i] == 5 }},
		{`rfm_f >= 4`, func(i int) bool { return res.F[i] >= 4 }},
		{`rfm_m <= 2`, func(i int) bool { return res.M[i] <= 2 }},
		{`rfm_score starts with "5"`, func(i int) bool { return res.R[i] == 5 }},
		{`rfm_segment = "Champions"`, func(i int) bool { return res.Segment[i] == "Champions" }},
		{`p_alive > 0.5`, func(i int) bool { return num(i, "p_alive") > 0.5 }},
		{`churn_probability > 0.5%`, func(i int) bool { return num(i, "churn_probability") > 0.005 }},
		{`expected_purchases_90d >= 1`, func(i int) bool { return num(i, "expected_purchases_90d") >= 1 }},
		{`expected_avg_order_value > 50`, func(i int) bool { return num(i, "expected_avg_order_value") > 50 }},
		{`clv_12m >= 100`, func(i int) bool { return num(i, "clv_12m") >= 100 }},
		{`discount_share >= 0.5`, func(i int) bool { return num(i, "discount_share") >= 0.5 }},
		{`avg_discount_pct > 10`, func(i int) bool { return num(i, "avg_discount_pct") > 10 }},
		{`price_sensitivity = "promo-driven"`, func(i int) bool { return res.PriceBand[i] == "promo-driven" }},
		{`next_best_category exists`, func(i int) bool { return res.NextBestCategory[i] != "" }},
		{`customer_cluster = "1"`, func(i int) bool { return res.Cluster[i] == 0 }},
		{`lifecycle_stage in ["active", "new", "reactivated"]`, nil},
		{`lifecycle_stage in ["at risk", "churned"]`, nil},
		{`funnel_stage = "repeat customer"`, nil},
		{`funnel_stage = "visitor" or funnel_stage = "lead"`, nil},
	}
	seen := map[string]bool{}
	for _, c := range cases {
		file, x, errs := parser.Parse("", c.cond)
		if errs.HasErrors() {
			t.Fatalf("%s: %v", c.cond, errs.Err())
		}
		if _, errs := check.Check(file, x, schema, check.Options{}); errs.HasErrors() {
			t.Fatalf("%s: %v", c.cond, errs.Err())
		}
		got, _, err := eng.Evaluate(context.Background(), x, engine.Options{At: demoEnd})
		if err != nil {
			t.Fatalf("%s: %v", c.cond, err)
		}
		if got.IsEmpty() {
			t.Errorf("%s: no member", c.cond)
		}
		if c.want != nil {
			n := 0
			for i, pid := range res.Profiles {
				if c.want(i) {
					n++
					if !got.Contains(pid) {
						t.Errorf("%s: customer %d missing", c.cond, pid)
						break
					}
				}
			}
			if int(got.GetCardinality()) != n {
				t.Errorf("%s: %d members, want %d", c.cond, got.GetCardinality(), n)
			}
		}
		seen[strings.Fields(c.cond)[0]] = true
	}
	for _, n := range compute.AllTraits {
		if !seen[n] {
			t.Errorf("trait %s not tested in SegQL", n)
		}
	}

	// a second run on the same data changes nothing
	rep2, err := r.Recompute(context.Background(), w.ws)
	if err != nil {
		t.Fatal(err)
	}
	if rep2.Changed != 0 || rep2.StageChanges != 0 {
		t.Errorf("second run changed %d profiles and %d stages, want 0", rep2.Changed, rep2.StageChanges)
	}
}

// TestRealTimeStage writes a purchase and shows that the next recompute moves the profile to
// a new stage, records the change and that the engine sees the new traits.
func TestRealTimeStage(t *testing.T) {
	w := newWorld(t)
	now := time.Date(2024, 6, 1, 0, 0, 0, 0, time.UTC)
	var msgs []message.Message
	for i := range 30 {
		u := "u" + string(rune('a'+i%26)) + string(rune('a'+i/26))
		msgs = append(msgs, order(u, 2*i, now.AddDate(0, 0, -200+i), map[string]any{"revenue": 20.0 + float64(i)}))
		if i%2 == 0 {
			msgs = append(msgs, order(u, 2*i+1, now.AddDate(0, 0, -100+i), map[string]any{"revenue": 30.0}))
		}
	}
	w.append(t, msgs)
	r := newRunner(t, w, now)
	if _, err := r.Recompute(context.Background(), w.ws); err != nil {
		t.Fatal(err)
	}
	eval := func(cond string) []uint32 {
		_, x, errs := parser.Parse("", cond)
		if errs.HasErrors() {
			t.Fatal(errs.Err())
		}
		got, _, err := engine.New(w.ix).Evaluate(context.Background(), x, engine.Options{At: now})
		if err != nil {
			t.Fatal(err)
		}
		return got.ToArray()
	}
	pid, err := w.st.Lookup(w.ws, "userId", "uba")
	if err != nil {
		t.Fatal(err)
	}
	if got := eval(`lifecycle_stage = "churned" and funnel_stage = "customer"`); !slices.Contains(got, pid) {
		t.Fatalf("uba (%d) not churned customer: %v", pid, got)
	}
	w.append(t, []message.Message{order("uba", 1000, now.Add(-time.Hour), map[string]any{"revenue": 99.0})})
	if _, err := r.Recompute(context.Background(), w.ws); err != nil {
		t.Fatal(err)
	}
	if got := eval(`lifecycle_stage = "reactivated" and funnel_stage = "repeat customer" and rfm_recency_days < 1`); !slices.Equal(got, []uint32{pid}) {
		t.Errorf("after a new order: %v, want [%d]", got, pid)
	}
	var changes []compute.StageChange
	if err := w.st.RecentLog(w.ws, compute.StageLogName, 2, func(_ uint64, v []byte) (bool, error) {
		var c compute.StageChange
		err := json.Unmarshal(v, &c)
		changes = append(changes, c)
		return true, err
	}); err != nil {
		t.Fatal(err)
	}
	got := []string{}
	for _, c := range changes {
		got = append(got, c.Trait+":"+c.From+"→"+c.To)
	}
	slices.Sort(got)
	if want := []string{"funnel_stage:customer→repeat customer", "lifecycle_stage:churned→reactivated"}; !slices.Equal(got, want) {
		t.Errorf("logged changes %v, want %v", got, want)
	}
}

// TestDiffInChunks: the trait updates computed a chunk of customers at a time are those of
// one pass, and only the last chunk removes model traits from profiles that are no longer
// customers.
func TestDiffInChunks(t *testing.T) {
	w := demoWorld(t, 300)
	r := newRunner(t, w, demoEnd)
	if _, err := r.Recompute(context.Background(), w.ws); err != nil {
		t.Fatal(err)
	}
	res := r.Last(w.ws)
	n := len(res.Profiles)
	// a profile that is not a customer but holds a model trait
	var outsider uint32
	for pid := uint32(1); ; pid++ {
		if !slices.Contains(res.Profiles, pid) {
			outsider = pid
			break
		}
	}
	if _, err := w.p.SetTraits(context.Background(), w.ws, demoEnd, []ingest.TraitUpdate{{Profile: outsider,
		Traits: map[string]any{compute.TraitSegment: "Champions"}}}); err != nil {
		t.Fatal(err)
	}
	// and a customer whose model trait differs from the result
	if _, err := w.p.SetTraits(context.Background(), w.ws, demoEnd, []ingest.TraitUpdate{{Profile: res.Profiles[n/2],
		Traits: map[string]any{compute.TraitSegment: "nobody"}}}); err != nil {
		t.Fatal(err)
	}
	snap := w.ix.Acquire()
	defer snap.Release()
	whole := compute.Diff(snap, res, 0, n)
	var chunks []ingest.TraitUpdate
	for lo := 0; lo < n; lo += 7 {
		part := compute.Diff(snap, res, lo, min(lo+7, n))
		for _, u := range part {
			if u.Profile == outsider && min(lo+7, n) != n {
				t.Fatalf("chunk [%d,%d) removes the outsider's traits", lo, lo+7)
			}
		}
		chunks = append(chunks, part...)
	}
	if !reflect.DeepEqual(chunks, whole) {
		t.Fatalf("chunked updates (%d) differ from one pass (%d)", len(chunks), len(whole))
	}
	var removed, changed bool
	for _, u := range whole {
		if u.Profile == outsider {
			v, ok := u.Traits[compute.TraitSegment]
			removed = ok && v == nil
		}
		if u.Profile == res.Profiles[n/2] {
			changed = u.Traits[compute.TraitSegment] == res.Segment[n/2]
		}
	}
	if !removed || !changed || len(whole) != 2 {
		t.Fatalf("updates %+v: outsider removed %v, customer restored %v", whole, removed, changed)
	}
}

// blockingWriter holds every trait write until release is closed.
type blockingWriter struct {
	w       compute.TraitWriter
	entered chan struct{}
	release chan struct{}
	once    sync.Once
}

func (b *blockingWriter) SetTraits(ctx context.Context, ws uint32, at time.Time, ups []ingest.TraitUpdate) ([]uint32, error) {
	b.once.Do(func() { close(b.entered) })
	<-b.release
	return b.w.SetTraits(ctx, ws, at, ups)
}

// TestLastDoesNotWaitForRecompute: the pages and endpoints read the last result while a
// recompute runs (at a million customers one takes minutes); they must not wait for it.
func TestLastDoesNotWaitForRecompute(t *testing.T) {
	w := demoWorld(t, 300)
	bw := &blockingWriter{w: w.p, entered: make(chan struct{}), release: make(chan struct{})}
	r, err := compute.NewRunner(compute.RunnerOptions{Indexes: w, Writer: bw, Log: w.st, Configs: w.st,
		Every: -1, Now: func() time.Time { return demoEnd }, Workspaces: func() []uint32 { return []uint32{w.ws} }})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		_, err := r.Recompute(context.Background(), w.ws)
		done <- err
	}()
	<-bw.entered // the recompute is writing traits
	got := make(chan *compute.Result, 1)
	go func() { got <- r.Last(w.ws) }()
	select {
	case res := <-got:
		if res != nil {
			t.Fatal("a result before the first recompute finished")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Last waited for the running recompute")
	}
	if p := r.Progress(w.ws); !p.Running {
		t.Fatalf("progress %+v while writing", p)
	}
	close(bw.release)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if r.Last(w.ws) == nil {
		t.Fatal("no result after the recompute")
	}
}
