// Package rfm owns recency/frequency/monetary scoring: per-customer RFM
// values from orders, quintile scores 1..5 with the binning rules of the
// MIT-licensed `rfm` R package (v0.3.0, rfm_table_order), and named groups
// from a configurable table (first matching row wins, else "Others").
//
// Pure math over slices: it must not import the store, the engine or
// anything that does I/O.
package rfm

import (
	"errors"
	"fmt"
	"math"
	"sort"
	"time"
)

// Order is one purchase: who, when and its revenue.
type Order struct {
	Customer string
	Time     time.Time
	Revenue  float64
}

// Customer holds one customer's RFM values.
type Customer struct {
	ID string
	// RecencyDays is the time from the last order to the analysis date in
	// days (fractional when order times are not midnight).
	RecencyDays float64
	// Frequency is the number of orders.
	Frequency float64
	// Monetary is the total revenue.
	Monetary float64
	// Last is the time of the last order.
	Last time.Time
}

// FromOrders aggregates orders into one Customer per customer id, sorted by
// id: recency from analysisDate to the last order, frequency = number of
// orders, monetary = total revenue (as rfm_table_order does). Orders after
// analysisDate are ignored.
func FromOrders(orders []Order, analysisDate time.Time) []Customer {
	by := make(map[string]*Customer)
	for _, o := range orders {
		if o.Time.After(analysisDate) {
			continue
		}
		c := by[o.Customer]
		if c == nil {
			c = &Customer{ID: o.Customer, Last: o.Time}
			by[o.Customer] = c
		}
		c.Frequency++
		c.Monetary += o.Revenue
		if o.Time.After(c.Last) {
			c.Last = o.Time
		}
	}
	out := make([]Customer, 0, len(by))
	for _, c := range by {
		c.RecencyDays = analysisDate.Sub(c.Last).Hours() / 24
		out = append(out, *c)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// Quantile7 is the type-7 sample quantile (R's and numpy's default) of
// sorted ascending values at probability q in [0, 1]: linear interpolation
// between the order statistics at h = (n−1)q.
func Quantile7(sorted []float64, q float64) float64 {
	n := len(sorted)
	if n == 0 {
		return math.NaN()
	}
	h := float64(n-1) * q
	lo := math.Floor(h)
	i := int(lo)
	if i >= n-1 {
		return sorted[n-1]
	}
	return sorted[i] + (h-lo)*(sorted[i+1]-sorted[i])
}

// Edges returns the inner bin edges for values split into bins bins the way
// the rfm package does: the type-7 quantiles at 1/bins, 2/bins, …,
// (bins−1)/bins plus offset (the package adds 1). A value v falls in bin i
// (1-based) when edge[i−2] ≤ v < edge[i−1], with the first bin open below
// and the last open above; so a value equal to an edge goes to the upper
// bin, and with offset 1 a value equal to the raw quantile stays below it.
func Edges(values []float64, bins int, offset float64) []float64 {
	s := append([]float64(nil), values...)
	sort.Float64s(s)
	edges := make([]float64, bins-1)
	for i := range edges {
		edges[i] = Quantile7(s, float64(i+1)/float64(bins)) + offset
	}
	return edges
}

// Bin returns the 1-based bin of v given inner edges (see Edges).
func Bin(v float64, edges []float64) int {
	// Number of edges ≤ v.
	return sort.Search(len(edges), func(i int) bool { return edges[i] > v }) + 1
}

// Scores are the three 1..Bins scores; higher is better on each axis (R = 5
// is the most recent).
type Scores struct {
	R, F, M int
}

// Segment is a named group: a customer belongs when each score lies within
// its inclusive range.
type Segment struct {
	Name        string
	RLow, RHigh int
	FLow, FHigh int
	MLow, MHigh int
}

// Contains reports whether s falls in every range of g.
func (g Segment) Contains(s Scores) bool {
	return s.R >= g.RLow && s.R <= g.RHigh && s.F >= g.FLow && s.F <= g.FHigh && s.M >= g.MLow && s.M <= g.MHigh
}

// Others is the group of customers no segment row matches.
const Others = "Others"

// DefaultSegments is the table in shared/data/README.md (the rfm package's
// documented example, in its order).
var DefaultSegments = []Segment{
	{"Champions", 4, 5, 4, 5, 4, 5},
	{"Loyal Customers", 2, 5, 3, 5, 3, 5},
	{"Potential Loyalist", 3, 5, 1, 3, 1, 3},
	{"New Customers", 4, 5, 1, 1, 1, 1},
	{"Promising", 3, 4, 1, 1, 1, 1},
	{"Need Attention", 2, 3, 2, 3, 2, 3},
	{"About To Sleep", 2, 3, 1, 2, 1, 2},
	{"At Risk", 1, 2, 2, 5, 2, 5},
	{"Can't Lose Them", 1, 1, 4, 5, 4, 5},
	{"Lost", 1, 2, 1, 2, 1, 2},
}

// Options tune Score; the zero value gives the rfm package's defaults.
type Options struct {
	// Bins per axis (default 5).
	Bins int
	// EdgeOffset is added to each quantile edge (default 1, as the rfm
	// package does; set NoEdgeOffset for plain quantile edges).
	EdgeOffset float64
	// NoEdgeOffset makes EdgeOffset 0.
	NoEdgeOffset bool
	// Segments is the group table, first match wins (default
	// DefaultSegments).
	Segments []Segment
}

// Validate fills defaults and checks the table.
func (o *Options) Validate() error {
	if o.Bins == 0 {
		o.Bins = 5
	}
	if o.Bins < 2 {
		return fmt.Errorf("rfm: bins = %d must be at least 2", o.Bins)
	}
	if o.NoEdgeOffset {
		o.EdgeOffset = 0
	} else if o.EdgeOffset == 0 {
		o.EdgeOffset = 1
	}
	if o.Segments == nil {
		o.Segments = DefaultSegments
	}
	for _, g := range o.Segments {
		if g.Name == "" {
			return errors.New("rfm: a segment has no name")
		}
		if g.RLow > g.RHigh || g.FLow > g.FHigh || g.MLow > g.MHigh {
			return fmt.Errorf("rfm: segment %q has a range whose low end is above its high end", g.Name)
		}
	}
	return nil
}

// Result is the scoring of a set of customers, parallel to the input.
type Result struct {
	Scores   []Scores
	Segments []string
	// Inner bin edges used per axis, in the axis' own units.
	RecencyEdges, FrequencyEdges, MonetaryEdges []float64
}

// Score gives each customer R, F and M scores and a named group. Recency is
// binned on days and reversed (the smallest recency gets Bins); frequency
// and monetary bins count up.
func Score(cs []Customer, o Options) (Result, error) {
	if err := o.Validate(); err != nil {
		return Result{}, err
	}
	if len(cs) == 0 {
		return Result{}, nil
	}
	rv := make([]float64, len(cs))
	fv := make([]float64, len(cs))
	mv := make([]float64, len(cs))
	for i, c := range cs {
		if math.IsNaN(c.RecencyDays) || math.IsNaN(c.Frequency) || math.IsNaN(c.Monetary) {
			return Result{}, fmt.Errorf("rfm: customer %q has a NaN value", c.ID)
		}
		rv[i], fv[i], mv[i] = c.RecencyDays, c.Frequency, c.Monetary
	}
	res := Result{
		Scores:         make([]Scores, len(cs)),
		Segments:       make([]string, len(cs)),
		RecencyEdges:   Edges(rv, o.Bins, o.EdgeOffset),
		FrequencyEdges: Edges(fv, o.Bins, o.EdgeOffset),
		MonetaryEdges:  Edges(mv, o.Bins, o.EdgeOffset),
	}
	for i := range cs {
		s := Scores{
			R: o.Bins + 1 - Bin(rv[i], res.RecencyEdges),
			F: Bin(fv[i], res.FrequencyEdges),
			M: Bin(mv[i], res.MonetaryEdges),
		}
		res.Scores[i] = s
		res.Segments[i] = Classify(s, o.Segments)
	}
	return res, nil
}

// Classify returns the name of the first segment containing s, or Others.
func Classify(s Scores, table []Segment) string {
	for _, g := range table {
		if g.Contains(s) {
			return g.Name
		}
	}
	return Others
}
