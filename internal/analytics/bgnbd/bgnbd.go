// Package bgnbd owns the BG/NBD ("beta-geometric / negative binomial
// distribution") model of repeat buying by Fader, Hardie and Lee (2005,
// "Counting your customers the easy way", Marketing Science 24(2)): its
// maximum-likelihood fit on per-customer (x, t_x, T) summaries and the
// quantities derived from fitted parameters (expected purchases, conditional
// expected purchases, probability of being alive).
//
// It is pure math over plain values: it must not import the store, the
// engine, the index or anything that does I/O. Time units are whatever the
// caller used for t_x and T (weeks in the paper, days in segd's traits); the
// fitted alpha is in the same unit.
//
// Written by hand because no Go library implements BG/NBD; optimisation and
// special functions come from gonum.
package bgnbd

import (
	"errors"
	"fmt"
	"math"

	"gonum.org/v1/gonum/mathext"
)

// Customer is one customer's calibration-period summary: X repeat purchases
// (purchase occasions after the first), the time Tx of the last purchase and
// the length T of the observation window, both measured from the first
// purchase.
type Customer struct {
	X  float64
	Tx float64
	T  float64
}

// Validate reports whether c is a possible summary.
func (c Customer) Validate() error {
	switch {
	case math.IsNaN(c.X) || math.IsNaN(c.Tx) || math.IsNaN(c.T):
		return errors.New("bgnbd: summary has NaN")
	case c.X < 0:
		return fmt.Errorf("bgnbd: frequency x = %g is negative", c.X)
	case c.Tx < 0 || c.T < 0:
		return fmt.Errorf("bgnbd: recency t_x = %g or age T = %g is negative", c.Tx, c.T)
	case c.Tx > c.T:
		return fmt.Errorf("bgnbd: recency t_x = %g is after the end of observation T = %g", c.Tx, c.T)
	case c.X == 0 && c.Tx != 0:
		return fmt.Errorf("bgnbd: t_x = %g must be 0 when x = 0", c.Tx)
	}
	return nil
}

// Params are the four BG/NBD parameters: the purchase rate is
// gamma(R, Alpha) distributed across customers, the dropout probability
// after each purchase is beta(A, B) distributed.
type Params struct {
	R     float64
	Alpha float64
	A     float64
	B     float64
}

// Validate reports whether every parameter is positive and finite.
func (p Params) Validate() error {
	for _, v := range []struct {
		name string
		v    float64
	}{{"r", p.R}, {"alpha", p.Alpha}, {"a", p.A}, {"b", p.B}} {
		if !(v.v > 0) || math.IsInf(v.v, 0) {
			return fmt.Errorf("bgnbd: parameter %s = %g must be positive and finite", v.name, v.v)
		}
	}
	return nil
}

func (p Params) String() string {
	return fmt.Sprintf("r=%.4f alpha=%.4f a=%.4f b=%.4f", p.R, p.Alpha, p.A, p.B)
}

// logSumExp returns log(exp(u) + exp(v)) without overflow.
func logSumExp(u, v float64) float64 {
	if math.IsInf(u, -1) {
		return v
	}
	if math.IsInf(v, -1) {
		return u
	}
	if u < v {
		u, v = v, u
	}
	return u + math.Log1p(math.Exp(v-u))
}

func lgamma(x float64) float64 {
	v, _ := math.Lgamma(x)
	return v
}

// customerLogLik is equation (6) of the paper written as
// A1 + A2 + log(exp(A3) + δ(x>0) exp(A4)), the form in Fader, Hardie and
// Lee's note "Implementing the BG/NBD model for customer base analysis in
// Excel" (2005), with the last term evaluated by log-sum-exp so that large
// x or T cannot overflow.
func customerLogLik(p Params, c Customer) float64 {
	r, alpha, a, b := p.R, p.Alpha, p.A, p.B
	x := c.X
	a1 := lgamma(r+x) - lgamma(r) + r*math.Log(alpha)
	a2 := lgamma(a+b) + lgamma(b+x) - lgamma(b) - lgamma(a+b+x)
	a3 := -(r + x) * math.Log(alpha+c.T)
	if x == 0 {
		return a1 + a2 + a3
	}
	a4 := math.Log(a) - math.Log(b+x-1) - (r+x)*math.Log(alpha+c.Tx)
	return a1 + a2 + logSumExp(a3, a4)
}

// LogLik returns the BG/NBD log-likelihood of the customers under p (the sum
// of the per-customer terms; no constant dropped, so it is comparable with
// the published -9582.4 on CDNOW).
func LogLik(p Params, cs []Customer) float64 {
	var sum float64
	for _, c := range cs {
		sum += customerLogLik(p, c)
	}
	return sum
}

// PAlive is the probability that a customer with history (x, tx, T) is still
// active at T (equation (A.6 ff.) of the paper's technical appendix;
// Fader, Hardie and Lee, "Computing P(alive) using the BG/NBD model", 2008):
//
//	P = 1 / (1 + δ(x>0) · a/(b+x−1) · ((α+T)/(α+t_x))^(r+x))
//
// The odds term is computed in log space, so P is 0 (not NaN) when it
// overflows, 1 when x = 0, and always within [0, 1].
func PAlive(p Params, x, tx, T float64) float64 {
	if x <= 0 {
		return 1
	}
	l := math.Log(p.A) - math.Log(p.B+x-1) + (p.R+x)*(math.Log(p.Alpha+T)-math.Log(p.Alpha+tx))
	return logistic(-l)
}

