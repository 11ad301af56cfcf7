package live

import (
	"context"
	"fmt"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/RoaringBitmap/roaring/v2"

	"github.com/segd/segd/internal/index"
	"github.com/segd/segd/internal/membership"
	"github.com/segd/segd/internal/message"
	"github.com/segd/segd/internal/profeval"
	"github.com/segd/segd/internal/segment"
)

// wsSegs is a workspace's tracked segments (real-time and scheduled) in dependency order and
// the index from data names to the real-time ones. Replaced as a whole (copy on write) so
// readers under segMu see a consistent value.
type wsSegs struct {
	loc       *time.Location
	ordered   []*compiled
	byID      map[string]*compiled
	byName    map[string]*compiled
	frozen    map[string]segment.Segment // snapshot segments by name
	frozenIDs map[string]bool

	byEvent  map[string][]*compiled
	byTrait  map[string][]*compiled
	byRecord map[string][]*compiled
	bySeg    map[string][]*compiled // segment name → real-time segments using it
	page     []*compiled
	screen   []*compiled
	anyEvent []*compiled
	realtime []*compiled
	// needs is what the real-time segments read of a profile's events (the cache loads only
	// that).
	needs *needs
}

func (l *Live) segs(ws uint32) *wsSegs {
	l.segMu.RLock()
	s := l.ws[ws]
	l.segMu.RUnlock()
	if s == nil {
		if err := l.reload(ws); err != nil {
			l.opts.Logger.Error("live: load segments", "ws", ws, "err", err)
			return &wsSegs{loc: time.UTC}
		}
		l.segMu.RLock()
		s = l.ws[ws]
		l.segMu.RUnlock()
	}
	return s
}

// reload rebuilds ws's compiled segments from the catalog.
func (l *Live) reload(ws uint32) error {
	list, err := l.opts.Segments.List(ws)
	if err != nil {
		return fmt.Errorf("live: list segments: %w", err)
	}
	s := &wsSegs{loc: l.opts.Indexes.Location(ws), byID: map[string]*compiled{}, byName: map[string]*compiled{},
		frozen: map[string]segment.Segment{}, frozenIDs: map[string]bool{}, byEvent: map[string][]*compiled{},
		byTrait: map[string][]*compiled{}, byRecord: map[string][]*compiled{}, bySeg: map[string][]*compiled{}}
	if s.loc == nil {
		s.loc = time.UTC
	}
	var tracked []*compiled
	for _, seg := range list {
		if seg.Mode != segment.ModeRealtime && seg.Mode != segment.ModeScheduled {
			s.frozen[seg.Name] = seg
			s.frozenIDs[seg.ID] = true
			continue
		}
		c, err := compile(seg)
		if err != nil {
			l.opts.Logger.Error("live: skip segment", "ws", ws, "segment", seg.ID, "err", err)
			continue
		}
		tracked = append(tracked, c)
	}
	s.ordered = order(tracked)
	s.needs = newNeeds()
	for _, c := range s.ordered {
		s.byID[c.seg.ID] = c
		s.byName[c.seg.Name] = c
		if c.seg.Mode != segment.ModeRealtime {
			continue
		}
		s.realtime = append(s.realtime, c)
		s.needs.addTree(c.tree)
		for n := range c.traits {
			s.needs.traits[n] = true
		}
		for n := range c.events {
			s.byEvent[n] = append(s.byEvent[n], c)
		}
		for n := range c.traits {
			s.byTrait[n] = append(s.byTrait[n], c)
		}
		for n := range c.records {
			s.byRecord[n] = append(s.byRecord[n], c)
		}
		for n := range c.segments {
			s.bySeg[n] = append(s.bySeg[n], c)
		}
		if c.page {
			s.page = append(s.page, c)
		}
		if c.screen {
			s.screen = append(s.screen, c)
		}
		if c.anyEvent {
			s.anyEvent = append(s.anyEvent, c)
		}
	}
	l.segMu.Lock()
	l.ws[ws] = s
	l.segMu.Unlock()
	return nil
}

