package live

import (
	"fmt"
	"sort"
	"time"

	"github.com/segd/segd/internal/profeval"
	"github.com/segd/segd/internal/segment"
	"github.com/segd/segd/internal/segql/ast"
	"github.com/segd/segd/internal/segql/parser"
	"github.com/segd/segd/internal/segql/printer"
)

// compiled is a segment ready for per-profile evaluation: its tree and what it depends on,
// found by walking the tree.
type compiled struct {
	seg   segment.Segment
	tseg  segNo // seg.ID's number, for timer keys
	tree  ast.Expr
	ptree *profeval.Tree // tree prepared for per-profile evaluation

	events   map[string]bool // track event names
	page     bool            // any page call (named or not) may matter
	screen   bool
	anyEvent bool
	traits   map[string]bool
	records  map[string]bool
	segments map[string]bool // names used with "in segment"

	// Time: what can make membership change with no new data.
	timeDep bool
	durs    []ast.Duration // window lengths, "N ago", sequence "within"
	// offsets are the fixed distances from a stored time b at which a comparison can flip
	// (b, b+1ns, b±W, b±W+1ns); calDurs the month and year lengths, handled apart.
	offsets []time.Duration
	calDurs []ast.Duration
	periods []ast.Period // "this week" ...
	anniv   bool         // anniversary conditions (day boundaries)
	lits    []time.Time  // absolute time literals
	// flips are the aggregates and dids of events when every way the tree depends on time
	// goes through them and their rolling windows (nil otherwise): then the next change is
	// the earliest of their profeval.NextFlip instants instead of the earliest instant any
	// event the segment reads crosses a window edge (most of which flip nothing).
	flips []ast.Expr
	// evLeaves are the tree's conditions on events and which way an added event moves them
	// (polarity.go).
	evLeaves []evLeaf

	order int // position in the workspace's dependency order

	// bound is the segment's calendar boundary timer as the step numbered gen read it
	// (Live.boundary; live's goroutine only)
	bound struct {
		gen uint64
		st  timerState
		ok  bool
	}
}

func compile(seg segment.Segment) (*compiled, error) {
	x, err := parser.ParseExpr(seg.Query)
	if err != nil {
		return nil, fmt.Errorf("live: segment %s: query does not parse: %w", seg.ID, err)
	}
	c := &compiled{seg: seg, tseg: segNumber(seg.ID), tree: x, ptree: profeval.Compile(x), events: map[string]bool{}, traits: map[string]bool{}, records: map[string]bool{}, segments: map[string]bool{}}
	c.deps(x)
	ast.Inspect(x, func(n ast.Node) bool {
		switch n := n.(type) {
		case *ast.LastWindow:
			c.addDur(n.Dur)
		case *ast.NextWindow:
			c.addDur(n.Dur)
		case *ast.Ago:
			c.addDur(n.Dur)
		case *ast.Now:
			c.timeDep = true
		case *ast.Sequence:
			if n.Within != nil {
				c.addDur(*n.Within)
			}
		case *ast.ThisWindow:
			c.timeDep = true
			c.periods = append(c.periods, n.Period)
		case *ast.Anniversary:
			c.timeDep, c.anniv = true, true
		case *ast.TimeLit:
			c.lits = append(c.lits, n.Time)
		case *ast.Aggregate:
			if _, ok := n.Target.(*ast.EventTarget); ok {
				c.timeDep = true // a future event becomes visible at its time
			}
		case *ast.Did, *ast.Seen:
			// Events count only once they happened: an event in the future becomes
			// visible at its time.
			c.timeDep = true
		}
		return true
	})
	c.offsets = append([]time.Duration{0, time.Nanosecond}, c.offsets...)
	c.flips = flipLeaves(x)
	c.evLeaves = eventLeaves(x, 1, nil)
	return c, nil
}

// flipLeaves returns x's event aggregates and dids when each has a rolling window of fixed
// length or none and nothing else in x depends on the evaluation time (other windows, "ago",
// "now", time literals, anniversaries, sequences, first/last seen); nil otherwise.
func flipLeaves(x ast.Expr) []ast.Expr {
	var leaves []ast.Expr
	ok := true
	var walk func(n ast.Node) bool
	walk = func(n ast.Node) bool {
		if !ok {
			return false
		}
		var where ast.Expr
		var win ast.Window
		switch v := n.(type) {
		case *ast.Aggregate:
			if _, isEvent := v.Target.(*ast.EventTarget); !isEvent {
				return true // records: no window; look inside the filter
			}
			where, win = v.Where, v.Window
		case *ast.Did:
			where, win = v.Where, v.Window
		case *ast.LastWindow, *ast.NextWindow, *ast.ThisWindow, *ast.SinceWindow, *ast.BetweenWindow, *ast.Ago, *ast.Now,
			*ast.TimeLit, *ast.Anniversary, *ast.Sequence, *ast.Seen:
			ok = false
			return false
		default:
			return true
		}
		if win != nil {
			lw, isLast := win.(*ast.LastWindow)
			if !isLast {
				ok = false
				return false
			}
			if _, fixed := lw.Dur.Unit.Fixed(); !fixed {
				ok = false
				return false
			}
		}
		if where != nil {
			ast.Inspect(where, walk)
		}
		leaves = append(leaves, n.(ast.Expr))
		return false
	}
	ast.Inspect(x, walk)
	if !ok {
		return nil
	}
	return leaves
}

