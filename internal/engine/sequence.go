package engine

import (
	"errors"
	"math"
	"slices"

	"github.com/RoaringBitmap/roaring/v2"

	"github.com/segd/segd/internal/segql/ast"
)

// stepTimes is the matching event times of one sequence step grouped by profile (CSR form):
// the times of profile p are t[off[p]:off[p+1]], ascending.
type stepTimes struct {
	off []uint32
	t   []int64
}

func (s *stepTimes) of(p uint32) []int64 { return s.t[s.off[p]:s.off[p+1]] }

// gather collects the times of the events of a step among the members, grouped by profile.
func (ev *evaluator) gather(step *ast.SeqStep, win span, member denseSet, size int) (*stepTimes, error) {
	srcs, err := ev.sources(step.Event, step.Where, win)
	if err != nil {
		return nil, err
	}
	// Pass 1: matching rows per source (filters run in parallel); pass 2: counting sort by
	// profile, which keeps each profile's times ascending within one source.
	type hit struct {
		p uint32
		t int64
	}
	var hits []hit
	for _, s := range srcs {
		parts := make([][]hit, ev.workers)
		prof, times := s.tbl.Prof, s.tbl.Time
		err := ev.chunks(s.hi-s.lo, "sequence scan", func(wk, lo, hi int) {
			for r := s.lo + lo; r < s.lo+hi; r++ {
				p := prof[r]
				if member.has(p) && (s.pred == nil || s.pred(r)) {
					parts[wk] = append(parts[wk], hit{p, times[r]})
				}
			}
		})
		if err != nil {
			return nil, err
		}
		for _, part := range parts {
			hits = append(hits, part...)
		}
	}
	st := &stepTimes{off: make([]uint32, size+1), t: make([]int64, len(hits))}
	for _, h := range hits {
		st.off[h.p+1]++
	}
	for i := 1; i <= size; i++ {
		st.off[i] += st.off[i-1]
	}
	fill := slices.Clone(st.off[:size])
	for _, h := range hits {
		st.t[fill[h.p]] = h.t
		fill[h.p]++
	}
	// Chunks and several tables interleave times: sort each profile's run.
	for p := 0; p < size; p++ {
		run := st.t[st.off[p]:st.off[p+1]]
		if !slices.IsSorted(run) {
			slices.Sort(run)
		}
	}
	return st, nil
}

// evalSequence evaluates sequence(A then B ... [then not Z] [within D] [window]).
//
// Positive steps: there are times t1 < t2 < ... < tk, each an event of its step up to the
// evaluation time, with t1 in the window and, when within D is given, tk ≤ t1 + D.
// A negated last step Z (which requires within D): such a chain exists with t1 + D ≤ at and no
// Z event in (t(k−1), t1 + D], where t(k−1) is the last positive step.
func (ev *evaluator) evalSequence(n *ast.Sequence, cand *roaring.Bitmap) (*roaring.Bitmap, error) {
	if len(n.Steps) < 2 {
		return nil, errors.New("engine: a sequence needs at least two steps")
	}
	last := n.Steps[len(n.Steps)-1]
	for _, s := range n.Steps[:len(n.Steps)-1] {
		if s.Not {
			return nil, errors.New("engine: only the last sequence step may be negated")
		}
	}
	if last.Not && n.Within == nil {
		return nil, errors.New("engine: a negated sequence step needs within")
	}
	win, err := ev.clock.eventWindow(n.Window)
	if err != nil {
		return nil, err
	}
	if cand.IsEmpty() {
		return roaring.New(), nil
	}
	size := int(cand.Maximum()) + 1
	member := newDenseSet(cand)
	// Later steps happen after t1 >= win.lo and, with within D, no later than the deadline
	// of the last possible t1 (deadlines grow with t1: fixed units add, calendar units clamp).
	later := allTime.clipTo(ev.clock.ns)
	if win.empty() {
		later = win
	} else {
		later.lo = win.lo
		if n.Within != nil {
			if b := n.Within.Add(timeOf(win.hi, ev.clock)).UnixNano(); b < later.hi {
				later.hi = b
			}
		}
	}
	steps := make([]*stepTimes, len(n.Steps))
	for i, s := range n.Steps {
		w := later
		if i == 0 {
			w = win
		}
		if steps[i], err = ev.gather(s, w, member, size); err != nil {
			return nil, err
		}
	}
	// Only profiles with a first step can match.
	firsts := roaring.New()
	for p := 0; p < size; p++ {
		if steps[0].off[p+1] > steps[0].off[p] {
			firsts.Add(uint32(p))
		}
	}
	at := ev.clock.ns
	return ev.scan(firsts, "sequence", func(p uint32) bool {
		for _, t1 := range steps[0].of(p) {
			deadline := int64(math.MaxInt64)
			if n.Within != nil {
				deadline = n.Within.Add(timeOf(t1, ev.clock)).UnixNano()
			}
			if sequenceFrom(p, t1, deadline, at, steps, last.Not) {
				return true
			}
		}
		return false
	})
}

// sequenceFrom reports whether a chain starting at t1 completes. Positive intermediate steps
// take the earliest event after the previous step (which leaves the most room for what
// follows); before a negated step the last positive step takes the latest event allowed,
// which leaves the smallest gap in which the negated event must not occur.
func sequenceFrom(p uint32, t1, deadline, at int64, steps []*stepTimes, negLast bool) bool {
	prev := t1
	pos := len(steps)
	if negLast {
		pos--
		if deadline > at {
			return false
		}
	}
	for i := 1; i < pos; i++ {
		ts := steps[i].of(p)
		if negLast && i == pos-1 {
			// latest event in (prev, deadline]
			j, _ := slices.BinarySearch(ts, deadline+1)
			if deadline == math.MaxInt64 {
				j = len(ts)
			}
			if j == 0 || ts[j-1] <= prev {
				return false
			}
			prev = ts[j-1]
			continue
		}
		j, _ := slices.BinarySearch(ts, prev+1)
		if j == len(ts) || ts[j] > deadline {
			return false
		}
		prev = ts[j]
	}
	if !negLast {
		return true
	}
	zs := steps[len(steps)-1].of(p)
	j, _ := slices.BinarySearch(zs, prev+1)
	return j == len(zs) || zs[j] > deadline
}