// evaluates reports whether applying ch re-evaluates some real-time segment for ch.Profile
// (the same routing as applyChanges).
func (s *wsSegs) evaluates(ch *Change) bool {
	switch ch.Kind {
	case EventAdded:
		if ch.Event == nil {
			return false
		}
		if len(s.anyEvent) > 0 {
			return ch.Event.Type == message.Track || ch.Event.Type == message.Page || ch.Event.Type == message.Screen
		}
		switch ch.Event.Type {
		case message.Track:
			return len(s.byEvent[ch.Event.Event]) > 0
		case message.Page:
			return len(s.page) > 0
		case message.Screen:
			return len(s.screen) > 0
		}
	case TraitsSet:
		for k := range ch.Traits {
			if len(s.byTrait[k]) > 0 {
				return true
			}
		}
	case RecordUpserted, RecordDeleted:
		return ch.Record != nil && len(s.byRecord[ch.Record.Type]) > 0
	case ProfileCreated, Merged:
		return len(s.realtime) > 0
	}
	return false
}

// segSet is a set of a workspace's tracked segments, indexed by their position in its
// dependency order (compiled.order), with the way the data can move each (0: not in the set).
type segSet []pol

func newSegSet(s *wsSegs, cs ...*compiled) segSet {
	set := make(segSet, len(s.ordered))
	for _, c := range cs {
		set[c.order] = polAny
	}
	return set
}

// empty reports whether the set holds no segment.
func (set segSet) empty() bool {
	for _, p := range set {
		if p != 0 {
			return false
		}
	}
	return true
}

// work is the pending re-evaluation of one profile within a step, and the events the step
// adds to its cached data (see deferEvent).
type work struct {
	ws, pid uint32
	segs    segSet
	at      time.Time
	why     membership.Reason
	added   addedEvents
}

// addedEvents are events to add to a cached profile's data: the data they were taken for
// (a load that replaced it read them from the store) and the changes, in commit order.
type addedEvents struct {
	d   *profileData
	chs []*Change
}

// addedEvent is an added event as polarity reads it (its properties converted on demand).
type addedEvent struct {
	ch         *Change
	kind, name string
	ev         index.Event
	converted  bool
}

func (a *addedEvent) prop(k string) any {
	if !a.converted {
		a.ev, _ = changeEvent(a.ch)
		a.converted = true
	}
	v, _ := a.ev.Get(k)
	return v
}

// step collects a step's pending re-evaluations, one per profile, in order of first change.
type step struct {
	pending map[profKey]*work
	order   []*work
	mem     *stepMem // where its works and jobs are allocated
}

// work returns the profile's pending work, made empty (no segment) at the first call.
func (st *step) work(s *wsSegs, ws, pid uint32) *work {
	k := profKey{ws, pid}
	w := st.pending[k]
	if w == nil {
		w = st.mem.works.one()
		*w = work{ws: ws, pid: pid, segs: st.mem.pols.take(len(s.ordered))}
		st.pending[k] = w
		st.order = append(st.order, w)
	}
	return w
}

// stepMem is the memory of one step's works and jobs, taken from chunks that the next step
// reuses: allocated per profile, they were an eighth of the bytes segd allocated under a
// saturating load with real-time segments, which the collector paid for. A step's works and
// jobs are dropped when it ends (evaluateStep returns); nothing keeps a pointer to them.
type stepMem struct {
	works   slab[work]
	pols    slab[pol]
	jobs    slab[job]
	members slab[int8]
	outs    slab[outcome]
	// gen numbers the steps (see Live.boundary)
	gen uint64
}

// reset makes the chunks' memory free for the next step.
func (m *stepMem) reset() {
	m.gen++
	m.works.reset()
	m.pols.reset()
	m.jobs.reset()
	m.members.reset()
	m.outs.reset()
}

// slab hands out zeroed slices from a chunk, a new one when the chunk is full; reset reuses
// the last chunk (the earlier ones are left to the collector, and the next chunk is sized to
// what the step used, so a step of steady size fits one chunk). A chunk is zero when made and
// reset zeroes what was handed out of it, so take need not.
type slab[T any] struct {
	chunk []T
	used  int // elements handed out since reset, the next chunk's size
}

