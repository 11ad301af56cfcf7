// Package profeval evaluates a SegQL tree for one profile, fast enough to run on every
// accepted write: the live path calls it for each (profile, dependent segment) pair. It keeps
// a profile's events sorted by time and grouped by kind and name, so a windowed aggregate
// reads only the events of its target inside its window (two binary searches) instead of
// every event of the profile, and resolves each window's bounds once per evaluation.
//
// Its answers must equal the reference evaluator's (engine/reference) for every tree and
// every profile; the engine's differential test checks that on random data and random trees.
// It takes the reference's semantics of values, conditions on a bag of values, windows and
// calendar periods from reference.Conditions rather than restating them, and owns only the
// traversal of events.
//
// It must not import engine, index, live or the store.
package profeval

import (
	"slices"
	"sort"
	"time"
	"unsafe"

	"github.com/segd/segd/internal/engine/reference"
	"github.com/segd/segd/internal/segql/ast"
)

// Event is one event of a profile. Its properties are a short list of name/value pairs, not
// a map: the live path keeps millions of events in memory, and a map each would cost several
// times the event (a profile's events typically keep one to three properties segments read).
type Event struct {
	Kind  string // "track", "page" or "screen"
	Name  string
	Time  time.Time
	Props []Prop
}

// Prop is one property of an event.
type Prop struct {
	Name  string
	Value any
}

// Get returns the value of a property as filters see it (nil when absent): page and screen
// calls also have their name as the property "name" unless they carry one (the reference
// evaluator's rule for filters).
func (e *Event) Get(name string) any {
	for i := range e.Props {
		if e.Props[i].Name == name {
			return e.Props[i].Value
		}
	}
	if name == "name" && e.Kind != "track" && e.Name != "" {
		return e.Name
	}
	return nil
}

// EventOf converts the reference's event, keeping the properties keep selects (all of them
// when keep is nil).
func EventOf(e reference.Event, keep func(name string) bool) Event {
	out := Event{Kind: e.Kind, Name: e.Name, Time: e.Time}
	n := 0
	for k := range e.Props {
		if keep == nil || keep(k) {
			n++
		}
	}
	if n > 0 {
		out.Props = make([]Prop, 0, n)
		for k, v := range e.Props {
			if keep == nil || keep(k) {
				out.Props = append(out.Props, Prop{k, v})
			}
		}
	}
	return out
}

// PackProps moves the properties of events into one new array of their own, so that events
// decoded into a reused buffer can be handed to another goroutine (a Profile copies the
// properties of the events it takes, so events passed straight to it need not be packed).
func PackProps(events []Event) {
	n := 0
	for i := range events {
		n += len(events[i].Props)
	}
	if n == 0 {
		return
	}
	all := make([]Prop, 0, n)
	for i := range events {
		if len(events[i].Props) > 0 {
			start := len(all)
			all = append(all, events[i].Props...)
			events[i].Props = all[start:len(all):len(all)]
		}
	}
}

// Reference returns the event as the reference evaluator reads it.
func (e *Event) Reference() reference.Event {
	props := make(map[string]any, len(e.Props))
	for _, p := range e.Props {
		props[p.Name] = p.Value
	}
	return reference.Event{Kind: e.Kind, Name: e.Name, Time: e.Time, Props: props}
}

// Bag is a set of named values a filter reads: a profile's traits, a record's attributes or
// an event's properties (*Event). Get returns nil for an absent name.
type Bag interface{ Get(name string) any }

// MapBag is a Bag of a map.
type MapBag map[string]any

// Get returns m[name].
func (m MapBag) Get(name string) any { return m[name] }

// Profile is one profile's data: traits, events kept sorted by time (equal times in arrival
// order) and indexed by kind and track name, and related records. The zero value is an
// empty profile. It is not safe for concurrent use.
type Profile struct {
	Traits  map[string]any
	Records []reference.Record

	events []event
	props  []Prop   // the events' properties (and, after drops, some no event refers to)
	live   int      // how many of props events refer to
	names  []string // the events' names, by event.name
	bytes  int      // memory the events hold, estimated (see eventBytes)
	// groups holds the positions of each group's events in events, ascending, by group
	// number (see group): a slice, so that adding an event appends to its group without a
	// lookup (a map by name was a tenth of the cost of adding an event).
	groups [][]int32
	dirty  bool // groups must be rebuilt (an event was inserted before the end)
	// matches caches, for the compiled filters evaluations have asked about, the positions of
	// the group's events each admits (see matching); rebuilt with the groups.
	matches []matchList
}

// matchList is the positions (into events, ascending) of the events of group g that the
// compiled filter f of the filter node x admits, kept current as events are appended.
type matchList struct {
	g  int
	x  ast.Expr
	f  filter
	ps []int32
}

// maxMatchLists bounds the filters a profile keeps positions for (the oldest goes first):
// edited segments leave filters behind that no evaluation asks about any more.
const maxMatchLists = 32

