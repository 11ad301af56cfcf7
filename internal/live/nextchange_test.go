package live

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/segd/segd/internal/engine/reference"
	"github.com/segd/segd/internal/profeval"
	"github.com/segd/segd/internal/segment"
)

// nextChange must never skip a flip: between the evaluation time and the instant it returns,
// membership (by the reference evaluator) must not change. Calendar lengths (months, years),
// calendar windows, anniversaries and time literals included; every sampled instant is checked.
func TestNextChangeMissesNoFlip(t *testing.T) {
	queries := []string{
		`count("A" in last 2 months) >= 1`,
		`did "A" in last 1 years`,
		`last_seen("A") before 3 months ago`,
		`sequence("A" then not "B" within 1 months)`,
		`count(page in this month) >= 2`,
		`signup_at in last 1 months`,
		`birthday anniversary in next 7 days`,
		`first_seen(any event) in last 45 days`,
		`count("B" between 2025-01-01 and 2025-03-01) >= 1 and count("A" in last 3 days) = 0`,
		`count(screen where at > 1 months ago) >= 1`,
		// rolling windows only: the next change comes from profeval.NextFlip
		`count("A" in last 3 days) >= 2 or not did "B" in last 36 hours`,
		`did page in last 2 days and count("B") >= 1`,
	}
	flipping := 0
	loc, err := time.LoadLocation("America/New_York")
	if err != nil {
		t.Skip("no zoneinfo:", err)
	}
	r := rand.New(rand.NewPCG(5, 6))
	base := time.Date(2025, 2, 20, 15, 0, 0, 0, time.UTC)
	checked := 0
	for qi, q := range queries {
		c, err := compile(segment.Segment{ID: fmt.Sprint(qi), Name: "q", Query: q, Mode: segment.ModeRealtime})
		if err != nil {
			t.Fatal(err)
		}
		if c.flips != nil {
			flipping++
		}
		for p := 0; p < 12; p++ {
			var evs []profeval.Event
			for range r.IntN(6) {
				at := base.Add(time.Duration(r.Int64N(int64(200*24*time.Hour))) - 100*24*time.Hour)
				e := reference.Event{Kind: "track", Name: []string{"A", "B"}[r.IntN(2)], Time: at, Props: map[string]any{}}
				switch r.IntN(4) {
				case 0:
					e.Kind, e.Name = "page", ""
				case 1:
					e.Kind, e.Name = "screen", ""
					e.Props["at"] = at.Add(-time.Duration(r.IntN(90)) * 24 * time.Hour).Format(time.RFC3339)
				}
				evs = append(evs, profeval.EventOf(e, nil))
			}
			traits := map[string]any{
				"signup_at": base.Add(-time.Duration(r.IntN(60)) * 24 * time.Hour).Format(time.RFC3339),
				"birthday":  base.AddDate(-30, 0, r.IntN(40)-20).Format(time.DateOnly),
			}
			d := newProfileData(true, traits, evs, nil)
			holds := func(at time.Time) bool {
				ok, err := profeval.Holds(d.profile(), c.tree, profeval.Options{At: at, Location: loc, Segment: "q"})
				if err != nil {
					t.Fatal(err)
				}
				return ok
			}
			at := base.Add(time.Duration(r.Int64N(int64(30 * 24 * time.Hour))))
			for step := 0; step < 4; step++ {
				ev := profeval.NewEvaluator(d.profile(), profeval.Options{At: at, Location: loc, Segment: "q"})
				next := nextChange(c, d, at, loc, ev)
				if b := boundary(c, at, loc); !b.IsZero() && (next.IsZero() || b.Before(next)) {
					next = b
				}
				end := next
				if end.IsZero() {
					end = at.Add(400 * 24 * time.Hour)
				}
				want := holds(at)
				for k := range 63 {
					// random instants, and the last ones before the returned instant
					s := at.Add(time.Duration(r.Int64N(int64(end.Sub(at)))))
					if k >= 60 {
						s = end.Add(-[]time.Duration{time.Nanosecond, time.Millisecond, time.Second}[k-60])
					}
					if s.After(at) && s.Before(end) && holds(s) != want {
						t.Fatalf("%s: member=%v at %v, next change %v, but member=%v at %v\nevents %v traits %v", q, want, at, next, !want, s, evs, traits)
					}
					checked++
				}
				if next.IsZero() {
					break
				}
				at = next
			}
		}
	}
	if flipping != 2 {
		t.Fatalf("%d of the queries took the rolling-window path, want 2", flipping)
	}
	t.Logf("%d instants checked", checked)
}
