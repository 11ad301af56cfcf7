package profeval

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/segd/segd/internal/segql/ast"
	"github.com/segd/segd/internal/segql/parser"
)

// NextFlip against brute force: between the evaluation time and the instant it returns the
// condition's truth never changes, and at that instant it does (events leave a rolling window
// only at their time plus the window, so those instants are all the candidates); when it
// returns the zero time the truth never changes.
func TestNextFlipAgainstBruteForce(t *testing.T) {
	queries := []string{
		`count("A" in last 10 minutes) >= 3`,
		`count("A" in last 10 minutes) < 2`,
		`count("A" where x = 1 in last 30 minutes) >= 2`,
		`did "B" in last 5 minutes`,
		`did page "Home" in last 5 minutes`,
		`count(any event in last 20 minutes) > 4`,
		`sum(x of "A" in last 15 minutes) >= 4`,
		`sum(x of "A" in last 15 minutes) <= 3`,
		`max(x of "B" in last 25 minutes) >= 3`,
		`min(x of "B" in last 25 minutes) < 1`,
		`distinct(x of "A" in last 40 minutes) >= 3`,
		`count("A") >= 2`,
		// not monotone or not a rolling window: NextFlip must decline
		`count("A" in last 10 minutes) = 2`,
		`avg(x of "A" in last 10 minutes) > 1`,
		`max(x of "B" in last 25 minutes) < 2`,
		`count("A" in this week) >= 1`,
		`count("A" in last 1 months) >= 1`,
	}
	answers := map[string]int{}
	r := rand.New(rand.NewPCG(4, 2))
	base := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	answered := 0
	for _, q := range queries {
		x, err := parser.ParseExpr(q)
		if err != nil {
			t.Fatal(err)
		}
		tree := Compile(x)
		length := time.Duration(0)
		ast.Inspect(x, func(n ast.Node) bool {
			if lw, ok := n.(*ast.LastWindow); ok {
				if f, fixed := lw.Dur.Unit.Fixed(); fixed {
					length = time.Duration(lw.Dur.N) * f
				}
			}
			return true
		})
		for trial := 0; trial < 300; trial++ {
			var evs []Event
			for range r.IntN(12) {
				e := Event{Kind: "track", Name: []string{"A", "B"}[r.IntN(2)], Time: base.Add(-time.Duration(r.IntN(3600)) * time.Second)}
				if r.IntN(5) == 0 {
					e = Event{Kind: "page", Name: []string{"Home", "Pricing"}[r.IntN(2)], Time: e.Time}
				}
				if r.IntN(12) == 0 {
					e.Time = base.Add(time.Duration(1+r.IntN(600)) * time.Second) // in the future
				}
				v := float64(r.IntN(4))
				if r.IntN(15) == 0 {
					v = -1
				}
				e.Props = []Prop{{"x", v}}
				evs = append(evs, e)
			}
			p := NewProfile(map[string]any{}, evs, nil)
			holds := func(at time.Time) bool {
				ok, err := Holds(p, x, Options{At: at, Profile: 1})
				if err != nil {
					t.Fatal(err)
				}
				return ok
			}
			ev := NewEvaluator(p, Options{At: base, Profile: 1})
			flip, ok, err := ev.NextFlip(tree, x)
			if err != nil {
				t.Fatal(err)
			}
			if !ok {
				continue
			}
			answered++
			answers[q]++
			now := holds(base)
			var cands []time.Time
			for _, e := range evs {
				cands = append(cands, e.Time, e.Time.Add(length))
			}
			for _, c := range cands {
				for _, at := range []time.Time{c.Add(-time.Nanosecond), c, c.Add(time.Nanosecond)} {
					if !at.After(base) || (!flip.IsZero() && !at.Before(flip)) {
						continue
					}
					if holds(at) != now {
						t.Fatalf("%s (trial %d): truth changes at %v, before NextFlip's %v\nevents %v", q, trial, at.Sub(base), flipString(flip, base), evs)
					}
				}
			}
			if !flip.IsZero() && holds(flip) == now {
				t.Fatalf("%s (trial %d): no change at NextFlip's %v\nevents %v", q, trial, flip.Sub(base), evs)
			}
		}
	}
	for i, q := range queries {
		if i >= 12 && answers[q] > 0 {
			t.Errorf("%s: NextFlip answered %d times for a form it cannot decide", q, answers[q])
		}
		if i < 12 && answers[q] < 100 {
			t.Errorf("%s: NextFlip answered only %d of 300 times", q, answers[q])
		}
	}
	if answered < 1000 {
		t.Fatalf("only %d answers", answered)
	}
}

func flipString(f, base time.Time) string {
	if f.IsZero() {
		return "never"
	}
	return fmt.Sprint(f.Sub(base))
}
