// Package printer writes a SegQL tree as canonical text: one line, single
// spaces, keywords in lower case, names backquoted only when they must be,
// strings in Go-style double quotes, singular units for 1 ("1 day"), "today"
// for "this day", and exactly the parentheses the tree's shape needs. The
// parser reads the output back into the same tree (Paren nodes aside, which
// only record where the source had parentheses), and printing is idempotent.
// Comments are not part of the tree and are not printed. `segd fmt` and the
// UI's text view use it.
//
// It imports segql/ast, segql/scanner (for IsIdent) and segql/token only.
package printer

import (
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/segd/segd/internal/segql/ast"
	"github.com/segd/segd/internal/segql/scanner"
)

// String returns the canonical text of a condition (or any node).
func String(n ast.Node) string {
	var b strings.Builder
	p := printer{b: &b}
	p.node(n)
	return b.String()
}

// Fprint writes the canonical text of n to w.
func Fprint(w io.Writer, n ast.Node) error {
	_, err := io.WriteString(w, String(n))
	return err
}

// keywords are words the printer backquotes when used as names, so that a
// name never reads as syntax.
var keywords = map[string]bool{}

func init() {
	for _, w := range strings.Fields(`and or not in is exists missing did has true false now where then
		within of record page screen any event this today since between before after last next
		ago segment contains matches starts ends with anniversary count sum avg min max distinct
		first_seen last_seen sequence sample`) {
		keywords[w] = true
	}
}

// Name returns a name as it is written in SegQL: bare, or backquoted.
func Name(s string) string {
	if scanner.IsIdent(s) && !keywords[s] {
		return s
	}
	return "`" + s + "`"
}

type printer struct {
	b *strings.Builder
}

func (p *printer) s(parts ...string) {
	for _, s := range parts {
		p.b.WriteString(s)
	}
}

// absorbs reports whether x ends in a where filter that would swallow a
// following "and"/"or" when printed without parentheses.
func absorbs(x ast.Expr) bool {
	switch x := ast.Unparen(x).(type) {
	case *ast.Did:
		return x.Where != nil && x.Window == nil
	case *ast.HasRecord:
		return x.Where != nil
	case *ast.Not:
		return absorbs(x.X)
	}
	return false
}

func isBool(x ast.Expr) bool {
	switch ast.Unparen(x).(type) {
	case *ast.And, *ast.Or:
		return true
	}
	return false
}

// operand prints an operand of and/or; inOr relaxes the rule for an "and"
// inside an "or", which precedence already groups.
func (p *printer) operand(x ast.Expr, inOr bool) {
	u := ast.Unparen(x)
	_, isAnd := u.(*ast.And)
	if (isBool(u) && !(inOr && isAnd)) || absorbs(u) {
		p.s("(")
		p.node(u)
		p.s(")")
		return
	}
	p.node(u)
}

func (p *printer) list(xs []ast.Expr, sep string, inOr bool) {
	for i, x := range xs {
		if i > 0 {
			p.s(sep)
		}
		p.operand(x, inOr)
	}
}

