package bgnbd

import (
	"errors"
	"fmt"
	"math"
	"sort"

	"gonum.org/v1/gonum/mathext"
	"gonum.org/v1/gonum/optimize"
)

// ErrNoData is returned by Fit when there is no customer to fit on.
var ErrNoData = errors.New("bgnbd: no customers to fit")

// Options tune Fit. The zero value is usable: Validate fills defaults.
type Options struct {
	// Initial is the starting point of the search; zero means r = alpha =
	// a = b = 1 (as the lifetimes library starts).
	Initial Params
	// MaxIterations bounds the optimiser's major iterations (default 1000).
	MaxIterations int
	// GradientTolerance stops the search once the largest partial derivative
	// of the mean log-likelihood in log-parameter space is below it
	// (default 1e-9).
	GradientTolerance float64
	// Penalizer adds Penalizer·(r²+α²+a²+b²) to the negative
	// log-likelihood, as lifetimes' penalizer_coef does, to keep small or
	// degenerate samples away from infinite parameters. Default 0 (plain
	// maximum likelihood, as in the paper).
	Penalizer float64
}

// Validate fills defaults and rejects impossible settings.
func (o *Options) Validate() error {
	if o.Initial == (Params{}) {
		o.Initial = Params{R: 1, Alpha: 1, A: 1, B: 1}
	}
	if err := o.Initial.Validate(); err != nil {
		return fmt.Errorf("bgnbd: initial parameters: %w", err)
	}
	if o.MaxIterations == 0 {
		o.MaxIterations = 1000
	}
	if o.MaxIterations < 0 {
		return fmt.Errorf("bgnbd: MaxIterations = %d must be positive", o.MaxIterations)
	}
	if o.GradientTolerance == 0 {
		o.GradientTolerance = 1e-9
	}
	if o.GradientTolerance < 0 || o.Penalizer < 0 {
		return errors.New("bgnbd: GradientTolerance and Penalizer must not be negative")
	}
	return nil
}

// Result reports a fit: the maximised log-likelihood (without the
// penalty), how many customers were used and how many optimiser iterations
// it took.
type Result struct {
	LogLik     float64
	N          int
	Iterations int
	// Evaluations counts log-likelihood evaluations.
	Evaluations int
}

// weighted is a distinct (x, t_x, T) summary with its multiplicity. Real
// bases repeat summaries a lot (every one-time buyer of the same day is the
// same triple), so the likelihood is evaluated once per distinct triple.
type weighted struct {
	c Customer
	w float64
}

// group holds the distinct summaries sharing one x: the A1 + A2 part of the
// log-likelihood and its gradient (the lgamma and digamma calls) depend on x
// alone, so they are computed once per group.
type group struct {
	x       float64
	w       float64
	members []weighted
}

func compress(cs []Customer) []group {
	idx := make(map[Customer]int, len(cs)/4+1)
	var distinct []weighted
	for _, c := range cs {
		if i, ok := idx[c]; ok {
			distinct[i].w++
			continue
		}
		idx[c] = len(distinct)
		distinct = append(distinct, weighted{c: c, w: 1})
	}
	sort.Slice(distinct, func(i, j int) bool { return distinct[i].c.X < distinct[j].c.X })
	var gs []group
	for _, d := range distinct {
		if len(gs) == 0 || gs[len(gs)-1].x != d.c.X {
			gs = append(gs, group{x: d.c.X})
		}
		g := &gs[len(gs)-1]
		g.w += d.w
		g.members = append(g.members, d)
	}
	return gs
}

// evalGroups returns the log-likelihood and, if grad is non-nil, stores its
// gradient with respect to (r, alpha, a, b) in grad.
func evalGroups(p Params, gs []group, grad []float64) float64 {
	r, alpha, a, b := p.R, p.Alpha, p.A, p.B
	la, lalpha := math.Log(a), math.Log(alpha)
	lgr, lgab, lgb := lgamma(r), lgamma(a+b), lgamma(b)
	var dgr, dgab, dgb float64
	if grad != nil {
		clear(grad)
		dgr, dgab, dgb = mathext.Digamma(r), mathext.Digamma(a+b), mathext.Digamma(b)
	}
	var ll float64
	for _, g := range gs {
		x := g.x
		a12 := lgamma(r+x) - lgr + r*lalpha + lgab + lgamma(b+x) - lgb - lgamma(a+b+x)
		ll += g.w * a12
		if grad != nil {
			dabx := mathext.Digamma(a + b + x)
			grad[0] += g.w * (mathext.Digamma(r+x) - dgr + lalpha)
			grad[1] += g.w * r / alpha
			grad[2] += g.w * (dgab - dabx)
			grad[3] += g.w * (dgab + mathext.Digamma(b+x) - dgb - dabx)
		}
		if x == 0 {
			for _, m := range g.members {
				lT := math.Log(alpha + m.c.T)
				ll += m.w * -(r + x) * lT
				if grad != nil {
					grad[0] -= m.w * lT
					grad[1] -= m.w * (r + x) / (alpha + m.c.T)
				}
			}
			continue
		}
		lb := math.Log(b + x - 1)
		for _, m := range g.members {
			lT, lTx := math.Log(alpha+m.c.T), math.Log(alpha+m.c.Tx)
			a3 := -(r + x) * lT
			a4 := la - lb - (r+x)*lTx
			l := logSumExp(a3, a4)
			ll += m.w * l
			if grad != nil {
				w3, w4 := m.w*math.Exp(a3-l), m.w*math.Exp(a4-l)
				grad[0] -= w3*lT + w4*lTx
				grad[1] -= w3*(r+x)/(alpha+m.c.T) + w4*(r+x)/(alpha+m.c.Tx)
				grad[2] += w4 / a
				grad[3] -= w4 / (b + x - 1)
			}
		}
	}
	return ll
}

