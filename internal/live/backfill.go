package live

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/segd/segd/internal/engine"
	"github.com/segd/segd/internal/engine/reference"
	"github.com/segd/segd/internal/index"
	"github.com/segd/segd/internal/membership"
	"github.com/segd/segd/internal/message"
	"github.com/segd/segd/internal/profeval"
	"github.com/segd/segd/internal/segment"
	"github.com/segd/segd/internal/store"
)

// schedulePID marks a scheduled segment's recompute in the timer queue; boundaryPID a
// real-time segment's recompute at a calendar boundary or time literal (see boundary). They
// are not durable: Start recomputes every segment and schedules them again.
const (
	schedulePID = ^uint32(0)
	boundaryPID = ^uint32(0) - 1
)

// recompute backfills c at `at` and, after it, every segment that uses it (transitively).
func (l *Live) recompute(ctx context.Context, ws uint32, c *compiled, at time.Time, cause string) error {
	affected := map[string]bool{c.seg.Name: true}
	for _, d := range l.segs(ws).ordered {
		use := d == c
		for n := range d.segments {
			use = use || affected[n]
		}
		if !use {
			continue
		}
		affected[d.seg.Name] = true
		if err := l.backfill(ctx, ws, d, at, cause); err != nil {
			return err
		}
	}
	return nil
}

// backfill evaluates c in batch at time at and stages enters and exits for the difference
// from its current members.
func (l *Live) backfill(ctx context.Context, ws uint32, c *compiled, at time.Time, cause string) error {
	s := l.segs(ws)
	ix := l.opts.Indexes.Index(ws)
	if ix == nil {
		ix = index.New()
	}
	bm, _, err := engine.New(ix).Evaluate(ctx, c.tree, engine.Options{At: at, Location: s.loc, Segment: c.seg.Name, Segments: l.segmentsFunc(ctx, ws, s, at)})
	if err != nil {
		return fmt.Errorf("live: backfill %s: %w", c.seg.ID, err)
	}
	old := l.mem.Members(ws, c.seg.ID)
	why := membership.Reason{Cause: cause}
	enters := bm.Clone()
	enters.AndNot(old)
	exits := old.Clone()
	exits.AndNot(bm)
	for it := enters.Iterator(); it.HasNext(); {
		l.mem.Stage(ws, c.seg.ID, it.Next(), true, at, why)
	}
	for it := exits.Iterator(); it.HasNext(); {
		l.mem.Stage(ws, c.seg.ID, it.Next(), false, at, why)
	}
	if enters.IsEmpty() && exits.IsEmpty() {
		// Make the segment known (its bitmap exists) and record its size.
		if err := l.mem.RecordSize(ws, c.seg.ID); err != nil {
			return err
		}
	}
	return nil
}

// rearm computes the next timer of every profile for the time-dependent real-time segments
// in cs, in one scan of the workspace.
func (l *Live) rearm(ctx context.Context, ws uint32, cs []*compiled, at time.Time) error {
	ats := make([]time.Time, len(cs))
	for i := range ats {
		ats[i] = at
	}
	return l.rearmAt(ctx, ws, cs, ats)
}

// rearmAt is rearm with a time per segment (the time it was last evaluated at). The scan runs
// in the background (at a million profiles it takes minutes) while the worker goes on
// applying changes; see scan.go. A request that arrives while a scan runs waits for it.
func (l *Live) rearmAt(ctx context.Context, ws uint32, cs []*compiled, ats []time.Time) error {
	var timed []*compiled
	var at []time.Time
	for i, c := range cs {
		if c.timeDep && c.seg.Mode == segment.ModeRealtime {
			timed, at = append(timed, c), append(at, ats[i])
		}
	}
	if len(timed) == 0 {
		return nil
	}
	if l.scan.running {
		for i, c := range timed {
			l.scan.pending.add(ws, []*compiled{c}, at[i])
		}
		return nil
	}
	l.startScan(ws, timed, at)
	return nil
}

