package profeval

import (
	"errors"
	"fmt"
	"math"
	"sort"
	"time"

	"github.com/segd/segd/internal/engine/reference"
	"github.com/segd/segd/internal/segql/ast"
)

// Options are the evaluation parameters.
type Options struct {
	At       time.Time
	Location *time.Location // calendar windows; UTC when nil
	Segment  string         // the segment being evaluated (sample hashes it)
	Profile  uint32         // the profile's id (sample hashes it)
	// InSegment answers "in segment name" for this profile.
	InSegment func(name string) (bool, error)
}

// Holds reports whether x holds for p at o.At.
func Holds(p *Profile, x ast.Expr, o Options) (bool, error) {
	return NewEvaluator(p, o).Eval(Compile(x), x, o.Segment)
}

// Evaluator evaluates trees for one profile at one time; reuse it for the several segments
// a change touches (it resolves the evaluation time once).
type Evaluator struct {
	t  *Tree
	p  *Profile
	o  Options
	c  reference.Conditions
	at time.Time
	// vals is the aggregates' buffer of values, reused from one aggregate to the next.
	vals []any
	// scratch holds an event's properties for filters the reference tests (see mapOf).
	scratch map[string]any
	// times is NextFlip's buffer of event times (Unix nanoseconds), reused.
	times []int64
	// seq holds a sequence's step times (Unix nanoseconds), reused from one sequence to the next.
	seq [][]int64
	// eb is the event a filter reads (see bag).
	eb eventBag
}

// NewEvaluator returns an evaluator of p at o.At (o.Segment is the default segment name).
func NewEvaluator(p *Profile, o Options) *Evaluator {
	e := new(Evaluator)
	e.Reset(p, o)
	return e
}

// Reset makes e an evaluator of p at o.At as NewEvaluator does, keeping the buffers it grew:
// a caller evaluating many profiles one after another (live's jobs) reuses one Evaluator
// instead of allocating the buffers again for each.
func (e *Evaluator) Reset(p *Profile, o Options) {
	if o.Location == nil {
		o.Location = time.UTC
	}
	if p.Traits == nil {
		p.Traits = map[string]any{}
	}
	e.t, e.p, e.o = nil, p, o
	e.c = e.c.Reuse(reference.Options{At: o.At, Location: o.Location})
	e.at = e.c.At()
	e.vals = e.vals[:0]
	clear(e.scratch)
	e.times = e.times[:0]
}

// Release drops what e refers to of the last evaluation (the profile, the options' callbacks)
// so that an idle Evaluator kept for reuse holds no profile alive; its buffers stay.
func (e *Evaluator) Release() {
	e.t, e.p, e.o = nil, nil, Options{}
	clear(e.vals[:cap(e.vals)])
	clear(e.scratch)
}

// Eval reports whether x, t's query or a part of it, holds; segment names the segment t is
// the query of.
func (e *Evaluator) Eval(t *Tree, x ast.Expr, segment string) (bool, error) {
	e.o.Segment, e.t = segment, t
	return e.eval(x)
}

func (e *Evaluator) eval(x ast.Expr) (bool, error) {
	switch n := x.(type) {
	case *ast.Paren:
		return e.eval(n.X)
	case *ast.Not:
		v, err := e.eval(n.X)
		return !v, err
	case *ast.And:
		for _, y := range n.List {
			if v, err := e.eval(y); err != nil || !v {
				return false, err
			}
		}
		return true, nil
	case *ast.Or:
		for _, y := range n.List {
			if v, err := e.eval(y); err != nil || v {
				return v, err
			}
		}
		return false, nil
	case *ast.Compare, *ast.In, *ast.Exists, *ast.TextMatch, *ast.TimeCond, *ast.Anniversary, *ast.Geo:
		if f := e.t.filters[x]; f != nil {
			return f(MapBag(e.p.Traits)), nil
		}
		return e.c.Test(x, e.p.Traits)
	case *ast.Aggregate:
		if rt, ok := n.Target.(*ast.RecordTarget); ok {
			return e.recordAgg(n.Func, n.Of, rt.Type, n.Where, n.Op, n.Value.Float())
		}
		return e.eventAgg(n.Func, n.Of, n.Target.(*ast.EventTarget), n.Where, n.Window, n.Op, n.Value.Float())
	case *ast.Did:
		return e.eventAgg(ast.Count, nil, n.Event, n.Where, n.Window, ast.Ge, 1)
	case *ast.HasRecord:
		return e.recordAgg(ast.Count, nil, n.Record.Type, n.Where, ast.Ge, 1)
	case *ast.Seen:
		return e.seen(n)
	case *ast.Sequence:
		return e.sequence(n)
	case *ast.InSegment:
		if e.o.InSegment == nil {
			return false, errors.New("profeval: no segments")
		}
		return e.o.InSegment(n.Segment.Value)
	case *ast.Sample:
		return reference.InSample(e.o.Segment, e.o.Profile, n.Percent.Value), nil
	}
	return false, fmt.Errorf("profeval: unsupported %T", x)
}

