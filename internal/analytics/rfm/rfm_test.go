package rfm_test

import (
	"encoding/csv"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/segd/segd/internal/analytics/rfm"
)

func sharedData(t testing.TB) string {
	t.Helper()
	if d := os.Getenv("SEGD_SHARED_DATA"); d != "" {
		return d
	}
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		cand := filepath.Join(dir, "shared", "data")
		if _, err := os.Stat(filepath.Join(cand, "README.md")); err == nil {
			return cand
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			break
		}
		dir = parent
	}
	if os.Getenv("CI") != "" {
		t.Fatal("shared/data not found beside the repository; set SEGD_SHARED_DATA")
	}
	t.Skip("shared/data not found beside the repository; set SEGD_SHARED_DATA to run reference tests")
	return ""
}

// loadOrders reads rfm_data_orders.csv, the sample orders shipped with the
// MIT-licensed rfm R package v0.3.0 (shared/data/rfm).
func loadOrders(t testing.TB) []rfm.Order {
	t.Helper()
	f, err := os.Open(filepath.Join(sharedData(t), "rfm", "rfm_data_orders.csv"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	recs, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	var out []rfm.Order
	for _, r := range recs[1:] {
		d, err := time.Parse(time.DateOnly, r[1])
		if err != nil {
			t.Fatal(err)
		}
		v, err := strconv.ParseFloat(r[2], 64)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, rfm.Order{Customer: r[0], Time: d, Revenue: v})
	}
	return out
}

// TestChampionsReference is the rfm package's own test: with analysis date
// 2006-12-31, 5 bins per axis and its segment table, Champions are 158
// customers with 1,234 orders and revenue 120,178.
func TestChampionsReference(t *testing.T) {
	orders := loadOrders(t)
	if len(orders) != 4906 {
		t.Fatalf("read %d orders, want 4906", len(orders))
	}
	cs := rfm.FromOrders(orders, time.Date(2006, 12, 31, 0, 0, 0, 0, time.UTC))
	if len(cs) != 995 {
		t.Fatalf("%d customers, want 995", len(cs))
	}
	res, err := rfm.Score(cs, rfm.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("edges R %v F %v M %v", res.RecencyEdges, res.FrequencyEdges, res.MonetaryEdges)
	var n int
	var orderCount, revenue float64
	counts := map[string]int{}
	for i, c := range cs {
		counts[res.Segments[i]]++
		if res.Segments[i] == "Champions" {
			n++
			orderCount += c.Frequency
			revenue += c.Monetary
		}
	}
	t.Logf("groups %v", counts)
	if n != 158 || orderCount != 1234 || math.Round(revenue) != 120178 {
		t.Errorf("Champions: %d customers, %g orders, revenue %g; want 158, 1234, 120178", n, orderCount, revenue)
	}
}

func TestQuantile7(t *testing.T) {
	s := []float64{1, 2, 3, 4, 10}
	for _, c := range []struct{ q, want float64 }{
		{0, 1}, {0.2, 1.8}, {0.25, 2}, {0.5, 3}, {0.8, 5.2}, {1, 10},
	} {
		if got := rfm.Quantile7(s, c.q); math.Abs(got-c.want) > 1e-12 {
			t.Errorf("Quantile7(%v, %g) = %g, want %g", s, c.q, got, c.want)
		}
	}
}

func TestBinTies(t *testing.T) {
	edges := []float64{2, 3, 5, 8}
	for _, c := range []struct {
		v    float64
		want int
	}{
		{-1, 1}, {1.99, 1}, {2, 2}, {2.5, 2}, {3, 3}, {7.99, 4}, {8, 5}, {100, 5},
	} {
		if got := rfm.Bin(c.v, edges); got != c.want {
			t.Errorf("Bin(%g) = %d, want %d (a value on an edge goes up)", c.v, got, c.want)
		}
	}
}

func TestScoresAndTable(t *testing.T) {
	// Ten customers with distinct values: each axis splits 2 per quintile;
	// recency is reversed.
	var cs []rfm.Customer
	for i := range 10 {
		cs = append(cs, rfm.Customer{ID: strconv.Itoa(i), RecencyDays: float64(10 * i), Frequency: float64(i + 1), Monetary: float64(100 * (i + 1))})
	}
	res, err := rfm.Score(cs, rfm.Options{NoEdgeOffset: true})
	if err != nil {
		t.Fatal(err)
	}
	wantR := []int{5, 5, 4, 4, 3, 3, 2, 2, 1, 1}
	wantF := []int{1, 1, 2, 2, 3, 3, 4, 4, 5, 5}
	for i := range cs {
		if res.Scores[i].R != wantR[i] || res.Scores[i].F != wantF[i] || res.Scores[i].M != wantF[i] {
			t.Errorf("customer %d: scores %+v, want R=%d F=M=%d", i, res.Scores[i], wantR[i], wantF[i])
		}
	}
	table := []rfm.Segment{{"Recent", 5, 5, 1, 5, 1, 5}, {"Big", 1, 5, 5, 5, 5, 5}, {"Also recent", 4, 5, 1, 5, 1, 5}}
	for _, c := range []struct {
		s    rfm.Scores
		want string
	}{
		{rfm.Scores{R: 5, F: 5, M: 5}, "Recent"},
		{rfm.Scores{R: 4, F: 5, M: 5}, "Big"},
		{rfm.Scores{R: 4, F: 1, M: 1}, "Also recent"},
		{rfm.Scores{R: 1, F: 1, M: 1}, rfm.Others},
	} {
		if got := rfm.Classify(c.s, table); got != c.want {
			t.Errorf("Classify(%+v) = %q, want %q (first match wins)", c.s, got, c.want)
		}
	}
	if _, err := rfm.Score(cs, rfm.Options{Segments: []rfm.Segment{{"Bad", 3, 1, 1, 5, 1, 5}}}); err == nil {
		t.Error("inverted range accepted")
	}
}

func TestFromOrders(t *testing.T) {
	at := time.Date(2020, 1, 31, 0, 0, 0, 0, time.UTC)
	cs := rfm.FromOrders([]rfm.Order{
		{"b", time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC), 10},
		{"a", time.Date(2020, 1, 21, 0, 0, 0, 0, time.UTC), 5},
		{"b", time.Date(2020, 1, 30, 12, 0, 0, 0, time.UTC), 20},
		{"b", time.Date(2020, 2, 5, 0, 0, 0, 0, time.UTC), 99}, // after the analysis date
	}, at)
	want := []rfm.Customer{{ID: "a", RecencyDays: 10, Frequency: 1, Monetary: 5}, {ID: "b", RecencyDays: 0.5, Frequency: 2, Monetary: 30}}
	for i, w := range want {
		c := cs[i]
		if c.ID != w.ID || c.RecencyDays != w.RecencyDays || c.Frequency != w.Frequency || c.Monetary != w.Monetary {
			t.Errorf("customer %d = %+v, want %+v", i, c, w)
		}
	}
}

func BenchmarkScore1M(b *testing.B) {
	cs := make([]rfm.Customer, 1_000_000)
	for i := range cs {
		cs[i] = rfm.Customer{RecencyDays: float64(i*7919%1000) + 0.5, Frequency: float64(i*31%17 + 1), Monetary: float64(i*104729%100000) / 10}
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := rfm.Score(cs, rfm.Options{}); err != nil {
			b.Fatal(err)
		}
	}
}
