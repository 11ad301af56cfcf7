package cluster_test

import (
	"math"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"

	"github.com/segd/segd/internal/analytics/cluster"
)

var featureNames = []string{"frequency", "monetary", "channel_mobile", "coupon_rate", "tenure_days"}

// planted generates n customers of each of three types with a fixed seed:
// 0 = frequent small-basket mobile coupon users, 1 = rare big spenders on
// the web, 2 = middling long-standing customers. It returns raw feature rows
// and the true type of each row.
func planted(n int, seed uint64) ([][]float64, []int) {
	rng := rand.New(rand.NewPCG(seed, 7))
	type spec struct{ freq, spend, mobile, coupon, tenure float64 }
	specs := []spec{
		{freq: 12, spend: 150, mobile: 0.85, coupon: 0.7, tenure: 300},
		{freq: 2, spend: 900, mobile: 0.1, coupon: 0.05, tenure: 400},
		{freq: 6, spend: 400, mobile: 0.4, coupon: 0.2, tenure: 1400},
	}
	var rows [][]float64
	var truth []int
	for i := 0; i < 3*n; i++ {
		typ := i % 3
		s := specs[typ]
		// Share of the customer's orders placed with a coupon.
		coupon := math.Min(1, math.Max(0, s.coupon+0.08*rng.NormFloat64()))
		rows = append(rows, []float64{
			math.Max(1, s.freq+rng.NormFloat64()*1.5),
			math.Max(1, s.spend*(1+0.15*rng.NormFloat64())),
			math.Min(1, math.Max(0, s.mobile+0.08*rng.NormFloat64())),
			coupon,
			math.Max(0, s.tenure+100*rng.NormFloat64()),
		})
		truth = append(truth, typ)
	}
	return rows, truth
}

func TestPlantedStructureRecovered(t *testing.T) {
	rows, truth := planted(400, 42)
	z, _, _ := cluster.Standardise(rows)
	m, scores, err := cluster.Choose(z, cluster.Options{KMin: 2, KMax: 6})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("scores %+v", scores)
	if m.K != 3 {
		t.Fatalf("chose k = %d, want the 3 planted types", m.K)
	}
	if ari := cluster.AdjustedRand(truth, m.Labels); ari < 0.9 {
		t.Errorf("adjusted Rand index %.3f, want > 0.9", ari)
	}
	// Stable for a fixed seed.
	m2, _, err := cluster.Choose(z, cluster.Options{KMin: 2, KMax: 6})
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(m.Labels, m2.Labels) {
		t.Error("two runs with the same seed gave different labels")
	}
}

func TestPlantedStructureRecoveredOnSample(t *testing.T) {
	// Choosing k on a sample and refitting on all points finds the same
	// structure.
	rows, truth := planted(3000, 9)
	z, _, _ := cluster.Standardise(rows)
	m, _, err := cluster.Choose(z, cluster.Options{KMin: 2, KMax: 5, SampleSize: 600})
	if err != nil {
		t.Fatal(err)
	}
	if m.K != 3 || len(m.Labels) != len(rows) {
		t.Fatalf("k = %d over %d labels, want 3 over %d", m.K, len(m.Labels), len(rows))
	}
	if ari := cluster.AdjustedRand(truth, m.Labels); ari < 0.9 {
		t.Errorf("adjusted Rand index %.3f, want > 0.9", ari)
	}
}

func TestDescribePlanted(t *testing.T) {
	rows, _ := planted(400, 42)
	z, mean, std := cluster.Standardise(rows)
	m, err := cluster.KMeans(z, 3, cluster.KMeansOptions{})
	if err != nil {
		t.Fatal(err)
	}
	means := cluster.Means(rows, m.Labels, m.K)
	var all []string
	for c := range means {
		d := strings.Join(cluster.Describe(featureNames, means[c], mean, std, cluster.DescribeOptions{}), ", ")
		t.Logf("cluster %d (%d): %s", c, m.Sizes[c], d)
		all = append(all, d)
	}
	joined := strings.Join(all, " | ")
	for _, want := range []string{"buys often", "spends a lot", "mostly on mobile", "more likely to use coupons", "long-standing customer"} {
		if !strings.Contains(joined, want) {
			t.Errorf("descriptions %q lack %q", joined, want)
		}
	}
}

