package live

import (
	"container/heap"
	"encoding/binary"
	"sort"
	"sync"
	"time"

	"github.com/segd/segd/internal/profeval"
	"github.com/segd/segd/internal/segql/ast"
)

// nextChange returns the earliest instant after at when c's membership of the profile could
// change with no new data because of the profile's data, or the zero time when it cannot.
// Re-evaluating at that instant is exact: every comparison in the language between a stored
// time b and the evaluation time flips at b, b±W or b±W+1ns for a window W of the tree, or
// (for month and year windows, whose length depends on the date) at a midnight or at b's
// clock time on a day near b±W; all of those are candidates. The instants that depend on no
// data (calendar boundaries, time literals) are boundary's, handled for the whole segment.
//
// ev, when given, is an evaluator of d at at: segments whose time dependence is all in event
// aggregates over rolling windows (c.flips) then take the earliest instant one of those
// actually flips (profeval.NextFlip), far fewer re-evaluations for busy profiles.
func nextChange(c *compiled, d *profileData, at time.Time, loc *time.Location, ev *profeval.Evaluator) time.Time {
	if !c.timeDep || !d.live {
		return time.Time{}
	}
	best := time.Time{}
	consider := func(t time.Time) {
		if t.After(at) && (best.IsZero() || t.Before(best)) {
			best = t
		}
	}
	if ev != nil && len(c.flips) > 0 {
		exact := true
		for _, x := range c.flips {
			t, ok, err := ev.NextFlip(c.ptree, x)
			if err != nil || !ok {
				exact = false
				break
			}
			if !t.IsZero() {
				consider(t)
			}
		}
		if exact {
			// traits and records hold no time the tree compares with the clock (flipLeaves
			// admits no "ago", "now" or time literal)
			return best
		}
		best = time.Time{}
	}
	base := func(b time.Time) { candidates(c, b, loc, consider) }
	// Only data the segment reads can flip it: events of the names and kinds it uses (the
	// same dependency index decides which segments an arriving event re-evaluates), the
	// traits and record types it names. Event times come sorted per group, so the smallest
	// candidate of each offset is one binary search away.
	evs := d.events
	group := func(ps []int32, all bool) {
		n := len(ps)
		tm := func(i int) time.Time { return evs.Time(int(ps[i])) }
		if all {
			n = evs.Len()
			tm = evs.Time
		}
		if n == 0 {
			return
		}
		for _, o := range c.offsets {
			// b+o > at exactly when b > at-o: one subtraction instead of one per probe (and
			// the search compares the events' stored nanoseconds)
			if i := evs.FirstAfter(ps, all, at.Add(-o)); i < n {
				consider(tm(i).Add(o))
			}
		}
		// Month and year lengths: the flips lie within a few days of f(b), f monotone in b.
		const margin = 6 * 24 * time.Hour
		for _, w := range c.calDurs {
			for _, f := range []func(time.Time) time.Time{
				func(b time.Time) time.Time { return w.Add(b.In(loc)) },
				func(b time.Time) time.Time { return w.Subtract(b.In(loc)) },
				func(b time.Time) time.Time { return w.Add(b.UTC()) },
				func(b time.Time) time.Time { return w.Subtract(b.UTC()) },
			} {
				lo := at.Add(-margin)
				for i := sort.Search(n, func(i int) bool { return f(tm(i)).After(lo) }); i < n; i++ {
					b := tm(i)
					x := f(b)
					if !best.IsZero() && x.Add(-margin).After(best) {
						break
					}
					near(x, b, loc, consider)
				}
			}
		}
	}
	if c.anyEvent {
		group(nil, true)
	} else {
		for n := range c.events {
			group(d.events.Group("track", n), false)
		}
		if c.page {
			group(d.events.Group("page", ""), false)
		}
		if c.screen {
			group(d.events.Group("screen", ""), false)
		}
	}
	// Time-valued properties (rare) are offered one by one.
	if d.propTimes > 0 {
		for i := range evs.Len() {
			e := evs.Event(i)
			if !c.readsEvent(&e) {
				continue
			}
			for _, p := range e.Props {
				if t, ok := timeValue(p.Value); ok {
					base(t)
				}
			}
		}
	}
	for k := range c.traits {
		if t, ok := timeValue(d.traits[k]); ok {
			base(t)
		}
	}
	if len(c.records) > 0 {
		for _, r := range d.records {
			if !c.records[r.Type] {
				continue
			}
			for _, v := range r.Attrs {
				if t, ok := timeValue(v); ok {
					base(t)
				}
			}
		}
	}
	return best
}