// scanAll calls fn with every live profile's data, reading the store sequentially (profiles
// and events are both in profile order; records are gathered first).
func scanAll(ctx context.Context, st *store.Store, ws uint32, need *needs, from time.Time, fn func(pid uint32, d *profileData)) error {
	recs := map[uint32]map[recKey]reference.Record{}
	if err := st.ScanRecords(ws, func(r *store.Record) error {
		m := recs[r.Profile]
		if m == nil {
			m = map[recKey]reference.Record{}
			recs[r.Profile] = m
		}
		m[recKey{r.Type, r.ID}] = recordOf(r)
		return nil
	}); err != nil {
		return err
	}
	// Profiles and events are both stored in profile order: one sequential scan of each,
	// merged (a per-profile read would seek once per profile, slow at millions of them).
	type group struct {
		pid    uint32
		maxSeq uint64
		events []profeval.Event
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	groups := make(chan group, 256)
	scanErr := make(chan error, 1)
	go func() {
		defer close(groups)
		var g group
		var scratch []profeval.Prop // the group's properties until send packs them
		send := func() error {
			if g.events == nil {
				return nil
			}
			profeval.PackProps(g.events)
			scratch = scratch[:0]
			select {
			case groups <- g:
			case <-ctx.Done():
				return ctx.Err()
			}
			g = group{}
			return nil
		}
		var f message.EventFields
		err := st.ScanEventsRaw(ws, func(pid uint32, seq uint64, t time.Time, v []byte) error {
			if pid != g.pid || g.events == nil {
				if err := send(); err != nil {
					return err
				}
				g = group{pid: pid, events: []profeval.Event{}}
			}
			g.maxSeq = max(g.maxSeq, seq)
			e, ok, err := decodeNeeded(v, t, need, from, &f, &scratch)
			if ok {
				g.events = append(g.events, e)
			}
			return err
		})
		if err == nil {
			err = send()
		}
		scanErr <- err
	}()
	var next group
	have := false
	n := 0
	err := st.ScanProfiles(ws, func(p *store.Profile) error {
		if n++; n%1024 == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		var events []profeval.Event
		var maxSeq uint64
		for {
			if !have {
				next, have = <-groups
				if !have {
					break // no more events
				}
			}
			if next.pid > p.ID {
				break
			}
			if next.pid == p.ID {
				events, maxSeq = next.events, next.maxSeq
			}
			have = false // consumed, or a profile that is no longer live
		}
		d := newProfileData(true, need.keepTraits(p.TraitMap()), events, recs[p.ID])
		d.need, d.from, d.maxSeq = need, from, maxSeq
		fn(p.ID, d)
		return nil
	})
	cancel()
	for range groups {
	}
	if serr := <-scanErr; err == nil && serr != nil && !errors.Is(serr, context.Canceled) {
		err = serr
	}
	if err != nil {
		return fmt.Errorf("live: scan profiles: %w", err)
	}
	return nil
}

// dropSegment stages exits for every member of a segment that no longer exists (or no
// longer changes), flushes them and forgets its state.
func (l *Live) dropSegment(ws uint32, id string) error {
	now := l.opts.Now()
	for it := l.mem.Members(ws, id).Iterator(); it.HasNext(); {
		l.mem.Stage(ws, id, it.Next(), false, now, membership.Reason{Cause: "deleted"})
	}
	if err := l.flush(); err != nil {
		return err
	}
	return l.mem.Drop(ws, id)
}

// schedule queues a scheduled segment's next recompute.
func (l *Live) schedule(ws uint32, c *compiled, now time.Time) {
	if c.seg.Mode == segment.ModeRealtime {
		if b := boundary(c, now, l.segs(ws).loc); !b.IsZero() {
			l.timers.set(timerKey{ws, c.tseg, boundaryPID}, b, false)
		}
		return
	}
	if c.seg.Mode != segment.ModeScheduled {
		return
	}
	every, err := time.ParseDuration(c.seg.Schedule)
	if err != nil || every <= 0 {
		l.opts.Logger.Error("live: bad schedule; not recomputing", "segment", c.seg.ID, "schedule", c.seg.Schedule)
		return
	}
	l.timers.set(timerKey{ws, c.tseg, schedulePID}, now.Add(every), false)
}

func (l *Live) scheduleAll(ws uint32, now time.Time) {
	for _, c := range l.segs(ws).ordered {
		l.schedule(ws, c, now)
	}
}

// rearmSet collects the segments whose timers must be re-armed after a run of consecutive
// segment changes, each with the earliest time it was backfilled at, so that one scan of the
// store serves them all (creating 50 segments in a row would otherwise scan 50 times).
type rearmSet map[uint32]map[string]time.Time

func (r rearmSet) add(ws uint32, cs []*compiled, at time.Time) {
	m := r[ws]
	if m == nil {
		m = map[string]time.Time{}
		r[ws] = m
	}
	for _, c := range cs {
		if t, ok := m[c.seg.ID]; !ok || at.Before(t) {
			m[c.seg.ID] = at
		}
	}
}

// rearmPending re-arms the collected segments (as currently compiled) and empties r.
func (l *Live) rearmPending(ctx context.Context, r rearmSet) error {
	for ws, m := range r {
		s := l.segs(ws)
		var cs []*compiled
		var ats []time.Time
		for _, c := range s.ordered {
			if at, ok := m[c.seg.ID]; ok {
				cs, ats = append(cs, c), append(ats, at)
			}
		}
		delete(r, ws)
		if err := l.rearmAt(ctx, ws, cs, ats); err != nil {
			return err
		}
	}
	return nil
}

// segmentChanged handles a create, edit or delete: recompile, then backfill the segment and
// every segment that uses it; their timers are re-armed by the caller (rearmPending) before
// any other item is processed.
func (l *Live) segmentChanged(ctx context.Context, ch *segChange, rearm rearmSet) error {
	before := l.segs(ch.ws)
	if err := l.reload(ch.ws); err != nil {
		return err
	}
	after := l.segs(ch.ws)
	if len(after.realtime) == 0 {
		l.cache.dropWorkspace(ch.ws)
	}
	if ch.new == nil || after.byID[ch.new.ID] == nil {
		// Deleted, or no longer tracked (snapshot): a snapshot keeps its frozen members.
		id := ""
		if ch.old != nil {
			id = ch.old.ID
		} else if ch.new != nil {
			id = ch.new.ID
		}
		if id != "" && before.byID[id] != nil && (ch.new == nil) {
			return l.dropSegment(ch.ws, id)
		}
		return nil
	}
	c := after.byID[ch.new.ID]
	if ch.old != nil && ch.old.Query == ch.new.Query && ch.old.Mode == ch.new.Mode && ch.old.Name == ch.new.Name && before.byID[c.seg.ID] != nil {
		l.schedule(ch.ws, c, l.opts.Now())
		return nil // nothing that decides membership changed
	}
	// The segment and its dependents, in dependency order.
	affected := map[string]bool{c.seg.Name: true}
	if ch.old != nil {
		affected[ch.old.Name] = true
	}
	var todo []*compiled
	for _, d := range after.ordered {
		use := d == c
		for n := range d.segments {
			use = use || affected[n]
		}
		if use {
			affected[d.seg.Name] = true
			todo = append(todo, d)
		}
	}
	now := l.opts.Now()
	for _, d := range todo {
		if err := l.backfill(ctx, ch.ws, d, now, "backfill"); err != nil {
			return err
		}
	}
	if err := l.flush(); err != nil {
		return err
	}
	l.schedule(ch.ws, c, now)
	rearm.add(ch.ws, todo, now)
	return nil
}
