package tree

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/segd/segd/internal/segql/ast"
	"github.com/segd/segd/internal/segql/token"
)

// Error is a decoding error at a JSON path such as $.and[1].count.window.
type Error struct {
	Path string
	Msg  string
}

func (e *Error) Error() string { return e.Path + ": " + e.Msg }

// Decode parses the JSON form of a condition. Nodes get token.NoPos.
func Decode(data []byte) (x ast.Expr, err error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, &Error{Path: "$", Msg: "invalid JSON: " + err.Error()}
	}
	if dec.More() {
		return nil, &Error{Path: "$", Msg: "unexpected data after the JSON value"}
	}
	return DecodeValue(v)
}

// DecodeValue decodes a condition already unmarshalled into any (numbers as
// json.Number or float64).
func DecodeValue(v any) (x ast.Expr, err error) {
	defer func() {
		if r := recover(); r != nil {
			e, ok := r.(*Error)
			if !ok {
				panic(r)
			}
			x, err = nil, e
		}
	}()
	d := decoder{}
	return d.expr("$", v, false, 0), nil
}

const maxDepth = 500

type decoder struct{}

func failf(path, format string, args ...any) {
	panic(&Error{Path: path, Msg: fmt.Sprintf(format, args...)})
}

// object tracks which fields were read so that leftovers are rejected.
type object struct {
	path string
	m    map[string]any
	used map[string]bool
}

func asObject(path string, v any) *object {
	m, ok := v.(map[string]any)
	if !ok {
		failf(path, "expected an object, found %s", kind(v))
	}
	return &object{path: path, m: m, used: map[string]bool{}}
}

func (o *object) at(k string) string { return o.path + "." + k }

func (o *object) get(k string) (any, bool) {
	v, ok := o.m[k]
	if ok {
		o.used[k] = true
	}
	return v, ok
}

func (o *object) must(k string) any {
	v, ok := o.get(k)
	if !ok {
		failf(o.path, "missing field %q", k)
	}
	return v
}

// done rejects fields that were not read.
func (o *object) done() {
	var extra []string
	for k := range o.m {
		if !o.used[k] {
			extra = append(extra, k)
		}
	}
	if len(extra) > 0 {
		sort.Strings(extra)
		failf(o.at(extra[0]), "unknown field %q", extra[0])
	}
}

func kind(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case map[string]any:
		return "an object"
	case []any:
		return "an array"
	case string:
		return "a string"
	case bool:
		return "a boolean"
	case json.Number, float64:
		return "a number"
	}
	return fmt.Sprintf("%T", v)
}

func str(path string, v any) string {
	s, ok := v.(string)
	if !ok {
		failf(path, "expected a string, found %s", kind(v))
	}
	return s
}

func number(path string, v any) float64 {
	switch n := v.(type) {
	case json.Number:
		f, err := strconv.ParseFloat(n.String(), 64)
		if err != nil || math.IsInf(f, 0) {
			failf(path, "number out of range: %s", n)
		}
		return f
	case float64:
		return n
	}
	failf(path, "expected a number, found %s", kind(v))
	return 0
}

func numLit(path string, v any, percent bool) *ast.NumberLit {
	return &ast.NumberLit{ValuePos: token.NoPos, ValueEnd: token.NoPos, Value: number(path, v), Percent: percent}
}

func list(path string, v any) []any {
	l, ok := v.([]any)
	if !ok {
		failf(path, "expected an array, found %s", kind(v))
	}
	return l
}

func ident(path string, v any) *ast.Ident {
	s := str(path, v)
	switch {
	case s == "":
		failf(path, "empty name")
	case strings.ContainsAny(s, "`\n"):
		failf(path, "a name cannot contain a backquote or a newline")
	}
	return &ast.Ident{NamePos: token.NoPos, NameEnd: token.NoPos, Name: s}
}

var exprKeys = []string{"and", "or", "not", "trait", "property", "count", "sum", "avg", "min", "max", "distinct",
	"did", "first_seen", "last_seen", "sequence", "has_record", "in_segment", "sample"}

