package live

import (
	"math"

	"github.com/segd/segd/internal/segql/ast"
)

// An arriving event re-evaluates every real-time segment that reads its name. Most of those
// evaluations cannot change anything: a member of "count("Product Viewed" in last 7 days) >= 3"
// stays one whatever Product Viewed event arrives, because adding an event to a profile can
// only raise a count. pol says, for one segment and the new data of a step, which way the
// segment's value can move; prepareJob then skips the evaluation when the profile is already
// where the data can only take it (and nothing else can have moved it since its last
// evaluation: see current).
type pol uint8

const (
	polAny  pol = iota + 1 // the value can move either way: evaluate (0: not queued)
	polNone                // the data does not reach the segment's conditions
	polUp                  // the value can only turn true
	polDown                // the value can only turn false
)

// and is the polarity of two pieces of data applied together.
func (p pol) and(q pol) pol {
	switch {
	case p == q || q == polNone:
		return p
	case p == polNone:
		return q
	}
	return polAny
}

// evLeaf is a condition of a segment on events, and which way adding an event of its target
// moves the whole tree's value (through the and, or and not above it).
type evLeaf struct {
	target *ast.EventTarget // nil: any event (a condition this analysis does not know)
	dir    int8             // +1 only up, -1 only down, 0 either
	// sum, when set, is the property a sum adds: dir holds for a non-negative value, the
	// opposite for a negative one; a value that is not a number adds nothing.
	sum string
}

// eventLeaves lists x's conditions on events with their direction under sign (+1, or -1
// inside an odd number of nots). Adding an event never lowers a count, a distinct count, a
// max or a did, never raises a min, and moves a sum by the sign of the value it adds;
// averages, first/last seen and sequences can move either way.
func eventLeaves(x ast.Expr, sign int8, out []evLeaf) []evLeaf {
	switch n := x.(type) {
	case *ast.Paren:
		return eventLeaves(n.X, sign, out)
	case *ast.Not:
		return eventLeaves(n.X, -sign, out)
	case *ast.And:
		for _, y := range n.List {
			out = eventLeaves(y, sign, out)
		}
		return out
	case *ast.Or:
		for _, y := range n.List {
			out = eventLeaves(y, sign, out)
		}
		return out
	case *ast.Aggregate:
		t, ok := n.Target.(*ast.EventTarget)
		if !ok {
			return out // records
		}
		l := evLeaf{target: t, dir: sign * aggDir(n)}
		if n.Func == ast.Sum && l.dir != 0 && n.Of != nil {
			l.sum = n.Of.Name
		}
		return append(out, l)
	case *ast.Did:
		return append(out, evLeaf{target: n.Event, dir: sign})
	case *ast.Seen:
		return append(out, evLeaf{target: n.Event})
	case *ast.Sequence:
		for _, s := range n.Steps {
			out = append(out, evLeaf{target: s.Event})
		}
		return out
	case *ast.Compare, *ast.In, *ast.Exists, *ast.TextMatch, *ast.TimeCond, *ast.Anniversary, *ast.Geo,
		*ast.HasRecord, *ast.InSegment, *ast.Sample:
		return out // traits, records, other segments, the profile id: no event reaches them
	}
	return append(out, evLeaf{}) // unknown: any event may move it either way
}

// aggDir is the direction in which adding an event moves an aggregate's comparison.
func aggDir(n *ast.Aggregate) int8 {
	if n.Value == nil {
		return 0
	}
	want := n.Value.Value
	up := n.Op == ast.Ge || n.Op == ast.Gt
	down := n.Op == ast.Le || n.Op == ast.Lt
	switch n.Func {
	case ast.Count, ast.Distinct:
		// never negative: "= 0" is "<= 0" and "!= 0" is "> 0"
		if n.Op == ast.Eq && want <= 0 {
			down = true
		}
		if n.Op == ast.Neq && want <= 0 {
			up = true
		}
	case ast.Sum:
	case ast.Max:
		down = false // max of nothing holds nothing: "max <= N" can turn true
	case ast.Min:
		up, down = n.Op == ast.Le || n.Op == ast.Lt, false
	default:
		return 0
	}
	switch {
	case up:
		return 1
	case down:
		return -1
	}
	return 0
}

// polarity is the direction in which an event of kind ("track", "page", "screen") and name
// can move c; prop gives the event's properties as the evaluators read them (for sums).
func (c *compiled) polarity(kind, name string, prop func(string) any) pol {
	p := polNone
	for i := range c.evLeaves {
		l := &c.evLeaves[i]
		if !l.reaches(kind, name) {
			continue
		}
		dir := l.dir
		if l.sum != "" && dir != 0 {
			switch v := prop(l.sum).(type) {
			case nil:
				continue // absent: a sum skips it
			case float64:
				if math.IsNaN(v) {
					dir = 0
				} else if v < 0 {
					dir = -dir
				}
			default:
				dir = 0 // text may read as a number of either sign
			}
		}
		switch dir {
		case 1:
			p = p.and(polUp)
		case -1:
			p = p.and(polDown)
		default:
			return polAny
		}
	}
	return p
}

// reaches reports whether an event of kind and name may be one the leaf counts (page and
// screen names are not told apart: a leaf an event does not reach is moved by it in no way,
// which any direction includes).
func (l *evLeaf) reaches(kind, name string) bool {
	t := l.target
	if t == nil {
		return true
	}
	switch t.Kind {
	case ast.TrackEvent:
		return kind == "track" && name == t.Name
	case ast.PageEvent:
		return kind == "page"
	case ast.ScreenEvent:
		return kind == "screen"
	case ast.AnyEvent:
		return kind == "track" || kind == "page" || kind == "screen"
	}
	return true
}