func (s *slab[T]) take(n int) []T {
	if cap(s.chunk)-len(s.chunk) < n {
		s.chunk = make([]T, 0, max(n, s.used, 256))
	}
	start := len(s.chunk)
	s.chunk = s.chunk[:start+n]
	s.used += n
	return s.chunk[start : start+n : start+n]
}

func (s *slab[T]) one() *T { return &s.take(1)[0] }

func (s *slab[T]) reset() {
	clear(s.chunk) // the next step takes zeroed memory, and nothing of this one stays reachable
	s.chunk, s.used = s.chunk[:0], 0
}

// add queues cs for the profile; ev, when not nil, is the added event that routed them (the
// way it can move each: polarity), otherwise they may move either way.
func (st *step) add(s *wsSegs, ws, pid uint32, cs []*compiled, why membership.Reason, at time.Time, ev *addedEvent) {
	if len(cs) == 0 {
		return
	}
	w := st.work(s, ws, pid)
	for _, c := range cs {
		p := polAny
		if ev != nil {
			p = c.polarity(ev.kind, ev.name, ev.prop)
		}
		if q := w.segs[c.order]; q != 0 {
			p = q.and(p)
		}
		w.segs[c.order] = p
	}
	w.why, w.at = why, at
}

func (l *Live) applyChanges(commits [][]Change) {
	now := l.opts.Now()
	// sized for as many profiles as the last step had: grown from empty, the map rehashed
	// itself a dozen times in a step of thousands
	n := l.stepMem.works.used
	l.stepMem.reset()
	st := &step{pending: make(map[profKey]*work, n), order: make([]*work, 0, n), mem: &l.stepMem}
	for _, changes := range commits {
		l.stage(st, changes, now)
	}
	l.evaluateStep(st, now)
}

// stage routes one commit's changes into the step: the cache updates, the segments each
// profile's changes may move, merges' and erasures' exits.
func (l *Live) stage(st *step, changes []Change, now time.Time) {
	for i := range changes {
		ch := &changes[i]
		s := l.segs(ch.WS)
		l.touch(ch.WS, ch.Profile)
		if ch.Kind == Merged {
			l.touch(ch.WS, ch.MergeFrom)
		}
		l.updateCache(ch, st, s)
		switch ch.Kind {
		case EventAdded:
			m := ch.Event
			if m == nil {
				continue
			}
			why := membership.Reason{Cause: "event", MessageID: m.MessageID, Event: m.Event}
			ev := addedEvent{ch: ch, name: m.Event}
			var cs []*compiled
			switch m.Type {
			case message.Track:
				cs, ev.kind = s.byEvent[m.Event], "track"
			case message.Page:
				cs, why.Event, ev.kind = s.page, "page "+m.Name, "page"
			case message.Screen:
				cs, why.Event, ev.kind = s.screen, "screen "+m.Name, "screen"
			default:
				continue
			}
			st.add(s, ch.WS, ch.Profile, cs, why, m.Timestamp, &ev)
			st.add(s, ch.WS, ch.Profile, s.anyEvent, why, m.Timestamp, &ev)
		case TraitsSet:
			why := membership.Reason{Cause: "traits"}
			var cs []*compiled
			for k := range ch.Traits {
				why.Traits = append(why.Traits, k)
				cs = append(cs, s.byTrait[k]...)
			}
			st.add(s, ch.WS, ch.Profile, cs, why, now, nil)
		case ProfileCreated:
			st.add(s, ch.WS, ch.Profile, s.realtime, membership.Reason{Cause: "traits"}, now, nil)
		case RecordUpserted, RecordDeleted:
			if ch.Record == nil {
				continue
			}
			why := membership.Reason{Cause: "record", Record: ch.Record.Type + "/" + ch.Record.ID}
			st.add(s, ch.WS, ch.Profile, s.byRecord[ch.Record.Type], why, now, nil)
		case Merged:
			why := membership.Reason{Cause: "merge"}
			l.exitAll(ch.WS, ch.MergeFrom, now, why)
			// the merged-away profile is in no segment any more: it is not evaluated, and a
			// later change of it (none should come) starts a new job
			if w := st.pending[profKey{ch.WS, ch.MergeFrom}]; w != nil {
				clear(w.segs)
				delete(st.pending, profKey{ch.WS, ch.MergeFrom})
			}
			st.add(s, ch.WS, ch.Profile, s.realtime, why, now, nil)
		case Erased:
			l.exitAll(ch.WS, ch.Profile, now, membership.Reason{Cause: "erase"})
			if w := st.pending[profKey{ch.WS, ch.Profile}]; w != nil {
				clear(w.segs)
			}
		}
	}
}

