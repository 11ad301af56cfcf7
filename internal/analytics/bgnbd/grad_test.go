package bgnbd

import (
	"math"
	"testing"
)

// TestGradientMatchesFiniteDifferences checks the analytic gradient used by
// the BFGS search against central differences of the log-likelihood.
func TestGradientMatchesFiniteDifferences(t *testing.T) {
	p := Params{R: 0.3, Alpha: 5, A: 0.8, B: 2.5}
	for _, c := range []Customer{{0, 0, 38.86}, {1, 1.71, 38.86}, {2, 30.43, 38.86}, {20, 37, 38}, {500, 10, 100}} {
		gr, gal, ga, gb := customerGrad(p, c)
		got := []float64{gr, gal, ga, gb}
		for i := range 4 {
			h := 1e-6
			up, dn := p, p
			field := func(q *Params) *float64 { return []*float64{&q.R, &q.Alpha, &q.A, &q.B}[i] }
			*field(&up) += h
			*field(&dn) -= h
			want := (customerLogLik(up, c) - customerLogLik(dn, c)) / (2 * h)
			if math.Abs(got[i]-want) > 1e-5*math.Max(1, math.Abs(want)) {
				t.Errorf("customer %+v parameter %d: gradient %g, finite difference %g", c, i, got[i], want)
			}
		}
	}
}