// candidates offers the instants around a stored or literal time b at which a comparison of
// c can flip: b, b+1ns, and b±W, b±W+1ns for every window length W (near b±W for month and
// year lengths).
func candidates(c *compiled, b time.Time, loc *time.Location, consider func(time.Time)) {
	consider(b)
	consider(b.Add(time.Nanosecond))
	for _, w := range c.durs {
		if f, ok := w.Unit.Fixed(); ok {
			step := time.Duration(w.N) * f
			consider(b.Add(step))
			consider(b.Add(step + time.Nanosecond))
			consider(b.Add(-step))
			consider(b.Add(-step + time.Nanosecond))
			continue
		}
		for _, x := range []time.Time{w.Add(b.In(loc)), w.Subtract(b.In(loc)), w.Add(b.UTC()), w.Subtract(b.UTC())} {
			near(x, b, loc, consider)
		}
	}
}

// boundary returns the earliest instant after at at which c's membership of any profile could
// change for a reason that depends on no profile's data: a calendar period ends (this week,
// today, anniversaries), an anniversary window's end crosses a midnight, a time literal of
// the query is passed. The whole segment is recomputed there (one batch evaluation instead of
// a timer per profile); the zero time when c has no such instants.
func boundary(c *compiled, at time.Time, loc *time.Location) time.Time {
	best := time.Time{}
	consider := func(t time.Time) {
		if t.After(at) && (best.IsZero() || t.Before(best)) {
			best = t
		}
	}
	for _, t := range c.lits {
		candidates(c, t, loc, consider)
		y, m, dd := t.UTC().Date()
		candidates(c, time.Date(y, m, dd, 0, 0, 0, 0, loc), loc, consider)
	}
	if len(c.periods) > 0 || c.anniv {
		for _, p := range []ast.Period{ast.Day, ast.Week, ast.Month, ast.Year} {
			consider(periodEnd(at, p, loc))
		}
	}
	if c.anniv {
		// The window's ends cross midnights: at-W crosses one when at = midnight+W.
		for _, w := range c.durs {
			for _, m := range []time.Time{nextMidnight(w.Subtract(at.In(loc)), loc), nextMidnight(w.Add(at.In(loc)), loc)} {
				if f, ok := w.Unit.Fixed(); ok {
					step := time.Duration(w.N) * f
					for _, x := range []time.Time{m.Add(step), m.Add(-step)} {
						consider(x.Add(-time.Nanosecond))
						consider(x)
						consider(x.Add(time.Nanosecond))
					}
					continue
				}
				near(w.Add(m), m, loc, consider)
				near(w.Subtract(m), m, loc, consider)
			}
		}
	}
	return best
}

// near offers the midnights and the instants at b's clock time (and one nanosecond after or
// before) on the days around x: where a month or year window flips near x.
func near(x, b time.Time, loc *time.Location, consider func(time.Time)) {
	for _, z := range []*time.Location{loc, time.UTC} {
		xl, bl := x.In(z), b.In(z)
		y, m, d := xl.Date()
		hh, mm, ss := bl.Clock()
		for k := -4; k <= 4; k++ {
			mid := time.Date(y, m, d+k, 0, 0, 0, 0, z)
			consider(mid)
			consider(mid.Add(-time.Nanosecond))
			consider(mid.Add(time.Nanosecond))
			clk := time.Date(y, m, d+k, hh, mm, ss, bl.Nanosecond(), z)
			consider(clk)
			consider(clk.Add(time.Nanosecond))
		}
	}
}

func timeValue(v any) (time.Time, bool) {
	s, ok := v.(string)
	if !ok || len(s) < 10 || !looksLikeDate(s) {
		return time.Time{}, false
	}
	// The same forms the evaluators accept (RFC 3339, or a date alone).
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t, true
	}
	if len(s) == 10 {
		if t, err := time.Parse("2006-01-02", s); err == nil {
			return t, true
		}
	}
	return time.Time{}, false
}

