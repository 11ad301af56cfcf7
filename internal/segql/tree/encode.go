// Package tree is the JSON form of a SegQL syntax tree: the shape the REST
// API accepts and returns and the UI's builder edits. Encode and Decode
// convert between ast and JSON; text → tree → JSON → tree → text is
// lossless (Paren nodes and positions are not part of the JSON form; the
// printer puts back the parentheses the shape needs). The shape is
// documented, with examples, in docs/segql.md ("JSON form") and is stable:
// fields may be added, never renamed.
//
// Decode is strict: unknown or missing fields, wrong types and values the
// parser would reject are errors naming the JSON path ($.and[1].count.where).
//
// It imports segql/ast, segql/scanner and segql/token; it must not import the
// parser's consumers (checker, engine).
package tree

import (
	"bytes"
	"encoding/json"
	"fmt"

	"github.com/segd/segd/internal/segql/ast"
	"github.com/segd/segd/internal/segql/printer"
)

// obj is a JSON object that keeps its keys in insertion order, so encoded
// trees read naturally ({"trait":"age","op":">=","value":25}).
type obj []kv

type kv struct {
	k string
	v any
}

func (o obj) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	b.WriteByte('{')
	for i, e := range o {
		if i > 0 {
			b.WriteByte(',')
		}
		k, _ := marshal(e.k)
		b.Write(k)
		b.WriteByte(':')
		v, err := marshal(e.v)
		if err != nil {
			return nil, err
		}
		b.Write(v)
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

// marshal is json.Marshal without HTML escaping, so operators read as
// ">=" rather than "\u003e=".
func marshal(v any) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n")), nil
}

// Encode returns the JSON form of a condition, compact, without HTML escaping.
func Encode(x ast.Expr) ([]byte, error) {
	v, err := Value(x)
	if err != nil {
		return nil, err
	}
	return marshal(v)
}

// Value returns the JSON form as a value for json.Marshal (to embed the tree
// in a larger document).
func Value(x ast.Expr) (json.Marshaler, error) {
	e := encoder{}
	v := e.expr(x, false)
	if e.err != nil {
		return nil, e.err
	}
	return v, nil
}

type encoder struct{ err error }

func (e *encoder) fail(format string, args ...any) obj {
	if e.err == nil {
		e.err = fmt.Errorf("tree: "+format, args...)
	}
	return obj{}
}

func (e *encoder) name(filter bool, n *ast.Ident) kv {
	if filter {
		return kv{"property", n.Name}
	}
	return kv{"trait", n.Name}
}

func (e *encoder) exprs(xs []ast.Expr, filter bool) []any {
	out := make([]any, len(xs))
	for i, x := range xs {
		out[i] = e.expr(x, filter)
	}
	return out
}

func (e *encoder) expr(x ast.Expr, filter bool) obj {
	switch x := ast.Unparen(x).(type) {
	case *ast.And:
		return obj{{"and", e.exprs(x.List, filter)}}
	case *ast.Or:
		return obj{{"or", e.exprs(x.List, filter)}}
	case *ast.Not:
		return obj{{"not", e.expr(x.X, filter)}}
	case *ast.Compare:
		return obj{e.name(filter, x.Name), {"op", x.Op.String()}, {"value", e.value(x.Value)}}
	case *ast.In:
		op := "in"
		if x.Not {
			op = "not in"
		}
		vs := make([]any, len(x.List))
		for i, v := range x.List {
			vs[i] = e.value(v)
		}
		return obj{e.name(filter, x.Name), {"op", op}, {"values", vs}}
	case *ast.Exists:
		op := "exists"
		if x.Missing {
			op = "is missing"
		}
		return obj{e.name(filter, x.Name), {"op", op}}
	case *ast.TextMatch:
		return obj{e.name(filter, x.Name), {"op", x.Op.String()}, {"value", x.Value.Value}}
	case *ast.TimeCond:
		return obj{e.name(filter, x.Name), {"time", e.timePred(x.When)}}
	case *ast.Anniversary:
		return obj{e.name(filter, x.Name), {"anniversary", e.timePred(x.When)}}
	case *ast.Geo:
		return obj{e.name(filter, x.Name), {"within", obj{
			{"distance", x.Distance.Value}, {"unit", x.Unit.String()},
			{"lat", x.Lat.Value}, {"lon", x.Lon.Value}}}}
	case *ast.Aggregate:
		body := obj{}
		if x.Of != nil {
			body = append(body, kv{"of", x.Of.Name})
		}
		body = append(body, e.target(x.Target)...)
		body = e.whereWindow(body, x.Where, x.Window)
		return obj{{x.Func.String(), body}, {"op", x.Op.String()}, {"value", x.Value.Value}}
	case *ast.Did:
		return obj{{"did", e.whereWindow(e.target(x.Event), x.Where, x.Window)}}
	case *ast.Seen:
		key := "first_seen"
		if x.Last {
			key = "last_seen"
		}
		return obj{{key, e.whereWindow(e.target(x.Event), x.Where, nil)}, {"time", e.timePred(x.When)}}
	case *ast.Sequence:
		steps := make([]any, len(x.Steps))
		for i, st := range x.Steps {
			s := obj{}
			if st.Not {
				s = append(s, kv{"not", true})
			}
			steps[i] = e.whereWindow(append(s, e.target(st.Event)...), st.Where, nil)
		}
		body := obj{{"steps", steps}}
		if x.Within != nil {
			body = append(body, kv{"within", duration(*x.Within)})
		}
		return obj{{"sequence", e.whereWindow(body, nil, x.Window)}}
	case *ast.HasRecord:
		return obj{{"has_record", e.whereWindow(e.target(x.Record), x.Where, nil)}}
	case *ast.InSegment:
		return obj{{"in_segment", x.Segment.Value}}
	case *ast.Sample:
		return obj{{"sample", x.Percent.Value}}
	case *ast.BadExpr:
		return e.fail("cannot encode a tree with syntax errors")
	case nil:
		return e.fail("nil condition")
	}
	return e.fail("cannot encode %T", x)
}

