// Package reference is the oracle for the segment engine: a deliberately naive evaluator
// written straight from the definition of SegQL over plain Go maps, one profile at a time,
// with no indexes, no ordering and no cleverness. It is slow on purpose; the differential tests
// require the engine to return exactly the members this package returns.
//
// It must not import the engine or the index (sharing their code would share their bugs); it
// reads only the syntax tree.
package reference

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/fnv"
	"math"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/segd/segd/internal/segql/ast"
)

// Event is one event of a profile. Kind is "track", "page" or "screen" (other kinds are not
// visible to the language). For page and screen calls Name is the page or screen name.
type Event struct {
	Kind  string
	Name  string
	Time  time.Time
	Props map[string]any
}

// Record is one related record of a profile.
type Record struct {
	Type  string
	ID    string
	Attrs map[string]any
}

// Data is a workspace: every live profile has an entry in Traits (possibly empty).
type Data struct {
	Traits  map[uint32]map[string]any
	Events  map[uint32][]Event
	Records map[uint32][]Record
}

// Options are the evaluation parameters, as for the engine.
type Options struct {
	At       time.Time
	Location *time.Location
	Segment  string
	Segments func(name string) (map[uint32]bool, error)
}

// Members returns the sorted ids of the profiles for which tree holds.
func Members(d *Data, tree ast.Expr, o Options) ([]uint32, error) {
	if o.Location == nil {
		o.Location = time.UTC
	}
	r := &run{d: d, o: o, at: o.At.In(o.Location)}
	var out []uint32
	for p := range d.Traits {
		ok, err := r.eval(p, tree)
		if err != nil {
			return nil, err
		}
		if ok {
			out = append(out, p)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out, nil
}

type run struct {
	d  *Data
	o  Options
	at time.Time
}

func (r *run) eval(p uint32, x ast.Expr) (bool, error) {
	switch n := x.(type) {
	case *ast.Paren:
		return r.eval(p, n.X)
	case *ast.Not:
		v, err := r.eval(p, n.X)
		return !v, err
	case *ast.And:
		for _, y := range n.List {
			v, err := r.eval(p, y)
			if err != nil || !v {
				return false, err
			}
		}
		return true, nil
	case *ast.Or:
		for _, y := range n.List {
			v, err := r.eval(p, y)
			if err != nil || v {
				return v, err
			}
		}
		return false, nil
	case *ast.Compare, *ast.In, *ast.Exists, *ast.TextMatch, *ast.TimeCond, *ast.Anniversary, *ast.Geo:
		return r.test(x, r.d.Traits[p])
	case *ast.Aggregate:
		if rt, ok := n.Target.(*ast.RecordTarget); ok {
			return r.recordAgg(p, n.Func, n.Of, rt.Type, n.Where, n.Op, n.Value.Float())
		}
		return r.eventAgg(p, n.Func, n.Of, n.Target.(*ast.EventTarget), n.Where, n.Window, n.Op, n.Value.Float())
	case *ast.Did:
		return r.eventAgg(p, ast.Count, nil, n.Event, n.Where, n.Window, ast.Ge, 1)
	case *ast.HasRecord:
		return r.recordAgg(p, ast.Count, nil, n.Record.Type, n.Where, ast.Ge, 1)
	case *ast.Seen:
		return r.seen(p, n)
	case *ast.Sequence:
		return r.sequence(p, n)
	case *ast.InSegment:
		if r.o.Segments == nil {
			return false, errors.New("reference: no segments")
		}
		m, err := r.o.Segments(n.Segment.Value)
		return m[p], err
	case *ast.Sample:
		return inSample(r.o.Segment, p, n.Percent.Value), nil
	}
	return false, fmt.Errorf("reference: unsupported %T", x)
}

// ---- values ----

type kind int

const (
	none kind = iota
	text
	number
	boolean
	timeK
	geo
	list
	object
)

type value struct {
	k        kind
	s        string
	f        float64 // number, latitude
	lon      float64
	t        time.Time
	b        bool
	elements []any
}

func classify(v any) value {
	switch x := v.(type) {
	case nil:
		return value{}
	case string:
		if !mayBeTime(x) {
			return value{k: text, s: x}
		}
		if t, err := time.Parse(time.RFC3339Nano, x); err == nil {
			return value{k: timeK, t: t}
		}
		if len(x) == 10 {
			if t, err := time.Parse("2006-01-02", x); err == nil {
				return value{k: timeK, t: t}
			}
		}
		return value{k: text, s: x}
	case float64:
		return value{k: number, f: x}
	case int:
		return value{k: number, f: float64(x)}
	case bool:
		return value{k: boolean, b: x}
	case []any:
		if len(x) == 2 {
			lat, ok1 := x[0].(float64)
			lon, ok2 := x[1].(float64)
			if ok1 && ok2 && lat >= -90 && lat <= 90 && lon >= -180 && lon <= 180 {
				return value{k: geo, f: lat, lon: lon}
			}
		}
		return value{k: list, elements: x}
	case map[string]any:
		lat, ok1 := x["lat"].(float64)
		lon, ok2 := x["lon"].(float64)
		if !ok2 {
			lon, ok2 = x["lng"].(float64)
		}
		if len(x) == 2 && ok1 && ok2 && lat >= -90 && lat <= 90 && lon >= -180 && lon <= 180 {
			return value{k: geo, f: lat, lon: lon}
		}
		return value{k: object}
	}
	return value{k: object}
}

// mayBeTime is false for strings that neither time layout can parse (both start
// "YYYY-MM-DD"); it spares time.Parse, which allocates an error, on ordinary text.
func mayBeTime(s string) bool { return len(s) >= 10 && s[4] == '-' && s[7] == '-' }

func (r *run) literal(v ast.Value) (value, error) {
	switch v := v.(type) {
	case *ast.StringLit:
		return value{k: text, s: v.Value}, nil
	case *ast.NumberLit:
		return value{k: number, f: v.Float()}, nil
	case *ast.BoolLit:
		return value{k: boolean, b: v.Value}, nil
	case ast.TimeValue:
		t, err := r.timeValue(v)
		return value{k: timeK, t: t}, err
	}
	return value{}, fmt.Errorf("reference: literal %T", v)
}

func same(a, b value) bool {
	if a.k != b.k {
		return false
	}
	switch a.k {
	case text:
		return a.s == b.s
	case number:
		return a.f == b.f
	case timeK:
		return a.t.Equal(b.t)
	case boolean:
		return a.b == b.b
	}
	return false
}

func compare(op ast.CompareOp, v, lit value) bool {
	if v.k == none {
		return false
	}
	switch op {
	case ast.Eq:
		return same(v, lit)
	case ast.Neq:
		return !same(v, lit)
	}
	if v.k != lit.k {
		return false
	}
	var less, greater bool
	switch v.k {
	case text:
		less, greater = v.s < lit.s, v.s > lit.s
	case number:
		if math.IsNaN(v.f) || math.IsNaN(lit.f) {
			return false
		}
		less, greater = v.f < lit.f, v.f > lit.f
	case timeK:
		less, greater = v.t.Before(lit.t), v.t.After(lit.t)
	default:
		return false
	}
	switch op {
	case ast.Lt:
		return less
	case ast.Le:
		return !greater
	case ast.Gt:
		return greater
	case ast.Ge:
		return !less
	}
	return false
}

// test applies a condition on one name to a bag of values (traits, properties, attributes).
func (r *run) test(x ast.Expr, bag map[string]any) (bool, error) {
	switch n := x.(type) {
	case *ast.Paren:
		return r.test(n.X, bag)
	case *ast.Not:
		v, err := r.test(n.X, bag)
		return !v, err
	case *ast.And:
		all := true
		for _, y := range n.List {
			v, err := r.test(y, bag)
			if err != nil {
				return false, err
			}
			all = all && v
		}
		return all, nil
	case *ast.Or:
		anyOf := false
		for _, y := range n.List {
			v, err := r.test(y, bag)
			if err != nil {
				return false, err
			}
			anyOf = anyOf || v
		}
		return anyOf, nil
	case *ast.Compare:
		lit, err := r.literal(n.Value)
		return compare(n.Op, classify(bag[n.Name.Name]), lit), err
	case *ast.In:
		v := classify(bag[n.Name.Name])
		if v.k == none {
			return false, nil
		}
		found := false
		for _, l := range n.List {
			lit, err := r.literal(l)
			if err != nil {
				return false, err
			}
			if same(v, lit) {
				found = true
			}
		}
		return found != n.Not, nil
	case *ast.Exists:
		missing := classify(bag[n.Name.Name]).k == none
		return missing == n.Missing, nil
	case *ast.TextMatch:
		v := classify(bag[n.Name.Name])
		s := n.Value.Value
		if v.k == list && n.Op == ast.Contains {
			for _, e := range v.elements {
				if e == any(s) {
					return true, nil
				}
			}
			return false, nil
		}
		if v.k != text {
			return false, nil
		}
		switch n.Op {
		case ast.Contains:
			return strings.Contains(v.s, s), nil
		case ast.StartsWith:
			return strings.HasPrefix(v.s, s), nil
		case ast.EndsWith:
			return strings.HasSuffix(v.s, s), nil
		case ast.Matches:
			re, err := regexp.Compile(s)
			if err != nil {
				return false, err
			}
			return re.MatchString(v.s), nil
		}
	case *ast.TimeCond:
		v := classify(bag[n.Name.Name])
		if v.k != timeK {
			return false, nil
		}
		return r.within(v.t, n.When, false)
	case *ast.Anniversary:
		v := classify(bag[n.Name.Name])
		if v.k != timeK {
			return false, nil
		}
		return r.anniversary(v.t, n.When)
	case *ast.Geo:
		v := classify(bag[n.Name.Name])
		if v.k != geo {
			return false, nil
		}
		return distance(v.f, v.lon, n.Lat.Value, n.Lon.Value) <= n.Unit.Meters(n.Distance.Value), nil
	}
	return false, fmt.Errorf("reference: unsupported test %T", x)
}

func distance(lat1, lon1, lat2, lon2 float64) float64 {
	const r = 6371008.8
	rad := func(d float64) float64 { return d * math.Pi / 180 }
	a := math.Pow(math.Sin(rad(lat2-lat1)/2), 2) + math.Cos(rad(lat1))*math.Cos(rad(lat2))*math.Pow(math.Sin(rad(lon2-lon1)/2), 2)
	return 2 * r * math.Asin(math.Min(1, math.Sqrt(a)))
}

func inSample(segment string, p uint32, pct float64) bool {
	if !(pct > 0) {
		return false
	}
	if pct >= 100 {
		return true
	}
	h := fnv.New64a()
	h.Write([]byte(segment))
	h.Write([]byte{0})
	var b [4]byte
	binary.LittleEndian.PutUint32(b[:], p)
	h.Write(b[:])
	x := h.Sum64()
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	x ^= x >> 31
	return x%1_000_000 < uint64(pct*10_000)
}