// looksLikeDate rejects, without allocating, strings that cannot be a date ("2006-01-02…"):
// time.Parse allocates an error for each of the many product ids, paths and names it is
// offered otherwise.
func looksLikeDate(s string) bool {
	for i := 0; i < 10; i++ {
		switch i {
		case 4, 7:
			if s[i] != '-' {
				return false
			}
		default:
			if s[i] < '0' || s[i] > '9' {
				return false
			}
		}
	}
	return true
}

func nextMidnight(t time.Time, loc *time.Location) time.Time {
	t = t.In(loc)
	y, m, d := t.Date()
	return time.Date(y, m, d+1, 0, 0, 0, 0, loc)
}

// periodEnd is the start of the period after the one holding at.
func periodEnd(at time.Time, p ast.Period, loc *time.Location) time.Time {
	t := at.In(loc)
	y, m, d := t.Date()
	switch p {
	case ast.Week:
		off := (int(t.Weekday()) + 6) % 7 // days since Monday
		return time.Date(y, m, d-off+7, 0, 0, 0, 0, loc)
	case ast.Month:
		return time.Date(y, m+1, 1, 0, 0, 0, 0, loc)
	case ast.Year:
		return time.Date(y+1, 1, 1, 0, 0, 0, 0, loc)
	}
	return time.Date(y, m, d+1, 0, 0, 0, 0, loc)
}

// ---- the timer queue ----

// timerKey names a timer: a workspace, a segment (its id's number, see segNumber: hashing and
// comparing it costs an integer's, not a string's, on the millions of timer updates, and the
// timer heap and index hold no pointers for the collector to mark) and a profile.
type timerKey struct {
	ws  uint32
	seg segNo
	pid uint32
}

func newTimerKey(ws uint32, seg string, pid uint32) timerKey {
	return timerKey{ws, segNumber(seg), pid}
}

// segNo is the number of a segment id in this process (see segNumber).
type segNo uint32

// segNos numbers the segment ids timers name, for the life of the process (ids are never
// reused, and a process sees few of them).
var segNos struct {
	sync.Mutex
	byID map[string]segNo
	ids  []string // by number
}

// segNumber returns the number of a segment id, numbering it the first time.
func segNumber(id string) segNo {
	segNos.Lock()
	defer segNos.Unlock()
	if n, ok := segNos.byID[id]; ok {
		return n
	}
	if segNos.byID == nil {
		segNos.byID = map[string]segNo{}
	}
	n := segNo(len(segNos.ids))
	segNos.ids = append(segNos.ids, id)
	segNos.byID[id] = n
	return n
}

// id is the segment id numbered n.
func (n segNo) id() string {
	segNos.Lock()
	defer segNos.Unlock()
	return segNos.ids[n]
}

type timerItem struct {
	due int64 // unix nanoseconds
	key timerKey
}

type timerHeap []timerItem

func (h timerHeap) Len() int           { return len(h) }
func (h timerHeap) Less(i, j int) bool { return h[i].due < h[j].due }
func (h timerHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *timerHeap) Push(x any)        { *h = append(*h, x.(timerItem)) }
func (h *timerHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}

// timers is the pending re-evaluations: one per (segment, profile), in a heap with lazy
// deletion (an entry whose due differs from the map's is stale). Durable as store documents
// of kind "timer" keyed by due time, so a restart finds them in order.
type timers struct {
	h   timerHeap
	due timerIndex
	// touched records the timers set while a re-arm scan runs (nil otherwise).
	touched map[timerKey]struct{}
	// writes and deletes of timer documents since the last flush
	puts map[timerKey]int64
	dels map[timerKey]int64
}

// timerState is a pending timer: when it is due and the due time of its stored document
// (never later; see setQuiet).
type timerState struct{ due, stored int64 }

const kindTimer = "timer"

func newTimers() *timers {
	return &timers{due: newTimerIndex(), puts: map[timerKey]int64{}, dels: map[timerKey]int64{}}
}

func timerID(due int64, seg string, pid uint32) string {
	b := binary.BigEndian.AppendUint64(nil, uint64(due)^(1<<63))
	b = binary.BigEndian.AppendUint32(b, pid)
	return string(append(b, seg...))
}