// evaluateStep prepares, evaluates and commits the step's jobs, one per profile.
func (l *Live) evaluateStep(st *step, now time.Time) {
	jobs := make([]*job, 0, len(st.order))
	var evaluations int64
	for _, w := range st.order {
		var j *job
		if !w.segs.empty() {
			j = l.prepareJob(st.mem, w.ws, w.pid, w.segs, now, w.why, w.at)
		}
		switch {
		case w.added.d == nil:
		case j == nil:
			// no evaluation: the job only adds the events
			j = st.mem.jobs.one()
			*j = job{ws: w.ws, pid: w.pid, d: w.added.d, now: now, added: w.added.chs}
		case j.d == w.added.d:
			j.now, j.added = now, w.added.chs
		default:
			// the job's data was loaded after the events were stored: it has them
		}
		if j != nil {
			jobs = append(jobs, j)
			if j.s != nil {
				evaluations++
			}
		}
	}
	l.stats.steps.Add(1)
	l.stats.evaluations.Add(evaluations)
	l.evaluateAll(jobs)
}

// dropEvery is how often (in events added to a cached profile) the cache drops the events
// no window reaches any more.
var dropEvery = 64

// updateCache keeps the cached profile data current with one change. An added event is
// only noted in the step (deferEvent): the profile's job adds it.
func (l *Live) updateCache(ch *Change, st *step, s *wsSegs) {
	c := l.cache
	switch ch.Kind {
	case EventAdded:
		if d := c.peek(ch.WS, ch.Profile); d != nil && ch.Event != nil {
			// Sequence numbers follow commit order and a load sees every commit before it:
			// an event numbered at most the highest one loaded is already there.
			if ch.Seq > d.maxSeq {
				d.maxSeq = ch.Seq
				st.deferEvent(s, ch, d)
			}
			d.live = true
		}
	case TraitsSet:
		if d := c.peek(ch.WS, ch.Profile); d != nil {
			for k, v := range ch.Traits {
				if !d.need.readsTrait(k) {
					continue
				}
				if v == nil {
					delete(d.traits, k)
				} else {
					d.traits[d.need.intern(k)] = shareValue(v) // not a slice of the request body
				}
			}
			d.live = true
		}
	case ProfileCreated:
		if d := c.peek(ch.WS, ch.Profile); d != nil {
			d.live = true
		}
	case RecordUpserted, RecordDeleted:
		r := ch.Record
		if r == nil {
			return
		}
		// The write path names every profile a record leaves (a move comes as a deletion from
		// the old profile, then the upsert), so each change touches only the cached copy of
		// the profile it names. A copy loaded after later writes may briefly hold a record an
		// older change then removes or adds: the later changes restore it.
		d := c.peek(ch.WS, ch.Profile)
		if d == nil {
			return
		}
		rk := recKey{r.Type, r.ID}
		if ch.Kind == RecordDeleted {
			d.setRecord(rk, nil)
			return
		}
		rec := recordOf(r)
		d.setRecord(rk, &rec)
	case Merged:
		c.drop(ch.WS, ch.MergeFrom)
		c.drop(ch.WS, ch.Profile)
	case Erased:
		c.drop(ch.WS, ch.Profile)
	}
}

// deferEvent notes an event for the profile's cached data d. Converting it to the cache's
// form and adding it was a fifth of the worker's time under load; the step's jobs do it
// beside each other (addEvents), each for its own profile, before evaluating. Everything
// else a step does to the cache stays on the worker: a merge or an erasure drops the data
// (events noted for it then go to data no longer cached, which commit does not count), and
// traits and records are other parts of it.
func (st *step) deferEvent(s *wsSegs, ch *Change, d *profileData) {
	w := st.work(s, ch.WS, ch.Profile)
	if w.added.d != d {
		w.added = addedEvents{d: d} // a reload replaced the data: it has the earlier events
	}
	w.added.chs = append(w.added.chs, ch)
}

