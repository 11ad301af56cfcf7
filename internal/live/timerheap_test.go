package live

import (
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2/vfs"
)

// TestTimerHeapStaysBounded: rescheduling the same timers over and over (a busy profile moves
// its window's due time on every event) must not grow the heap without bound, and the earliest
// pending timer must still come first.
func TestTimerHeapStaysBounded(t *testing.T) {
	tm := newTimers()
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	keys := []timerKey{newTimerKey(1, "a", 1), newTimerKey(1, "a", 2), newTimerKey(1, "b", 1)}
	for i := 0; i < 100000; i++ {
		k := keys[i%len(keys)]
		tm.set(k, base.Add(time.Duration(i)*time.Second), false)
	}
	if len(tm.h) > 2*tm.due.len()+1024+1 {
		t.Fatalf("heap holds %d entries for %d pending timers", len(tm.h), tm.due.len())
	}
	due, ok := tm.next()
	if want := base.Add(99997 * time.Second).UnixNano(); !ok || due != want {
		t.Fatalf("next = %v %v, want %v", time.Unix(0, due).UTC(), ok, time.Unix(0, want).UTC())
	}
}

// TestTakeBoundsStep: the worker takes commits in order, about maxStepChanges changes a step
// (everything when the queue is full: the writers wait), and never drops or reorders an
// item; Close's drain takes everything.
func TestTakeBoundsStep(t *testing.T) {
	l := &Live{opts: Options{MaxQueue: 100, MaxQueueChanges: 1 << 20}}
	l.qcond = sync.NewCond(&l.qmu)
	l.queuedChanges = 250 + 750 + 50 + 5000 + 1 + 1024 + 10
	sizes := []int{250, 750, 50, 5000, 1, 0, 1024, 10}
	for i, n := range sizes {
		it := item{changes: make([]Change, n)}
		if n == 0 {
			it = item{sync: make(chan struct{})}
		}
		for j := range it.changes {
			it.changes[j].Profile = uint32(i)
		}
		l.queue = append(l.queue, it)
	}
	var steps [][]int
	for len(l.queue) > 0 {
		var step []int
		total := 0
		for _, it := range l.take(true) {
			step = append(step, len(it.changes))
			total += len(it.changes)
		}
		if total-step[len(step)-1] >= maxStepChanges {
			t.Fatalf("step %v: went on after %d changes", step, maxStepChanges)
		}
		steps = append(steps, step)
	}
	want := [][]int{{250, 750, 50}, {5000}, {1, 0, 1024}, {10}}
	if !reflect.DeepEqual(steps, want) {
		t.Fatalf("steps %v, want %v", steps, want)
	}
	l.queue = []item{{changes: make([]Change, 9000)}, {changes: make([]Change, 9000)}}
	if got := l.take(false); len(got) != 2 || len(l.queue) != 0 {
		t.Fatalf("take(false) took %d, left %d", len(got), len(l.queue))
	}
	// a full queue (by changes, then by commits) is taken whole
	l.opts.MaxQueueChanges = 2000
	l.queue = []item{{changes: make([]Change, 900)}, {changes: make([]Change, 900)}, {changes: make([]Change, 900)}}
	l.queuedChanges = 2700
	if got := l.take(true); len(got) != 3 || len(l.queue) != 0 {
		t.Fatalf("full by changes: took %d, left %d", len(got), len(l.queue))
	}
	l.opts.MaxQueue = 3
	l.queue = []item{{changes: make([]Change, 900)}, {changes: make([]Change, 900)}, {changes: make([]Change, 1)}}
	l.queuedChanges = 1801
	if got := l.take(true); len(got) != 3 || len(l.queue) != 0 {
		t.Fatalf("full by commits: took %d, left %d", len(got), len(l.queue))
	}
}

// TestApplyWaitsForQueuedChanges: Apply blocks while the queued changes reach
// MaxQueueChanges (a bulk trait write must not queue millions of changes), lets one commit
// larger than the bound into an empty queue, and resumes when the worker takes.
func TestApplyWaitsForQueuedChanges(t *testing.T) {
	l := &Live{opts: Options{MaxQueue: 100, MaxQueueChanges: 10}}
	l.qcond = sync.NewCond(&l.qmu)
	l.Apply(make([]Change, 50)) // larger than the bound, queue empty: enters
	done := make(chan struct{})
	go func() {
		l.Apply(make([]Change, 1))
		close(done)
	}()
	select {
	case <-done:
		t.Fatal("Apply returned with 50 changes queued (bound 10)")
	case <-time.After(100 * time.Millisecond):
	}
	if got := l.take(true); len(got) != 1 || len(got[0].changes) != 50 {
		t.Fatalf("took %d items", len(got))
	}
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Apply still blocked after the queue was taken")
	}
	l.qmu.Lock()
	defer l.qmu.Unlock()
	if l.queuedChanges != 1 || len(l.queue) != 1 {
		t.Fatalf("queued %d changes in %d items, want 1 in 1", l.queuedChanges, len(l.queue))
	}
}

