package reference

import (
	"slices"
	"time"

	"github.com/segd/segd/internal/segql/ast"
)

// Conditions exposes the reference's semantics of the parts that do not depend on a profile
// (conditions on one bag of values, windows, time values, calendar periods) at one
// evaluation time, for evaluators that must agree with the reference exactly: the live
// path's per-profile evaluator uses it and keeps only the traversal of events its own.
type Conditions struct{ r *run }

// NewConditions returns the conditions at o.At in o.Location (UTC when nil).
func NewConditions(o Options) Conditions {
	if o.Location == nil {
		o.Location = time.UTC
	}
	return Conditions{r: &run{o: o, at: o.At.In(o.Location)}}
}

// Reuse returns conditions for o as NewConditions does, reusing c's allocation when c has one
// (c must not be used afterwards).
func (c Conditions) Reuse(o Options) Conditions {
	if c.r == nil {
		return NewConditions(o)
	}
	if o.Location == nil {
		o.Location = time.UTC
	}
	*c.r = run{o: o, at: o.At.In(o.Location)}
	return c
}

// At is the evaluation time in the location.
func (c Conditions) At() time.Time { return c.r.at }

// Test applies a condition on names (a trait condition, an event's where, a record's where)
// to a bag of values.
func (c Conditions) Test(x ast.Expr, bag map[string]any) (bool, error) { return c.r.test(x, bag) }

// Within reports whether t satisfies a window or time predicate (w may be nil); events
// (event=true) must also have happened by the evaluation time.
func (c Conditions) Within(t time.Time, w ast.Node, event bool) (bool, error) {
	return c.r.within(t, w, event)
}

// TimeValue resolves a time literal, "N ago" or "now".
func (c Conditions) TimeValue(v ast.TimeValue) (time.Time, error) { return c.r.timeValue(v) }

// PeriodStart is the start of the evaluation time's day, week, month or year.
func (c Conditions) PeriodStart(p ast.Period) time.Time { return c.r.periodStart(p) }

// Aggregate applies fn to raw values (ignored for count, which uses n) and compares.
func Aggregate(fn ast.AggFunc, raw []any, n int, op ast.CompareOp, want float64) bool {
	switch fn {
	case ast.Count:
		return aggregate(fn, nil, n, op, want)
	case ast.Sum, ast.Avg, ast.Min, ast.Max:
		// folded as classified: no slice of values (the live path calls this per evaluation)
		var f numberFold
		for _, v := range raw {
			if x, ok := v.(float64); ok {
				f.addNumber(fn, x) // what classify makes of it, without its large result
				continue
			}
			f.add(fn, classify(v))
		}
		return f.compare(fn, op, want)
	}
	if fn == ast.Distinct {
		return compare(op, value{k: number, f: float64(distinctCount(raw))}, value{k: number, f: want})
	}
	vals := make([]value, len(raw))
	for i, v := range raw {
		vals[i] = classify(v)
	}
	return aggregate(fn, vals, n, op, want)
}

// distinctKey identifies a classified value as same does: equal keys exactly when same
// holds (times by instant, numbers by ==, so NaN never equals a key and 0 equals -0).
type distinctKey struct {
	k    kind
	s    string
	f    float64
	sec  int64
	nsec int
	b    bool
}

// distinctCount is aggregate's distinct count (the values same tells apart, lists, objects,
// geo pairs and absent values left out) in one pass over a set instead of comparing every
// pair (the live path calls it per evaluation, over every value in a window).
func distinctCount(raw []any) int {
	var few [16]distinctKey // the distinct values while there are few: no set to allocate
	uniq := few[:0]
	var seen map[distinctKey]struct{}
	n := 0
	for _, r := range raw {
		v := classify(r)
		key := distinctKey{k: v.k}
		switch v.k {
		case text:
			key.s = v.s
		case number:
			key.f = v.f
		case timeK:
			key.sec, key.nsec = v.t.Unix(), v.t.Nanosecond()
		case boolean:
			key.b = v.b
		default:
			continue
		}
		if seen != nil {
			if _, dup := seen[key]; !dup {
				seen[key] = struct{}{}
				n++
			}
			continue
		}
		if slices.Contains(uniq, key) {
			continue
		}
		n++
		if len(uniq) < len(few) {
			uniq = append(uniq, key)
			continue
		}
		seen = make(map[distinctKey]struct{}, 2*len(few))
		for _, u := range uniq {
			seen[u] = struct{}{}
		}
		seen[key] = struct{}{}
	}
	return n
}

// IsText reports whether v is the text s (not a time, number or other kind).
func IsText(v any, s string) bool {
	x := classify(v)
	return x.k == text && x.s == s
}

// Text returns v as text when it is one (a string that is not a time), as text conditions
// see it.
func Text(v any) (string, bool) {
	x := classify(v)
	return x.s, x.k == text
}

// InSample is "sample(pct%)" for profile p of segment.
func InSample(segment string, p uint32, pct float64) bool { return inSample(segment, p, pct) }

// MayBeTime is false for strings that neither time layout of the language can parse, which
// are therefore text.
func MayBeTime(s string) bool { return mayBeTime(s) }