// addEvents adds the job's noted events to its profile's data (any goroutine: only this
// job touches the data until commit, which counts the growth).
func (j *job) addEvents(scratch []profeval.Prop) []profeval.Prop {
	d := j.d
	b := d.events.Bytes()
	for _, ch := range j.added {
		var ev profeval.Event
		if c := ch.cached; c != nil && c.need == d.need {
			ev = c.ev // converted by Apply (prepare)
		} else {
			e, ok := changeEvent(ch)
			if !ok {
				continue
			}
			ev, scratch = d.need.eventInto(&e, scratch[:0])
		}
		d.addEvent(ev) // copies the properties: the buffer serves the next event
		j.grew++
		if d.events.Len()%dropEvery == 0 {
			j.grew -= d.dropOld(j.now)
		}
	}
	j.grewBytes = d.events.Bytes() - b
	return scratch
}

// exitAll stages exits of pid from every tracked segment it is in.
func (l *Live) exitAll(ws, pid uint32, at time.Time, why membership.Reason) {
	for _, c := range l.segs(ws).ordered {
		l.mem.Stage(ws, c.seg.ID, pid, false, at, why)
		l.timers.set(timerKey{ws, c.tseg, pid}, time.Time{}, true)
	}
}

// unmoved reports whether data that can move c's value for pid only in direction p leaves
// the profile's membership as it is: the profile is already where p can only take it (or p
// reaches nothing), and the stored membership is the value at `at` of the data before the
// step. The latter holds unless time moved it since the last evaluation, which a timer due
// by now (of the profile or, for calendar segments, of the segment) would tell, or timers
// are incomplete while a re-arm scan runs. Timers are never later than the flip they stand
// for, and with the data moving the value only towards where it is, the value stays there at
// least until the pending timer, which re-evaluates it then: a skipped evaluation owes no
// timer.
//
// profDue tells whether any timer of the profile is due by `at` (timerIndex.dueBy): mostly
// none is, and then no segment's own timer needs looking up.
func (l *Live) unmoved(mem *stepMem, ws uint32, c *compiled, pid uint32, p pol, at time.Time, profDue, member bool) bool {
	if l.scan.running || c.seg.Mode != segment.ModeRealtime {
		return false
	}
	now := at.UnixNano()
	if profDue {
		if st, ok := l.timers.due.get(timerKey{ws, c.tseg, pid}); ok && st.due <= now {
			return false
		}
	}
	if len(c.periods) > 0 || c.anniv || len(c.lits) > 0 {
		if st, ok := l.boundary(mem, ws, c); !ok || st.due <= now {
			return false
		}
	}
	switch p {
	case polNone:
		return true
	case polUp:
		return member
	case polDown:
		return !member
	}
	return false
}

// job is the re-evaluation of one profile: prepared on the worker (cache access), computed
// anywhere (it only reads the profile's data and membership), committed on the worker in
// order (staging changes, advancing timers).
type job struct {
	ws, pid   uint32
	s         *wsSegs
	d         *profileData
	segs      segSet
	member    []int8 // by segment position, the profile's membership before the job
	at        time.Time
	why       membership.Reason
	eventTime time.Time
	out       []outcome

	// events to add to d before evaluating (the step's, see deferEvent), at now; the
	// growth in events and bytes they made, for commit to count
	added           []*Change
	now             time.Time
	grew, grewBytes int
}

// outcome is one segment's answer for the job's profile.
type outcome struct {
	c       *compiled
	member  bool
	changed bool   // member differs from the membership log's answer when computed
	cond    string // the condition that flipped, when the answer changed
	next    time.Time
}