func parseTimerID(id string) (due int64, seg string, pid uint32, ok bool) {
	if len(id) < 12 {
		return 0, "", 0, false
	}
	b := []byte(id)
	return int64(binary.BigEndian.Uint64(b) ^ (1 << 63)), id[12:], binary.BigEndian.Uint32(b[8:]), true
}

// set schedules k at due (zero: cancel); durable is false for timers loaded from the store.
func (t *timers) set(k timerKey, due time.Time, durable bool) {
	if t.touched != nil {
		t.touched[k] = struct{}{}
	}
	t.setQuiet(k, due, durable)
}

// advance schedules k at due unless k is already due no later (or due is zero and k is
// pending): a timer that fires early re-evaluates, finds nothing changed and re-arms. A busy
// profile moves its next flip later on nearly every event ("count ≥ 3 in the last hour" flips
// when the third-newest event leaves, later with each new one), so updating the timer each
// time cost more than one early evaluation per window.
func (t *timers) advance(k timerKey, due time.Time) {
	if st, ok := t.due.get(k); ok && (due.IsZero() || st.due <= due.UnixNano()) {
		if t.touched != nil {
			t.touched[k] = struct{}{} // the pending timer is not late: a scan must not replace it
		}
		return
	}
	t.set(k, due, true)
}

// setQuiet is set without noting the timer as touched (for the scan's own results).
//
// The stored timer document of a key is never later than its timer: it is rewritten when a
// timer is set earlier than it (or there is none), and left alone when a timer moves later,
// which busy profiles do on nearly every event. After a crash the older document fires
// early, the evaluation finds nothing to change and re-arms the timer: harmless, whereas
// rewriting on every move cost a document delete and put per evaluated segment.
func (t *timers) setQuiet(k timerKey, due time.Time, durable bool) {
	st, had := t.due.get(k)
	if due.IsZero() {
		if had {
			t.due.del(k)
			t.unwrite(k, st.stored)
		}
		return
	}
	ns := due.UnixNano()
	if had && st.due == ns {
		return
	}
	st.due = ns
	switch {
	case !durable:
		if !had {
			st.stored = ns // loaded from its document (or not stored at all: deleting it is harmless)
		}
	case !had || ns < st.stored:
		if had {
			t.unwrite(k, st.stored)
		}
		t.puts[k] = ns
		st.stored = ns
	}
	t.due.put(k, st)
	heap.Push(&t.h, timerItem{due: ns, key: k})
	// A rescheduled timer leaves its old heap entry behind (it is skipped when it surfaces).
	// Busy profiles reschedule on every event, so rebuild the heap from the live entries when
	// stale ones dominate: memory stays proportional to the pending timers.
	if len(t.h) > 2*t.due.len()+1024 {
		t.compact()
	}
}

// compact rebuilds the heap from the pending timers only.
func (t *timers) compact() {
	h := make(timerHeap, 0, t.due.len())
	t.due.each(func(k timerKey, st timerState) {
		h = append(h, timerItem{due: st.due, key: k})
	})
	heap.Init(&h)
	t.h = h
}

func (t *timers) unwrite(k timerKey, old int64) {
	if p, ok := t.puts[k]; ok && p == old {
		delete(t.puts, k) // never written
		return
	}
	if _, ok := t.dels[k]; !ok {
		t.dels[k] = old
	}
}

// next returns the earliest pending due time.
func (t *timers) next() (int64, bool) {
	for len(t.h) > 0 {
		top := t.h[0]
		if st, ok := t.due.get(top.key); ok && st.due == top.due {
			return top.due, true
		}
		heap.Pop(&t.h)
	}
	return 0, false
}

// peek returns the earliest timer if it is due at or before now.
func (t *timers) peek(now int64) (timerItem, bool) {
	due, ok := t.next()
	if !ok || due > now {
		return timerItem{}, false
	}
	return t.h[0], true
}

// pop removes and returns the earliest timer if it is due at or before now.
func (t *timers) pop(now int64) (timerItem, bool) {
	if _, ok := t.peek(now); !ok {
		return timerItem{}, false
	}
	it := heap.Pop(&t.h).(timerItem)
	st, _ := t.due.del(it.key)
	t.unwrite(it.key, st.stored)
	return it, true
}
