// Package gammagamma owns the Gamma-Gamma model of spend per transaction
// (Fader, Hardie & Lee 2005, "RFM and CLV: using iso-value curves for
// customer base analysis", JMR 42(4); Fader & Hardie 2013, "The Gamma-Gamma
// model of monetary value"): its maximum-likelihood fit on repeat customers'
// (x, zbar), the conditional expected spend of a customer, and customer
// lifetime value combining it with a BG/NBD purchase forecast.
//
// Pure math: it may import the bgnbd model package and gonum, never the
// store, the engine or anything that does I/O.
package gammagamma

import (
	"errors"
	"fmt"
	"math"

	"gonum.org/v1/gonum/mathext"
	"gonum.org/v1/gonum/optimize"
)

// ErrNoData is returned by Fit when no customer has a repeat purchase.
var ErrNoData = errors.New("gammagamma: no repeat customers to fit")

// Customer is a customer's repeat-purchase history: X repeat transactions
// of mean value Zbar. Only customers with X > 0 inform the fit.
type Customer struct {
	X    float64
	Zbar float64
}

// Params of the model: a transaction's value is gamma(P, ν) with the
// customer's ν gamma(Q, Gamma) distributed across customers.
type Params struct {
	P     float64
	Q     float64
	Gamma float64
}

// Validate reports whether every parameter is positive and finite.
func (p Params) Validate() error {
	for _, v := range []struct {
		name string
		v    float64
	}{{"p", p.P}, {"q", p.Q}, {"gamma", p.Gamma}} {
		if !(v.v > 0) || math.IsInf(v.v, 0) {
			return fmt.Errorf("gammagamma: parameter %s = %g must be positive and finite", v.name, v.v)
		}
	}
	return nil
}

func (p Params) String() string {
	return fmt.Sprintf("p=%.4f q=%.4f gamma=%.4f", p.P, p.Q, p.Gamma)
}

// PopulationMean is E[Z] = pγ/(q−1), the mean spend per transaction across
// the base (infinite when q ≤ 1).
func (p Params) PopulationMean() float64 {
	if p.Q <= 1 {
		return math.Inf(1)
	}
	return p.P * p.Gamma / (p.Q - 1)
}

func lgamma(x float64) float64 {
	v, _ := math.Lgamma(x)
	return v
}

// customerLogLik is the log density of zbar given x (Fader & Hardie 2013,
// equation (4)):
//
//	ln Γ(px+q) − ln Γ(px) − ln Γ(q) + q ln γ + (px−1) ln zbar + px ln x − (px+q) ln(γ + x·zbar)
func customerLogLik(p Params, c Customer) float64 {
	px := p.P * c.X
	return lgamma(px+p.Q) - lgamma(px) - lgamma(p.Q) + p.Q*math.Log(p.Gamma) +
		(px-1)*math.Log(c.Zbar) + px*math.Log(c.X) - (px+p.Q)*math.Log(p.Gamma+c.X*c.Zbar)
}

// LogLik sums the log-likelihood over customers with X > 0 and Zbar > 0.
func LogLik(p Params, cs []Customer) float64 {
	var sum float64
	for _, c := range cs {
		if c.X > 0 && c.Zbar > 0 {
			sum += customerLogLik(p, c)
		}
	}
	return sum
}

// Options tune Fit; the zero value is usable.
type Options struct {
	// Initial starting point; zero means p = q = γ = 1.
	Initial Params
	// MaxIterations bounds the optimiser (default 1000).
	MaxIterations int
	// Penalizer adds Penalizer·(p²+q²+γ²) to the negative log-likelihood
	// (lifetimes' penalizer_coef); default 0.
	Penalizer float64
}

// Validate fills defaults and rejects impossible settings.
func (o *Options) Validate() error {
	if o.Initial == (Params{}) {
		o.Initial = Params{P: 1, Q: 1, Gamma: 1}
	}
	if err := o.Initial.Validate(); err != nil {
		return fmt.Errorf("gammagamma: initial parameters: %w", err)
	}
	if o.MaxIterations == 0 {
		o.MaxIterations = 1000
	}
	if o.MaxIterations < 0 || o.Penalizer < 0 {
		return errors.New("gammagamma: MaxIterations must be positive and Penalizer not negative")
	}
	return nil
}

// Result reports a fit.
type Result struct {
	LogLik     float64
	N          int
	Iterations int
}

