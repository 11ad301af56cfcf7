package ast

import "fmt"

// Visitor's Visit is called for each node Walk meets. If it returns a non-nil
// w, Walk visits the node's children with w, then calls w.Visit(nil).
type Visitor interface {
	Visit(n Node) (w Visitor)
}

// Walk traverses the tree in depth-first source order, as go/ast.Walk does.
// Children are: names, targets, where filters, windows and time predicates,
// literal values (a Duration is part of its owner and is not visited).
func Walk(v Visitor, n Node) {
	if v = v.Visit(n); v == nil {
		return
	}
	switch n := n.(type) {
	case *Ident, *StringLit, *NumberLit, *BoolLit, *TimeLit, *Ago, *Now,
		*BadExpr, *EventTarget, *RecordTarget, *LastWindow, *NextWindow, *ThisWindow:
		// leaves
	case *And:
		for _, x := range n.List {
			Walk(v, x)
		}
	case *Or:
		for _, x := range n.List {
			Walk(v, x)
		}
	case *Not:
		Walk(v, n.X)
	case *Paren:
		Walk(v, n.X)
	case *Compare:
		Walk(v, n.Name)
		Walk(v, n.Value)
	case *In:
		Walk(v, n.Name)
		for _, x := range n.List {
			Walk(v, x)
		}
	case *Exists:
		Walk(v, n.Name)
	case *TextMatch:
		Walk(v, n.Name)
		Walk(v, n.Value)
	case *TimeCond:
		Walk(v, n.Name)
		Walk(v, n.When)
	case *Anniversary:
		Walk(v, n.Name)
		Walk(v, n.When)
	case *Geo:
		Walk(v, n.Name)
		Walk(v, n.Distance)
		Walk(v, n.Lat)
		Walk(v, n.Lon)
	case *Aggregate:
		if n.Of != nil {
			Walk(v, n.Of)
		}
		Walk(v, n.Target)
		walkOpt(v, n.Where)
		walkOpt(v, n.Window)
		Walk(v, n.Value)
	case *Did:
		Walk(v, n.Event)
		walkOpt(v, n.Where)
		walkOpt(v, n.Window)
	case *Seen:
		Walk(v, n.Event)
		walkOpt(v, n.Where)
		Walk(v, n.When)
	case *SeqStep:
		Walk(v, n.Event)
		walkOpt(v, n.Where)
	case *Sequence:
		for _, s := range n.Steps {
			Walk(v, s)
		}
		walkOpt(v, n.Window)
	case *HasRecord:
		Walk(v, n.Record)
		walkOpt(v, n.Where)
	case *InSegment:
		Walk(v, n.Segment)
	case *Sample:
		Walk(v, n.Percent)
	case *SinceWindow:
		Walk(v, n.Time)
	case *BetweenWindow:
		Walk(v, n.From)
		Walk(v, n.To)
	case *Before:
		Walk(v, n.Time)
	case *After:
		Walk(v, n.Time)
	default:
		panic(fmt.Sprintf("ast.Walk: unexpected node type %T", n))
	}
	v.Visit(nil)
}

// walkOpt walks n unless it is a nil interface value.
func walkOpt[T Node](v Visitor, n T) {
	var zero T
	if any(n) == any(zero) {
		return
	}
	Walk(v, n)
}

type inspector func(Node) bool

func (f inspector) Visit(n Node) Visitor {
	if f(n) {
		return f
	}
	return nil
}

// Inspect calls f for each node in depth-first order, then f(nil) after a
// node's children. If f returns false, the node's children are skipped.
func Inspect(n Node, f func(Node) bool) {
	Walk(inspector(f), n)
}
