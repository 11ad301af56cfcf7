package profeval

import (
	"math"
	"regexp"
	"strings"

	"github.com/segd/segd/internal/engine/reference"
	"github.com/segd/segd/internal/segql/ast"
)

// Tree is a query prepared for repeated evaluation: its property filters ("where" clauses)
// compiled to plain comparisons where the reference's rules reduce to them (a text, number
// or boolean literal compared with =, !=, in, a property that exists or is missing, a text
// operator).
// Other filters are tested with the reference's Conditions.
type Tree struct {
	X       ast.Expr
	filters map[ast.Expr]filter
}

type filter func(bag Bag) bool

// Compile prepares x.
func Compile(x ast.Expr) *Tree {
	t := &Tree{X: x, filters: map[ast.Expr]filter{}}
	ast.Inspect(x, func(n ast.Node) bool {
		var where ast.Expr
		switch v := n.(type) {
		case *ast.Aggregate:
			where = v.Where
		case *ast.Did:
			where = v.Where
		case *ast.Seen:
			where = v.Where
		case *ast.SeqStep:
			where = v.Where
		case *ast.HasRecord:
			where = v.Where
		}
		switch n.(type) {
		case *ast.Compare, *ast.In, *ast.Exists:
			where = n.(ast.Expr) // a trait condition (or part of a filter): compiled on its own too
		}
		if where != nil {
			if f, ok := compileFilter(where); ok {
				t.filters[where] = f
			}
		}
		return true
	})
	return t
}

// compileFilter returns a filter equal to reference.Conditions.Test(x, bag) for the forms it
// knows, and false otherwise. The reference's rules it restates: a missing or null value
// satisfies nothing but "missing"; a string is text unless it parses as a time (then it is
// never equal to a text literal); numbers are float64 or int; != holds for any present
// value that is not equal.
func compileFilter(x ast.Expr) (filter, bool) {
	switch n := x.(type) {
	case *ast.Paren:
		return compileFilter(n.X)
	case *ast.Not:
		f, ok := compileFilter(n.X)
		return func(b Bag) bool { return !f(b) }, ok
	case *ast.And:
		fs, ok := compileList(n.List)
		return func(b Bag) bool {
			for _, f := range fs {
				if !f(b) {
					return false
				}
			}
			return true
		}, ok
	case *ast.Or:
		fs, ok := compileList(n.List)
		return func(b Bag) bool {
			for _, f := range fs {
				if f(b) {
					return true
				}
			}
			return false
		}, ok
	case *ast.TextMatch:
		return textMatch(n)
	case *ast.Exists:
		name, missing := n.Name.Name, n.Missing
		return func(b Bag) bool { return (b.Get(name) == nil) == missing }, true
	case *ast.Compare:
		if lit, ok := n.Value.(*ast.NumberLit); ok && n.Op != ast.Eq && n.Op != ast.Neq {
			return order(n.Name.Name, n.Op, lit.Float())
		}
		eq, ok := equality(n.Value)
		if !ok || (n.Op != ast.Eq && n.Op != ast.Neq) {
			return nil, false
		}
		name := n.Name.Name
		if n.Op == ast.Eq {
			return func(b Bag) bool { return eq(b.Get(name)) }, true
		}
		return func(b Bag) bool { v := b.Get(name); return v != nil && !eq(v) }, true
	case *ast.In:
		eqs := make([]func(any) bool, 0, len(n.List))
		for _, l := range n.List {
			eq, ok := equality(l)
			if !ok {
				return nil, false
			}
			eqs = append(eqs, eq)
		}
		name, not := n.Name.Name, n.Not
		return func(b Bag) bool {
			v := b.Get(name)
			if v == nil {
				return false
			}
			found := false
			for _, eq := range eqs {
				if eq(v) {
					found = true
					break
				}
			}
			return found != not
		}, true
	}
	return nil, false
}

// textMatch is a text operator: true for a text value it matches, and for "contains" also for
// a list with the literal as one of its elements; false for any other value (a string that
// reads as a time is not text).
func textMatch(n *ast.TextMatch) (filter, bool) {
	name, s := n.Name.Name, n.Value.Value
	var test func(string) bool
	switch n.Op {
	case ast.Contains:
		test = func(x string) bool { return strings.Contains(x, s) }
	case ast.StartsWith:
		test = func(x string) bool { return strings.HasPrefix(x, s) }
	case ast.EndsWith:
		test = func(x string) bool { return strings.HasSuffix(x, s) }
	case ast.Matches:
		re, err := regexp.Compile(s)
		if err != nil {
			return nil, false // the reference reports it
		}
		test = re.MatchString
	default:
		return nil, false
	}
	contains := n.Op == ast.Contains
	return func(b Bag) bool {
		v := b.Get(name)
		if l, ok := v.([]any); ok {
			if !contains {
				return false
			}
			for _, e := range l {
				if e == any(s) {
					return true
				}
			}
			return false
		}
		x, ok := reference.Text(v)
		return ok && test(x)
	}, true
}

// order compares a number with a number literal (NaN and other kinds compare false).
func order(name string, op ast.CompareOp, want float64) (filter, bool) {
	var cmp func(x float64) bool
	switch op {
	case ast.Lt:
		cmp = func(x float64) bool { return x < want }
	case ast.Le:
		cmp = func(x float64) bool { return x <= want }
	case ast.Gt:
		cmp = func(x float64) bool { return x > want }
	case ast.Ge:
		cmp = func(x float64) bool { return x >= want }
	default:
		return nil, false
	}
	if math.IsNaN(want) {
		return func(Bag) bool { return false }, true
	}
	return func(b Bag) bool {
		switch x := b.Get(name).(type) {
		case float64:
			return !math.IsNaN(x) && cmp(x)
		case int:
			return cmp(float64(x))
		}
		return false
	}, true
}

func compileList(xs []ast.Expr) ([]filter, bool) {
	fs := make([]filter, len(xs))
	for i, x := range xs {
		f, ok := compileFilter(x)
		if !ok {
			return nil, false
		}
		fs[i] = f
	}
	return fs, true
}

// equality returns the reference's "same" against a text, number or boolean literal.
func equality(v ast.Value) (func(any) bool, bool) {
	switch l := v.(type) {
	case *ast.StringLit:
		s := l.Value
		if reference.MayBeTime(s) {
			return nil, false // a time-looking literal: leave it to the reference
		}
		return func(v any) bool { x, ok := v.(string); return ok && x == s }, true
	case *ast.NumberLit:
		f := l.Float()
		return func(v any) bool {
			switch x := v.(type) {
			case float64:
				return x == f
			case int:
				return float64(x) == f
			}
			return false
		}, true
	case *ast.BoolLit:
		want := l.Value
		return func(v any) bool { x, ok := v.(bool); return ok && x == want }, true
	}
	return nil, false
}
