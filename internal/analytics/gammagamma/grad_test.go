package gammagamma

import (
	"math"
	"testing"
)

func TestGradientMatchesFiniteDifferences(t *testing.T) {
	p := Params{P: 6, Q: 3.5, Gamma: 15}
	for _, c := range []Customer{{1, 11.77}, {2, 22.35}, {10, 80}, {50, 3}} {
		dp, dq, dg := customerGrad(p, c)
		got := []float64{dp, dq, dg}
		for i := range 3 {
			h := 1e-6
			up, dn := p, p
			field := func(q *Params) *float64 { return []*float64{&q.P, &q.Q, &q.Gamma}[i] }
			*field(&up) += h
			*field(&dn) -= h
			want := (customerLogLik(up, c) - customerLogLik(dn, c)) / (2 * h)
			if math.Abs(got[i]-want) > 1e-5*math.Max(1, math.Abs(want)) {
				t.Errorf("customer %+v parameter %d: gradient %g, finite difference %g", c, i, got[i], want)
			}
		}
	}
}
