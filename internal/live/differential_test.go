package live

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/RoaringBitmap/roaring/v2"
	"github.com/cockroachdb/pebble/v2/vfs"

	"github.com/segd/segd/internal/ingest"
	"github.com/segd/segd/internal/membership"
	"github.com/segd/segd/internal/message"
)

// The segments of the differential test: windows, absence, sequences, last_seen thresholds,
// calendar windows, traits, records and segments of segments.
var diffSegments = [][3]string{
	{"s1", "busy", `count("A" in last 10 minutes) >= 2`},
	{"s2", "b-not-c", `did "B" in last 1 hours and not did "C" in last 30 minutes`},
	{"s3", "a-then-b", `sequence("A" then "B" within 20 minutes)`},
	{"s4", "abandoned", `sequence("A" then not "B" within 15 minutes)`},
	{"s5", "lapsed", `last_seen("A") before 25 minutes ago`},
	{"s6", "pro-or-busy", `plan = "pro" or in segment "busy"`},
	{"s7", "revenue", `sum(x of "B" in last 2 hours) > 3`},
	{"s8", "today", `count(page today) >= 1 and not in segment "lapsed"`},
	{"s9", "ticket", `has record "tickets" where status = "open"`},
	{"s10", "new", `first_seen(any event) in last 40 minutes`},
	{"s11", "signed-recently", `signup_at > 30 minutes ago`},
}

// The segments of the polarity test: each way an added event can move a condition (up,
// down, by the sign of the value summed, either), under nots, in calendar windows.
var polaritySegments = [][3]string{
	{"p1", "few-a", `count("A" in last 15 minutes) <= 1`},
	{"p2", "no-b-or-c", `count("B" in last 30 minutes) = 0 or did "C" in last 5 minutes`},
	{"p3", "max-b", `max(x of "B" in last 1 hours) >= 1`},
	{"p4", "min-b", `min(x of "B" in last 1 hours) <= -1`},
	{"p5", "distinct-a", `distinct(x of "A" in last 1 hours) >= 2`},
	{"p6", "sum-b", `sum(x of "B" in last 1 hours) >= 1`},
	{"p7", "sum-a-low", `sum(x of "A" in last 1 hours) < 0`},
	{"p8", "quiet", `not (count(any event in last 10 minutes) >= 3)`},
	{"p9", "busy-today", `count(any event today) >= 3`},
	{"p10", "avg-b", `avg(x of "B") > 0`},
	{"p11", "some-c", `count("C" in last 20 minutes) != 0 and not in segment "few-a"`},
	{"p12", "max-low", `max(x of "A" in last 30 minutes) <= 0`},
}

// diffNegative makes the differential stream's property x range over -2..1 instead of 0..3.
var diffNegative bool

// Live leaves out the evaluations an event cannot move (polarity.go); the answers must stay
// the batch engine's, with values of both signs.
func TestDifferentialPolarity(t *testing.T) {
	for seed := 20; seed < 26; seed++ {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			defer func(b bool) { diffNegative = b }(diffNegative)
			diffNegative = seed%2 == 0
			differential(t, uint64(seed), polaritySegments, nil)
		})
	}
}

func TestDifferentialLiveEqualsBatch(t *testing.T) {
	seeds := 150
	if testing.Short() {
		seeds = 2
	}
	for seed := 0; seed < seeds; seed++ {
		t.Run(fmt.Sprint(seed), func(t *testing.T) { differential(t, uint64(seed), diffSegments[:6], diffSegments[6:]) })
	}
}

// With only bounded windows the cache drops events its windows no longer reach (here after
// every added event); the answers must not change.
func TestDifferentialBoundedWindowsDropOld(t *testing.T) {
	defer func(n int) { dropEvery = n }(dropEvery)
	dropEvery = 1
	bounded := [][3]string{diffSegments[0], diffSegments[1], diffSegments[5], diffSegments[6]}
	for seed := 10; seed < 14; seed++ {
		t.Run(fmt.Sprint(seed), func(t *testing.T) { differential(t, uint64(seed), bounded, nil) })
	}
}