// event is how a Profile keeps an Event: 24 bytes and no pointers. A cache holds millions of
// events; as Events (80 bytes, four pointers each) they were most of what the collector
// marked, and the binary searches over event times touched three times the memory.
type event struct {
	t    int64  // Unix nanoseconds
	off  uint32 // properties: props[off : off+n]
	n    uint32
	name uint32 // names[name]
	kind uint8
}

const (
	kindOther uint8 = iota
	kindTrack
	kindPage
	kindScreen
)

var kindNames = [...]string{kindTrack: "track", kindPage: "page", kindScreen: "screen"}

func kindOf(k string) uint8 {
	switch k {
	case "track":
		return kindTrack
	case "page":
		return kindPage
	case "screen":
		return kindScreen
	}
	return kindOther
}

// time is the event's time.
func (ev *event) time() time.Time { return time.Unix(0, ev.t).UTC() }

// Group numbers: page calls, screen calls, then the track events named names[i] as
// trackGroups+i.
const (
	pageGroup = iota
	screenGroup
	trackGroups
)

// group is the number of ev's group; false for events of no group.
func group(ev *event) (int, bool) {
	switch ev.kind {
	case kindTrack:
		return trackGroups + int(ev.name), true
	case kindPage:
		return pageGroup, true
	case kindScreen:
		return screenGroup, true
	}
	return 0, false
}

// appendToGroup adds position i to the end of group g, making room for g if needed.
func (p *Profile) appendToGroup(g, i int) {
	for len(p.groups) <= g {
		p.groups = append(p.groups, nil)
	}
	p.groups[g] = append(p.groups[g], int32(i))
}

// NewProfile returns a profile holding events, given in any order (the slice is sorted in
// place; the properties are copied).
func NewProfile(traits map[string]any, events []Event, records []reference.Record) *Profile {
	p := &Profile{Traits: traits, Records: records, dirty: true}
	slices.SortStableFunc(events, func(a, b Event) int { return a.Time.Compare(b.Time) })
	p.events = make([]event, 0, len(events))
	n := 0
	for i := range events {
		n += len(events[i].Props)
	}
	p.props = make([]Prop, 0, n)
	for i := range events {
		p.events = append(p.events, p.store(&events[i]))
	}
	return p
}

// store converts e, its properties appended to p.props.
func (p *Profile) store(e *Event) event {
	p.bytes += eventBytes(e)
	ev := event{t: e.Time.UnixNano(), off: uint32(len(p.props)), n: uint32(len(e.Props)), name: p.nameIndex(e.Name), kind: kindOf(e.Kind)}
	p.props = append(p.props, e.Props...)
	p.live += len(e.Props)
	return ev
}

// nameIndex returns the position of name in p.names, adding it if needed (a profile's
// events have few distinct names).
func (p *Profile) nameIndex(name string) uint32 {
	for i, n := range p.names {
		if n == name {
			return uint32(i)
		}
	}
	p.names = append(p.names, name)
	return uint32(len(p.names) - 1)
}

// Add inserts an event at its time (after events of the same time); its properties are
// copied.
func (p *Profile) Add(e Event) {
	ev := p.store(&e)
	n := len(p.events)
	if n == 0 || ev.t >= p.events[n-1].t {
		p.events = append(p.events, ev)
		if !p.dirty && p.groups != nil {
			if g, ok := group(&ev); ok {
				p.appendToGroup(g, n)
				p.appendMatches(g, n)
			}
		}
		return
	}
	i := sort.Search(n, func(i int) bool { return ev.t < p.events[i].t })
	p.events = slices.Insert(p.events, i, ev)
	p.dirty = true
}

// Bytes estimates the memory the events hold, the spare capacity of the arrays included
// (appending doubles them; DropBefore gives it back when a quarter of the events' array or
// half of the properties' is used).
func (p *Profile) Bytes() int {
	return p.bytes + (cap(p.events)-len(p.events))*int(unsafe.Sizeof(event{})) +
		(cap(p.props)-p.live)*int(unsafe.Sizeof(Prop{}))
}

// eventBytes estimates the memory of one event: the event, its position in a group, its
// properties and their boxed values (names are shared); strings count their bytes.
func eventBytes(e *Event) int {
	n := int(unsafe.Sizeof(event{})) + 4 + len(e.Props)*int(unsafe.Sizeof(Prop{}))
	for _, p := range e.Props {
		switch v := p.Value.(type) {
		case string:
			n += 16 + len(v)
		case nil, bool:
		default:
			n += 8
		}
	}
	return n
}

// Len is the number of events.
func (p *Profile) Len() int { return len(p.events) }

// Time returns the time of the i-th event (in time order).
func (p *Profile) Time(i int) time.Time { return p.events[i].time() }

// Props returns the properties of the i-th event; the caller must not modify them.
func (p *Profile) Props(i int) []Prop { return p.propsOf(&p.events[i]) }

func (p *Profile) propsOf(ev *event) []Prop {
	return p.props[ev.off : ev.off+ev.n : ev.off+ev.n]
}

// Event returns the i-th event (its Props are the profile's: do not modify them).
func (p *Profile) Event(i int) Event {
	ev := &p.events[i]
	out := Event{Kind: kindNames[ev.kind], Name: p.names[ev.name], Time: ev.time()}
	if ev.n > 0 {
		out.Props = p.propsOf(ev)
	}
	return out
}

