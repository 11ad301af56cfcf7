package profeval

import (
	"math/rand/v2"
	"testing"
	"time"
)

// An Evaluator reset from one profile to the next answers as a new one: nothing of the
// previous profile's evaluation (sequence step times, aggregate values, the evaluation time)
// leaks into the next.
func TestResetEvaluatesAsNew(t *testing.T) {
	queries := []string{
		`sequence("A" then "B" within 10 minutes)`,
		`sequence("A" then "B" then not "Z" within 10 minutes)`,
		`count("A" in last 30 minutes) >= 3`,
		`sum(v of "B") >= 10`,
		`avg(v of "A") > 2`,
		`distinct(v of "B") >= 2`,
		`did "Z" in last 5 minutes`,
	}
	r := rand.New(rand.NewPCG(7, 9))
	profile := func() *Profile {
		var evs []Event
		for range r.IntN(12) {
			e := ev([]string{"A", "B", "Z"}[r.IntN(3)], r.IntN(60))
			e.Props = []Prop{{Name: "v", Value: float64(r.IntN(6))}}
			evs = append(evs, e)
		}
		return NewProfile(map[string]any{}, evs, nil)
	}
	reused := new(Evaluator)
	for round := range 300 {
		p := profile()
		at := t0.Add(time.Duration(r.IntN(90)) * time.Minute)
		reused.Reset(p, Options{At: at, Profile: 1})
		fresh := NewEvaluator(p, Options{At: at, Profile: 1})
		for _, q := range queries {
			x := mustParse(t, q)
			tr := Compile(x)
			got, err1 := reused.Eval(tr, x, "s")
			want, err2 := fresh.Eval(tr, x, "s")
			if err1 != nil || err2 != nil {
				t.Fatal(err1, err2)
			}
			if got != want {
				t.Fatalf("round %d, %s at %s: reused evaluator %v, new one %v", round, q, at.Format(time.TimeOnly), got, want)
			}
		}
		if round%3 == 0 {
			reused.Release()
		}
	}
}