// span is the part of the time line an event window admits, as bounds a binary search can
// use; exact is false for windows whose bounds it does not know, whose events are then
// checked one by one with the reference's Within.
type span struct {
	lo          time.Time
	hasLo, loIn bool // lower bound present, inclusive
	hi          time.Time
	hiIn        bool
	exact       bool
	w           ast.Node
}

// window resolves an event window at the evaluation time; events must also have happened.
func (e *Evaluator) window(w ast.Window) (span, error) {
	s := span{hi: e.at, hiIn: true, exact: true}
	if w == nil {
		return s, nil
	}
	s.w = w
	switch w := w.(type) {
	case *ast.LastWindow:
		s.lo, s.hasLo = w.Dur.Subtract(e.at), true
	case *ast.ThisWindow:
		s.lo, s.hasLo, s.loIn = e.c.PeriodStart(w.Period), true, true
	case *ast.SinceWindow:
		t, err := e.c.TimeValue(w.Time)
		if err != nil {
			return s, err
		}
		s.lo, s.hasLo, s.loIn = t, true, true
	case *ast.BetweenWindow:
		a, err := e.c.TimeValue(w.From)
		if err != nil {
			return s, err
		}
		b, err := e.c.TimeValue(w.To)
		if err != nil {
			return s, err
		}
		s.lo, s.hasLo, s.loIn = a, true, true
		if !b.After(e.at) {
			s.hi, s.hiIn = b, false
		}
	default:
		s.exact = false
	}
	return s, nil
}

// Event times are Unix nanoseconds; the bounds below are too, as the inclusive range of them
// a span admits, so that walking and searching a profile's events compares integers instead
// of converting each event's time (that conversion was a tenth of the live path's time).
var (
	minNanoTime = time.Unix(0, math.MinInt64)
	maxNanoTime = time.Unix(0, math.MaxInt64)
)

// nanoBounds returns the times in Unix nanoseconds an event may have to be inside the span's
// lower and upper bounds (both inclusive); empty when no such time is inside both.
func (s *span) nanoBounds() (lo, hi int64, empty bool) {
	lo, hi = math.MinInt64, math.MaxInt64
	if s.hasLo {
		switch {
		case s.lo.After(maxNanoTime) || (!s.loIn && s.lo.Equal(maxNanoTime)):
			return 0, 0, true
		case !s.lo.After(minNanoTime):
			if s.loIn || s.lo.Before(minNanoTime) {
				break
			}
			lo = math.MinInt64 + 1
		default:
			lo = s.lo.UnixNano()
			if !s.loIn {
				lo++
			}
		}
	}
	switch {
	case s.hi.Before(minNanoTime) || (!s.hiIn && s.hi.Equal(minNanoTime)):
		return 0, 0, true
	case !s.hi.Before(maxNanoTime):
		if !s.hiIn && s.hi.Equal(maxNanoTime) {
			hi = math.MaxInt64 - 1
		}
	default:
		hi = s.hi.UnixNano()
		if !s.hiIn {
			hi--
		}
	}
	return lo, hi, lo > hi
}

// nanos is t in Unix nanoseconds, clamped to the range they can express (every event's time
// is inside it).
func nanos(t time.Time) int64 {
	switch {
	case t.Before(minNanoTime):
		return math.MinInt64
	case t.After(maxNanoTime):
		return math.MaxInt64
	}
	return t.UnixNano()
}

// first is the position in ps (in the profile's events when all) of the first event at or
// after lo.
func (p *Profile) first(ps []int32, all bool, lo int64) int {
	if lo == math.MinInt64 {
		return 0
	}
	if all {
		return sort.Search(len(p.events), func(i int) bool { return p.events[i].t >= lo })
	}
	return sort.Search(len(ps), func(i int) bool { return p.events[ps[i]].t >= lo })
}