// Events returns the events sorted by time, as Events (a copy, for tests and tools).
func (p *Profile) Events() []Event {
	out := make([]Event, len(p.events))
	for i := range out {
		out[i] = p.Event(i)
	}
	return out
}

// get returns the value of a property of ev as filters see it: Event.Get's rule.
func (p *Profile) get(ev *event, name string) any {
	for _, pr := range p.propsOf(ev) {
		if pr.Name == name {
			return pr.Value
		}
	}
	if name == "name" && ev.kind != kindTrack {
		if n := p.names[ev.name]; n != "" {
			return n
		}
	}
	return nil
}

// eventBag is an event seen as a Bag.
type eventBag struct {
	p  *Profile
	ev *event
}

func (b *eventBag) Get(name string) any { return b.p.get(b.ev, name) }

// DropBefore removes the events older than t and reports how many it removed.
func (p *Profile) DropBefore(t time.Time) int {
	tn := t.UnixNano()
	i := sort.Search(len(p.events), func(i int) bool { return p.events[i].t >= tn })
	if i == 0 {
		return 0
	}
	for j := range i {
		ev := p.events[j]
		e := Event{Props: p.propsOf(&ev)}
		p.bytes -= eventBytes(&e)
		p.live -= int(ev.n)
	}
	p.events = slices.Delete(p.events, 0, i)
	if cap(p.events) > 64 && len(p.events) < cap(p.events)/4 {
		p.events = slices.Clip(slices.Clone(p.events)) // give back what a busier past grew
	}
	if len(p.props) > 64 && p.live < len(p.props)/2 {
		p.packProps()
	}
	p.dirty = true
	return i
}

// packProps moves the properties events refer to into a new array of their size.
func (p *Profile) packProps() {
	props := make([]Prop, 0, p.live)
	for i := range p.events {
		ev := &p.events[i]
		off := uint32(len(props))
		props = append(props, p.propsOf(ev)...)
		ev.off = off
	}
	p.props = props
}

func (p *Profile) index() {
	if !p.dirty && p.groups != nil {
		return
	}
	if p.groups == nil {
		p.groups = make([][]int32, trackGroups+len(p.names))
	}
	for g := range p.groups {
		p.groups[g] = p.groups[g][:0]
	}
	clear(p.matches)
	p.matches = p.matches[:0]
	for i := range p.events {
		if g, ok := group(&p.events[i]); ok {
			p.appendToGroup(g, i)
		}
	}
	p.dirty = false
}

// appendMatches adds the appended event at position n, of group g, to the match lists of g
// whose filter admits it.
func (p *Profile) appendMatches(g, n int) {
	if len(p.matches) == 0 {
		return
	}
	bag := &eventBag{p, &p.events[n]}
	for i := range p.matches {
		if m := &p.matches[i]; m.g == g && m.f(bag) {
			m.ps = append(m.ps, int32(n))
		}
	}
}

// FirstAfter is the position in ps (in the profile's events when all) of the first event
// later than t; len(ps) (or Len) when there is none.
func (p *Profile) FirstAfter(ps []int32, all bool, t time.Time) int {
	s := span{lo: t, hasLo: true, hi: maxNanoTime, hiIn: true}
	if lo, _, empty := s.nanoBounds(); !empty {
		return p.first(ps, all, lo)
	}
	if all {
		return len(p.events)
	}
	return len(ps)
}

// trackGroup is the group number of the track events called name; false when the profile
// has none.
func (p *Profile) trackGroup(name string) (int, bool) {
	for i, n := range p.names {
		if n == name {
			return trackGroups + i, true
		}
	}
	return 0, false
}

// matching returns the positions (into events, ascending) of the events of group g that the
// compiled filter f of node x admits: from the cache, or found and cached.
func (p *Profile) matching(g int, x ast.Expr, f filter) []int32 {
	p.index()
	for i := range p.matches {
		if m := &p.matches[i]; m.g == g && m.x == x {
			return m.ps
		}
	}
	var ps []int32
	if g < len(p.groups) {
		bag := &eventBag{p: p}
		for _, j := range p.groups[g] {
			if bag.ev = &p.events[j]; f(bag) {
				ps = append(ps, j)
			}
		}
	}
	if len(p.matches) == maxMatchLists {
		p.matches[0] = matchList{}
		p.matches = append(p.matches[:0], p.matches[1:]...)
	}
	p.matches = append(p.matches, matchList{g: g, x: x, f: f, ps: ps})
	return ps
}

// Group returns the positions (into Events) of the events of a kind ("track", "page" or
// "screen"; for "track" only those called name), ascending in time.
func (p *Profile) Group(kind, name string) []int32 {
	p.index()
	g := 0
	switch kind {
	case "page":
		g = pageGroup
	case "screen":
		g = screenGroup
	default:
		var ok bool
		if g, ok = p.trackGroup(name); !ok {
			return nil
		}
	}
	if g >= len(p.groups) {
		return nil
	}
	return p.groups[g]
}
