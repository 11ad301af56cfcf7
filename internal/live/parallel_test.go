package live

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2/vfs"

	"github.com/segd/segd/internal/message"
)

// Steps that re-evaluate many profiles spread the evaluations over all processors, and due
// timers fire in batches of distinct profiles. Each profile's membership changes must be
// exactly the ones evaluating one profile and one timer at a time writes: same changes, same
// order, same reasons (only the interleaving of different profiles in the log may differ).
// Each commit here holds about 60 messages of 30 people, with merges (an anonymous visitor
// identified in the same commit) and segments of segments; the clock jumps fire timers.
func TestParallelEvaluationEqualsSerial(t *testing.T) {
	defer func(n, b int) { parallelMin, maxFireBatch = n, b }(parallelMin, maxFireBatch)
	run := func(min, batch int) (map[uint32][]string, int, int64) {
		parallelMin, maxFireBatch = min, batch
		r := rand.New(rand.NewPCG(5, 9))
		clk := &clock{t: time.Date(2025, 6, 15, 23, 0, 0, 0, time.UTC)}
		e := newEnv(t, vfs.NewMem(), clk, &catalog{}, true)
		defer e.close()
		for _, s := range diffSegments[:8] {
			e.addSegment(s[0], s[1], s[2])
		}
		e.sync()
		for round := range 30 {
			clk.Add(time.Duration(r.IntN(300)) * time.Second)
			now := clk.Now()
			var batch []message.Message
			for i := range 60 {
				u := fmt.Sprintf("u%d", r.IntN(30))
				switch k := r.IntN(10); {
				case k < 6:
					name := []string{"A", "B", "C"}[r.IntN(3)]
					at := now.Add(-time.Duration(r.IntN(60)) * time.Minute)
					batch = append(batch, e.track(u, name, at, map[string]any{"x": float64(r.IntN(4))}))
				case k < 7:
					batch = append(batch, message.Message{Type: message.Page, UserID: u, Name: "Home", Timestamp: now.Add(-time.Duration(r.IntN(90)) * time.Minute)})
				case k < 9:
					batch = append(batch, message.Message{Type: message.Identify, UserID: u, Timestamp: now,
						Traits: map[string]any{"plan": []string{"pro", "free"}[r.IntN(2)]}})
				default:
					anon := fmt.Sprintf("anon-%d-%d", round, i)
					batch = append(batch,
						message.Message{Type: message.Track, AnonymousID: anon, Event: "A", Timestamp: now.Add(-3 * time.Minute)},
						message.Message{Type: message.Identify, AnonymousID: anon, UserID: u, Timestamp: now})
				}
			}
			e.send(batch...)
			e.sync() // evaluated at this clock: the log does not depend on the worker's timing
			if round%5 == 4 {
				clk.Add(time.Duration(r.IntN(30)) * time.Minute) // timers fire
				e.sync()
			}
		}
		e.sync()
		cs, err := e.mem.Read(context.Background(), e.ws, 0, 0)
		if err != nil {
			t.Fatal(err)
		}
		byProfile, timers := map[uint32][]string{}, 0
		for _, c := range cs {
			if c.Reason.Cause == "timer" {
				timers++
			}
			c.Seq, c.Wall = 0, time.Time{}
			byProfile[c.Profile] = append(byProfile[c.Profile], fmt.Sprintf("%+v", c))
		}
		return byProfile, timers, e.live.stats.parallel.Load()
	}
	serial, timers, n := run(1<<30, 1)
	if n != 0 {
		t.Fatalf("serial run evaluated %d profiles in parallel", n)
	}
	parallel, _, n := run(2, 4096)
	if n < 500 {
		t.Fatalf("only %d profiles were evaluated in parallel", n)
	}
	if len(serial) < 30 || timers < 50 {
		t.Fatalf("%d profiles changed, %d by timers: the stream exercises too little", len(serial), timers)
	}
	total := 0
	for pid, want := range serial {
		got := parallel[pid]
		total += len(want)
		if len(got) != len(want) {
			t.Fatalf("profile %d: parallel evaluation wrote %d changes, serial %d", pid, len(got), len(want))
		}
		for i := range want {
			if got[i] != want[i] {
				t.Fatalf("profile %d change %d differs:\nserial   %s\nparallel %s", pid, i, want[i], got[i])
			}
		}
	}
	if len(parallel) != len(serial) {
		t.Fatalf("parallel evaluation changed %d profiles, serial %d", len(parallel), len(serial))
	}
	t.Logf("%d changes (%d by timers) of %d profiles, %d profiles evaluated in parallel", total, timers, len(serial), n)
}