// A timer's stored document is rewritten only when the timer moves earlier than it; moving
// later writes nothing (the older document is never later than the timer, so a restart
// fires it early at worst); firing or cancelling deletes the stored document.
func TestTimerDocumentsNeverLate(t *testing.T) {
	tm := newTimers()
	k := newTimerKey(1, "a", 7)
	at := func(s int64) time.Time { return time.Unix(s, 0) }
	ns := func(s int64) int64 { return at(s).UnixNano() }
	flushed := func() (puts, dels map[timerKey]int64) {
		puts, dels = map[timerKey]int64{}, map[timerKey]int64{}
		for k, v := range tm.puts {
			puts[k] = v
		}
		for k, v := range tm.dels {
			dels[k] = v
		}
		clear(tm.puts)
		clear(tm.dels)
		return
	}
	tm.set(k, at(100), true)
	if p, d := flushed(); p[k] != ns(100) || len(d) != 0 {
		t.Fatalf("first set: puts %v dels %v", p, d)
	}
	for s := int64(110); s < 200; s += 10 {
		tm.set(k, at(s), true)
	}
	if p, d := flushed(); len(p) != 0 || len(d) != 0 {
		t.Fatalf("moving later wrote: puts %v dels %v", p, d)
	}
	tm.set(k, at(50), true)
	if p, d := flushed(); p[k] != ns(50) || d[k] != ns(100) {
		t.Fatalf("moving earlier: puts %v dels %v", p, d)
	}
	tm.set(k, at(300), true)
	if it, ok := tm.pop(ns(299)); ok {
		t.Fatalf("popped %v before its due time", it)
	}
	it, ok := tm.pop(ns(300))
	if !ok || it.due != ns(300) {
		t.Fatalf("pop at 300: %v %v", it, ok)
	}
	if p, d := flushed(); len(p) != 0 || d[k] != ns(50) {
		t.Fatalf("firing: puts %v dels %v, want the stored document (50) deleted", p, d)
	}
	tm.set(k, at(400), true)
	tm.set(k, time.Time{}, true)
	if p, d := flushed(); len(p) != 0 || len(d) != 0 {
		t.Fatalf("set and cancelled before a flush: puts %v dels %v", p, d)
	}
}

// advance only ever brings a timer earlier (a pending earlier timer fires early, harmlessly).
func TestTimerAdvanceOnlyEarlier(t *testing.T) {
	tm := newTimers()
	k := newTimerKey(1, "a", 7)
	at := func(s int64) time.Time { return time.Unix(s, 0) }
	tm.advance(k, at(100))
	for _, step := range []struct {
		due  time.Time
		want int64
	}{{at(200), 100}, {time.Time{}, 100}, {at(50), 50}, {at(60), 50}} {
		tm.advance(k, step.due)
		if got, _ := tm.next(); got != at(step.want).UnixNano() {
			t.Fatalf("after advance(%v): due %v, want %v", step.due, time.Unix(0, got), at(step.want))
		}
	}
	if _, ok := tm.pop(at(50).UnixNano()); !ok {
		t.Fatal("not due at 50")
	}
	tm.advance(k, at(500))
	if got, ok := tm.next(); !ok || got != at(500).UnixNano() {
		t.Fatalf("after firing, advance(500): %v %v", time.Unix(0, got), ok)
	}
}

// TestCommitsOfAStepShareAnEvaluation: two commits that change one profile, queued before the
// worker takes them, are one step in which the profile is evaluated once (an average can move
// either way, so neither commit alone could be skipped), and the membership is the batch
// engine's.
func TestCommitsOfAStepShareAnEvaluation(t *testing.T) {
	clk := &clock{t: time.Date(2025, 6, 15, 12, 0, 0, 0, time.UTC)}
	e := newEnv(t, vfs.NewMem(), clk, &catalog{}, true)
	defer e.close()
	e.addSegment("s", "pricey", `avg(price of "Viewed") > 5`)
	e.send(e.track("u1", "Viewed", clk.Now(), map[string]any{"price": 1.0}))
	e.sync()
	e.holding = true
	e.send(e.track("u1", "Viewed", clk.Now(), map[string]any{"price": 20.0}))
	e.send(e.track("u1", "Viewed", clk.Now(), map[string]any{"price": 30.0}))
	e.holding = false
	if len(e.held) != 2 {
		t.Fatalf("held %d commits, want 2", len(e.held))
	}
	l := e.live
	steps, evals := l.stats.steps.Load(), l.stats.evaluations.Load()
	l.qmu.Lock()
	for _, cs := range e.held {
		l.queue = append(l.queue, item{changes: cs, queued: time.Now()})
		l.queuedChanges += len(cs)
	}
	l.qmu.Unlock()
	l.signal()
	e.sync()
	if n := l.stats.steps.Load() - steps; n != 1 {
		t.Errorf("%d steps for two commits queued together, want 1", n)
	}
	if n := l.stats.evaluations.Load() - evals; n != 1 {
		t.Errorf("the profile was evaluated %d times, want once", n)
	}
	pid := e.pid("u1")
	if !l.Members(e.ws, "s").Contains(pid) || !e.batch(clk.Now())["s"].Contains(pid) {
		t.Errorf("u1 (average 17) is not in the segment: live %v, batch %v", l.Members(e.ws, "s"), e.batch(clk.Now())["s"])
	}
}