// prepareJob drops the segments the job's data cannot move (see pol) and fetches the
// profile's data; nil when nothing is left to evaluate or the data cannot be loaded (logged).
func (l *Live) prepareJob(mem *stepMem, ws, pid uint32, segs segSet, at time.Time, why membership.Reason, eventTime time.Time) *job {
	s := l.segs(ws)
	l.touch(ws, pid)
	left, skipped := 0, 0
	profDue := l.timers.due.dueBy(ws, pid, at.UnixNano())
	member := l.memberships(mem, ws, s, pid, segs)
	for i, p := range segs {
		switch {
		case p == 0:
		case p != polAny && l.unmoved(mem, ws, s.ordered[i], pid, p, at, profDue, member[i] == isMember):
			segs[i] = 0
			skipped++
		default:
			left++
		}
	}
	if skipped > 0 {
		l.stats.skipped.Add(int64(skipped))
	}
	if left == 0 {
		return nil
	}
	d, err := l.cache.get(ws, pid, s.needs, at)
	if err != nil {
		l.opts.Logger.Error("live: load profile", "ws", ws, "pid", pid, "err", err)
		return nil
	}
	// the outcomes: one per segment left (dependents that change may add a few)
	var j *job
	var out []outcome
	if mem != nil {
		j, out = mem.jobs.one(), mem.outs.take(left)[:0]
	} else {
		j, out = new(job), make([]outcome, 0, left)
	}
	*j = job{ws: ws, pid: pid, s: s, d: d, segs: segs, member: member, at: at, why: why, eventTime: eventTime, out: out}
	return j
}

// boundary returns c's calendar boundary timer. The timers stay as they are while a step
// prepares its jobs, so the step reads it once (mem nil: no step, read it each time); the
// lookup per job and calendar segment was a twentieth of live's time.
func (l *Live) boundary(mem *stepMem, ws uint32, c *compiled) (timerState, bool) {
	if mem != nil && c.bound.gen == mem.gen {
		return c.bound.st, c.bound.ok
	}
	st, ok := l.timers.due.get(timerKey{ws, c.tseg, boundaryPID})
	if mem != nil {
		c.bound.gen, c.bound.st, c.bound.ok = mem.gen, st, ok
	}
	return st, ok
}

// Membership of a job's profile by segment position: unknown (a segment outside the job's
// set, which a change of a segment it uses can add), or read from the log.
const (
	unknownMember int8 = iota
	notMember
	isMember
)

func memberState(in bool) int8 {
	if in {
		return isMember
	}
	return notMember
}

// memberships reads pid's membership of every segment in segs from the log at once (worker
// only).
func (l *Live) memberships(mem *stepMem, ws uint32, s *wsSegs, pid uint32, segs segSet) []int8 {
	ids := l.memIDs[:0]
	for i, p := range segs {
		if p != 0 {
			ids = append(ids, s.ordered[i].seg.ID)
		}
	}
	in := slices.Grow(l.memIn[:0], len(ids))[:len(ids)]
	l.memIDs, l.memIn = ids, in
	l.mem.ContainsEach(ws, ids, pid, in)
	var member []int8
	if mem != nil {
		member = mem.members.take(len(segs))
	} else {
		member = make([]int8, len(segs))
	}
	k := 0
	for i, p := range segs {
		if p != 0 {
			member[i] = memberState(in[k])
			k++
		}
	}
	return member
}

// evaluators are the Evaluators compute reuses (one per concurrent job), so that the
// buffers an evaluation grows (sequence step times, aggregate values) are not allocated
// again for every job; scratch holds an added event's kept properties.
var evaluators = sync.Pool{New: func() any { return new(evaluator) }}

type evaluator struct {
	profeval.Evaluator
	scratch []profeval.Prop
}

