package live

import (
	"hash/maphash"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"sync/atomic"
	"time"
	"unique"

	"github.com/segd/segd/internal/index"
	"github.com/segd/segd/internal/profeval"
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
	// props are the event properties a condition reads (where, of, a page or screen name),
	// each mapped to the needs' copy of its name; the cache drops the others. traits are the
	// traits conditions read; likewise.
	props  map[string]string
	traits map[string]bool
	// props and traits as filters for index.FromFields and store.ProfileTraits
	keepProp, keepTrait func(name string) bool
	// names holds one copy of each property and track event name above, so that the
	// millions of cached events share it instead of each holding the decoder's copy.
	names map[string]string
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

func newNeeds() *needs {
	n := &needs{track: map[string]horizon{}, props: map[string]string{}, traits: map[string]bool{}, names: map[string]string{}}
	n.keepProp = func(k string) bool {
		_, ok := n.props[k]
		return ok
	}
	n.keepTrait = func(k string) bool { return n.traits[k] }
	return n
}

// traitFilter selects the traits some condition reads (nil, all of them, when n is nil).
func (n *needs) traitFilter() func(string) bool {
	if n == nil {
		return nil
	}
	return n.keepTrait
}

// propFilter selects the properties some condition reads (nil, all of them, when n is nil).
func (n *needs) propFilter() func(string) bool {
	if n == nil {
		return nil
	}
	return n.keepProp
}

// keepTraits returns the traits of m that some condition reads (all of them when n is nil).
func (n *needs) keepTraits(m map[string]any) map[string]any {
	if n == nil {
		return m
	}
	kept := make(map[string]any, len(n.traits))
	for k := range n.traits {
		if v, ok := m[k]; ok {
			kept[k] = v
		}
	}
	return kept
}

// readsTrait reports whether a condition reads the trait (true for every trait when n is nil).
func (n *needs) readsTrait(k string) bool { return n == nil || n.traits[k] }

// event returns e as the cache keeps it: only the properties some condition reads (all of
// them when n is nil), its names and short texts shared, nothing pointing into the request
// the event was decoded from (the decoder's strings are slices of the whole batch body, so
// keeping one would keep all of it).
func (n *needs) event(e *index.Event) profeval.Event {
	var buf [16]profeval.Prop
	out, _ := n.eventInto(e, buf[:0])
	out.Props = slices.Clip(slices.Clone(out.Props))
	return out
}

// eventInto is event with the kept properties appended to scratch, which it returns: the
// event's Props are a slice of it, valid until scratch is reused. Loads and the cache's
// updates decode events this way instead of allocating properties event by event (a
// profeval.Profile copies the properties of the events it takes).
func (n *needs) eventInto(e *index.Event, scratch []profeval.Prop) (profeval.Event, []profeval.Prop) {
	return n.eventIntoCached(e, scratch, nil)
}

// derivedNames remembers, by position, what needs said of the last events' derived field
// names (kept or not, and under which shared name): they come in enrichment's order, so
// most events find theirs here instead of a map lookup each. One goroutine uses it, with
// one needs.
type derivedNames []derivedName

type derivedName struct {
	name, shared string
	kept         bool
}

// eventIntoCached is eventInto remembering derived field names in dc (nil: none).
func (n *needs) eventIntoCached(e *index.Event, scratch []profeval.Prop, dc *derivedNames) (profeval.Event, []profeval.Prop) {
	// one pass over the event's properties: a kept one is looked up once, for its shared name
	start := len(scratch)
	lookup := func(k string) (string, bool) {
		if n == nil {
			return share(k), true
		}
		name, ok := n.props[k]
		return name, ok
	}
	for k, v := range e.Props {
		if name, ok := lookup(k); ok {
			scratch = append(scratch, profeval.Prop{Name: name, Value: shareValue(v)})
		}
	}
	for i, p := range e.Derived {
		var name string
		var ok bool
		if dc != nil && i < len(*dc) && (*dc)[i].name == p.Name {
			name, ok = (*dc)[i].shared, (*dc)[i].kept
		} else {
			name, ok = lookup(p.Name)
			if dc != nil && i < 32 {
				for len(*dc) <= i {
					*dc = append(*dc, derivedName{})
				}
				// a kept name is the needs' own copy; another is copied (it may be a slice
				// of a request body)
				key := name
				if !ok {
					key = strings.Clone(p.Name)
				}
				(*dc)[i] = derivedName{name: key, shared: name, kept: ok}
			}
		}
		if ok {
			scratch = append(scratch, profeval.Prop{Name: name, Value: shareValue(p.Value)})
		}
	}
	out := profeval.Event{Kind: e.Kind.String(), Name: n.intern(e.Name), Time: e.Time}
	if len(scratch) > start {
		out.Props = scratch[start:len(scratch):len(scratch)]
	}
	return out, scratch
}

// shareValue returns v as the cache keeps it: a short text shared (see share) and boxed
// once, a number boxed once, longer texts copied, other values as they are. Millions of
// cached events hold the same few values (categories, plans, prices); a box of their own
// each would be millions of objects for the collector to mark.
func shareValue(v any) any {
	switch x := v.(type) {
	case string:
		if len(x) > maxSharedText {
			return strings.Clone(x)
		}
		_, v := sharedText(maphash.String(boxSeed, x), x)
		return v
	case float64:
		bits := math.Float64bits(x)
		slot := &numberBoxes[(bits*0x9e3779b97f4a7c15)>>(64-boxBits)]
		old := slot.Load()
		if old != nil && old.bits == bits {
			return old.v
		}
		if replaces(old == nil) {
			slot.Store(&numberBox{bits: bits, v: v}) // v is the decoder's box: keep it
		}
		return v
	}
	return v
}

// sharedText returns the shared copy of the text s, whose hash is h, and that copy boxed:
// from textBoxes when it is there.
func sharedText(h uint64, s string) (string, any) {
	slot := &textBoxes[h&(boxSlots-1)]
	old := slot.Load()
	if old != nil && old.text == s {
		return old.text, old.v
	}
	t := share(s)
	if replaces(old == nil) {
		b := &textBox{text: t, v: t}
		slot.Store(b)
		return t, b.v
	}
	return t, t
}

// replaces decides whether a value missing from its box slot takes it: always an empty slot,
// one time in four an occupied one, so that a stream of distinct values (order ids, exact
// prices) neither allocates a box for each nor keeps evicting the frequent ones for good.
func replaces(empty bool) bool {
	return empty || rand.Uint32()&3 == 0
}

// shareBytes is share for a text in bytes: it allocates nothing for a text in textBoxes.
func shareBytes(b []byte) string {
	if len(b) > maxSharedText {
		return string(b)
	}
	h := maphash.Bytes(boxSeed, b)
	if t := textBoxes[h&(boxSlots-1)].Load(); t != nil && t.text == string(b) {
		return t.text
	}
	t, _ := sharedText(h, string(b))
	return t
}

// textBoxes and numberBoxes are lossy caches of boxed values, shared by every Live of the
// process (a box holds only its value): a slot keeps the last value hashed to it, so
// frequent values stay and rare ones come and go. Slots are replaced whole, atomically.
const (
	boxBits  = 14
	boxSlots = 1 << boxBits
)

type textBox struct {
	text string
	v    any
}

type numberBox struct {
	bits uint64
	v    any
}

var (
	boxSeed     = maphash.MakeSeed()
	textBoxes   [boxSlots]atomic.Pointer[textBox]
	numberBoxes [boxSlots]atomic.Pointer[numberBox]
)

// intern returns the needs' copy of a name, or a shared copy.
func (n *needs) intern(s string) string {
	if n != nil {
		if c, ok := n.names[s]; ok {
			return c
		}
	}
	return share(s)
}

// maxSharedText is the longest text share keeps one copy of.
const maxSharedText = 64

// share returns a copy of s that does not point into a larger string: one copy per distinct
// value for short texts (names, categories, plans), a private copy of longer ones.
func share(s string) string {
	if len(s) <= maxSharedText {
		return unique.Make(s).Value()
	}
	return strings.Clone(s)
}

func (n *needs) prop(name string) {
	n.props[name] = name
	n.names[name] = name
}

// where records the names a property condition reads.
func (n *needs) where(x ast.Expr) {
	if x == nil {
		return
	}
	ast.Inspect(x, func(node ast.Node) bool {
		if id, ok := node.(*ast.Ident); ok {
			n.prop(id.Name)
		}
		return true
	})
}

// addTree records what the behaviour conditions of x read.
func (n *needs) addTree(x ast.Expr) {
	ast.Inspect(x, func(node ast.Node) bool {
		switch v := node.(type) {
		case *ast.Aggregate:
			if t, ok := v.Target.(*ast.EventTarget); ok {
				d, ok := reach(v.Window)
				n.add(t, d, ok)
				n.where(v.Where)
				if v.Of != nil {
					n.prop(v.Of.Name)
				}
			}
		case *ast.Did:
			d, ok := reach(v.Window)
			n.add(v.Event, d, ok)
			n.where(v.Where)
		case *ast.Seen:
			n.add(v.Event, 0, false)
			n.where(v.Where)
		case *ast.Sequence:
			// later steps (and a negated one) come after the first, which the window bounds
			d, ok := reach(v.Window)
			for _, s := range v.Steps {
				n.add(s.Event, d, ok)
				n.where(s.Where)
			}
		}
		return true
	})
}

func (n *needs) add(t *ast.EventTarget, d time.Duration, bounded bool) {
	if t.Kind != ast.TrackEvent && t.Name != "" {
		n.prop("name") // page "Pricing": the name is a property
	}
	switch t.Kind {
	case ast.TrackEvent:
		h := n.track[t.Name]
		h.add(d, bounded)
		n.track[t.Name] = h
		n.names[t.Name] = t.Name
	case ast.PageEvent:
		n.page.add(d, bounded)
	case ast.ScreenEvent:
		n.screen.add(d, bounded)
	default:
		n.any.add(d, bounded)
	}
}

// reach is how far before an evaluation any condition looks at events; false when some
// condition's window is not bounded (or n is nil: everything is kept).
func (n *needs) reach() (time.Duration, bool) {
	if n == nil {
		return 0, false
	}
	var d time.Duration
	bounded := true
	use := func(h horizon) {
		bounded = bounded && !h.unbounded
		d = max(d, h.d)
	}
	use(n.page)
	use(n.screen)
	use(n.any)
	for _, h := range n.track {
		use(h)
	}
	return d, bounded
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
