package gammagamma_test

import (
	"bufio"
	"encoding/csv"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/segd/segd/internal/analytics/bgnbd"
	"github.com/segd/segd/internal/analytics/calibration"
	"github.com/segd/segd/internal/analytics/gammagamma"
)

// Reference numbers: Fader, Hardie & Lee (2005), "RFM and CLV: using
// iso-value curves for customer base analysis", Journal of Marketing
// Research 42(4), and Fader & Hardie (2013), "The Gamma-Gamma model of
// monetary value", on the 946 repeat customers of the CDNOW 1/10 sample, as
// checked by the test suite of the MIT-licensed lifetimes library. Data:
// shared/data/cdnow (redistributed by lifetimes; see shared/data/README.md).

var published = gammagamma.Params{P: 6.25, Q: 3.74, Gamma: 15.44}

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

func atof(t testing.TB, s string) float64 {
	t.Helper()
	v, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

type row struct {
	x, tx, T, zbar float64
}

func loadRows(t testing.TB) []row {
	t.Helper()
	f, err := os.Open(filepath.Join(sharedData(t), "cdnow", "cdnow_customers_summary_with_transactions.csv"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	recs, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	var out []row
	for _, r := range recs[1:] {
		out = append(out, row{atof(t, r[1]), atof(t, r[2]), atof(t, r[3]), atof(t, r[4])})
	}
	return out
}

func customers(rows []row) []gammagamma.Customer {
	cs := make([]gammagamma.Customer, len(rows))
	for i, r := range rows {
		cs[i] = gammagamma.Customer{X: r.x, Zbar: r.zbar}
	}
	return cs
}

func near(t *testing.T, what string, got, want, tol float64) {
	t.Helper()
	if math.IsNaN(got) || math.Abs(got-want) > tol {
		t.Errorf("%s = %.5f, want %.5f ± %g", what, got, want, tol)
	}
}

func checkPublished(t *testing.T, p gammagamma.Params) {
	t.Helper()
	near(t, "p", p.P, published.P, 0.01)
	near(t, "q", p.Q, published.Q, 0.01)
	near(t, "gamma", p.Gamma, published.Gamma, 0.01)
}

func TestFitCDNOW(t *testing.T) {
	rows := loadRows(t)
	p, res, err := gammagamma.Fit(customers(rows), gammagamma.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("fit %s loglik=%.3f n=%d iterations=%d", p, res.LogLik, res.N, res.Iterations)
	if res.N != 946 {
		t.Errorf("fitted on %d customers, want the 946 repeat customers", res.N)
	}
	checkPublished(t, p)

	// Conditional expected average spend of customers 1..10.
	want := []float64{24.65, 18.91, 35.17, 35.17, 35.17, 71.46, 18.91, 35.17, 27.28, 35.17}
	for i, w := range want {
		got := gammagamma.ConditionalExpectedSpend(p, rows[i].x, rows[i].zbar)
		near(t, "E[Z] of customer "+strconv.Itoa(i+1), got, w, 0.1)
	}
}

func TestConditionalExpectedSpendShrinks(t *testing.T) {
	// The estimate lies between the population mean and the customer's own
	// mean, and moves towards the own mean as x grows.
	pop := published.PopulationMean()
	near(t, "E[Z | x=0]", gammagamma.ConditionalExpectedSpend(published, 0, 0), pop, 1e-12)
	prev := pop
	for _, x := range []float64{1, 2, 5, 20, 100} {
		got := gammagamma.ConditionalExpectedSpend(published, x, 200)
		if !(got > prev && got < 200) {
			t.Errorf("E[Z | x=%g, zbar=200] = %g, want in (%g, 200)", x, got, prev)
		}
		prev = got
	}
}

func TestFitEndToEndFromRawTransactions(t *testing.T) {
	f, err := os.Open(filepath.Join(sharedData(t), "cdnow", "CDNOW_sample.txt"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var txs []calibration.Transaction
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fs := strings.Fields(sc.Text())
		day, err := time.Parse("20060102", fs[2])
		if err != nil {
			t.Fatal(err)
		}
		txs = append(txs, calibration.Transaction{Customer: fs[1], Time: day, Amount: atof(t, fs[4])})
	}
	sums, err := calibration.Summarise(txs, calibration.Options{CalibrationEnd: time.Date(1997, 9, 30, 0, 0, 0, 0, time.UTC)})
	if err != nil {
		t.Fatal(err)
	}
	cs := make([]gammagamma.Customer, len(sums))
	rows := loadRows(t)
	for i, s := range sums {
		cs[i] = gammagamma.Customer{X: s.X, Zbar: s.Zbar}
		if math.Abs(s.Zbar-rows[i].zbar) > 0.006 {
			t.Fatalf("customer %s: zbar %g, published %g", s.Customer, s.Zbar, rows[i].zbar)
		}
	}
	p, res, err := gammagamma.Fit(cs, gammagamma.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("end to end: %s n=%d", p, res.N)
	checkPublished(t, p)
}

func TestCLV(t *testing.T) {
	bg := bgnbd.Params{R: 0.243, Alpha: 4.414, A: 0.793, B: 2.426}
	h := gammagamma.History{X: 2, Tx: 30.43, T: 38.86, Zbar: 22.35}
	spend := gammagamma.ConditionalExpectedSpend(published, h.X, h.Zbar)
	weeksPerMonth := 4.345

	// Without discounting, CLV is expected spend × expected purchases over
	// the whole horizon.
	undiscounted, err := gammagamma.CLV(bg, published, h, gammagamma.CLVOptions{Periods: 12, PeriodLength: weeksPerMonth, DiscountRate: 0})
	if err != nil {
		t.Fatal(err)
	}
	near(t, "CLV at rate 0", undiscounted, spend*bgnbd.ConditionalExpected(bg, 12*weeksPerMonth, h.X, h.Tx, h.T), 1e-9)

	// Discounting lowers it, more so at higher rates; a longer horizon adds value.
	cases := []struct {
		rate    float64
		periods int
	}{{0.01, 12}, {0.05, 12}, {0.05, 24}}
	var got []float64
	for _, c := range cases {
		v, err := gammagamma.CLV(bg, published, h, gammagamma.CLVOptions{Periods: c.periods, PeriodLength: weeksPerMonth, DiscountRate: c.rate})
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, v)
	}
	if !(got[0] < undiscounted && got[1] < got[0] && got[2] > got[1]) {
		t.Errorf("CLV ordering wrong: undiscounted %g, 1%% %g, 5%% %g, 5%% over 24 %g", undiscounted, got[0], got[1], got[2])
	}
	// A customer almost surely gone is worth almost nothing.
	dead, err := gammagamma.CLV(bg, published, gammagamma.History{X: 1000, Tx: 10, T: 100, Zbar: 50}, gammagamma.CLVOptions{PeriodLength: weeksPerMonth, DiscountRate: gammagamma.DefaultDiscountRate})
	if err != nil || dead > 1e-6 {
		t.Errorf("CLV of a dead customer = %g, %v; want ~0", dead, err)
	}
	scorer := bgnbd.NewScorer(bg)
	for _, c := range cases {
		o := gammagamma.CLVOptions{Periods: c.periods, PeriodLength: weeksPerMonth, DiscountRate: c.rate}
		direct, _ := gammagamma.CLV(bg, published, h, o)
		scored, err := gammagamma.CLVScored(scorer, published, h, o)
		if err != nil || scored != direct {
			t.Errorf("CLVScored = %g, %v; CLV = %g", scored, err, direct)
		}
	}
	if _, err := gammagamma.CLV(bg, published, h, gammagamma.CLVOptions{DiscountRate: -0.1}); err == nil {
		t.Error("negative discount rate accepted")
	}
}

func TestFitNoRepeatCustomers(t *testing.T) {
	if _, _, err := gammagamma.Fit([]gammagamma.Customer{{X: 0, Zbar: 0}}, gammagamma.Options{}); err != gammagamma.ErrNoData {
		t.Errorf("err = %v, want ErrNoData", err)
	}
	if _, _, err := gammagamma.Fit([]gammagamma.Customer{{X: -1, Zbar: 3}}, gammagamma.Options{}); err == nil {
		t.Error("negative x accepted")
	}
}

func BenchmarkFitCDNOW(b *testing.B) {
	cs := customers(loadRows(b))
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := gammagamma.Fit(cs, gammagamma.Options{}); err != nil {
			b.Fatal(err)
		}
	}
}
