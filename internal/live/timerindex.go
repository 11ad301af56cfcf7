package live

import (
	"math"
	"slices"
)

// timerIndex maps a timer's key to its state. It is a map per profile rather than one map of
// every (segment, profile): an evaluation touches the timers of one profile for each of its
// segments, and with 50 segments over 20,000 profiles one million-entry map cost a cache miss
// per lookup (a tenth of segd's CPU under steady ingestion). Here the profile is looked up once
// and its few segments are scanned in a short slice. The last two profiles looked up are
// remembered: an evaluation alternates between its profile and the segment-wide boundary
// timers (boundaryPID), which defeated a memory of one.
//
// Every method, get included (it remembers the last profile), writes: worker only.
type timerIndex struct {
	profiles map[profKey]*profileTimers
	n        int // pending timers

	recent [2]recentTimers // recent[0] the last profile looked up
}

type recentTimers struct {
	ref profKey
	pt  *profileTimers // nil: the slot is empty
}

// profileTimers are a profile's timers ordered by segment number, so that finding one is a
// binary search: a profile can have a timer for most of 50 segments, and each evaluation
// looks one up per segment (a linear scan was 2% of segd's CPU). minDue is the earliest of
// their due times, so that "is any of them due?" needs no search (see dueBy).
type profileTimers struct {
	ts     []segTimer
	minDue int64
}

// find returns the position of seg's timer, or where it would be inserted and false.
func (pt *profileTimers) find(seg segNo) (int, bool) {
	ts := pt.ts
	lo, hi := 0, len(ts)
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if ts[m].seg < seg {
			lo = m + 1
		} else {
			hi = m
		}
	}
	return lo, lo < len(ts) && ts[lo].seg == seg
}

func (pt *profileTimers) resetMin() {
	pt.minDue = math.MaxInt64
	for _, t := range pt.ts {
		pt.minDue = min(pt.minDue, t.st.due)
	}
}

type segTimer struct {
	seg segNo
	st  timerState
}

func newTimerIndex() timerIndex {
	return timerIndex{profiles: map[profKey]*profileTimers{}}
}

func (x *timerIndex) profile(k timerKey, create bool) *profileTimers {
	ref := profKey{k.ws, k.pid}
	switch {
	case x.recent[0].pt != nil && x.recent[0].ref == ref:
		return x.recent[0].pt
	case x.recent[1].pt != nil && x.recent[1].ref == ref:
		x.recent[0], x.recent[1] = x.recent[1], x.recent[0]
		return x.recent[0].pt
	}
	pt := x.profiles[ref]
	if pt == nil {
		if !create {
			return nil
		}
		pt = &profileTimers{minDue: math.MaxInt64}
		x.profiles[ref] = pt
	}
	x.recent[1], x.recent[0] = x.recent[0], recentTimers{ref, pt}
	return pt
}

func (x *timerIndex) get(k timerKey) (timerState, bool) {
	pt := x.profile(k, false)
	if pt == nil {
		return timerState{}, false
	}
	if i, ok := pt.find(k.seg); ok {
		return pt.ts[i].st, true
	}
	return timerState{}, false
}

// dueBy reports whether a timer of the profile (ws, pid) is due at or before the Unix
// nanosecond now: one lookup instead of one per segment (see Live.unmoved).
func (x *timerIndex) dueBy(ws, pid uint32, now int64) bool {
	pt := x.profile(timerKey{ws: ws, pid: pid}, false)
	return pt != nil && pt.minDue <= now
}

func (x *timerIndex) put(k timerKey, st timerState) {
	pt := x.profile(k, true)
	i, ok := pt.find(k.seg)
	if ok {
		old := pt.ts[i].st.due
		pt.ts[i].st = st
		if st.due < pt.minDue {
			pt.minDue = st.due
		} else if old == pt.minDue && st.due > old {
			pt.resetMin()
		}
		return
	}
	pt.ts = slices.Insert(pt.ts, i, segTimer{k.seg, st})
	pt.minDue = min(pt.minDue, st.due)
	x.n++
}

// del removes k and returns the state it had.
func (x *timerIndex) del(k timerKey) (timerState, bool) {
	pt := x.profile(k, false)
	if pt == nil {
		return timerState{}, false
	}
	i, ok := pt.find(k.seg)
	if !ok {
		return timerState{}, false
	}
	st := pt.ts[i].st
	pt.ts = slices.Delete(pt.ts, i, i+1)
	x.n--
	if st.due == pt.minDue {
		pt.resetMin()
	}
	if len(pt.ts) == 0 {
		ref := profKey{k.ws, k.pid}
		delete(x.profiles, ref)
		for i := range x.recent {
			if x.recent[i].pt != nil && x.recent[i].ref == ref {
				x.recent[i] = recentTimers{}
			}
		}
	}
	return st, true
}

func (x *timerIndex) len() int { return x.n }

// each calls fn for every pending timer, in no particular order.
func (x *timerIndex) each(fn func(timerKey, timerState)) {
	for ref, pt := range x.profiles {
		for _, s := range pt.ts {
			fn(timerKey{ref.ws, s.seg, ref.pid}, s.st)
		}
	}
}