// Fit estimates the parameters by maximum likelihood over the customers with
// X > 0 and Zbar > 0 (others are skipped; Result.N counts the used ones),
// searching the logarithms of the parameters with BFGS and the analytic
// gradient, then Nelder-Mead if BFGS did not converge.
func Fit(cs []Customer, o Options) (Params, Result, error) {
	if err := o.Validate(); err != nil {
		return Params{}, Result{}, err
	}
	var data []Customer
	for i, c := range cs {
		if math.IsNaN(c.X) || math.IsNaN(c.Zbar) || c.X < 0 || c.Zbar < 0 {
			return Params{}, Result{}, fmt.Errorf("gammagamma: customer %d: x = %g, zbar = %g must be non-negative numbers", i, c.X, c.Zbar)
		}
		if c.X > 0 && c.Zbar > 0 {
			data = append(data, c)
		}
	}
	if len(data) == 0 {
		return Params{}, Result{}, ErrNoData
	}
	n := float64(len(data))
	fn := func(theta []float64) float64 {
		p := Params{P: math.Exp(theta[0]), Q: math.Exp(theta[1]), Gamma: math.Exp(theta[2])}
		if p.Validate() != nil {
			return math.Inf(1)
		}
		v := (-LogLik(p, data) + o.Penalizer*(p.P*p.P+p.Q*p.Q+p.Gamma*p.Gamma)) / n
		if math.IsNaN(v) {
			return math.Inf(1)
		}
		return v
	}
	grad := func(g, theta []float64) {
		p := Params{P: math.Exp(theta[0]), Q: math.Exp(theta[1]), Gamma: math.Exp(theta[2])}
		var dp, dq, dg float64
		for _, c := range data {
			a, b, d := customerGrad(p, c)
			dp += a
			dq += b
			dg += d
		}
		pen := 2 * o.Penalizer
		g[0] = -(dp - pen*p.P) * p.P / n
		g[1] = -(dq - pen*p.Q) * p.Q / n
		g[2] = -(dg - pen*p.Gamma) * p.Gamma / n
	}
	x0 := []float64{math.Log(o.Initial.P), math.Log(o.Initial.Q), math.Log(o.Initial.Gamma)}
	// BFGS's error is not the verdict: its status and the gradient at the
	// point it stopped are (its line search can fail at the optimum once
	// the objective stops changing in floating point).
	res, _ := optimize.Minimize(optimize.Problem{Func: fn, Grad: grad}, x0, &optimize.Settings{
		MajorIterations:   o.MaxIterations,
		GradientThreshold: 1e-10,
		Converger:         &optimize.FunctionConverge{Absolute: 1e-14, Relative: 1e-14, Iterations: 50},
	}, &optimize.BFGS{})
	iters := 0
	if res != nil {
		iters = res.Stats.MajorIterations
	}
	if res == nil || !(res.Status == optimize.GradientThreshold || res.Status == optimize.FunctionConvergence || flat(grad, res.X)) {
		start := x0
		if res != nil && !math.IsInf(res.F, 0) && !math.IsNaN(res.F) {
			start = res.X
		}
		nm, nmErr := optimize.Minimize(optimize.Problem{Func: fn}, start, &optimize.Settings{
			MajorIterations: o.MaxIterations * 10,
			Converger:       &optimize.FunctionConverge{Absolute: 1e-13, Iterations: 200},
		}, &optimize.NelderMead{})
		if nmErr != nil && nm == nil {
			return Params{}, Result{}, fmt.Errorf("gammagamma: maximise likelihood: %w", nmErr)
		}
		if res == nil || nm.F <= res.F {
			res = nm
		}
		iters += nm.Stats.MajorIterations
	}
	p := Params{P: math.Exp(res.X[0]), Q: math.Exp(res.X[1]), Gamma: math.Exp(res.X[2])}
	if err := p.Validate(); err != nil {
		return Params{}, Result{}, fmt.Errorf("gammagamma: fit diverged (add a penalizer or more data): %w", err)
	}
	return p, Result{LogLik: LogLik(p, data), N: len(data), Iterations: iters}, nil
}

// flat reports whether the gradient at theta is negligible.
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

// customerGrad is the gradient of customerLogLik with respect to (p, q, γ).
func customerGrad(p Params, c Customer) (dp, dq, dg float64) {
	x, z := c.X, c.Zbar
	px := p.P * x
	lg := math.Log(p.Gamma + x*z)
	dp = x * (mathext.Digamma(px+p.Q) - mathext.Digamma(px) + math.Log(z) + math.Log(x) - lg)
	dq = mathext.Digamma(px+p.Q) - mathext.Digamma(p.Q) + math.Log(p.Gamma) - lg
	dg = p.Q/p.Gamma - (px+p.Q)/(p.Gamma+x*z)
	return dp, dq, dg
}

// ConditionalExpectedSpend is E[Z | x, zbar], the expected value of a
// customer's future transactions (Fader, Hardie & Lee 2005b, equation (5)):
//
//	E = (q−1)/(px+q−1) · pγ/(q−1) + px/(px+q−1) · zbar = p(γ + x·zbar) / (px+q−1)
//
// a weighted mean of the population mean and the customer's own mean. With
// x = 0 it is the population mean pγ/(q−1).
func ConditionalExpectedSpend(p Params, x, zbar float64) float64 {
	if x <= 0 {
		return p.PopulationMean()
	}
	return p.P * (p.Gamma + x*zbar) / (p.P*x + p.Q - 1)
}