// compute evaluates the job's segments. It stages nothing, so it may run beside the
// computation of other profiles' jobs: it reads the membership of the job's profile as the
// log holds it, overlaid by its own answers.
func (l *Live) compute(j *job) {
	data := evaluators.Get().(*evaluator)
	defer func() {
		data.Release()
		evaluators.Put(data)
	}()
	if len(j.added) > 0 {
		data.scratch = j.addEvents(data.scratch)
	}
	s := j.s
	if s == nil {
		return // the job only adds events
	}
	// the profile's membership, overlaid by this job's changed answers
	contains := func(c *compiled) bool {
		switch j.member[c.order] {
		case isMember:
			return true
		case notMember:
			return false
		}
		in := l.mem.Contains(j.ws, c.seg.ID, j.pid)
		j.member[c.order] = memberState(in)
		return in
	}
	data.Reset(j.d.profile(), profeval.Options{At: j.at, Location: s.loc, Profile: j.pid,
		InSegment: func(name string) (bool, error) {
			if d := s.byName[name]; d != nil {
				return contains(d), nil
			}
			return l.inSegment(j.ws, s, name, j.pid, j.at)
		}})
	for _, c := range s.ordered {
		if j.segs[c.order] == 0 || c.seg.Mode != segment.ModeRealtime {
			continue
		}
		member, err := data.Eval(c.ptree, c.tree, c.seg.Name)
		if err != nil {
			l.opts.Logger.Error("live: evaluate", "segment", c.seg.ID, "pid", j.pid, "err", err)
			continue
		}
		o := outcome{c: c, member: member}
		if contains(c) != member {
			o.changed = true
			o.cond = flipped(c, &data.Evaluator, member)
			j.member[c.order] = memberState(member)
			for _, dep := range s.bySeg[c.seg.Name] {
				j.segs[dep.order] = polAny
			}
		}
		o.next = nextChange(c, j.d, j.at, s.loc, &data.Evaluator)
		j.out = append(j.out, o)
	}
}

// commit stages the job's changes and advances its timers (worker only, in job order).
func (l *Live) commit(j *job) {
	if len(j.added) > 0 && j.d.elem != nil { // (data evicted meanwhile is no longer counted)
		l.cache.grew(j.grew, j.grewBytes)
	}
	for _, o := range j.out {
		// only this job changes its profile's membership between compute and here: an answer
		// that was the log's then still is, and staging it would change nothing
		if o.changed {
			r := j.why
			r.Condition = o.cond
			l.mem.Stage(j.ws, o.c.seg.ID, j.pid, o.member, j.eventTime, r)
		}
		l.timers.advance(timerKey{j.ws, o.c.tseg, j.pid}, o.next)
	}
}

// parallelMin is the number of profiles a step must re-evaluate before the evaluation is
// spread over the processors.
var parallelMin = 16

// evaluateAll re-evaluates the jobs' profiles (each profile at most once) and commits the
// answers in job order. With enough jobs the evaluations run on all processors; a job reads
// only its own profile's data and membership, so the answers are the ones evaluating the jobs
// one by one gives.
//
// The worker evaluates too, and helpers only take the jobs left when they get to run: under
// load the processors are busy with requests and compactions, and a helper can wait in a run
// queue for several milliseconds. Waiting for helpers that had not started kept the worker
// (and, through the queue's backpressure, ingestion) idle; now it waits only for the jobs a
// helper is in the middle of.
func (l *Live) evaluateAll(jobs []*job) {
	helpers := min(runtime.GOMAXPROCS(0), len(jobs)/max(parallelMin/2, 1)) - 1
	if len(jobs) < parallelMin || helpers < 1 {
		for _, j := range jobs {
			l.compute(j)
			l.commit(j)
		}
		return
	}
	r := &jobRun{jobs: jobs, finished: make(chan struct{})}
	for range helpers {
		go l.computeJobs(r)
	}
	l.computeJobs(r)
	<-r.finished
	l.stats.parallel.Add(int64(len(jobs)))
	for _, j := range jobs {
		l.commit(j)
	}
}

// jobRun hands out one step's jobs to whoever asks first; finished is closed once the last
// job is computed.
type jobRun struct {
	jobs     []*job
	next     atomic.Int64 // the next job to hand out
	done     atomic.Int64 // jobs computed
	finished chan struct{}
}

func (l *Live) computeJobs(r *jobRun) {
	n := int64(len(r.jobs))
	for i := r.next.Add(1) - 1; i < n; i = r.next.Add(1) - 1 {
		l.compute(r.jobs[i])
		if r.done.Add(1) == n {
			close(r.finished)
		}
	}
}