func (d *decoder) expr(path string, v any, filter bool, depth int) ast.Expr {
	if depth > maxDepth {
		failf(path, "conditions nested too deeply")
	}
	o := asObject(path, v)
	key := ""
	for _, k := range exprKeys {
		if _, ok := o.m[k]; ok {
			key = k
			break
		}
	}
	nameKey := "trait"
	if filter {
		nameKey = "property"
	}
	var x ast.Expr
	switch key {
	case "":
		failf(path, "expected a condition (an object with and, or, not, %s, count, did, ...)", nameKey)
	case "and", "or":
		l := list(o.at(key), o.must(key))
		if len(l) < 2 {
			failf(o.at(key), "%s needs at least two conditions", key)
		}
		xs := make([]ast.Expr, len(l))
		for i, e := range l {
			xs[i] = d.expr(fmt.Sprintf("%s[%d]", o.at(key), i), e, filter, depth+1)
		}
		if key == "and" {
			x = &ast.And{List: xs}
		} else {
			x = &ast.Or{List: xs}
		}
	case "not":
		x = &ast.Not{NotPos: token.NoPos, X: d.expr(o.at("not"), o.must("not"), filter, depth+1)}
	case "trait", "property":
		if key != nameKey {
			failf(o.at(key), "unknown field %q (use %q %s)", key, nameKey, map[bool]string{true: "inside where", false: "outside where"}[filter])
		}
		x = d.traitCond(o, ident(o.at(key), o.must(key)), filter)
	default:
		if filter {
			failf(o.at(key), "%s is not allowed in a where filter", key)
		}
		x = d.behaviour(o, key)
	}
	o.done()
	return x
}

func (d *decoder) traitCond(o *object, name *ast.Ident, filter bool) ast.Expr {
	if !filter {
		if v, ok := o.get("time"); ok {
			return &ast.TimeCond{Name: name, When: d.timePred(o.at("time"), v, true)}
		}
		if v, ok := o.get("anniversary"); ok {
			p := d.timePred(o.at("anniversary"), v, true)
			switch p.(type) {
			case *ast.LastWindow, *ast.NextWindow, *ast.ThisWindow:
			default:
				failf(o.at("anniversary"), "anniversary takes last, next or this")
			}
			return &ast.Anniversary{Name: name, KwPos: token.NoPos, When: p}
		}
		if v, ok := o.get("within"); ok {
			return d.geo(o.at("within"), v, name)
		}
	}
	opPath := o.at("op")
	op := str(opPath, o.must("op"))
	if cop, ok := ast.ParseCompareOp(op); ok {
		return &ast.Compare{Name: name, OpPos: token.NoPos, Op: cop, Value: d.value(o.at("value"), o.must("value"))}
	}
	if top, ok := ast.ParseTextOp(op); ok {
		s := str(o.at("value"), o.must("value"))
		return &ast.TextMatch{Name: name, OpPos: token.NoPos, Op: top, Value: strLit(s)}
	}
	switch op {
	case "in", "not in":
		l := list(o.at("values"), o.must("values"))
		if len(l) == 0 {
			failf(o.at("values"), "empty list")
		}
		x := &ast.In{Name: name, Not: op == "not in", Lbrack: token.NoPos, Rbrack: token.NoPos}
		for i, e := range l {
			x.List = append(x.List, d.value(fmt.Sprintf("%s[%d]", o.at("values"), i), e))
		}
		return x
	case "exists", "is missing":
		return &ast.Exists{Name: name, Missing: op == "is missing", WordEnd: token.NoPos}
	}
	failf(opPath, "unknown operator %q (want = != < <= > >= in, not in, exists, is missing, contains, starts with, ends with, matches)", op)
	return nil
}

func strLit(s string) *ast.StringLit {
	return &ast.StringLit{ValuePos: token.NoPos, ValueEnd: token.NoPos, Value: s}
}

func (d *decoder) geo(path string, v any, name *ast.Ident) *ast.Geo {
	o := asObject(path, v)
	g := &ast.Geo{Name: name, Rparen: token.NoPos}
	g.Distance = numLit(o.at("distance"), o.must("distance"), false)
	u, ok := ast.ParseDistUnit(str(o.at("unit"), o.must("unit")))
	if !ok {
		failf(o.at("unit"), "unknown distance unit (want km, mi or m)")
	}
	g.Unit = u
	g.Lat = numLit(o.at("lat"), o.must("lat"), false)
	g.Lon = numLit(o.at("lon"), o.must("lon"), false)
	o.done()
	return g
}

// value decodes a literal operand.
func (d *decoder) value(path string, v any) ast.Value {
	switch v := v.(type) {
	case string:
		return strLit(v)
	case json.Number, float64:
		return numLit(path, v, false)
	case bool:
		return &ast.BoolLit{ValuePos: token.NoPos, ValueEnd: token.NoPos, Value: v}
	case map[string]any:
		o := asObject(path, v)
		var x ast.Value
		switch {
		case o.m["time"] != nil:
			x = d.timeValue(o.at("time"), o.must("time"))
		case o.m["ago"] != nil:
			x = d.timeValue(path, v)
			return x
		case o.m["percent"] != nil:
			x = numLit(o.at("percent"), o.must("percent"), true)
		default:
			failf(path, `expected a value: a string, number, boolean, {"time": ...}, {"ago": ...} or {"percent": n}`)
		}
		o.done()
		return x
	}
	failf(path, "expected a value, found %s", kind(v))
	return nil
}

