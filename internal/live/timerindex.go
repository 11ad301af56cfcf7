package live

import "unique"

// timerIndex maps a timer's key to its state. It is a map per profile rather than one map of
// every (segment, profile): an evaluation touches the timers of one profile for each of its
// segments, and with 50 segments over 20,000 profiles one million-entry map cost a cache miss
// per lookup (a tenth of segd's CPU under steady ingestion). Here the profile is looked up once
// (the last one is remembered) and its few segments are scanned in a short slice.
type timerIndex struct {
	profiles map[profileTimerRef]*profileTimers
	n        int // pending timers

	last    profileTimerRef
	lastPT  *profileTimers
	hasLast bool
}

type profileTimerRef struct{ ws, pid uint32 }

type profileTimers []segTimer

type segTimer struct {
	seg unique.Handle[string]
	st  timerState
}

func newTimerIndex() timerIndex {
	return timerIndex{profiles: map[profileTimerRef]*profileTimers{}}
}

func (x *timerIndex) profile(k timerKey, create bool) *profileTimers {
	ref := profileTimerRef{k.ws, k.pid}
	if x.hasLast && x.last == ref {
		return x.lastPT
	}
	pt := x.profiles[ref]
	if pt == nil {
		if !create {
			return nil
		}
		pt = new(profileTimers)
		x.profiles[ref] = pt
	}
	x.last, x.lastPT, x.hasLast = ref, pt, true
	return pt
}

func (x *timerIndex) get(k timerKey) (timerState, bool) {
	pt := x.profile(k, false)
	if pt == nil {
		return timerState{}, false
	}
	for i := range *pt {
		if (*pt)[i].seg == k.seg {
			return (*pt)[i].st, true
		}
	}
	return timerState{}, false
}

func (x *timerIndex) put(k timerKey, st timerState) {
	pt := x.profile(k, true)
	for i := range *pt {
		if (*pt)[i].seg == k.seg {
			(*pt)[i].st = st
			return
		}
	}
	*pt = append(*pt, segTimer{k.seg, st})
	x.n++
}

// del removes k and returns the state it had.
func (x *timerIndex) del(k timerKey) (timerState, bool) {
	pt := x.profile(k, false)
	if pt == nil {
		return timerState{}, false
	}
	for i := range *pt {
		if (*pt)[i].seg == k.seg {
			st := (*pt)[i].st
			last := len(*pt) - 1
			(*pt)[i] = (*pt)[last]
			*pt = (*pt)[:last]
			x.n--
			if last == 0 {
				ref := profileTimerRef{k.ws, k.pid}
				delete(x.profiles, ref)
				if x.hasLast && x.last == ref {
					x.hasLast, x.lastPT = false, nil
				}
			}
			return st, true
		}
	}
	return timerState{}, false
}

func (x *timerIndex) len() int { return x.n }

// each calls fn for every pending timer, in no particular order.
func (x *timerIndex) each(fn func(timerKey, timerState)) {
	for ref, pt := range x.profiles {
		for _, s := range *pt {
			fn(timerKey{ref.ws, s.seg, ref.pid}, s.st)
		}
	}
}