// iter walks the events of a target inside a span, in time order.
type iter struct {
	e      *Evaluator
	t      *ast.EventTarget
	s      span  // by value: a pointer made every evaluation's window escape to the heap
	lo, hi int64 // s's bounds (nanoBounds)
	ps     []int32
	all    bool
	i, n   int
	err    error
}

func (e *Evaluator) iter(t *ast.EventTarget, s span) iter {
	p := e.p
	it := iter{e: e, t: t, s: s}
	switch t.Kind {
	case ast.TrackEvent:
		it.ps = p.Group("track", t.Name)
	case ast.PageEvent:
		it.ps = p.Group("page", "")
	case ast.ScreenEvent:
		it.ps = p.Group("screen", "")
	case ast.AnyEvent:
		it.all = true
	default:
		it.err = fmt.Errorf("profeval: event kind %d", t.Kind)
		return it
	}
	it.n = len(it.ps)
	if it.all {
		it.n = len(p.events)
	}
	lo, hi, empty := it.s.nanoBounds()
	if empty {
		it.i, it.hi = it.n, math.MinInt64
		return it
	}
	it.lo, it.hi = lo, hi
	it.i = p.first(it.ps, it.all, lo)
	return it
}

// count is the number of events in the span when no per-event test is needed (a track event,
// or a page or screen call of any name, in a window with known bounds), and false otherwise.
func (it *iter) count() (int, bool) {
	if it.err != nil || !it.s.exact || it.all || (it.t.Kind != ast.TrackEvent && it.t.Name != "") {
		return 0, false
	}
	p, hi := it.e.p, it.hi
	end := sort.Search(it.n-it.i, func(k int) bool { return p.events[it.ps[it.i+k]].t > hi })
	return end, true
}

// matched returns the positions (into the profile's events, ascending) of the events of t
// inside s that the filter where admits, when the profile's cached lists can answer: s has
// known bounds, t is a group (a track name, or every page or screen call) and where is
// compiled. A filtered count is then two binary searches, like an unfiltered one, instead of
// a filter test of every event in the window.
func (e *Evaluator) matched(t *ast.EventTarget, where ast.Expr, s span) ([]int32, bool) {
	f := e.t.filters[where]
	if f == nil || !s.exact {
		return nil, false
	}
	p := e.p
	var g int
	switch t.Kind {
	case ast.TrackEvent:
		var ok bool
		if g, ok = p.trackGroup(t.Name); !ok {
			return nil, true // no such events
		}
	case ast.PageEvent, ast.ScreenEvent:
		if t.Name != "" {
			return nil, false // the name is a test of each event
		}
		g = pageGroup
		if t.Kind == ast.ScreenEvent {
			g = screenGroup
		}
	default:
		return nil, false
	}
	lo, hi, empty := s.nanoBounds()
	if empty {
		return nil, true
	}
	ps := p.matching(g, where, f)
	i := sort.Search(len(ps), func(k int) bool { return p.events[ps[k]].t >= lo })
	j := i + sort.Search(len(ps)-i, func(k int) bool { return p.events[ps[i+k]].t > hi })
	return ps[i:j:j], true
}

// next returns the next event, or nil at the end (or on an error, in it.err).
func (it *iter) next() *event {
	p, s, t := it.e.p, &it.s, it.t
	for ; it.err == nil && it.i < it.n; it.i++ {
		j := it.i
		if !it.all {
			j = int(it.ps[it.i])
		}
		ev := &p.events[j]
		if ev.t > it.hi {
			it.i = it.n
			return nil
		}
		if !s.exact {
			in, err := it.e.c.Within(ev.time(), s.w, true)
			if err != nil {
				it.err = err
				return nil
			}
			if !in {
				continue
			}
		}
		switch t.Kind {
		case ast.PageEvent, ast.ScreenEvent:
			if t.Name != "" && !reference.IsText(p.get(ev, "name"), t.Name) {
				continue
			}
		case ast.AnyEvent:
			if ev.kind == kindOther {
				continue
			}
		}
		it.i++
		return ev
	}
	return nil
}

// where is an event filter ready for the events of one walk: its compiled form (when there
// is one) looked up once, not per event.
type where struct {
	x ast.Expr // nil: no filter
	f filter
}

func (e *Evaluator) where(x ast.Expr) where {
	if x == nil {
		return where{}
	}
	return where{x: x, f: e.t.filters[x]}
}