// A visitor's event and the identify that merges the visitor away, in one commit: the
// merged-away profile leaves every segment and is not evaluated again (it was, and entered
// segments that only need an absence, which the batch engine, for which the profile no longer
// exists, never shows).
func TestMergedAwayProfileNotReevaluated(t *testing.T) {
	clk := &clock{t: time.Date(2025, 6, 15, 12, 0, 0, 0, time.UTC)}
	e := newEnv(t, vfs.NewMem(), clk, &catalog{}, true)
	defer e.close()
	e.addSegment("n", "never-z", `not did "Z" in last 1 hours`)
	e.sync()
	now := clk.Now()
	e.send(message.Message{Type: message.Track, UserID: "known", Event: "A", Timestamp: now})
	e.send(message.Message{Type: message.Track, AnonymousID: "visitor", Event: "A", Timestamp: now.Add(-time.Minute)},
		message.Message{Type: message.Identify, AnonymousID: "visitor", UserID: "known", Timestamp: now})
	e.sync()
	want := e.batch(clk.Now())["n"]
	got := e.mem.Members(e.ws, "n")
	if !got.Equals(want) || want.GetCardinality() != 1 {
		t.Fatalf("live %v, batch %v (want the one surviving profile)", got.ToArray(), want.ToArray())
	}
}

// A calendar recompute ends a batch of due timers: a profile's timer due before midnight is
// evaluated (and committed) before the segment's recompute at midnight, as one by one, so the
// log shows no enter at a time the recompute already passed.
func TestFireBatchStopsAtRecompute(t *testing.T) {
	defer func(n, b int) { parallelMin, maxFireBatch = n, b }(parallelMin, maxFireBatch)
	run := func(fireBatch int) map[uint32][]string {
		parallelMin, maxFireBatch = 2, fireBatch
		clk := &clock{t: time.Date(2025, 6, 15, 23, 30, 0, 0, time.UTC)}
		e := newEnv(t, vfs.NewMem(), clk, &catalog{}, true)
		defer e.close()
		e.addSegment("d", "day-and-recent", `count(page today) >= 1 and not did "A" in last 10 minutes`)
		e.sync()
		now := clk.Now()
		var batch []message.Message
		for i := range 40 {
			u := fmt.Sprintf("u%d", i)
			batch = append(batch, message.Message{Type: message.Page, UserID: u, Name: "Home", Timestamp: now.Add(-time.Minute)},
				e.track(u, "A", now.Add(time.Duration(i)*20*time.Second), nil))
		}
		e.send(batch...)
		e.sync()
		clk.Add(45 * time.Minute) // every "A" timer (23:40-23:53) and midnight come due at once
		e.sync()
		cs, err := e.mem.Read(context.Background(), e.ws, 0, 0)
		if err != nil {
			t.Fatal(err)
		}
		out := map[uint32][]string{}
		for _, c := range cs {
			out[c.Profile] = append(out[c.Profile], fmt.Sprintf("%s %s %s %s", c.Kind, c.EventTime.Format(time.TimeOnly), c.Reason.Cause, c.Reason.Due.Format(time.TimeOnly)))
		}
		return out
	}
	one, batched := run(1), run(4096)
	if len(one) != 40 {
		t.Fatalf("%d profiles changed one by one, want 40", len(one))
	}
	for pid, want := range one {
		if got := batched[pid]; fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("profile %d:\none by one %v\nbatched    %v", pid, want, got)
		}
	}
}