func (d *decoder) timeValue(path string, v any) ast.TimeValue {
	if s, ok := v.(string); ok {
		if s == "now" {
			return &ast.Now{NowPos: token.NoPos}
		}
		lit := &ast.TimeLit{ValuePos: token.NoPos, ValueEnd: token.NoPos}
		var err error
		if len(s) == len("2006-01-02") {
			lit.Time, err = time.Parse("2006-01-02", s)
			lit.DateOnly = true
		} else {
			lit.Time, err = time.Parse(time.RFC3339Nano, s)
		}
		if err != nil {
			failf(path, "invalid time %q (want YYYY-MM-DD, RFC 3339 or now)", s)
		}
		return lit
	}
	o := asObject(path, v)
	dur := d.duration(o.at("ago"), o.must("ago"))
	o.done()
	return &ast.Ago{Dur: dur, AgoEnd: token.NoPos}
}

func (d *decoder) duration(path string, v any) ast.Duration {
	o := asObject(path, v)
	np := o.at("n")
	nv := o.must("n")
	num, ok := nv.(json.Number)
	var n int64
	var err error
	if ok {
		n, err = strconv.ParseInt(num.String(), 10, 64)
	} else if f, isF := nv.(float64); isF && f == math.Trunc(f) {
		n = int64(f)
	} else {
		err = fmt.Errorf("not an integer")
	}
	if err != nil || n < 1 || n > 1_000_000 {
		failf(np, "duration must be a whole number between 1 and 1000000")
	}
	u, ok := ast.ParseUnit(str(o.at("unit"), o.must("unit")))
	if !ok {
		failf(o.at("unit"), "unknown unit (want seconds, minutes, hours, days, weeks, months or years)")
	}
	o.done()
	return ast.Duration{NPos: token.NoPos, UnitEnd: token.NoPos, N: n, Unit: u}
}

// timePred decodes {"last":..}, {"next":..}, {"this":..}, {"since":..},
// {"between":[a,b]}, {"before":..}, {"after":..}; pred allows the last three
// kinds (time predicates), otherwise only windows are accepted.
func (d *decoder) timePred(path string, v any, pred bool) ast.TimePredicate {
	o := asObject(path, v)
	var p ast.TimePredicate
	switch {
	case o.m["last"] != nil:
		p = &ast.LastWindow{InPos: token.NoPos, Dur: d.duration(o.at("last"), o.must("last"))}
	case o.m["this"] != nil:
		per, ok := ast.ParsePeriod(str(o.at("this"), o.must("this")))
		if !ok {
			failf(o.at("this"), "unknown period (want day, week, month or year)")
		}
		p = &ast.ThisWindow{ThisPos: token.NoPos, Period: per, EndPos: token.NoPos}
	case o.m["since"] != nil:
		p = &ast.SinceWindow{SincePos: token.NoPos, Time: d.timeValue(o.at("since"), o.must("since"))}
	case o.m["between"] != nil:
		l := list(o.at("between"), o.must("between"))
		if len(l) != 2 {
			failf(o.at("between"), "between takes [from, to]")
		}
		p = &ast.BetweenWindow{BetweenPos: token.NoPos,
			From: d.timeValue(o.at("between")+"[0]", l[0]),
			To:   d.timeValue(o.at("between")+"[1]", l[1])}
	case pred && o.m["next"] != nil:
		p = &ast.NextWindow{InPos: token.NoPos, Dur: d.duration(o.at("next"), o.must("next"))}
	case pred && o.m["before"] != nil:
		p = &ast.Before{BeforePos: token.NoPos, Time: d.timeValue(o.at("before"), o.must("before"))}
	case pred && o.m["after"] != nil:
		p = &ast.After{AfterPos: token.NoPos, Time: d.timeValue(o.at("after"), o.must("after"))}
	default:
		if pred {
			failf(path, "expected one of last, next, this, since, between, before, after")
		}
		failf(path, "expected a window: one of last, this, since, between")
	}
	o.done()
	return p
}

