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
