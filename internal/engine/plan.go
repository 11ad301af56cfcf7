package engine

import (
	"fmt"
	"sort"
	"strings"

	"github.com/segd/segd/internal/index"
	"github.com/segd/segd/internal/segql/ast"
)

// planOrder returns the evaluation order of and/or operands: cheapest first, so that the
// expensive event scans of an "and" only look at the profiles the cheap trait tests kept (and
// are skipped when nothing is left), and those of an "or" only at profiles not yet in.
func planOrder(list []ast.Expr, snap *index.Snapshot) []int {
	order := make([]int, len(list))
	costs := make([]int, len(list))
	for i, x := range list {
		order[i] = i
		costs[i] = cost(x, snap)
	}
	sort.SliceStable(order, func(a, b int) bool { return costs[order[a]] < costs[order[b]] })
	return order
}

// cost estimates the work of evaluating x, in rough units of profiles or rows touched.
func cost(x ast.Expr, snap *index.Snapshot) int {
	switch n := x.(type) {
	case *ast.Paren:
		return cost(n.X, snap)
	case *ast.Not:
		return cost(n.X, snap) + 1
	case *ast.And:
		c := 0
		for _, y := range n.List {
			c += cost(y, snap)
		}
		return c
	case *ast.Or:
		c := 0
		for _, y := range n.List {
			c += cost(y, snap)
		}
		return c
	case *ast.InSegment:
		return 1
	case *ast.Sample:
		// a hash per candidate: dearer than a trait's bitmap algebra, cheaper than a scan
		return 10 + int(snap.Live().GetCardinality()/16)
	case *ast.Exists:
		return 2
	case *ast.In, *ast.Compare, *ast.TextMatch:
		return 10 + traitSize(traitName(x), snap)/64
	case *ast.TimeCond, *ast.Anniversary, *ast.Geo:
		return 10 + traitSize(traitName(x), snap)
	case *ast.Aggregate:
		if rt, ok := n.Target.(*ast.RecordTarget); ok {
			if r := snap.Records(rt.Type); r != nil {
				return 100 + 4*r.Len()
			}
			return 100
		}
		return 100 + eventRows(n.Target.(*ast.EventTarget), snap)
	case *ast.Did:
		return 100 + eventRows(n.Event, snap)
	case *ast.Seen:
		return 100 + eventRows(n.Event, snap)
	case *ast.HasRecord:
		if r := snap.Records(n.Record.Type); r != nil {
			return 100 + 4*r.Len()
		}
		return 100
	case *ast.Sequence:
		c := 200
		for _, s := range n.Steps {
			c += 2 * eventRows(s.Event, snap)
		}
		return c
	}
	return 1 << 30
}

func traitName(x ast.Expr) string {
	switch n := x.(type) {
	case *ast.Compare:
		return n.Name.Name
	case *ast.In:
		return n.Name.Name
	case *ast.Exists:
		return n.Name.Name
	case *ast.TextMatch:
		return n.Name.Name
	case *ast.TimeCond:
		return n.Name.Name
	case *ast.Anniversary:
		return n.Name.Name
	case *ast.Geo:
		return n.Name.Name
	}
	return ""
}

func traitSize(name string, snap *index.Snapshot) int {
	if t := snap.Trait(name); t != nil {
		return int(t.Present.GetCardinality())
	}
	return 0
}

func eventRows(t *ast.EventTarget, snap *index.Snapshot) int {
	n := 0
	for _, tb := range eventTables(t, snap) {
		n += tb.Len()
	}
	return n
}

// describe is the one-line text of a plan step.
func describe(x ast.Expr) string {
	switch n := x.(type) {
	case *ast.And:
		return "and"
	case *ast.Or:
		return "or"
	case *ast.Not:
		return "not"
	case *ast.Paren:
		return describe(n.X)
	case *ast.Compare:
		return fmt.Sprintf("trait %s %s %s", n.Name.Name, n.Op, literal(n.Value))
	case *ast.In:
		parts := make([]string, len(n.List))
		for i, v := range n.List {
			parts[i] = literal(v)
		}
		op := "in"
		if n.Not {
			op = "not in"
		}
		return fmt.Sprintf("trait %s %s [%s]", n.Name.Name, op, strings.Join(parts, ", "))
	case *ast.Exists:
		if n.Missing {
			return fmt.Sprintf("trait %s is missing", n.Name.Name)
		}
		return fmt.Sprintf("trait %s exists", n.Name.Name)
	case *ast.TextMatch:
		return fmt.Sprintf("trait %s %s %q", n.Name.Name, n.Op, n.Value.Value)
	case *ast.TimeCond:
		return fmt.Sprintf("time trait %s", n.Name.Name)
	case *ast.Anniversary:
		return fmt.Sprintf("anniversary of %s", n.Name.Name)
	case *ast.Geo:
		return fmt.Sprintf("%s within %g %s of (%g, %g)", n.Name.Name, n.Distance.Value, n.Unit, n.Lat.Value, n.Lon.Value)
	case *ast.Aggregate:
		of := ""
		if n.Of != nil {
			of = n.Of.Name + " of "
		}
		return fmt.Sprintf("%s(%s%s) %s %g", n.Func, of, target(n.Target), n.Op, n.Value.Float())
	case *ast.Did:
		return "did " + target(n.Event)
	case *ast.Seen:
		if n.Last {
			return "last_seen(" + target(n.Event) + ")"
		}
		return "first_seen(" + target(n.Event) + ")"
	case *ast.Sequence:
		parts := make([]string, len(n.Steps))
		for i, s := range n.Steps {
			parts[i] = target(s.Event)
			if s.Not {
				parts[i] = "not " + parts[i]
			}
		}
		return "sequence(" + strings.Join(parts, " then ") + ")"
	case *ast.HasRecord:
		return "has " + target(n.Record)
	case *ast.InSegment:
		return fmt.Sprintf("in segment %q", n.Segment.Value)
	case *ast.Sample:
		return fmt.Sprintf("sample(%g%%)", n.Percent.Value)
	}
	return fmt.Sprintf("%T", x)
}

func target(t ast.Target) string {
	switch t := t.(type) {
	case *ast.EventTarget:
		switch t.Kind {
		case ast.PageEvent:
			if t.Name != "" {
				return fmt.Sprintf("page %q", t.Name)
			}
			return "page"
		case ast.ScreenEvent:
			if t.Name != "" {
				return fmt.Sprintf("screen %q", t.Name)
			}
			return "screen"
		case ast.AnyEvent:
			return "any event"
		}
		return fmt.Sprintf("%q", t.Name)
	case *ast.RecordTarget:
		return fmt.Sprintf("record %q", t.Type)
	}
	return "?"
}

func literal(v ast.Value) string {
	switch v := v.(type) {
	case *ast.StringLit:
		return fmt.Sprintf("%q", v.Value)
	case *ast.NumberLit:
		return fmt.Sprintf("%g", v.Float())
	case *ast.BoolLit:
		return fmt.Sprint(v.Value)
	case *ast.TimeLit:
		return v.Time.Format("2006-01-02T15:04:05Z07:00")
	case *ast.Ago:
		return fmt.Sprintf("%d %s ago", v.Dur.N, v.Dur.Unit)
	case *ast.Now:
		return "now"
	}
	return "?"
}
