package bgnbd

import "math"

// Scorer scores many customers under one set of parameters, memoising the
// hypergeometric part of ConditionalExpected, which depends on (t, x, T)
// but not on t_x. With times in whole days, a base of millions of customers
// has far fewer distinct (x, T) pairs, so scoring every customer for several
// horizons (90-day purchases, twelve monthly CLV steps) costs a map lookup
// per call instead of a 2F1 evaluation.
//
// A Scorer is not safe for concurrent use; give each goroutine its own.
type Scorer struct {
	p     Params
	cache map[[3]float64]float64
}

// NewScorer returns a Scorer for p.
func NewScorer(p Params) *Scorer {
	return &Scorer{p: p, cache: make(map[[3]float64]float64)}
}

// Params returns the parameters the Scorer uses.
func (s *Scorer) Params() Params { return s.p }

// ConditionalExpected equals the package-level ConditionalExpected(s.Params(), t, x, tx, T).
func (s *Scorer) ConditionalExpected(t, x, tx, T float64) float64 {
	if t <= 0 {
		return 0
	}
	k := [3]float64{t, x, T}
	e, ok := s.cache[k]
	if !ok {
		e = expectedIfAlive(s.p, t, x, T)
		s.cache[k] = e
	}
	return math.Max(0, e*PAlive(s.p, x, tx, T))
}

// PAlive equals the package-level PAlive(s.Params(), x, tx, T).
func (s *Scorer) PAlive(x, tx, T float64) float64 { return PAlive(s.p, x, tx, T) }