// matchWhere applies a prepared filter to a bag of values (an event's properties, a record's
// attributes).
func (e *Evaluator) matchWhere(bag Bag, w *where) (bool, error) {
	switch {
	case w.x == nil:
		return true, nil
	case w.f != nil:
		return w.f(bag), nil
	}
	return e.c.Test(w.x, e.mapOf(bag))
}

// test applies a filter (nil: none) to a bag of values, compiled when Compile could.
func (e *Evaluator) test(x ast.Expr, bag Bag) (bool, error) {
	w := e.where(x)
	return e.matchWhere(bag, &w)
}

// mapOf returns a bag as the reference's map: a MapBag as it is, an event's properties in a
// map the evaluator reuses (with the page or screen name as "name" by Event.Get's rule).
func (e *Evaluator) mapOf(bag Bag) map[string]any {
	var props []Prop
	var kind, name string
	switch b := bag.(type) {
	case MapBag:
		return b
	case *eventBag:
		props, kind, name = b.p.propsOf(b.ev), kindNames[b.ev.kind], b.p.names[b.ev.name]
	case *Event:
		props, kind, name = b.Props, b.Kind, b.Name
	default:
		panic(fmt.Sprintf("profeval: bag of type %T", bag))
	}
	if e.scratch == nil {
		e.scratch = map[string]any{}
	}
	clear(e.scratch)
	for _, p := range props {
		e.scratch[p.Name] = p.Value
	}
	if _, ok := e.scratch["name"]; !ok && kind != "track" && name != "" {
		e.scratch["name"] = name
	}
	return e.scratch
}

// bag returns ev as a Bag for filters; it is valid until the next call.
func (e *Evaluator) bag(ev *event) Bag {
	e.eb = eventBag{e.p, ev}
	return &e.eb
}

func (e *Evaluator) eventAgg(fn ast.AggFunc, of *ast.Ident, t *ast.EventTarget, where ast.Expr, w ast.Window, op ast.CompareOp, want float64) (bool, error) {
	s, err := e.window(w)
	if err != nil {
		return false, err
	}
	if fn == ast.Count && where != nil {
		if ps, ok := e.matched(t, where, s); ok {
			return reference.Aggregate(fn, nil, len(ps), op, want), nil
		}
	}
	it := e.iter(t, s)
	if fn == ast.Count && where == nil {
		if n, ok := it.count(); ok {
			return reference.Aggregate(fn, nil, n, op, want), nil
		}
	}
	vals := e.vals[:0]
	n := 0
	wh := e.where(where)
	for ev := it.next(); ev != nil; ev = it.next() {
		ok, err := e.matchWhere(e.bag(ev), &wh)
		if err != nil {
			return false, err
		}
		if !ok {
			continue
		}
		n++
		if of != nil {
			vals = append(vals, e.p.get(ev, of.Name))
		}
	}
	if it.err != nil {
		return false, it.err
	}
	e.vals = vals
	return reference.Aggregate(fn, vals, n, op, want), nil
}

func (e *Evaluator) recordAgg(fn ast.AggFunc, of *ast.Ident, typ string, where ast.Expr, op ast.CompareOp, want float64) (bool, error) {
	var vals []any
	n := 0
	for i := range e.p.Records {
		r := &e.p.Records[i]
		if r.Type != typ {
			continue
		}
		ok, err := e.test(where, MapBag(r.Attrs))
		if err != nil {
			return false, err
		}
		if !ok {
			continue
		}
		n++
		if of != nil {
			vals = append(vals, r.Attrs[of.Name])
		}
	}
	return reference.Aggregate(fn, vals, n, op, want), nil
}

func (e *Evaluator) seen(n *ast.Seen) (bool, error) {
	s := span{hi: e.at, hiIn: true, exact: true}
	var best time.Time
	found := false
	it := e.iter(n.Event, s)
	wh := e.where(n.Where)
	for ev := it.next(); ev != nil; ev = it.next() {
		ok, err := e.matchWhere(e.bag(ev), &wh)
		if err != nil {
			return false, err
		}
		if ok {
			best, found = ev.time(), true
			if !n.Last {
				break // the first match in time order is the earliest
			}
		}
	}
	if it.err != nil || !found {
		return false, it.err
	}
	return e.c.Within(best, n.When, false)
}