// inSegment resolves "in segment name" for one profile: a tracked segment's current live
// membership, a snapshot segment's frozen list.
func (l *Live) inSegment(ws uint32, s *wsSegs, name string, pid uint32, at time.Time) (bool, error) {
	if d := s.byName[name]; d != nil {
		return l.mem.Contains(ws, d.seg.ID, pid), nil
	}
	seg, ok := s.frozen[name]
	if !ok {
		return false, fmt.Errorf("live: unknown segment %q", name)
	}
	bm, err := l.opts.Segments.Members(context.Background(), ws, seg, at)
	if err != nil {
		return false, err
	}
	return bm.Contains(pid), nil
}

// segmentsFunc resolves "in segment" for the batch engine the same way.
func (l *Live) segmentsFunc(ctx context.Context, ws uint32, s *wsSegs, at time.Time) func(string) (*roaring.Bitmap, error) {
	return func(name string) (*roaring.Bitmap, error) {
		if d := s.byName[name]; d != nil {
			return l.mem.Members(ws, d.seg.ID), nil
		}
		seg, ok := s.frozen[name]
		if !ok {
			return nil, fmt.Errorf("live: unknown segment %q", name)
		}
		return l.opts.Segments.Members(ctx, ws, seg, at)
	}
}

// flipped names the top-level condition that explains a change, when one can tell: the
// first false operand of an "and" the profile left, the first true operand of an "or" it
// entered.
func flipped(c *compiled, data *profeval.Evaluator, member bool) string {
	ops, isAnd := topLevel(c.tree)
	if len(ops) == 1 {
		return conditionText(ops[0])
	}
	if isAnd == member {
		return ""
	}
	for _, op := range ops {
		v, err := data.Eval(c.ptree, op, c.seg.Name)
		if err == nil && v == member {
			return conditionText(op)
		}
	}
	return ""
}

// fireDue re-evaluates every (segment, profile) whose timer is due by now, each at its due
// time, and recomputes scheduled segments whose time has come.
//
// Due timers are taken in due order in batches of distinct profiles (at most maxFireBatch),
// evaluated together (on all processors when there are many: a window expiring for thousands
// of profiles at once) and committed in due order. A profile's next timer waits for the next
// batch, after its earlier one is committed, and segment recomputes end a batch: each
// profile's evaluations and every recompute happen in due order, as one by one.
func (l *Live) fireDue(ctx context.Context) int {
	now := l.opts.Now().UnixNano()
	fired := 0
	for {
		var jobs []*job
		inBatch := map[profKey]bool{}
		for len(jobs) < maxFireBatch {
			it, ok := l.timers.peek(now)
			if !ok {
				break
			}
			recompute := it.key.pid == boundaryPID || it.key.pid == schedulePID
			k := profKey{it.key.ws, it.key.pid}
			if (recompute && len(jobs) > 0) || inBatch[k] {
				break
			}
			l.timers.pop(now)
			fired++
			due := time.Unix(0, it.due).UTC()
			s := l.segs(it.key.ws)
			c := s.byID[it.key.seg.id()]
			switch {
			case c == nil:
			case it.key.pid == boundaryPID:
				if err := l.recompute(ctx, it.key.ws, c, due, "timer"); err != nil {
					l.opts.Logger.Error("live: recompute at a calendar boundary", "segment", c.seg.ID, "err", err)
				}
				l.schedule(it.key.ws, c, due)
			case it.key.pid == schedulePID:
				if err := l.backfill(ctx, it.key.ws, c, l.opts.Now(), "schedule"); err != nil {
					l.opts.Logger.Error("live: scheduled recompute", "segment", c.seg.ID, "err", err)
				}
				l.schedule(it.key.ws, c, l.opts.Now())
			default:
				if j := l.prepareJob(nil, it.key.ws, it.key.pid, newSegSet(s, c), due, membership.Reason{Cause: "timer", Due: due}, due); j != nil {
					jobs = append(jobs, j)
					inBatch[k] = true
				}
			}
		}
		if len(jobs) == 0 {
			return fired // the batch ended because no timer is due
		}
		l.evaluateAll(jobs)
	}
}

// maxFireBatch bounds the timers evaluated together.
var maxFireBatch = 4096