func (e *encoder) whereWindow(o obj, where ast.Expr, w ast.Window) obj {
	if where != nil {
		o = append(o, kv{"where", e.expr(where, true)})
	}
	if w != nil {
		o = append(o, kv{"window", e.timePred(w.(ast.TimePredicate))})
	}
	return o
}

func (e *encoder) target(t ast.Target) obj {
	switch t := t.(type) {
	case *ast.EventTarget:
		switch t.Kind {
		case ast.TrackEvent:
			return obj{{"event", t.Name}}
		case ast.PageEvent, ast.ScreenEvent:
			key := "page"
			if t.Kind == ast.ScreenEvent {
				key = "screen"
			}
			if t.Name != "" {
				return obj{{key, t.Name}}
			}
			return obj{{key, true}}
		case ast.AnyEvent:
			return obj{{"any_event", true}}
		}
	case *ast.RecordTarget:
		return obj{{"record", t.Type}}
	}
	return e.fail("bad event target %T", t)
}

func duration(d ast.Duration) obj {
	return obj{{"n", d.N}, {"unit", d.Unit.String()}}
}

func (e *encoder) timePred(p ast.TimePredicate) obj {
	switch p := p.(type) {
	case *ast.LastWindow:
		return obj{{"last", duration(p.Dur)}}
	case *ast.NextWindow:
		return obj{{"next", duration(p.Dur)}}
	case *ast.ThisWindow:
		return obj{{"this", p.Period.String()}}
	case *ast.SinceWindow:
		return obj{{"since", e.timeValue(p.Time)}}
	case *ast.BetweenWindow:
		return obj{{"between", []any{e.timeValue(p.From), e.timeValue(p.To)}}}
	case *ast.Before:
		return obj{{"before", e.timeValue(p.Time)}}
	case *ast.After:
		return obj{{"after", e.timeValue(p.Time)}}
	}
	return e.fail("bad time condition %T", p)
}

// timeValue: "2024-11-01", "2025-01-01T00:00:00Z", "now" or {"ago":{...}}.
func (e *encoder) timeValue(t ast.TimeValue) any {
	switch t := t.(type) {
	case *ast.TimeLit:
		return printer.Time(t.Time, t.DateOnly)
	case *ast.Now:
		return "now"
	case *ast.Ago:
		return obj{{"ago", duration(t.Dur)}}
	}
	return e.fail("bad time value %T", t)
}

// value: JSON string, number or bool; {"time": ...}, {"ago": ...},
// {"percent": n} for the other literals.
func (e *encoder) value(v ast.Value) any {
	switch v := v.(type) {
	case *ast.StringLit:
		return v.Value
	case *ast.NumberLit:
		if v.Percent {
			return obj{{"percent", v.Value}}
		}
		return v.Value
	case *ast.BoolLit:
		return v.Value
	case *ast.TimeLit, *ast.Now:
		return obj{{"time", e.timeValue(v.(ast.TimeValue))}}
	case *ast.Ago:
		return e.timeValue(v)
	}
	return e.fail("bad value %T", v)
}