// logistic returns 1/(1+exp(-v)) without overflow, clamped to [0, 1].
func logistic(v float64) float64 {
	var out float64
	if v >= 0 {
		out = 1 / (1 + math.Exp(-v))
	} else {
		e := math.Exp(v)
		out = e / (1 + e)
	}
	return math.Min(1, math.Max(0, out))
}

// Expected is E[X(t)], the expected number of repeat purchases in (0, t] of a
// customer who made a first purchase at time 0 (equation (7) of the paper):
//
//	E[X(t)] = (a+b−1)/(a−1) · [1 − (α/(α+t))^r · 2F1(r, b; a+b−1; t/(α+t))]
//
// evaluated through Euler's transformation (see ConditionalExpected). At
// a = 1, where the formula is 0/0, the limit is approximated from both sides.
func Expected(p Params, t float64) float64 {
	if t <= 0 {
		return 0
	}
	return ConditionalExpected(p, t, 0, 0, 0)
}

// ConditionalExpected is E[Y(t) | x, t_x, T], the expected number of
// purchases in (T, T+t] of a customer with calibration history (x, t_x, T)
// (equation (10) of the paper):
//
//	E = (a+b+x−1)/(a−1) · [1 − ((α+T)/(α+T+t))^(r+x) · 2F1(r+x, b+x; a+b+x−1; z)]
//	    / (1 + δ(x>0) · a/(b+x−1) · ((α+T)/(α+t_x))^(r+x)),   z = t/(α+T+t).
//
// The product (1−z)^(r+x) · 2F1(r+x, b+x; a+b+x−1; z) is rewritten with
// Euler's transformation 2F1(a,b;c;z) = (1−z)^(c−a−b) 2F1(c−a, c−b; c; z) as
// (1−z)^(a−1) · 2F1(a+b−1−r, a−1; a+b+x−1; z): the large (1−z)^(r+x)
// and the huge 2F1 no longer meet, so x in the thousands stays finite, and
// the new series converges faster as x grows. The denominator is 1/PAlive.
func ConditionalExpected(p Params, t, x, tx, T float64) float64 {
	if t <= 0 {
		return 0
	}
	return math.Max(0, expectedIfAlive(p, t, x, T)*PAlive(p, x, tx, T))
}

// expectedIfAlive is the numerator of ConditionalExpected: the expected
// purchases in (T, T+t] of a customer known to be alive at T. It does not
// depend on t_x.
func expectedIfAlive(p Params, t, x, T float64) float64 {
	if math.Abs(p.A-1) < 1e-7 {
		// The formula is 0/0 at a = 1 but continuous in a: take the mean of
		// the two sides.
		lo, hi := p, p
		lo.A, hi.A = 1-1e-6, 1+1e-6
		return (expectedIfAlive(lo, t, x, T) + expectedIfAlive(hi, t, x, T)) / 2
	}
	r, alpha, a, b := p.R, p.Alpha, p.A, p.B
	z := t / (alpha + T + t)
	oneMinusZ := (alpha + T) / (alpha + T + t)
	f := Hyp2F1(a+b-1-r, a-1, a+b+x-1, z)
	bracket := 1 - math.Pow(oneMinusZ, a-1)*f
	return (a + b + x - 1) / (a - 1) * bracket
}

// Hyp2F1 is the Gauss hypergeometric function 2F1(a, b; c; z) for real
// arguments and z < 1. It is gonum's mathext.Hypergeo (Cephes) with a
// guard for z = 0 and for c a non-positive integer, which the model never
// produces.
func Hyp2F1(a, b, c, z float64) float64 {
	if z == 0 {
		return 1
	}
	return mathext.Hypergeo(a, b, c, z)
}

// ProbabilityOfPurchases is P(X(t) = n), the probability that a new customer
// makes exactly n repeat purchases in (0, t] (equation (8) of the paper).
// Evaluated in log space; intended for small n (model checks, histograms).
func ProbabilityOfPurchases(p Params, t float64, n int) float64 {
	r, alpha, a, b := p.R, p.Alpha, p.A, p.B
	x := float64(n)
	// First term: B(a, b+x)/B(a, b) · Γ(r+x)/(Γ(r) x!) · (α/(α+t))^r (t/(α+t))^x
	lbeta := func(u, v float64) float64 { return lgamma(u) + lgamma(v) - lgamma(u+v) }
	lt := math.Log(t) - math.Log(alpha+t)
	if t == 0 {
		lt = math.Inf(-1)
	}
	first := lbeta(a, b+x) - lbeta(a, b) + lgamma(r+x) - lgamma(r) - lgamma(x+1) +
		r*(math.Log(alpha)-math.Log(alpha+t))
	if n > 0 {
		first += x * lt
	}
	out := math.Exp(first)
	if n == 0 {
		return math.Min(1, out)
	}
	// Second term: δ(x>0) · B(a+1, b+x−1)/B(a, b) · [1 − (α/(α+t))^r Σ_{j<x} Γ(r+j)/(Γ(r) j!) (t/(α+t))^j]
	var sum float64
	for j := 0; j < n; j++ {
		fj := float64(j)
		term := lgamma(r+fj) - lgamma(r) - lgamma(fj+1) + r*(math.Log(alpha)-math.Log(alpha+t))
		if j > 0 {
			term += fj * lt
		}
		sum += math.Exp(term)
	}
	out += math.Exp(lbeta(a+1, b+x-1)-lbeta(a, b)) * (1 - sum)
	return math.Min(1, math.Max(0, out))
}
