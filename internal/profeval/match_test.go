package profeval

import (
	"math/rand/v2"
	"testing"
	"time"

	"github.com/segd/segd/internal/engine/reference"
)

// The positions a profile caches per filter (matching) follow every change of its events:
// events appended in order and out of order, and dropped from the front. After each change,
// filtered counts and did answer what the reference answers from the same events, and the
// next flip equals that of a fresh profile of the same events (which caches nothing yet).
func TestMatchListsFollowTheEvents(t *testing.T) {
	queries := []string{
		`count("A" where v > 5 in last 30 minutes) >= 2`,
		`did "B" where c = "x" in last 1 hours`,
		`count(page where path contains "/p" in last 2 hours) >= 3`,
		`count("A" where c in ["x", "y"]) >= 4`,
		`count(screen where c != "z" in last 45 minutes) < 2`,
	}
	trees := make([]*Tree, len(queries))
	for i, q := range queries {
		trees[i] = Compile(mustParse(t, q))
	}
	r := rand.New(rand.NewPCG(7, 8))
	p := &Profile{}
	now := t0
	appended := 0 // events added to match lists already filled
	for step := range 2500 {
		switch k := r.IntN(20); {
		case k < 16, p.Len() == 0:
			at := now.Add(time.Duration(r.IntN(3)) * time.Minute)
			if k >= 13 {
				at = now.Add(-time.Duration(r.IntN(90)) * time.Minute) // late
			} else {
				now = at
			}
			e := Event{Kind: []string{"track", "track", "page", "screen"}[r.IntN(4)], Time: at,
				Props: []Prop{{"v", float64(r.IntN(10))}, {"c", []string{"x", "y", "z"}[r.IntN(3)]},
					{"path", []string{"/p", "/pricing", "/q"}[r.IntN(3)]}}}
			if e.Kind == "track" {
				e.Name = []string{"A", "B"}[r.IntN(2)]
			}
			if k < 13 && !p.dirty && len(p.matches) > 0 {
				appended++
			}
			p.Add(e)
		default:
			p.DropBefore(now.Add(-time.Duration(r.IntN(150)) * time.Minute))
		}
		at := now.Add(time.Duration(r.IntN(40)) * time.Minute)
		evs := p.Events()
		var refEvs []reference.Event
		for i := range evs {
			refEvs = append(refEvs, evs[i].Reference())
		}
		fresh := NewProfile(map[string]any{}, evs, nil)
		for i, tr := range trees {
			ms, err := reference.Members(&reference.Data{Traits: map[uint32]map[string]any{1: {}}, Events: map[uint32][]reference.Event{1: refEvs}},
				tr.X, reference.Options{At: at})
			if err != nil {
				t.Fatal(err)
			}
			e := NewEvaluator(p, Options{At: at, Profile: 1})
			got, err := e.Eval(tr, tr.X, "s")
			if err != nil {
				t.Fatal(err)
			}
			if want := len(ms) == 1; got != want {
				t.Fatalf("step %d, %s at %v over %d events: %v, the reference %v", step, queries[i], at, len(evs), got, want)
			}
			flip, ok, err := e.NextFlip(tr, tr.X)
			wflip, wok, werr := NewEvaluator(fresh, Options{At: at, Profile: 1}).NextFlip(tr, tr.X)
			if err != nil || werr != nil || ok != wok || !flip.Equal(wflip) {
				t.Fatalf("step %d, %s at %v: next flip %v %v %v, a fresh profile's %v %v %v", step, queries[i], at, flip, ok, err, wflip, wok, werr)
			}
		}
	}
	if appended < 1000 {
		t.Fatalf("only %d of 2500 steps appended to filled match lists", appended)
	}
}
