package bgnbd

import (
	"errors"
	"fmt"
	"math"

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

func compress(cs []Customer) []weighted {
	idx := make(map[Customer]int, len(cs)/4+1)
	var out []weighted
	for _, c := range cs {
		if i, ok := idx[c]; ok {
			out[i].w++
			continue
		}
		idx[c] = len(out)
		out = append(out, weighted{c: c, w: 1})
	}
	return out
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
		var ll float64
		for _, d := range data {
			ll += d.w * customerLogLik(p, d.c)
		}
		v := (-ll + o.Penalizer*(p.R*p.R+p.Alpha*p.Alpha+p.A*p.A+p.B*p.B)) / n
		if math.IsNaN(v) {
			return math.Inf(1)
		}
		return v
	}
	grad := func(g, theta []float64) {
		p := fromLog(theta)
		var dr, dal, da, db float64
		for _, d := range data {
			gr, gal, ga, gb := customerGrad(p, d.c)
			dr += d.w * gr
			dal += d.w * gal
			da += d.w * ga
			db += d.w * gb
		}
		pen := 2 * o.Penalizer
		// Chain rule for θ = log(param): d/dθ = param · d/dparam.
		g[0] = -(dr - pen*p.R) * p.R / n
		g[1] = -(dal - pen*p.Alpha) * p.Alpha / n
		g[2] = -(da - pen*p.A) * p.A / n
		g[3] = -(db - pen*p.B) * p.B / n
	}
	prob := optimize.Problem{Func: fn, Grad: grad}
	x0 := toLog(o.Initial)
	settings := &optimize.Settings{
		MajorIterations:   o.MaxIterations,
		GradientThreshold: o.GradientTolerance,
		Converger:         &optimize.FunctionConverge{Absolute: 1e-14, Relative: 1e-14, Iterations: 50},
	}
	res, err := optimize.Minimize(prob, x0, settings, &optimize.BFGS{})
	iters := 0
	if res != nil {
		iters = res.Stats.MajorIterations
	}
	if err != nil || res == nil || res.Status != optimize.GradientThreshold {
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

func toLog(p Params) []float64 {
	return []float64{math.Log(p.R), math.Log(p.Alpha), math.Log(p.A), math.Log(p.B)}
}

func fromLog(theta []float64) Params {
	return Params{R: math.Exp(theta[0]), Alpha: math.Exp(theta[1]), A: math.Exp(theta[2]), B: math.Exp(theta[3])}
}

// customerGrad is the gradient of customerLogLik with respect to
// (r, alpha, a, b). With L = log(exp(A3) + exp(A4)) the derivative of L is
// the softmax-weighted mix of the derivatives of A3 and A4.
func customerGrad(p Params, c Customer) (dr, dalpha, da, db float64) {
	r, alpha, a, b := p.R, p.Alpha, p.A, p.B
	x := c.X
	dr = mathext.Digamma(r+x) - mathext.Digamma(r) + math.Log(alpha)
	dalpha = r / alpha
	dab := mathext.Digamma(a+b) - mathext.Digamma(a+b+x)
	da = dab
	db = dab + mathext.Digamma(b+x) - mathext.Digamma(b)

	a3 := -(r + x) * math.Log(alpha+c.T)
	d3r := -math.Log(alpha + c.T)
	d3al := -(r + x) / (alpha + c.T)
	if x == 0 {
		return dr + d3r, dalpha + d3al, da, db
	}
	a4 := math.Log(a) - math.Log(b+x-1) - (r+x)*math.Log(alpha+c.Tx)
	l := logSumExp(a3, a4)
	w3, w4 := math.Exp(a3-l), math.Exp(a4-l)
	dr += w3*d3r + w4*(-math.Log(alpha+c.Tx))
	dalpha += w3*d3al + w4*(-(r+x)/(alpha+c.Tx))
	da += w4 / a
	db += w4 * (-1 / (b + x - 1))
	return dr, dalpha, da, db
}
