// Package live keeps real-time segments current: for each accepted write (event, traits,
// record change, merge, erase) it finds the real-time segments that depend on it through an
// index from event names, traits, record types and segment names to segments, and
// re-evaluates only those, only for the affected profile, in dependency order ("in segment"
// edges). It schedules a timer for the next instant at which a profile's membership could
// change with no new data, keeps those timers durable, backfills segments when they are
// created or edited (batch engine, then only the difference is emitted), recomputes scheduled
// segments on their schedule, and serves the membership API and the personalisation endpoint.
//
// Per-profile evaluation runs the reference evaluator (engine/reference) over the profile's
// data, so the predicate is the one the batch engine is tested against; this package owns the
// state around it. Profile data comes from the store through a bounded LRU kept current from
// the change feed. Membership state lives in package membership.
//
// live must not import ingest (cmd/segd adapts ingest.Change to Change) or cmd/segd.
// One worker goroutine owns all evaluation state; the HTTP handlers read membership and the
// compiled segment list under segMu.
package live

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/RoaringBitmap/roaring/v2"

	"github.com/segd/segd/internal/index"
	"github.com/segd/segd/internal/membership"
	"github.com/segd/segd/internal/message"
	"github.com/segd/segd/internal/profeval"
	"github.com/segd/segd/internal/segment"
	"github.com/segd/segd/internal/store"
)

// Indexes gives the batch engine each workspace's index and time zone; cmd/segd's views
// implement it.
type Indexes interface {
	Index(ws uint32) *index.Index
	Location(ws uint32) *time.Location
}

// Catalog is what live reads of segment definitions; *segment.Service satisfies it.
type Catalog interface {
	List(ws uint32) ([]segment.Segment, error)
	// Members returns a segment's members at a time (live uses it for snapshot segments
	// referenced with "in segment").
	Members(ctx context.Context, ws uint32, seg segment.Segment, at time.Time) (*roaring.Bitmap, error)
}

// ChangeKind says what a Change did.
type ChangeKind uint8

// Change kinds (the write path's, mirrored).
const (
	EventAdded ChangeKind = iota
	TraitsSet
	Merged
	Erased
	RecordUpserted
	RecordDeleted
	ProfileCreated
)

// Change is one durable write, delivered in commit order.
type Change struct {
	WS      uint32
	Kind    ChangeKind
	Profile uint32 // for Merged: the surviving profile
	Seq     uint64 // the stored event's sequence number, for EventAdded
	Event   *message.Message
	// Indexed is Event as the index holds it (index.FromMessage), when the caller has it:
	// live then reads it instead of converting Event again. Nil otherwise.
	Indexed *index.Event
	Traits  map[string]any // the keys that changed; nil value = removed
	// MergeFrom is the profile merged into Profile, for Merged.
	MergeFrom uint32
	Record    *store.Record

	// cached is the added event as a profile's cached data keeps it, converted by Apply
	// (see prepare); nil when Apply did not convert it.
	cached *cachedEvent
}

// cachedEvent is an added event converted for the cached data of profiles loaded under need:
// what needs.eventInto makes of it.
type cachedEvent struct {
	need *needs
	ev   profeval.Event
}

// Options configure New.
type Options struct {
	Store      *store.Store
	Membership *membership.Log
	Segments   Catalog
	Indexes    Indexes
	// Now is the clock; timers fire when Now passes their due time.
	Now func() time.Time
	// CacheProfiles bounds the decoded profiles kept in memory.
	CacheProfiles int
	// MaxQueue is how many commits may wait before Apply blocks; MaxQueueChanges how many
	// changes (a bulk trait write commits thousands at once, each holding its traits).
	MaxQueue, MaxQueueChanges int
	Logger                    *slog.Logger
}