func (d *decoder) eventTarget(o *object) *ast.EventTarget {
	t := &ast.EventTarget{KindPos: token.NoPos, EndPos: token.NoPos}
	switch {
	case o.m["event"] != nil:
		t.Kind, t.Name = ast.TrackEvent, str(o.at("event"), o.must("event"))
	case o.m["page"] != nil || o.m["screen"] != nil:
		key := "page"
		t.Kind = ast.PageEvent
		if o.m["screen"] != nil {
			key, t.Kind = "screen", ast.ScreenEvent
		}
		switch v := o.must(key).(type) {
		case bool:
			if !v {
				failf(o.at(key), "use true or a %s name", key)
			}
		case string:
			t.Name = v
		default:
			failf(o.at(key), "expected true or a %s name", key)
		}
	case o.m["any_event"] != nil:
		if v, _ := o.must("any_event").(bool); !v {
			failf(o.at("any_event"), "expected true")
		}
		t.Kind = ast.AnyEvent
	default:
		failf(o.path, `expected an event: "event", "page", "screen" or "any_event"`)
	}
	return t
}

func (d *decoder) where(o *object) ast.Expr {
	if v, ok := o.get("where"); ok {
		return d.expr(o.at("where"), v, true, 0)
	}
	return nil
}

func (d *decoder) window(o *object) ast.Window {
	if v, ok := o.get("window"); ok {
		return d.timePred(o.at("window"), v, false).(ast.Window)
	}
	return nil
}

func (d *decoder) behaviour(o *object, key string) ast.Expr {
	body := func() *object { return asObject(o.at(key), o.must(key)) }
	switch key {
	case "did":
		b := body()
		x := &ast.Did{DidPos: token.NoPos, Event: d.eventTarget(b), Where: d.where(b), Window: d.window(b)}
		b.done()
		return x
	case "first_seen", "last_seen":
		b := body()
		x := &ast.Seen{FuncPos: token.NoPos, Last: key == "last_seen", Event: d.eventTarget(b), Where: d.where(b), Rparen: token.NoPos}
		b.done()
		x.When = d.timePred(o.at("time"), o.must("time"), true)
		return x
	case "sequence":
		b := body()
		x := &ast.Sequence{SeqPos: token.NoPos, Rparen: token.NoPos}
		steps := list(b.at("steps"), b.must("steps"))
		if len(steps) < 2 {
			failf(b.at("steps"), "a sequence needs at least two steps")
		}
		for i, sv := range steps {
			sp := fmt.Sprintf("%s[%d]", b.at("steps"), i)
			so := asObject(sp, sv)
			st := &ast.SeqStep{NotPos: token.NoPos}
			if nv, ok := so.get("not"); ok {
				st.Not, _ = nv.(bool)
				if _, isBool := nv.(bool); !isBool {
					failf(so.at("not"), "expected a boolean")
				}
				if st.Not && i < len(steps)-1 {
					failf(so.at("not"), "only the last step of a sequence can be negated")
				}
			}
			st.Event = d.eventTarget(so)
			st.Where = d.where(so)
			so.done()
			x.Steps = append(x.Steps, st)
		}
		if v, ok := b.get("within"); ok {
			dur := d.duration(b.at("within"), v)
			x.Within = &dur
		} else if x.Steps[len(x.Steps)-1].Not {
			failf(b.path, "a negated step needs within")
		}
		x.Window = d.window(b)
		b.done()
		return x
	case "has_record":
		b := body()
		x := &ast.HasRecord{HasPos: token.NoPos, Record: recordTarget(b), Where: d.where(b)}
		b.done()
		return x
	case "in_segment":
		return &ast.InSegment{InPos: token.NoPos, Segment: strLit(str(o.at(key), o.must(key)))}
	case "sample":
		return &ast.Sample{SamplePos: token.NoPos, Percent: numLit(o.at(key), o.must(key), true), Rparen: token.NoPos}
	}
	// aggregates
	fn, _ := ast.ParseAggFunc(key)
	b := body()
	a := &ast.Aggregate{FuncPos: token.NoPos, Func: fn, Rparen: token.NoPos, OpPos: token.NoPos}
	if v, ok := b.get("of"); ok {
		if fn == ast.Count {
			failf(b.at("of"), "count takes no property")
		}
		a.Of = ident(b.at("of"), v)
	} else if fn != ast.Count {
		failf(b.path, "%s needs a property: \"of\"", key)
	}
	if b.m["record"] != nil {
		a.Target = recordTarget(b)
	} else {
		a.Target = d.eventTarget(b)
	}
	a.Where = d.where(b)
	a.Window = d.window(b)
	b.done()
	op, ok := ast.ParseCompareOp(str(o.at("op"), o.must("op")))
	if !ok {
		failf(o.at("op"), "unknown comparison (want = != < <= > >=)")
	}
	a.Op = op
	a.Value = numLit(o.at("value"), o.must("value"), false)
	return a
}

func recordTarget(o *object) *ast.RecordTarget {
	return &ast.RecordTarget{RecordPos: token.NoPos, Type: str(o.at("record"), o.must("record")), EndPos: token.NoPos}
}