// Fit estimates the BG/NBD parameters by maximum likelihood. The search runs
// over the logarithms of the parameters (so they stay positive) with BFGS
// and the analytic gradient; if BFGS stops without converging, Nelder-Mead
// continues from where it stopped.
func Fit(cs []Customer, o Options) (Params, Result, error) {
	if err := o.Validate(); err != nil {
		return Params{}, Result{}, err
	}
	if len(cs) == 0 {
		return Params{}, Result{}, ErrNoData
	}
	for i, c := range cs {
		if err := c.Validate(); err != nil {
			return Params{}, Result{}, fmt.Errorf("customer %d: %w", i, err)
		}
	}
	data := compress(cs)
	n := float64(len(cs))
	evals := 0
	// The objective is the mean negative log-likelihood, so tolerances do
	// not depend on the number of customers.
	fn := func(theta []float64) float64 {
		evals++
		p := fromLog(theta)
		if p.Validate() != nil {
			return math.Inf(1)
		}
		ll := evalGroups(p, data, nil)
		v := (-ll + o.Penalizer*(p.R*p.R+p.Alpha*p.Alpha+p.A*p.A+p.B*p.B)) / n
		if math.IsNaN(v) {
			return math.Inf(1)
		}
		return v
	}
	var d [4]float64
	grad := func(g, theta []float64) {
		p := fromLog(theta)
		evalGroups(p, data, d[:])
		pen := 2 * o.Penalizer
		// Chain rule for θ = log(param): d/dθ = param · d/dparam.
		g[0] = -(d[0] - pen*p.R) * p.R / n
		g[1] = -(d[1] - pen*p.Alpha) * p.Alpha / n
		g[2] = -(d[2] - pen*p.A) * p.A / n
		g[3] = -(d[3] - pen*p.B) * p.B / n
	}
	prob := optimize.Problem{Func: fn, Grad: grad}
	x0 := toLog(o.Initial)
	settings := &optimize.Settings{
		MajorIterations:   o.MaxIterations,
		GradientThreshold: o.GradientTolerance,
		Converger:         &optimize.FunctionConverge{Absolute: 1e-14, Relative: 1e-14, Iterations: 50},
	}
	// BFGS's error is not the verdict: its status and the gradient at the
	// point it stopped are.
	res, _ := optimize.Minimize(prob, x0, settings, &optimize.BFGS{})
	iters := 0
	if res != nil {
		iters = res.Stats.MajorIterations
	}
	if res == nil || !(converged(res.Status) || flat(grad, res.X)) {
		start := x0
		if res != nil && !math.IsInf(res.F, 0) && !math.IsNaN(res.F) {
			start = res.X
		}
		nm, nmErr := optimize.Minimize(optimize.Problem{Func: fn}, start, &optimize.Settings{
			MajorIterations: o.MaxIterations * 10,
			Converger:       &optimize.FunctionConverge{Absolute: 1e-13, Iterations: 200},
		}, &optimize.NelderMead{})
		if nmErr != nil && nm == nil {
			return Params{}, Result{}, fmt.Errorf("bgnbd: maximise likelihood: %w", nmErr)
		}
		if res == nil || nm.F <= res.F {
			res = nm
		}
		iters += nm.Stats.MajorIterations
	}
	p := fromLog(res.X)
	if err := p.Validate(); err != nil {
		return Params{}, Result{}, fmt.Errorf("bgnbd: fit diverged (add a penalizer or more data): %w", err)
	}
	return p, Result{LogLik: LogLik(p, cs), N: len(cs), Iterations: iters, Evaluations: evals}, nil
}

// converged reports whether BFGS stopped at an optimum rather than giving
// up: a vanishing gradient, or a function value that stopped changing.
func converged(s optimize.Status) bool {
	return s == optimize.GradientThreshold || s == optimize.FunctionConvergence
}

// flat reports whether the gradient at theta is negligible. BFGS's line
// search can fail at the optimum when the objective no longer changes in
// floating point; that is success, not a reason to search on.
func flat(grad func(g, theta []float64), theta []float64) bool {
	g := make([]float64, len(theta))
	grad(g, theta)
	for _, v := range g {
		if !(math.Abs(v) < 1e-6) {
			return false
		}
	}
	return true
}

func toLog(p Params) []float64 {
	return []float64{math.Log(p.R), math.Log(p.Alpha), math.Log(p.A), math.Log(p.B)}
}

func fromLog(theta []float64) Params {
	return Params{R: math.Exp(theta[0]), Alpha: math.Exp(theta[1]), A: math.Exp(theta[2]), B: math.Exp(theta[3])}
}