func (c *compiled) addDur(d ast.Duration) {
	c.timeDep = true
	for _, x := range c.durs {
		if x.N == d.N && x.Unit == d.Unit {
			return
		}
	}
	c.durs = append(c.durs, ast.Duration{N: d.N, Unit: d.Unit})
	if f, ok := d.Unit.Fixed(); ok {
		step := time.Duration(d.N) * f
		c.offsets = append(c.offsets, step, step+time.Nanosecond, -step, -step+time.Nanosecond)
	} else {
		c.calDurs = append(c.calDurs, ast.Duration{N: d.N, Unit: d.Unit})
	}
}

func (c *compiled) event(t *ast.EventTarget) {
	switch t.Kind {
	case ast.TrackEvent:
		c.events[t.Name] = true
	case ast.PageEvent:
		c.page = true
	case ast.ScreenEvent:
		c.screen = true
	case ast.AnyEvent:
		c.anyEvent = true
	}
}

// readsEvent reports whether c reads e (by the same rules that route an arriving event to c).
func (c *compiled) readsEvent(e *profeval.Event) bool {
	switch e.Kind {
	case "track":
		return c.anyEvent || c.events[e.Name]
	case "page":
		return c.anyEvent || c.page
	case "screen":
		return c.anyEvent || c.screen
	}
	return false
}

// deps records the data x reads; names outside behaviour conditions are traits.
func (c *compiled) deps(x ast.Expr) {
	switch n := x.(type) {
	case *ast.Paren:
		c.deps(n.X)
	case *ast.Not:
		c.deps(n.X)
	case *ast.And:
		for _, y := range n.List {
			c.deps(y)
		}
	case *ast.Or:
		for _, y := range n.List {
			c.deps(y)
		}
	case *ast.Compare:
		c.traits[n.Name.Name] = true
	case *ast.In:
		c.traits[n.Name.Name] = true
	case *ast.Exists:
		c.traits[n.Name.Name] = true
	case *ast.TextMatch:
		c.traits[n.Name.Name] = true
	case *ast.TimeCond:
		c.traits[n.Name.Name] = true
	case *ast.Anniversary:
		c.traits[n.Name.Name] = true
	case *ast.Geo:
		c.traits[n.Name.Name] = true
	case *ast.Aggregate:
		switch t := n.Target.(type) {
		case *ast.RecordTarget:
			c.records[t.Type] = true
		case *ast.EventTarget:
			c.event(t)
		}
	case *ast.Did:
		c.event(n.Event)
	case *ast.Seen:
		c.event(n.Event)
	case *ast.Sequence:
		for _, s := range n.Steps {
			c.event(s.Event)
		}
	case *ast.HasRecord:
		c.records[n.Record.Type] = true
	case *ast.InSegment:
		c.segments[n.Segment.Value] = true
	}
}

// topLevel returns the operands whose flip explains a change: the and/or list at the top, or
// the tree itself.
func topLevel(x ast.Expr) ([]ast.Expr, bool) {
	switch n := ast.Unparen(x).(type) {
	case *ast.And:
		return n.List, true
	case *ast.Or:
		return n.List, false
	}
	return []ast.Expr{x}, true
}

func conditionText(x ast.Expr) string { return printer.String(x) }

// order sorts segs so that every segment comes after the segments it uses with "in segment"
// (names not among segs are external: snapshot segments or unknown). A cycle (which the
// segment service rejects) is broken arbitrarily.
func order(segs []*compiled) []*compiled {
	byName := map[string]*compiled{}
	for _, c := range segs {
		byName[c.seg.Name] = c
	}
	sort.Slice(segs, func(i, j int) bool { return segs[i].seg.ID < segs[j].seg.ID })
	state := map[*compiled]int{} // 1 visiting, 2 done
	var out []*compiled
	var visit func(c *compiled)
	visit = func(c *compiled) {
		if state[c] != 0 {
			return
		}
		state[c] = 1
		names := make([]string, 0, len(c.segments))
		for n := range c.segments {
			names = append(names, n)
		}
		sort.Strings(names)
		for _, n := range names {
			if d := byName[n]; d != nil {
				visit(d)
			}
		}
		state[c] = 2
		out = append(out, c)
	}
	for _, c := range segs {
		visit(c)
	}
	for i, c := range out {
		c.order = i
	}
	return out
}