// sequence decides "A then B [then C] [then not Z] within D" on sorted step times: for each
// first step in the window, the earliest chain of the following positive steps (earliest is
// never worse for the steps after it); with a negated last step, the latest possible last
// positive step (a later one leaves less time for a Z).
func (e *Evaluator) sequence(n *ast.Sequence) (bool, error) {
	steps := n.Steps
	neg := steps[len(steps)-1].Not
	if neg && n.Within == nil {
		return false, errors.New("profeval: negated step needs within")
	}
	// The first step must be inside the window, and every later one after it: no step
	// before the window's start can take part (a profile's whole history of a busy event
	// can be cached for another segment's longer window).
	upto := span{hi: e.at, hiIn: true, exact: true}
	if n.Window != nil {
		if w, err := e.window(n.Window); err == nil {
			upto.lo, upto.hasLo, upto.loIn = w.lo, w.hasLo, w.loIn
		}
	}
	for len(e.seq) < len(steps) {
		e.seq = append(e.seq, nil)
	}
	times := e.seq[:len(steps)] // shares e.seq's array: grown buffers stay for the next
	for i := range times {
		times[i] = times[i][:0]
	}
	for i, st := range steps {
		it := e.iter(st.Event, upto)
		wh := e.where(st.Where)
		for ev := it.next(); ev != nil; ev = it.next() {
			ok, err := e.matchWhere(e.bag(ev), &wh)
			if err != nil {
				return false, err
			}
			if ok {
				times[i] = append(times[i], ev.t)
			}
		}
		if it.err != nil {
			return false, it.err
		}
	}
	positive := len(steps)
	if neg {
		positive--
	}
	var win ast.Node
	if n.Window != nil {
		win = n.Window
	}
	after := func(ts []int64, prev int64) int {
		return sort.Search(len(ts), func(i int) bool { return ts[i] > prev })
	}
	bounded := n.Within != nil
	for _, t1 := range times[0] {
		start := time.Unix(0, t1).UTC()
		if in, err := e.c.Within(start, win, true); err != nil || !in {
			if err != nil {
				return false, err
			}
			continue
		}
		var deadline int64
		if bounded {
			d := n.Within.Add(start.In(e.o.Location))
			if neg && d.After(e.at) {
				continue
			}
			deadline = nanos(d)
		}
		prev, ok := t1, true
		for i := 1; i < positive && ok; i++ {
			ts := times[i]
			j := after(ts, prev)
			if j == len(ts) || (bounded && ts[j] > deadline) {
				ok = false
				break
			}
			if neg && i == positive-1 {
				// the latest step time still within the deadline
				k := sort.Search(len(ts), func(k int) bool { return ts[k] > deadline }) - 1
				prev = ts[k]
			} else {
				prev = ts[j]
			}
		}
		if !ok {
			continue
		}
		if !neg {
			return true, nil
		}
		zs := times[len(steps)-1]
		j := after(zs, prev)
		if j == len(zs) || zs[j] > deadline {
			return true, nil
		}
	}
	return false, nil
}