func (p *printer) node(n ast.Node) {
	switch x := n.(type) {
	case nil:
		p.s("<nil>")
	case *ast.BadExpr:
		p.s("<bad>")
	case *ast.Paren:
		p.node(ast.Unparen(x))
	case *ast.And:
		p.list(x.List, " and ", false)
	case *ast.Or:
		p.list(x.List, " or ", true)
	case *ast.Not:
		p.s("not ")
		if isBool(x.X) {
			p.s("(")
			p.node(ast.Unparen(x.X))
			p.s(")")
		} else {
			p.node(ast.Unparen(x.X))
		}

	case *ast.Ident:
		p.s(Name(x.Name))
	case *ast.StringLit:
		p.s(strconv.Quote(x.Value))
	case *ast.NumberLit:
		p.s(Number(x.Value))
		if x.Percent {
			p.s("%")
		}
	case *ast.BoolLit:
		p.s(strconv.FormatBool(x.Value))
	case *ast.TimeLit:
		p.s(Time(x.Time, x.DateOnly))
	case *ast.Ago:
		p.duration(x.Dur)
		p.s(" ago")
	case *ast.Now:
		p.s("now")

	case *ast.Compare:
		p.node(x.Name)
		p.s(" ", x.Op.String(), " ")
		p.node(x.Value)
	case *ast.In:
		p.node(x.Name)
		if x.Not {
			p.s(" not")
		}
		p.s(" in [")
		for i, v := range x.List {
			if i > 0 {
				p.s(", ")
			}
			p.node(v)
		}
		p.s("]")
	case *ast.Exists:
		p.node(x.Name)
		if x.Missing {
			p.s(" is missing")
		} else {
			p.s(" exists")
		}
	case *ast.TextMatch:
		p.node(x.Name)
		p.s(" ", x.Op.String(), " ")
		p.node(x.Value)
	case *ast.TimeCond:
		p.node(x.Name)
		p.s(" ")
		p.node(x.When)
	case *ast.Anniversary:
		p.node(x.Name)
		p.s(" anniversary ")
		p.node(x.When)
	case *ast.Geo:
		p.node(x.Name)
		p.s(" within ")
		p.node(x.Distance)
		p.s(" ", x.Unit.String(), " of (")
		p.node(x.Lat)
		p.s(", ")
		p.node(x.Lon)
		p.s(")")

	case *ast.EventTarget:
		switch x.Kind {
		case ast.TrackEvent:
			p.s(strconv.Quote(x.Name))
		case ast.PageEvent, ast.ScreenEvent:
			p.s(map[ast.EventKind]string{ast.PageEvent: "page", ast.ScreenEvent: "screen"}[x.Kind])
			if x.Name != "" {
				p.s(" ", strconv.Quote(x.Name))
			}
		case ast.AnyEvent:
			p.s("any event")
		default:
			p.s("<event?>")
		}
	case *ast.RecordTarget:
		p.s("record ", strconv.Quote(x.Type))
	case *ast.Aggregate:
		p.s(x.Func.String(), "(")
		if x.Of != nil {
			p.node(x.Of)
			p.s(" of ")
		}
		p.node(x.Target)
		p.where(x.Where)
		p.window(x.Window)
		p.s(") ", x.Op.String(), " ")
		p.node(x.Value)
	case *ast.Did:
		p.s("did ")
		p.node(x.Event)
		p.where(x.Where)
		p.window(x.Window)
	case *ast.Seen:
		if x.Last {
			p.s("last_seen(")
		} else {
			p.s("first_seen(")
		}
		p.node(x.Event)
		p.where(x.Where)
		p.s(") ")
		p.node(x.When)
	case *ast.SeqStep:
		if x.Not {
			p.s("not ")
		}
		p.node(x.Event)
		p.where(x.Where)
	case *ast.Sequence:
		p.s("sequence(")
		for i, st := range x.Steps {
			if i > 0 {
				p.s(" then ")
			}
			p.node(st)
		}
		if x.Within != nil {
			p.s(" within ")
			p.duration(*x.Within)
		}
		p.window(x.Window)
		p.s(")")
	case *ast.HasRecord:
		p.s("has ")
		p.node(x.Record)
		p.where(x.Where)
	case *ast.InSegment:
		p.s("in segment ")
		p.node(x.Segment)
	case *ast.Sample:
		p.s("sample(")
		p.node(x.Percent)
		p.s(")")

	case *ast.LastWindow:
		p.s("in last ")
		p.duration(x.Dur)
	case *ast.NextWindow:
		p.s("in next ")
		p.duration(x.Dur)
	case *ast.ThisWindow:
		if x.Period == ast.Day {
			p.s("today")
		} else {
			p.s("in this ", x.Period.String())
		}
	case *ast.SinceWindow:
		p.s("since ")
		p.node(x.Time)
	case *ast.BetweenWindow:
		p.s("between ")
		p.node(x.From)
		p.s(" and ")
		p.node(x.To)
	case *ast.Before:
		p.s("before ")
		p.node(x.Time)
	case *ast.After:
		p.s("after ")
		p.node(x.Time)
	default:
		p.s("<unknown node>")
	}
}

func (p *printer) where(f ast.Expr) {
	if f != nil {
		p.s(" where ")
		p.node(ast.Unparen(f))
	}
}

func (p *printer) window(w ast.Window) {
	if w != nil {
		p.s(" ")
		p.node(w)
	}
}

func (p *printer) duration(d ast.Duration) {
	p.s(strconv.FormatInt(d.N, 10), " ")
	if d.N == 1 {
		p.s(d.Unit.Singular())
	} else {
		p.s(d.Unit.String())
	}
}

// Number formats a number the shortest way that reads back exactly.
func Number(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) }

// Time formats a time literal: YYYY-MM-DD for dates, RFC 3339 otherwise.
func Time(t time.Time, dateOnly bool) string {
	if dateOnly {
		return t.Format("2006-01-02")
	}
	return t.Format(time.RFC3339Nano)
}