func TestDescribePhrases(t *testing.T) {
	names := []string{"frequency", "monetary", "channel_mobile", "coupon_rate", "tenure_days", "category_home_garden"}
	base := []float64{4, 300, 0.3, 0.2, 500, 0.1}
	std := []float64{2, 200, 0.3, 0.3, 300, 0.2}
	for _, c := range []struct {
		cluster []float64
		max     int
		want    string
	}{
		// Effects: frequency +3, mobile +1.67, monetary −1, coupons +0.65.
		{[]float64{10, 100, 0.8, 0.46, 500, 0.1}, 4, "buys often, mostly on mobile, spends little, 2.3x more likely to use coupons"},
		{[]float64{10, 100, 0.8, 0.46, 500, 0.1}, 2, "buys often, mostly on mobile"},
		{[]float64{4, 300, 0.3, 0.0, 500, 0.4}, 4, "often buys home garden, never use coupons"},
		{[]float64{4, 300, 0.3, 0.04, 500, 0.6}, 4, "mostly buys home garden, 5.0x less likely to use coupons"},
		{[]float64{4.1, 310, 0.1, 0.2, 1000, 0.1}, 4, "long-standing customer, rarely on mobile"},
		{[]float64{4, 300, 0.3, 0.2, 500, 0.1}, 4, ""},
	} {
		got := strings.Join(cluster.Describe(names, c.cluster, base, std, cluster.DescribeOptions{MaxPhrases: c.max}), ", ")
		if got != c.want {
			t.Errorf("Describe(%v) = %q, want %q", c.cluster, got, c.want)
		}
	}
	if w := cluster.DefaultVocabulary.Lookup("visits_per_week"); w.High != "higher visits per week" {
		t.Errorf("fallback word %+v", w)
	}
}

func TestSilhouette(t *testing.T) {
	pts := [][]float64{{0, 0}, {0, 1}, {1, 0}, {100, 100}, {100, 101}, {101, 100}}
	good := cluster.Silhouette(pts, []int{0, 0, 0, 1, 1, 1}, 2, 0, 0)
	bad := cluster.Silhouette(pts, []int{0, 1, 0, 1, 0, 1}, 2, 0, 0)
	if !(good > 0.95 && bad < 0) {
		t.Errorf("silhouette good %g bad %g; want near 1 and negative", good, bad)
	}
	rows, truth := planted(1000, 3)
	z, _, _ := cluster.Standardise(rows)
	full := cluster.Silhouette(z, truth, 3, 0, 0)
	sampled := cluster.Silhouette(z, truth, 3, 500, 1)
	if math.Abs(full-sampled) > 0.05 {
		t.Errorf("sampled silhouette %g far from full %g", sampled, full)
	}
}

func TestAdjustedRand(t *testing.T) {
	for _, c := range []struct {
		a, b []int
		want float64
	}{
		{[]int{0, 0, 1, 1, 2, 2}, []int{5, 5, 3, 3, 9, 9}, 1},
		{[]int{0, 0, 0, 1, 1, 1}, []int{0, 1, 0, 1, 0, 1}, -1.0 / 9},
		{[]int{0, 0, 1, 1}, []int{0, 0, 1, 2}, 0.5714285714285714},
	} {
		if got := cluster.AdjustedRand(c.a, c.b); math.Abs(got-c.want) > 1e-12 {
			t.Errorf("AdjustedRand(%v, %v) = %g, want %g", c.a, c.b, got, c.want)
		}
	}
}

func TestKMeansRejects(t *testing.T) {
	if _, err := cluster.KMeans([][]float64{{1}}, 2, cluster.KMeansOptions{}); err == nil {
		t.Error("more clusters than points accepted")
	}
	if _, err := cluster.KMeans([][]float64{{1}, {math.NaN()}}, 1, cluster.KMeansOptions{}); err == nil {
		t.Error("NaN accepted")
	}
	if _, _, err := cluster.Choose([][]float64{{1}, {2}, {3}}, cluster.Options{KMin: 1}); err == nil {
		t.Error("KMin 1 accepted")
	}
}

func BenchmarkChoose100k(b *testing.B) {
	rows, _ := planted(33334, 5)
	z, _, _ := cluster.Standardise(rows)
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := cluster.Choose(z, cluster.Options{KMax: 6}); err != nil {
			b.Fatal(err)
		}
	}
}
