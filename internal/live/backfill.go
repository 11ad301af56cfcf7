package live

import (
	"context"
	"fmt"
	"time"

	"github.com/segd/segd/internal/engine"
	"github.com/segd/segd/internal/engine/reference"
	"github.com/segd/segd/internal/index"
	"github.com/segd/segd/internal/membership"
	"github.com/segd/segd/internal/segment"
	"github.com/segd/segd/internal/store"
)

// schedulePID marks a scheduled segment's recompute in the timer queue.
const schedulePID = ^uint32(0)

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
	var timed []*compiled
	for _, c := range cs {
		if c.timeDep && c.seg.Mode == segment.ModeRealtime {
			timed = append(timed, c)
		}
	}
	if len(timed) == 0 {
		return nil
	}
	loc := l.segs(ws).loc
	return scanAll(ctx, l.st, ws, func(pid uint32, d *profileData) {
		for _, c := range timed {
			l.timers.set(timerKey{ws, c.seg.ID, pid}, nextChange(c, d, at, loc), true)
		}
	})
}

// scanAll calls fn with every live profile's data, reading the store sequentially (profiles
// and events are both in profile order; records are gathered first).
func scanAll(ctx context.Context, st *store.Store, ws uint32, fn func(pid uint32, d *profileData)) error {
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
	var cur *profileData
	var curID uint32
	flush := func() {
		if cur != nil {
			cur.records = recs[curID]
			if cur.records == nil {
				cur.records = map[recKey]reference.Record{}
			}
			fn(curID, cur)
			cur = nil
		}
	}
	// Profiles come in id order; their events are read for each profile with one bounded
	// iterator, which keeps memory at one profile.
	n := 0
	err := st.ScanProfiles(ws, func(p *store.Profile) error {
		if n++; n%1024 == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		flush()
		cur, curID = &profileData{live: true, traits: p.TraitMap(), seqs: map[uint64]struct{}{}}, p.ID
		evs, err := st.Events(ws, p.ID, time.Time{}, 0)
		if err != nil {
			return err
		}
		for i := len(evs) - 1; i >= 0; i-- {
			if e, ok := eventOf(&evs[i].Message); ok {
				cur.events = append(cur.events, e)
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("live: scan profiles: %w", err)
	}
	flush()
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
	if c.seg.Mode != segment.ModeScheduled {
		return
	}
	every, err := time.ParseDuration(c.seg.Schedule)
	if err != nil || every <= 0 {
		l.opts.Logger.Error("live: bad schedule; not recomputing", "segment", c.seg.ID, "schedule", c.seg.Schedule)
		return
	}
	l.timers.set(timerKey{ws, c.seg.ID, schedulePID}, now.Add(every), false)
}

func (l *Live) scheduleAll(ws uint32, now time.Time) {
	for _, c := range l.segs(ws).ordered {
		l.schedule(ws, c, now)
	}
}

// segmentChanged handles a create, edit or delete: recompile, then backfill the segment and
// every segment that uses it, and re-arm their timers.
func (l *Live) segmentChanged(ctx context.Context, ch *segChange) error {
	before := l.segs(ch.ws)
	if err := l.reload(ch.ws); err != nil {
		return err
	}
	after := l.segs(ch.ws)
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
	return l.rearm(ctx, ch.ws, todo, now)
}
