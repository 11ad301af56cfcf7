package bgnbd

import (
	"math"
	"testing"
)

// TestGradientMatchesFiniteDifferences checks the analytic gradient used by
// the BFGS search against central differences of the log-likelihood, and
// the grouped log-likelihood against the plain per-customer sum.
func TestGradientMatchesFiniteDifferences(t *testing.T) {
	p := Params{R: 0.3, Alpha: 5, A: 0.8, B: 2.5}
	cs := []Customer{{0, 0, 38.86}, {0, 0, 38.86}, {1, 1.71, 38.86}, {2, 30.43, 38.86}, {2, 3, 20}, {20, 37, 38}, {500, 10, 100}}
	gs := compress(cs)
	var got [4]float64
	ll := evalGroups(p, gs, got[:])
	if want := LogLik(p, cs); math.Abs(ll-want) > 1e-9*math.Abs(want) {
		t.Errorf("grouped log-likelihood %g, plain %g", ll, want)
	}
	for i := range 4 {
		h := 1e-6
		up, dn := p, p
		field := func(q *Params) *float64 { return []*float64{&q.R, &q.Alpha, &q.A, &q.B}[i] }
		*field(&up) += h
		*field(&dn) -= h
		want := (LogLik(up, cs) - LogLik(dn, cs)) / (2 * h)
		if math.Abs(got[i]-want) > 1e-5*math.Max(1, math.Abs(want)) {
			t.Errorf("parameter %d: gradient %g, finite difference %g", i, got[i], want)
		}
	}
}