// NextFlip returns, for x an aggregate of events (count, sum, min, max, distinct) or a did,
// over a rolling window of fixed length ("in last 10 minutes") or all time, the earliest
// instant after the evaluation time at which x's truth can change with no new data, and the
// zero time when it never can. Only events leaving the window change it then, and the value
// moves one way as they leave (counts, distinct counts, maxima and sums of non-negative
// values fall; minima rise), so the first departure that flips the comparison is found by a
// binary search over how many have left, each step the reference's own aggregate of the
// events still inside. ok is false when the shortcut does not apply: another form or window,
// a filter the tree did not compile (it may depend on the evaluation time), an event of the
// target after the evaluation time (it would enter the window), values that can make a sum
// rise, or a comparison that is not monotone in the value (=, !=, avg, max below, min above).
func (e *Evaluator) NextFlip(t *Tree, x ast.Expr) (flip time.Time, ok bool, err error) {
	var (
		fn     ast.AggFunc
		of     *ast.Ident
		target *ast.EventTarget
		where  ast.Expr
		win    ast.Window
		op     ast.CompareOp
		want   float64
	)
	switch n := x.(type) {
	case *ast.Aggregate:
		tg, isEvent := n.Target.(*ast.EventTarget)
		if !isEvent {
			return time.Time{}, false, nil
		}
		fn, of, target, where, win, op, want = n.Func, n.Of, tg, n.Where, n.Window, n.Op, n.Value.Float()
	case *ast.Did:
		fn, target, where, win, op, want = ast.Count, n.Event, n.Where, n.Window, ast.Ge, 1
	default:
		return time.Time{}, false, nil
	}
	e.t = t
	if where != nil && t.filters[where] == nil {
		return time.Time{}, false, nil
	}
	var length time.Duration
	if win != nil {
		lw, isLast := win.(*ast.LastWindow)
		if !isLast {
			return time.Time{}, false, nil
		}
		f, fixed := lw.Dur.Unit.Fixed()
		if !fixed || lw.Dur.N > 100_000 {
			return time.Time{}, false, nil
		}
		length = time.Duration(lw.Dur.N) * f
	}
	// which comparisons are monotone as the value falls (rises, for min)
	switch fn {
	case ast.Count, ast.Distinct, ast.Sum:
	case ast.Max:
		if op != ast.Ge && op != ast.Gt {
			return time.Time{}, false, nil // "max < x" turns false again when the window empties
		}
	case ast.Min:
		if op != ast.Le && op != ast.Lt {
			return time.Time{}, false, nil
		}
	default:
		return time.Time{}, false, nil
	}
	if op == ast.Eq || op == ast.Neq {
		return time.Time{}, false, nil
	}
	// an event of the target after the evaluation time would enter the window later
	it := e.iter(target, span{exact: true})
	if it.err != nil {
		return time.Time{}, false, it.err
	}
	if it.n > 0 {
		last := it.n - 1
		if !it.all {
			last = int(it.ps[last])
		}
		if e.p.events[last].time().After(e.at) {
			return time.Time{}, false, nil
		}
	}
	if win == nil {
		return time.Time{}, true, nil // nothing ever leaves
	}
	s, err := e.window(win)
	if err != nil {
		return time.Time{}, false, err
	}
	if fn == ast.Count && where != nil {
		if ps, ok := e.matched(target, where, s); ok {
			return e.countFlip(ps, op, want, length), true, nil
		}
	}
	it = e.iter(target, s)
	if fn == ast.Count && where == nil {
		if n, ok := it.count(); ok {
			// the events in the window are positions it.i … it.i+n-1 of the group: no walk
			return e.countFlip(it.ps[it.i:it.i+n], op, want, length), true, nil
		}
	}
	times := e.times[:0]
	vals := e.vals[:0]
	wh := e.where(where)
	for ev := it.next(); ev != nil; ev = it.next() {
		match, err := e.matchWhere(e.bag(ev), &wh)
		if err != nil {
			return time.Time{}, false, err
		}
		if !match {
			continue
		}
		times = append(times, ev.t)
		if of != nil {
			v := e.p.get(ev, of.Name)
			if fn == ast.Sum && !nonNegative(v) {
				return time.Time{}, false, nil
			}
			vals = append(vals, v)
		}
	}
	if it.err != nil {
		return time.Time{}, false, it.err
	}
	e.vals, e.times = vals, times
	n := len(times)
	truth := func(left int) bool {
		var rest []any
		if of != nil {
			rest = vals[left:]
		}
		return reference.Aggregate(fn, rest, n-left, op, want)
	}
	left := departures(n, truth)
	if left == 0 {
		return time.Time{}, true, nil
	}
	// the left-th event (in time order) leaves when the window's start reaches it
	return time.Unix(0, times[left-1]).UTC().Add(length), true, nil
}

// departures is how many of a window's n events must leave it, oldest first, to change
// truth (a function of how many have left, monotone: once changed it stays changed), found by
// binary search; 0 when none does.
func departures(n int, truth func(left int) bool) int {
	now := truth(0)
	if n == 0 || truth(n) == now {
		return 0
	}
	return 1 + sort.Search(n-1, func(i int) bool { return truth(i+1) != now })
}

// countFlip is NextFlip for a count of the events at positions ps (the window's, in time
// order) of a window of the given length.
func (e *Evaluator) countFlip(ps []int32, op ast.CompareOp, want float64, length time.Duration) time.Time {
	n := len(ps)
	left := departures(n, func(left int) bool { return reference.Aggregate(ast.Count, nil, n-left, op, want) })
	if left == 0 {
		return time.Time{}
	}
	return e.p.events[ps[left-1]].time().Add(length)
}

// nonNegative reports whether v adds nothing negative to a sum (the reference sums numbers
// only; texts are refused too, in case one reads as a number).
func nonNegative(v any) bool {
	switch x := v.(type) {
	case nil, bool:
		return true
	case float64:
		return x >= 0
	case int:
		return x >= 0
	}
	return false
}
