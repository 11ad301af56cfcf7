package profeval

import (
	"math"
	"testing"
	"time"
)

// TestNanoBoundsAdmitWhatTheTimesAdmit checks the integer bounds a walk compares event times
// with against the span's own time comparisons, for bounds on and beyond the ends of the
// range Unix nanoseconds can express, inclusive and exclusive.
func TestNanoBoundsAdmitWhatTheTimesAdmit(t *testing.T) {
	mid := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	bounds := []time.Time{
		{}, minNanoTime.Add(-time.Hour), minNanoTime.Add(-1), minNanoTime, minNanoTime.Add(1),
		mid.Add(-1), mid, mid.Add(1),
		maxNanoTime.Add(-1), maxNanoTime, maxNanoTime.Add(1), maxNanoTime.Add(time.Hour),
	}
	events := []int64{math.MinInt64, math.MinInt64 + 1, -1, 0, 1, mid.UnixNano() - 1, mid.UnixNano(),
		mid.UnixNano() + 1, math.MaxInt64 - 1, math.MaxInt64}
	admits := func(s *span, at time.Time) bool {
		if s.hasLo && ((s.loIn && at.Before(s.lo)) || (!s.loIn && !at.After(s.lo))) {
			return false
		}
		if s.hiIn {
			return !at.After(s.hi)
		}
		return at.Before(s.hi)
	}
	for _, hasLo := range []bool{false, true} {
		los := bounds
		if !hasLo {
			los = bounds[:1] // lo is ignored
		}
		for _, lo := range los {
			for _, hi := range bounds {
				for _, loIn := range []bool{false, true} {
					for _, hiIn := range []bool{false, true} {
						s := span{lo: lo, hasLo: hasLo, loIn: loIn, hi: hi, hiIn: hiIn, exact: true}
						l, h, empty := s.nanoBounds()
						for _, ns := range events {
							want := admits(&s, time.Unix(0, ns))
							got := !empty && l <= ns && ns <= h
							if got != want {
								t.Fatalf("span %+v, event at %d ns: admitted %v, want %v (bounds %d…%d, empty %v)", s, ns, got, want, l, h, empty)
							}
						}
					}
				}
			}
		}
	}
}

// FirstAfter finds the first event later than t, over all events and over a group, for t on
// and around event times and beyond the range of Unix nanoseconds.
func TestFirstAfterFindsTheFirstLaterEvent(t *testing.T) {
	var evs []Event
	for i, min := range []int{0, 0, 5, 9, 9, 30} {
		evs = append(evs, Event{Kind: "track", Name: []string{"A", "B"}[i%2], Time: t0.Add(time.Duration(min) * time.Minute)})
	}
	p := NewProfile(map[string]any{}, evs, nil)
	ps := p.Group("track", "A")
	probes := []time.Time{minNanoTime.Add(-time.Hour), minNanoTime, t0.Add(-1), t0, t0.Add(1), t0.Add(9 * time.Minute),
		t0.Add(30*time.Minute - 1), t0.Add(30 * time.Minute), maxNanoTime, maxNanoTime.Add(time.Hour)}
	for _, at := range probes {
		want := p.Len()
		for i := range p.Len() {
			if p.Time(i).After(at) {
				want = i
				break
			}
		}
		if got := p.FirstAfter(nil, true, at); got != want {
			t.Errorf("all events after %v: %d, want %d", at, got, want)
		}
		want = len(ps)
		for k, i := range ps {
			if p.Time(int(i)).After(at) {
				want = k
				break
			}
		}
		if got := p.FirstAfter(ps, false, at); got != want {
			t.Errorf("group A after %v: %d, want %d", at, got, want)
		}
	}
}
