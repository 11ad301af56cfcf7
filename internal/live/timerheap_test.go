package live

import (
	"testing"
	"time"
)

// TestTimerHeapStaysBounded: rescheduling the same timers over and over (a busy profile moves
// its window's due time on every event) must not grow the heap without bound, and the earliest
// pending timer must still come first.
func TestTimerHeapStaysBounded(t *testing.T) {
	tm := newTimers()
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	keys := []timerKey{{1, "a", 1}, {1, "a", 2}, {1, "b", 1}}
	for i := 0; i < 100000; i++ {
		k := keys[i%len(keys)]
		tm.set(k, base.Add(time.Duration(i)*time.Second), false)
	}
	if len(tm.h) > 2*len(tm.due)+1024+1 {
		t.Fatalf("heap holds %d entries for %d pending timers", len(tm.h), len(tm.due))
	}
	due, ok := tm.next()
	if want := base.Add(99997 * time.Second).UnixNano(); !ok || due != want {
		t.Fatalf("next = %v %v, want %v", time.Unix(0, due).UTC(), ok, time.Unix(0, want).UTC())
	}
}
