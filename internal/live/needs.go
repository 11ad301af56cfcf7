package live

import (
	"time"

	"github.com/segd/segd/internal/segql/ast"
)

// needs says which stored events per-profile evaluation must hold: for each event group
// (a track event name, page calls, screen calls) that a real-time segment reads, how far
// before the evaluation time its conditions look. A profile's cached data then holds only
// those events, so loading it decodes a fraction of its history (a year of page views is
// not read for "count(page in last 7 days)"). Conditions without a bounded window (no
// window, first_seen / last_seen, since / between / before) need the whole group.
type needs struct {
	track        map[string]horizon
	page, screen horizon
	any          horizon
}

type horizon struct {
	used, unbounded bool
	d               time.Duration
}

func (h *horizon) add(d time.Duration, bounded bool) {
	h.used = true
	if !bounded {
		h.unbounded = true
	} else if d > h.d {
		h.d = d
	}
}

// keeps reports whether an event at t is needed by evaluations at or after from.
func (h horizon) keeps(t, from time.Time) bool {
	return h.used && (h.unbounded || !t.Before(from.Add(-h.d)))
}

func newNeeds() *needs { return &needs{track: map[string]horizon{}} }

// addTree records what the behaviour conditions of x read.
func (n *needs) addTree(x ast.Expr) {
	ast.Inspect(x, func(node ast.Node) bool {
		switch v := node.(type) {
		case *ast.Aggregate:
			if t, ok := v.Target.(*ast.EventTarget); ok {
				d, ok := reach(v.Window)
				n.add(t, d, ok)
			}
		case *ast.Did:
			d, ok := reach(v.Window)
			n.add(v.Event, d, ok)
		case *ast.Seen:
			n.add(v.Event, 0, false)
		case *ast.Sequence:
			// later steps (and a negated one) come after the first, which the window bounds
			d, ok := reach(v.Window)
			for _, s := range v.Steps {
				n.add(s.Event, d, ok)
			}
		}
		return true
	})
}

func (n *needs) add(t *ast.EventTarget, d time.Duration, bounded bool) {
	switch t.Kind {
	case ast.TrackEvent:
		h := n.track[t.Name]
		h.add(d, bounded)
		n.track[t.Name] = h
	case ast.PageEvent:
		n.page.add(d, bounded)
	case ast.ScreenEvent:
		n.screen.add(d, bounded)
	default:
		n.any.add(d, bounded)
	}
}

// keeps reports whether an event of kind ("track", "page", "screen") and name at t is
// needed by evaluations at or after from.
func (n *needs) keeps(kind, name string, t, from time.Time) bool {
	if n.any.keeps(t, from) {
		return true
	}
	switch kind {
	case "track":
		return n.track[name].keeps(t, from)
	case "page":
		return n.page.keeps(t, from)
	case "screen":
		return n.screen.keeps(t, from)
	}
	return false
}

// reach is how far before the evaluation time a window admits events, with a margin for
// time zones and daylight saving; false when it is not bounded.
func reach(w ast.Window) (time.Duration, bool) {
	const day = 24 * time.Hour
	if lw, ok := w.(*ast.LastWindow); ok && lw.Dur.N > 100_000 {
		return 0, false // longer than any history; and N × unit must not overflow
	}
	switch w := w.(type) {
	case *ast.LastWindow:
		if f, ok := w.Dur.Unit.Fixed(); ok {
			return time.Duration(w.Dur.N)*f + time.Second, true
		}
		switch w.Dur.Unit {
		case ast.Months:
			return time.Duration(w.Dur.N)*31*day + 2*day, true
		case ast.Years:
			return time.Duration(w.Dur.N)*366*day + 2*day, true
		}
	case *ast.ThisWindow:
		switch w.Period {
		case ast.Day:
			return 2 * day, true
		case ast.Week:
			return 8 * day, true
		case ast.Month:
			return 32 * day, true
		case ast.Year:
			return 367 * day, true
		}
	}
	return 0, false
}