func (o *Options) setDefaults() {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.CacheProfiles == 0 {
		o.CacheProfiles = 256 << 10
	}
	if o.MaxQueue == 0 {
		o.MaxQueue = 256 // backpressure on ingestion before queued messages hold much memory
	}
	if o.MaxQueueChanges == 0 {
		o.MaxQueueChanges = 64 << 10
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
}

// Validate reports a configuration error.
func (o *Options) Validate() error {
	if o.Store == nil || o.Membership == nil || o.Segments == nil || o.Indexes == nil {
		return errors.New("live: Store, Membership, Segments and Indexes are required")
	}
	if o.CacheProfiles < 1 || o.MaxQueue < 1 || o.MaxQueueChanges < 1 {
		return errors.New("live: CacheProfiles, MaxQueue and MaxQueueChanges must be positive")
	}
	return nil
}

// Live is the real-time evaluator.
type Live struct {
	opts Options
	st   *store.Store
	mem  *membership.Log

	qmu           sync.Mutex
	qcond         *sync.Cond
	queue         []item
	queuedChanges int // changes in queue
	wake          chan struct{}
	stop          chan struct{}
	done          chan struct{}
	closed        bool

	// worker-owned
	cache  *cache
	timers *timers
	scan   scanState
	synced []chan struct{} // Sync calls to answer once the next flush is durable; worker only
	scanCh chan scanChunk
	scanWG sync.WaitGroup // the scan goroutine: Close waits for it (it reads the store)
	errs   atomic.Int64
	stats  *stats
	// memberships' buffers for the segment ids it asks about and the answers
	memIDs []string
	memIn  []bool
	// stepMem holds a step's works and jobs (applyChanges; worker only)
	stepMem stepMem

	segMu sync.RWMutex
	ws    map[uint32]*wsSegs
}

type item struct {
	changes []Change
	queued  time.Time // when Apply queued changes
	seg     *segChange
	sync    chan struct{}
}

type segChange struct {
	ws       uint32
	old, new *segment.Segment
}

// New returns a Live; call Start before feeding it.
func New(opts Options) (*Live, error) {
	opts.setDefaults()
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	l := &Live{opts: opts, st: opts.Store, mem: opts.Membership, wake: make(chan struct{}, 1),
		stop: make(chan struct{}), done: make(chan struct{}), cache: newCache(opts.Store, opts.CacheProfiles),
		timers: newTimers(), stats: newStats(), ws: map[uint32]*wsSegs{}, scan: scanState{pending: rearmSet{}}, scanCh: make(chan scanChunk, 4)}
	l.qcond = sync.NewCond(&l.qmu)
	return l, nil
}

// Start loads the segments of every workspace, fires the durable timers that came due while
// segd was down (at their due times), recomputes every real-time and scheduled segment at now
// with the batch engine and emits the difference from the persisted members (repairing
// anything a crash interrupted), re-arms every timer and starts the worker.
func (l *Live) Start(ctx context.Context) error {
	all, err := l.st.Workspaces()
	if err != nil {
		return fmt.Errorf("live: list workspaces: %w", err)
	}
	for _, w := range all {
		if err := l.reload(w.ID); err != nil {
			return err
		}
		if err := l.st.Docs(w.ID, kindTimer, func(id string, _ []byte) error {
			if due, seg, pid, ok := parseTimerID(id); ok {
				l.timers.set(newTimerKey(w.ID, seg, pid), time.Unix(0, due), false)
			}
			return nil
		}); err != nil {
			return fmt.Errorf("live: load timers: %w", err)
		}
	}
	l.fireDue(ctx)
	if err := l.flush(); err != nil {
		return err
	}
	for _, w := range all {
		if err := l.startWorkspace(ctx, w.ID); err != nil {
			return err
		}
	}
	// what start changed (timers due meanwhile, backfills) is durable before Start returns
	if err := l.mem.Synced(); err != nil {
		return err
	}
	go l.run()
	return nil
}

func (l *Live) startWorkspace(ctx context.Context, ws uint32) error {
	s := l.segs(ws)
	now := l.opts.Now()
	known := map[string]bool{}
	for _, c := range s.ordered {
		known[c.seg.ID] = true
	}
	for _, id := range l.mem.Tracked(ws) {
		if !known[id] && !s.frozenIDs[id] {
			if err := l.dropSegment(ws, id); err != nil {
				return err
			}
		}
	}
	for _, c := range s.ordered {
		if err := l.backfill(ctx, ws, c, now, "backfill"); err != nil {
			return err
		}
	}
	if err := l.flush(); err != nil {
		return err
	}
	if err := l.rearm(ctx, ws, s.ordered, now); err != nil {
		return err
	}
	l.scheduleAll(ws, now)
	return l.flush()
}

// Apply queues the changes of one commit, which may still be syncing (see
// ingest.Options.OnCommit); call it in commit order (it returns at
// once unless MaxQueue commits or MaxQueueChanges changes are waiting). The slice is retained.
func (l *Live) Apply(changes []Change) {
	if len(changes) == 0 {
		return
	}
	l.prepare(changes)
	l.qmu.Lock()
	for l.full() && !l.closed {
		l.qcond.Wait()
	}
	if !l.closed {
		l.queue = append(l.queue, item{changes: changes, queued: time.Now()})
		l.queuedChanges += len(changes)
	}
	l.qmu.Unlock()
	l.signal()
}

// prepare converts the added events of changes for the cache (needs.eventInto) under the
// needs of their workspace's real-time segments as they are now. Apply runs right after the
// commit indexed the events, so their properties are still in the processor's caches; the
// profile's job, later and on another goroutine, found them in memory and paid a cache miss
// for most fields (the conversion was a tenth of live's time under a saturating load). The
// job uses the conversion only when its profile's data was loaded under the same needs.
func (l *Live) prepare(changes []Change) {
	var ws uint32
	var need *needs
	looked := false
	var cached []cachedEvent
	var props []profeval.Prop // one array for the commit's kept properties (profiles copy them)
	var dc derivedNames       // for need: reset when it changes
	for i := range changes {
		ch := &changes[i]
		if ch.Kind != EventAdded || ch.Indexed == nil {
			continue
		}
		if !looked || ch.WS != ws {
			ws, need, dc, looked = ch.WS, nil, dc[:0], true
			l.segMu.RLock()
			if s := l.ws[ws]; s != nil && len(s.realtime) > 0 {
				need = s.needs
			}
			l.segMu.RUnlock()
		}
		if need == nil {
			continue // no real-time segment: nothing is cached, nothing to convert
		}
		if cached == nil {
			cached = make([]cachedEvent, 0, len(changes)-i)
			props = make([]profeval.Prop, 0, 4*(len(changes)-i))
		}
		var ev profeval.Event
		ev, props = need.eventIntoCached(ch.Indexed, props, &dc)
		cached = append(cached, cachedEvent{need: need, ev: ev})
		ch.cached = &cached[len(cached)-1]
	}
}

// SegmentChanged is segment.Options.OnChange: a segment was created (old nil), edited or
// deleted (new nil). It never blocks.
func (l *Live) SegmentChanged(ws uint32, old, new *segment.Segment) {
	l.qmu.Lock()
	if !l.closed {
		l.queue = append(l.queue, item{seg: &segChange{ws: ws, old: old, new: new}})
	}
	l.qmu.Unlock()
	l.signal()
}

// Sync waits until everything queued before it is evaluated and durable, and the timers due
// by now have fired.
func (l *Live) Sync(ctx context.Context) error {
	ch := make(chan struct{})
	l.qmu.Lock()
	if l.closed {
		l.qmu.Unlock()
		return errors.New("live: closed")
	}
	l.queue = append(l.queue, item{sync: ch})
	l.qmu.Unlock()
	l.signal()
	select {
	case <-ch:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (l *Live) signal() {
	select {
	case l.wake <- struct{}{}:
	default:
	}
}

// Close stops the worker after it has processed what is queued, and flushes.
func (l *Live) Close() error {
	l.qmu.Lock()
	if l.closed {
		l.qmu.Unlock()
		return nil
	}
	l.closed = true
	l.qcond.Broadcast()
	l.qmu.Unlock()
	close(l.stop)
	<-l.done
	l.scanWG.Wait()
	return nil
}

// full reports whether Apply must wait (qmu held): a commit larger than MaxQueueChanges
// still enters an empty queue.
func (l *Live) full() bool {
	return len(l.queue) >= l.opts.MaxQueue || (l.queuedChanges >= l.opts.MaxQueueChanges && len(l.queue) > 0)
}

// maxStepChanges bounds the changes one worker step evaluates before it makes their
// membership changes durable (and so deliverable): a backlog is worked off in steps of about
// this size, so the first commits of a burst do not wait for the last.
const maxStepChanges = 1024

// slowStep is the step duration above which the worker logs (at debug level) where the time went.
const slowStep = 250 * time.Millisecond

// take removes queued items from the head of the queue: all of them, or (in order) as many
// commits as hold about maxStepChanges changes when limit is set and the queue is not full.
//
// A full queue means the worker is behind and the writers wait for it: then the step takes
// everything, and its evaluations cover more commits at once. A profile changed by several
// of them is evaluated once, on its latest data, as within one commit (in the real-time
// benchmark's saturated phase 20% fewer evaluations per event). The price: the first commits
// of such a step become durable with its last, instead of a bounded step after they were
// taken; under a load the worker cannot keep up with, every commit already waits for the
// whole backlog.
func (l *Live) take(limit bool) []item {
	l.qmu.Lock()
	defer l.qmu.Unlock()
	n, changes := len(l.queue), 0
	if limit && !l.full() {
		for i, it := range l.queue {
			if changes >= maxStepChanges {
				n = i
				break
			}
			changes += len(it.changes)
		}
	}
	q := l.queue[:n:n]
	for _, it := range q {
		l.queuedChanges -= len(it.changes)
	}
	if n == len(l.queue) {
		l.queue = nil
	} else {
		l.queue = append([]item(nil), l.queue[n:]...)
	}
	l.qcond.Broadcast()
	return q
}

func (l *Live) run() {
	defer close(l.done)
	ctx := context.Background()
	t := time.NewTimer(time.Hour)
	defer t.Stop()
	for {
		t0 := time.Now()
		l.applyScan(false)
		items := l.take(true)
		l.prefetch(items)
		t1 := time.Now()
		fired := l.fireDue(ctx)
		t2 := time.Now()
		var syncs []chan struct{}
		var queued []time.Time
		for _, it := range items {
			switch {
			case it.sync != nil:
				syncs = append(syncs, it.sync)
			case it.seg == nil:
				queued = append(queued, it.queued)
			}
		}
		l.applyItems(ctx, items)
		t3 := time.Now()
		fired += l.fireDue(ctx)
		t4 := time.Now()
		if err := l.flush(); err != nil {
			l.errs.Add(1)
			l.opts.Logger.Error("live: flush membership", "err", err)
		}
		for _, ch := range syncs {
			if l.scan.running {
				l.scan.waiters = append(l.scan.waiters, ch) // Sync includes the timer scan
			} else {
				l.synced = append(l.synced, ch)
			}
		}
		if len(l.synced) > 0 {
			// Sync returns once what it waited for is durable, not only evaluated
			ready := l.synced
			l.synced = nil
			l.mem.AfterSynced(func() {
				for _, ch := range ready {
					close(ch)
				}
			})
		}
		l.evaluated(queued)
		l.observe()
		if took := time.Since(t0); took > slowStep {
			changes := 0
			for _, it := range items {
				changes += len(it.changes)
			}
			l.opts.Logger.Debug("live: slow step", "took", took, "items", len(items), "changes", changes, "timers_fired", fired,
				"load", t1.Sub(t0), "timers", t2.Sub(t1)+t4.Sub(t3), "apply", t3.Sub(t2), "flush", time.Since(t4))
		}
		if len(items) > 0 {
			continue // more may have arrived meanwhile
		}
		wait := time.Hour
		if due, ok := l.timers.next(); ok {
			wait = max(time.Duration(due-l.opts.Now().UnixNano()), 0)
		}
		t.Reset(wait)
		select {
		case <-l.wake:
		case <-t.C:
		case <-l.stop:
			l.applyRest(ctx)
			return
		}
		if !t.Stop() {
			select {
			case <-t.C:
			default:
			}
		}
	}
}

// applyItems applies the commits and segment changes of one step in queue order (a Sync
// item is the caller's). The commits between two segment changes are one evaluation step
// (applyChanges): each profile they change is evaluated once, after all of them.
func (l *Live) applyItems(ctx context.Context, items []item) {
	rearm := rearmSet{}
	var commits [][]Change
	apply := func() {
		if len(commits) > 0 {
			l.rearmLogged(ctx, rearm)
			l.applyChanges(commits)
			commits = commits[:0]
		}
	}
	for _, it := range items {
		switch {
		case it.seg != nil:
			apply()
			if err := l.segmentChanged(ctx, it.seg, rearm); err != nil {
				l.opts.Logger.Error("live: segment change", "ws", it.seg.ws, "err", err)
			}
		case it.sync == nil:
			commits = append(commits, it.changes)
		}
	}
	apply()
	l.rearmLogged(ctx, rearm)
}

// rearmLogged re-arms what segment changes left pending (rearmPending), logging a failure.
func (l *Live) rearmLogged(ctx context.Context, r rearmSet) {
	if len(r) == 0 {
		return
	}
	if err := l.rearmPending(ctx, r); err != nil {
		l.opts.Logger.Error("live: re-arm timers after a segment change", "err", err)
	}
}

func (l *Live) applyRest(ctx context.Context) {
	if l.scan.running {
		// Start re-arms every segment from a fresh scan: this one need not finish.
		l.scan.cancel()
		l.scan.running, l.scan.profiles, l.timers.touched = false, nil, nil
		l.synced = append(l.synced, l.scan.waiters...)
		l.scan.waiters = nil
	}
	items := l.take(false)
	for _, it := range items {
		if it.sync != nil {
			l.synced = append(l.synced, it.sync)
		}
	}
	l.applyItems(ctx, items)
	if err := l.flush(); err != nil {
		l.opts.Logger.Error("live: flush membership", "err", err)
	}
	_ = l.mem.Synced() // a failure is logged by the membership log and counted by flushSynced
	for _, ch := range l.synced {
		close(ch)
	}
	l.synced = nil
}

// flush writes the staged membership changes and the timer writes in one batch. It does not
// wait for the fsync: the changes reach consumers once it completes (membership.Log), while
// evaluation goes on.
func (l *Live) flush() error {
	t := l.timers
	err := l.mem.FlushNoWait(func(b *store.DocBatch) {
		for k, due := range t.dels {
			b.Delete(k.ws, kindTimer, timerID(due, k.seg.id(), k.pid))
		}
		for k, due := range t.puts {
			b.Put(k.ws, kindTimer, timerID(due, k.seg.id(), k.pid), nil)
		}
	}, l.flushSynced)
	if err == nil {
		l.stats.timerPuts.Add(int64(len(t.puts)))
		l.stats.timerDeletes.Add(int64(len(t.dels)))
		clear(t.dels)
		clear(t.puts)
	}
	return err
}

// flushSynced reports a flush whose fsync failed (membership.Log logs it).
func (l *Live) flushSynced(err error) {
	if err != nil {
		l.errs.Add(1)
	}
}

// Errors is the number of failed flushes (for metrics).
func (l *Live) Errors() int64 { return l.errs.Load() }

// Members returns a copy of the members of a segment (by id).
func (l *Live) Members(ws uint32, segID string) *roaring.Bitmap { return l.mem.Members(ws, segID) }

// prefetch loads, in parallel, the profiles that the queued changes will evaluate and the
// cache does not hold: under load most changes are of different people, and reading their
// data from the store is most of the work of a change. Loads read the store as it is now,
// which may hold later writes than a queued change; applying that change again is harmless
// (as for any cache miss).
func (l *Live) prefetch(items []item) {
	at := l.opts.Now()
	type job struct {
		k    profKey
		need *needs
		d    *profileData
		err  error
	}
	var jobs []*job
	seen := map[profKey]bool{}
	for _, it := range items {
		for i := range it.changes {
			ch := &it.changes[i]
			k := profKey{ch.WS, ch.Profile}
			if seen[k] || ch.Kind == Merged { // a merge drops both profiles from the cache
				continue
			}
			s := l.segs(ch.WS)
			if !s.evaluates(ch) || l.cache.fresh(ch.WS, ch.Profile, s.needs, at) {
				continue
			}
			seen[k] = true
			jobs = append(jobs, &job{k: k, need: s.needs})
		}
	}
	if len(jobs) < 2 {
		return // a single miss loads on demand
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	for range min(runtime.GOMAXPROCS(0)+2, len(jobs)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := next.Add(1) - 1; i < int64(len(jobs)); i = next.Add(1) - 1 {
				j := jobs[i]
				j.d, j.err = load(l.st, j.k.ws, j.k.pid, j.need, at.Add(-time.Hour))
			}
		}()
	}
	wg.Wait()
	for _, j := range jobs {
		if j.err == nil {
			l.cache.replace(j.k, j.d) // on an error the evaluation loads again and reports it
		}
	}
}