// differential feeds random writes to live with the segments first, adds segments of later
// over time, and compares with the batch engine at checkpoints.
func differential(t *testing.T, seed uint64, first, later [][3]string) {
	r := rand.New(rand.NewPCG(seed, 77))
	clk := &clock{t: time.Date(2025, 6, 15, 23, 0, 0, 0, time.UTC)}
	e := newEnv(t, vfs.NewMem(), clk, &catalog{}, true)
	defer e.close()
	// Half the segments exist before any data, half are created later (backfill).
	for _, s := range first {
		e.addSegment(s[0], s[1], s[2])
	}
	users := []string{"u1", "u2", "u3", "u4", "u5", "u6", "u7", "u8"}
	ctx := context.Background()
	checkpoints := 0
	for step := 0; step < 120; step++ {
		clk.Add(time.Duration(r.IntN(240)) * time.Second)
		now := clk.Now()
		u := users[r.IntN(len(users))]
		switch k := r.IntN(20); {
		case k < 9:
			// events at random times around now: late, out of order, a few in the future
			name := []string{"A", "B", "C"}[r.IntN(3)]
			at := now.Add(-time.Duration(r.IntN(90)) * time.Minute).Add(time.Duration(r.IntN(60)) * time.Second)
			if r.IntN(8) == 0 {
				at = now.Add(time.Duration(r.IntN(10)) * time.Minute)
			}
			x := float64(r.IntN(4))
			if diffNegative {
				x -= 2
			}
			e.send(e.track(u, name, at, map[string]any{"x": x}))
		case k < 11:
			e.send(message.Message{Type: message.Page, UserID: u, Name: "Home", Timestamp: now.Add(-time.Duration(r.IntN(120)) * time.Minute)})
		case k < 14:
			traits := map[string]any{"plan": []string{"pro", "free"}[r.IntN(2)]}
			if r.IntN(2) == 0 {
				traits["signup_at"] = now.Add(-time.Duration(r.IntN(60)) * time.Minute).Format(time.RFC3339)
			}
			e.send(message.Message{Type: message.Identify, UserID: u, Traits: traits, Timestamp: now})
		case k < 16:
			_, err := e.pipe.UpsertRecords(ctx, e.ws, []ingest.RecordInput{{Type: "tickets", ID: fmt.Sprint(r.IntN(5)),
				Identity: map[string]string{"userId": u}, Attributes: map[string]any{"status": []string{"open", "closed"}[r.IntN(2)]}, Timestamp: now}})
			if err != nil {
				t.Fatal(err)
			}
		case k < 18:
			// an anonymous visitor with history, then identified: a merge
			anon := fmt.Sprintf("anon%d", step)
			e.send(message.Message{Type: message.Track, AnonymousID: anon, Event: "A", Timestamp: now.Add(-5 * time.Minute)})
			e.send(message.Message{Type: message.Identify, AnonymousID: anon, UserID: u, Timestamp: now})
		case k < 19:
			if pid, err := e.st.Lookup(e.ws, "userId", u); err == nil && r.IntN(3) == 0 {
				if err := e.pipe.Erase(ctx, e.ws, pid, false); err != nil {
					t.Fatal(err)
				}
			}
		default:
			if step > 30 && r.IntN(2) == 0 && len(later) > 0 {
				s := later[r.IntN(len(later))]
				e.addSegment(s[0], s[1], s[2])
			}
		}
		if step%6 == 5 {
			// time passes with no data: only timers can change membership
			clk.Add(time.Duration(r.IntN(40)) * time.Minute)
			e.sync()
			compare(t, e, step)
			checkpoints++
		}
	}
	// Edit a segment: the backfill emits only the difference and the result still agrees.
	e.addSegment("s1", "busy", `count("A" in last 30 minutes) >= 1`)
	e.sync()
	compare(t, e, -1)
	replay(t, e)
	t.Logf("seed %d: %d checkpoints, %d log entries, %d evaluations skipped", seed, checkpoints, e.mem.LastSeq(e.ws), e.live.stats.skipped.Load())
}

func compare(t *testing.T, e *env, step int) {
	t.Helper()
	want := e.batch(e.clk.Now())
	nonEmpty := 0
	for id, bm := range want {
		got := e.mem.Members(e.ws, id)
		if !got.Equals(bm) {
			t.Fatalf("step %d at %v: segment %s: live %v, batch %v", step, e.clk.Now(), id, got.ToArray(), bm.ToArray())
		}
		if !bm.IsEmpty() {
			nonEmpty++
		}
	}
	_ = nonEmpty
}

// replay rebuilds every segment's members from the enter/exit log and compares.
func replay(t *testing.T, e *env) {
	t.Helper()
	cs, err := e.mem.Read(context.Background(), e.ws, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]*roaring.Bitmap{}
	for _, c := range cs {
		bm := got[c.Segment]
		if bm == nil {
			bm = roaring.New()
			got[c.Segment] = bm
		}
		if c.Kind == membership.Enter {
			if bm.Contains(c.Profile) {
				t.Fatalf("enter of a member: %+v", c)
			}
			bm.Add(c.Profile)
		} else {
			if !bm.Contains(c.Profile) {
				t.Fatalf("exit of a non-member: %+v", c)
			}
			bm.Remove(c.Profile)
		}
	}
	for id := range e.batch(e.clk.Now()) {
		want := e.mem.Members(e.ws, id)
		g := got[id]
		if g == nil {
			g = roaring.New()
		}
		if !g.Equals(want) {
			t.Fatalf("segment %s: replayed log %v, members %v", id, g.ToArray(), want.ToArray())
		}
	}
}
