package bgnbd_test

import (
	"bufio"
	"encoding/csv"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/segd/segd/internal/analytics/bgnbd"
	"github.com/segd/segd/internal/analytics/calibration"
)

// The reference numbers in this file come from Fader, Hardie & Lee (2005),
// "Counting your customers the easy way: an alternative to the Pareto/NBD
// model", Marketing Science 24(2), 275-284, on the CDNOW 1/10 sample, as
// also checked by the test suite of the MIT-licensed lifetimes library;
// the data are the CDNOW files redistributed by lifetimes
// (shared/data/cdnow, see shared/data/README.md).

// published are the paper's maximum-likelihood estimates.
var published = bgnbd.Params{R: 0.243, Alpha: 4.414, A: 0.793, B: 2.426}

// sharedData finds shared/data beside the repository (CI clones main with
// shared/ beside it; developers have /work/shared).
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

func readCSV(t testing.TB, path string) [][]string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	return rows[1:]
}

func atof(t testing.TB, s string) float64 {
	t.Helper()
	v, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func loadSummary(t testing.TB) []bgnbd.Customer {
	t.Helper()
	var cs []bgnbd.Customer
	for _, r := range readCSV(t, filepath.Join(sharedData(t), "cdnow", "cdnow_customers_summary.csv")) {
		cs = append(cs, bgnbd.Customer{X: atof(t, r[1]), Tx: atof(t, r[2]), T: atof(t, r[3])})
	}
	return cs
}

// loadSample reads the raw CDNOW_sample.txt transactions: master id,
// sample id, date YYYYMMDD, number of CDs, dollar value.
func loadSample(t testing.TB) []calibration.Transaction {
	t.Helper()
	f, err := os.Open(filepath.Join(sharedData(t), "cdnow", "CDNOW_sample.txt"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var txs []calibration.Transaction
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fs := strings.Fields(sc.Text())
		if len(fs) != 5 {
			continue
		}
		day, err := time.Parse("20060102", fs[2])
		if err != nil {
			t.Fatal(err)
		}
		txs = append(txs, calibration.Transaction{Customer: fs[1], Time: day, Amount: atof(t, fs[4])})
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return txs
}

func near(t *testing.T, what string, got, want, tol float64) {
	t.Helper()
	if math.IsNaN(got) || math.Abs(got-want) > tol {
		t.Errorf("%s = %.6f, want %.6f ± %g", what, got, want, tol)
	}
}

func TestFitCDNOWSummary(t *testing.T) {
	cs := loadSummary(t)
	if len(cs) != 2357 {
		t.Fatalf("read %d customers, want 2357", len(cs))
	}
	p, res, err := bgnbd.Fit(cs, bgnbd.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("fit %s loglik=%.3f iterations=%d evaluations=%d", p, res.LogLik, res.Iterations, res.Evaluations)
	near(t, "r", p.R, published.R, 0.005)
	near(t, "alpha", p.Alpha, published.Alpha, 0.005)
	near(t, "a", p.A, published.A, 0.005)
	near(t, "b", p.B, published.B, 0.005)
	near(t, "log-likelihood", res.LogLik, -9582.4, 0.1)
	if res.N != 2357 {
		t.Errorf("N = %d, want 2357", res.N)
	}
	// The maximum is a maximum: nudging any parameter lowers the likelihood.
	for i, q := range []bgnbd.Params{
		{R: p.R * 1.01, Alpha: p.Alpha, A: p.A, B: p.B},
		{R: p.R, Alpha: p.Alpha * 0.99, A: p.A, B: p.B},
		{R: p.R, Alpha: p.Alpha, A: p.A * 1.01, B: p.B},
		{R: p.R, Alpha: p.Alpha, A: p.A, B: p.B * 0.99},
	} {
		if ll := bgnbd.LogLik(q, cs); ll >= res.LogLik {
			t.Errorf("nudge %d: loglik %.4f not below the optimum %.4f", i, ll, res.LogLik)
		}
	}
}

func TestLogLikAtPublishedParams(t *testing.T) {
	cs := loadSummary(t)
	near(t, "log-likelihood at published parameters", bgnbd.LogLik(published, cs), -9582.4, 0.5)
}

// fitted fits the CDNOW summary once per test binary: like the lifetimes
// tests, the derived quantities below use the full-precision estimates (the
// published 3-decimal ones move E[X(78)] by about 0.003).
func fitted(t testing.TB) bgnbd.Params {
	t.Helper()
	sharedData(t) // skip here, not inside the Once: a skip there would leave zero params for later tests
	fitOnce.Do(func() {
		fitP, _, fitErr = bgnbd.Fit(loadSummary(t), bgnbd.Options{})
	})
	if fitErr != nil {
		t.Fatal(fitErr)
	}
	return fitP
}

var (
	fitOnce sync.Once
	fitP    bgnbd.Params
	fitErr  error
)

func TestConditionalExpected(t *testing.T) {
	// Paper, section 5: x = 2, t_x = 30.43, T = 38.86, next 39 weeks → 1.226.
	near(t, "E[Y(39) | 2, 30.43, 38.86]", bgnbd.ConditionalExpected(fitted(t), 39, 2, 30.43, 38.86), 1.226, 0.001)
	near(t, "E[Y(39) | 2, 30.43, 38.86] at published parameters", bgnbd.ConditionalExpected(published, 39, 2, 30.43, 38.86), 1.226, 0.002)
	// A customer with no repeat purchase is still alive, so his
	// conditional expectation is positive but smaller than a new customer's.
	got := bgnbd.ConditionalExpected(published, 39, 0, 0, 38.86)
	if !(got > 0 && got < bgnbd.Expected(published, 39)) {
		t.Errorf("E[Y(39) | 0, 0, 38.86] = %g, want in (0, E[X(39)])", got)
	}
	// T = 0 and x = 0 is a brand-new customer: the conditional expectation
	// equals the unconditional one.
	near(t, "E[Y(10) | 0,0,0] − E[X(10)]", bgnbd.ConditionalExpected(published, 10, 0, 0, 0)-bgnbd.Expected(published, 10), 0, 1e-12)
}

func TestExpected(t *testing.T) {
	for _, c := range []struct{ t, want float64 }{
		{1, 0.0532}, {3, 0.1506}, {32, 1.0437}, {78, 1.8576},
	} {
		near(t, "E[X("+strconv.FormatFloat(c.t, 'g', -1, 64)+")]", bgnbd.Expected(fitted(t), c.t), c.want, 0.001)
	}
	if got := bgnbd.Expected(published, 0); got != 0 {
		t.Errorf("E[X(0)] = %g, want 0", got)
	}
}

func TestExpectedMatchesProbabilities(t *testing.T) {
	// E[X(t)] = Σ n P(X(t) = n): the closed form agrees with the
	// distribution (equation (8)), and the probabilities sum to one.
	for _, tt := range []float64{1, 10, 39} {
		var mean, total float64
		for n := 0; n < 400; n++ {
			pn := bgnbd.ProbabilityOfPurchases(published, tt, n)
			mean += float64(n) * pn
			total += pn
		}
		near(t, "Σ P(X(t)=n)", total, 1, 1e-6)
		near(t, "Σ n P(X(t)=n)", mean, bgnbd.Expected(published, tt), 1e-4)
	}
}

func TestPAlive(t *testing.T) {
	cases := []struct {
		name      string
		x, tx, T  float64
		want, tol float64
	}{
		{"no repeat purchase is alive", 0, 1, 1, 1, 0},
		{"no repeat purchase, long ago", 0, 0, 1000, 1, 0},
		{"many purchases long ago is dead, no overflow", 1000, 10, 100, 0, 0},
		{"bought at the end of the window", 5, 38, 38, 1 / (1 + 0.793/(2.426+4)), 1e-12},
	}
	for _, c := range cases {
		got := bgnbd.PAlive(published, c.x, c.tx, c.T)
		if math.IsNaN(got) || math.Abs(got-c.want) > c.tol {
			t.Errorf("%s: P(alive | %g, %g, %g) = %g, want %g", c.name, c.x, c.tx, c.T, got, c.want)
		}
	}
	// Always in [0, 1] and never NaN, across extreme inputs.
	for _, x := range []float64{0, 1, 2, 10, 100, 1e4, 1e6} {
		for _, T := range []float64{0, 1, 39, 1e3, 1e6} {
			for _, frac := range []float64{0, 0.5, 1} {
				tx := T * frac
				if x == 0 {
					tx = 0
				}
				got := bgnbd.PAlive(published, x, tx, T)
				if math.IsNaN(got) || got < 0 || got > 1 {
					t.Errorf("P(alive | %g, %g, %g) = %g outside [0, 1]", x, tx, T, got)
				}
				ce := bgnbd.ConditionalExpected(published, 39, x, tx, T)
				if math.IsNaN(ce) || math.IsInf(ce, 0) || ce < 0 {
					t.Errorf("E[Y(39) | %g, %g, %g] = %g, want finite and non-negative", x, tx, T, ce)
				}
			}
		}
	}
	// Recency matters: with the same frequency, a recent buyer is likelier
	// alive than one who stopped buying long ago.
	if recent, old := bgnbd.PAlive(published, 4, 35, 38), bgnbd.PAlive(published, 4, 5, 38); !(recent > old) {
		t.Errorf("P(alive) recent %g should exceed old %g", recent, old)
	}
}

// series is a direct power series for 2F1, the oracle for Hyp2F1.
func series(a, b, c, z float64) float64 {
	sum, term := 1.0, 1.0
	for k := 0; k < 200000; k++ {
		fk := float64(k)
		term *= (a + fk) * (b + fk) / ((c + fk) * (fk + 1)) * z
		sum += term
		if math.Abs(term) < 1e-17*math.Abs(sum) {
			break
		}
	}
	return sum
}

func TestHyp2F1AgainstSeries(t *testing.T) {
	// Arguments the model produces: (a+b−1−r, a−1; a+b+x−1; z).
	for _, x := range []float64{0, 1, 2, 7, 50, 1000} {
		for _, z := range []float64{0.01, 0.3, 0.6, 0.9, 0.97} {
			a, b, c := published.A+published.B-1-published.R, published.A-1, published.A+published.B+x-1
			got, want := bgnbd.Hyp2F1(a, b, c, z), series(a, b, c, z)
			if math.Abs(got-want) > 1e-9*math.Max(1, math.Abs(want)) {
				t.Errorf("2F1(%g, %g; %g; %g) = %.12g, series %.12g", a, b, c, z, got, want)
			}
		}
	}
}

func TestFitEndToEndFromRawTransactions(t *testing.T) {
	txs := loadSample(t)
	if len(txs) != 6919 {
		t.Fatalf("read %d transactions, want 6919", len(txs))
	}
	sums, err := calibration.Summarise(txs, calibration.Options{
		CalibrationEnd: time.Date(1997, 9, 30, 0, 0, 0, 0, time.UTC),
		HoldoutEnd:     time.Date(1998, 6, 30, 0, 0, 0, 0, time.UTC),
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(sums) != 2357 {
		t.Fatalf("%d customers, want 2357", len(sums))
	}
	cs := make([]bgnbd.Customer, len(sums))
	hold := make([]float64, len(sums))
	var sumX float64
	for i, s := range sums {
		cs[i] = bgnbd.Customer{X: s.X, Tx: s.Tx, T: s.T}
		hold[i] = s.HoldoutX
		sumX += s.X
	}
	// README: sum of frequency 2,457 (repeat purchase days to 1997-09-30).
	if sumX != 2457 {
		t.Errorf("Σx = %g, want 2457", sumX)
	}
	// The summaries agree with the published summary file (rounded to 0.01).
	ref := loadSummary(t)
	for i := range ref {
		if cs[i].X != ref[i].X || math.Abs(cs[i].Tx-ref[i].Tx) > 0.006 || math.Abs(cs[i].T-ref[i].T) > 0.006 {
			t.Fatalf("customer %d: summary %+v, published %+v", i+1, cs[i], ref[i])
		}
	}
	p, res, err := bgnbd.Fit(cs, bgnbd.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("end to end: %s loglik=%.3f", p, res.LogLik)
	near(t, "r", p.R, published.R, 0.005)
	near(t, "alpha", p.Alpha, published.Alpha, 0.005)
	near(t, "a", p.A, published.A, 0.005)
	near(t, "b", p.B, published.B, 0.005)
	near(t, "log-likelihood", res.LogLik, -9582.4, 0.5)

	// Holdout check (paper, Figure 3 and text): by week 78 the model
	// predicts about 4,166 cumulative repeat purchases against 4,339 actual.
	h, err := bgnbd.CheckHoldout(p, cs, hold, 39)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("holdout: %s", h)
	if h.CumulativeActual != 4339 {
		t.Errorf("actual cumulative repeat purchases = %g, want 4339", h.CumulativeActual)
	}
	near(t, "cumulative predicted by week 78", h.CumulativePredicted, 4166, 4166*0.03)
	if e := h.CumulativeError(); !(e < 0 && e > -0.08) {
		t.Errorf("cumulative error %.3f, want an under-forecast of a few percent", e)
	}
}

func TestFitRejectsBadInput(t *testing.T) {
	for _, c := range []struct {
		name string
		cs   []bgnbd.Customer
	}{
		{"empty", nil},
		{"negative x", []bgnbd.Customer{{X: -1, Tx: 0, T: 1}}},
		{"recency after T", []bgnbd.Customer{{X: 1, Tx: 5, T: 1}}},
		{"NaN", []bgnbd.Customer{{X: math.NaN(), Tx: 0, T: 1}}},
	} {
		if _, _, err := bgnbd.Fit(c.cs, bgnbd.Options{}); err == nil {
			t.Errorf("%s: Fit accepted bad input", c.name)
		}
	}
	if _, _, err := bgnbd.Fit([]bgnbd.Customer{{1, 1, 2}}, bgnbd.Options{MaxIterations: -1}); err == nil {
		t.Error("negative MaxIterations accepted")
	}
}

func BenchmarkFitCDNOW(b *testing.B) {
	cs := loadSummary(b)
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := bgnbd.Fit(cs, bgnbd.Options{}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkFit100k fits 100,000 customers made of the CDNOW sample
// repeated with jittered ages, so distinct triples grow with n.
func BenchmarkFit100k(b *testing.B) {
	base := loadSummary(b)
	cs := make([]bgnbd.Customer, 0, 100000)
	for i := 0; len(cs) < 100000; i++ {
		c := base[i%len(base)]
		shift := float64(i/len(base)) * 0.01
		cs = append(cs, bgnbd.Customer{X: c.X, Tx: c.Tx, T: c.T + shift})
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := bgnbd.Fit(cs, bgnbd.Options{}); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkConditionalExpected(b *testing.B) {
	for b.Loop() {
		bgnbd.ConditionalExpected(published, 13, 3, 20, 38)
	}
}

func TestScorerMatchesDirect(t *testing.T) {
	s := bgnbd.NewScorer(published)
	for _, c := range []bgnbd.Customer{{0, 0, 38.86}, {2, 30.43, 38.86}, {2, 3, 38.86}, {1000, 10, 100}, {7, 20, 25}} {
		for _, h := range []float64{0, 1, 13, 39} {
			for range 2 { // second call is served from the cache
				got, want := s.ConditionalExpected(h, c.X, c.Tx, c.T), bgnbd.ConditionalExpected(published, h, c.X, c.Tx, c.T)
				if got != want {
					t.Errorf("Scorer.ConditionalExpected(%g, %+v) = %g, direct %g", h, c, got, want)
				}
			}
		}
	}
}

// BenchmarkScore1M scores 1M customers (whole days, ages up to two years)
// for 90-day expected purchases and P(alive) through a Scorer.
func BenchmarkScore1M(b *testing.B) {
	cs := make([]bgnbd.Customer, 1_000_000)
	for i := range cs {
		T := float64(30 + i*7919%700)
		x := float64(i * 31 % 25)
		tx := 0.0
		if x > 0 {
			tx = float64(int(T) * (i % 97) / 97)
		}
		cs[i] = bgnbd.Customer{X: x, Tx: tx, T: T}
	}
	p := bgnbd.Params{R: 0.25, Alpha: 30, A: 0.8, B: 2.4}
	b.ReportAllocs()
	for b.Loop() {
		s := bgnbd.NewScorer(p)
		var sum float64
		for _, c := range cs {
			sum += s.ConditionalExpected(90, c.X, c.Tx, c.T) + s.PAlive(c.X, c.Tx, c.T)
		}
		if math.IsNaN(sum) {
			b.Fatal("NaN")
		}
	}
}

func TestExpectedContinuousAtAEqualsOne(t *testing.T) {
	at := func(a float64) float64 {
		return bgnbd.ConditionalExpected(bgnbd.Params{R: 0.3, Alpha: 5, A: a, B: 2.5}, 20, 3, 15, 30)
	}
	one, below, above := at(1), at(1-1e-3), at(1+1e-3)
	if math.IsNaN(one) || math.IsInf(one, 0) || math.Abs(one-(below+above)/2) > 1e-3 {
		t.Errorf("E at a=1 is %g; neighbours %g and %g", one, below, above)
	}
}
