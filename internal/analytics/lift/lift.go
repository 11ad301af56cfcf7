// Package lift owns "why is this segment what it is": for a segment against
// the whole base it measures, for each boolean feature (a trait value, a
// behaviour, a bin of a numeric trait), the share of members that have it
// (support), the share of the base that has it and their ratio (lift), and
// lists the most distinguishing features first.
//
// Pure counting over slices: it must not import the store, the engine or
// anything that does I/O; the caller turns bitmaps and traits into
// Features.
package lift

import (
	"fmt"
	"math"
	"sort"
	"strconv"
)

// Feature is a named yes/no property of each customer, parallel to the
// members slice given to Distinguish.
type Feature struct {
	Name string
	Has  []bool
}

// Finding is one feature's comparison of segment and base.
type Finding struct {
	Feature string
	// Members is how many segment members have the feature.
	Members int
	// Support is Members / segment size.
	Support float64
	// BaseShare is the share of the whole base with the feature.
	BaseShare float64
	// Lift is Support / BaseShare: 2 means members are twice as likely as
	// the average customer to have it.
	Lift float64
}

func (f Finding) String() string {
	return fmt.Sprintf("%s: %.0f%% of members vs %.0f%% of base (lift %.2f)", f.Feature, 100*f.Support, 100*f.BaseShare, f.Lift)
}

// Options tune Distinguish; the zero value is usable.
type Options struct {
	// MinSupport: an over-represented feature is listed only if at least
	// this share of members has it (default 0.05).
	MinSupport float64
	// MinCount: and at least this many members (default 5).
	MinCount int
	// MinLift: over-represented features need lift ≥ MinLift (default 1.2).
	MinLift float64
	// Under also lists under-represented features (lift ≤ 1/MinLift, base
	// share ≥ MinSupport) after the over-represented ones.
	Under bool
	// Limit caps each list (0 = all).
	Limit int
}

func (o *Options) defaults() {
	if o.MinSupport == 0 {
		o.MinSupport = 0.05
	}
	if o.MinCount == 0 {
		o.MinCount = 5
	}
	if o.MinLift == 0 {
		o.MinLift = 1.2
	}
}

// Distinguish compares the members (members[i] true for customer i in the
// segment) with the whole base (every index, members included). It returns
// over-represented features by lift descending (ties: higher support, then
// name), followed, when o.Under, by under-represented ones by lift ascending.
func Distinguish(members []bool, features []Feature, o Options) ([]Finding, error) {
	o.defaults()
	n := len(members)
	size := 0
	for _, m := range members {
		if m {
			size++
		}
	}
	if n == 0 || size == 0 {
		return nil, nil
	}
	var over, under []Finding
	for _, f := range features {
		if len(f.Has) != n {
			return nil, fmt.Errorf("lift: feature %q has %d values for %d customers", f.Name, len(f.Has), n)
		}
		base, in := 0, 0
		for i, h := range f.Has {
			if h {
				base++
				if members[i] {
					in++
				}
			}
		}
		if base == 0 {
			continue
		}
		fd := Finding{Feature: f.Name, Members: in, Support: float64(in) / float64(size), BaseShare: float64(base) / float64(n)}
		fd.Lift = fd.Support / fd.BaseShare
		switch {
		case fd.Lift >= o.MinLift && fd.Support >= o.MinSupport && in >= o.MinCount:
			over = append(over, fd)
		case o.Under && fd.Lift <= 1/o.MinLift && fd.BaseShare >= o.MinSupport:
			under = append(under, fd)
		}
	}
	sort.Slice(over, func(i, j int) bool {
		a, b := over[i], over[j]
		if a.Lift != b.Lift {
			return a.Lift > b.Lift
		}
		if a.Support != b.Support {
			return a.Support > b.Support
		}
		return a.Feature < b.Feature
	})
	sort.Slice(under, func(i, j int) bool {
		a, b := under[i], under[j]
		if a.Lift != b.Lift {
			return a.Lift < b.Lift
		}
		return a.Feature < b.Feature
	})
	if o.Limit > 0 {
		over = over[:min(len(over), o.Limit)]
		under = under[:min(len(under), o.Limit)]
	}
	return append(over, under...), nil
}

// Categorical turns a categorical trait into one feature per value, named
// "name = value". Empty values are skipped.
func Categorical(name string, values []string) []Feature {
	idx := map[string]int{}
	var out []Feature
	for i, v := range values {
		if v == "" {
			continue
		}
		j, ok := idx[v]
		if !ok {
			j = len(out)
			idx[v] = j
			out = append(out, Feature{Name: name + " = " + v, Has: make([]bool, len(values))})
		}
		out[j].Has[i] = true
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// Bins turns a numeric trait into one feature per interval between
// ascending edges: "name < e1", "e1 ≤ name < e2", …, "name ≥ ek". NaN
// values fall in no bin.
func Bins(name string, values []float64, edges []float64) []Feature {
	f := func(v float64) string { return strconv.FormatFloat(v, 'g', 4, 64) }
	out := make([]Feature, len(edges)+1)
	for b := range out {
		switch {
		case len(edges) == 0:
			out[b].Name = name
		case b == 0:
			out[b].Name = name + " < " + f(edges[0])
		case b == len(edges):
			out[b].Name = name + " ≥ " + f(edges[b-1])
		default:
			out[b].Name = f(edges[b-1]) + " ≤ " + name + " < " + f(edges[b])
		}
		out[b].Has = make([]bool, len(values))
	}
	for i, v := range values {
		if math.IsNaN(v) {
			continue
		}
		out[sort.SearchFloat64s(edges, math.Nextafter(v, math.Inf(1)))].Has[i] = true
	}
	return out
}
