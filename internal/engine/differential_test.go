package engine

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"
	_ "time/tzdata" // the zones below must load on machines without zoneinfo

	"github.com/RoaringBitmap/roaring/v2"

	"github.com/segd/segd/internal/engine/reference"
	"github.com/segd/segd/internal/index"
	"github.com/segd/segd/internal/profeval"
	"github.com/segd/segd/internal/segql/ast"
	"github.com/segd/segd/internal/segql/printer"
)

// gen draws random data and random trees from one seed.
type gen struct {
	r   *rand.Rand
	at  time.Time
	loc *time.Location
}

var zones = []string{"UTC", "Asia/Ho_Chi_Minh", "America/New_York", "Europe/Berlin"}

var bases = []time.Time{
	time.Date(2025, 6, 15, 12, 0, 0, 0, time.UTC),
	time.Date(2025, 3, 30, 1, 30, 0, 0, time.UTC), // Berlin DST change
	time.Date(2024, 12, 31, 23, 0, 0, 0, time.UTC),
	time.Date(2024, 2, 29, 6, 0, 0, 0, time.UTC),
}

func newGen(seed uint64) *gen {
	r := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	loc, err := time.LoadLocation(zones[r.IntN(len(zones))])
	if err != nil {
		panic(err)
	}
	return &gen{r: r, at: bases[r.IntN(len(bases))], loc: loc}
}

func (g *gen) pick(n int) int { return g.r.IntN(n) }

// when returns a time near the evaluation time, often exactly on a day or hour boundary so
// that window ends are exercised.
func (g *gen) when() time.Time {
	switch g.pick(4) {
	case 0:
		return g.at.Add(-time.Duration(g.pick(40)) * day)
	case 1:
		return g.at.Add(-time.Duration(g.pick(72)) * time.Hour)
	case 2:
		return g.at.Add(time.Duration(g.pick(3)) * day) // a few in the future
	}
	return g.at.Add(-time.Duration(g.r.Int64N(int64(60 * day))))
}

var texts = []string{"a", "b", "ab", "ba", "", "VN"}

func (g *gen) traitValue(name string) any {
	if g.pick(6) == 0 {
		return nil
	}
	kind := name
	if name == "mixed" {
		kind = []string{"t", "n", "b", "ts", "l"}[g.pick(5)]
	}
	switch kind {
	case "t":
		return texts[g.pick(len(texts))]
	case "n":
		return []float64{-1, 0, 1, 2.5, 3}[g.pick(5)]
	case "b":
		return g.pick(2) == 0
	case "ts":
		t := g.when().Add(time.Duration(g.pick(400)) * -24 * time.Hour * 30)
		if g.pick(3) == 0 {
			return t.Format(time.DateOnly)
		}
		return t.UTC().Format(time.RFC3339)
	case "g":
		lat, lon := 10.7+g.r.Float64()*0.3, 106.6+g.r.Float64()*0.3
		if g.pick(2) == 0 {
			return []any{lat, lon}
		}
		return map[string]any{"lat": lat, "lon": lon}
	case "l":
		return []any{texts[g.pick(len(texts))], texts[g.pick(len(texts))], 1.0}
	}
	return nil
}

var traitNames = []string{"t", "n", "b", "ts", "g", "l", "mixed"}

func (g *gen) props() map[string]any {
	m := map[string]any{}
	if g.pick(4) != 0 {
		m["x"] = []float64{0, 1, 2, 3.5, -2}[g.pick(5)]
	}
	if g.pick(4) != 0 {
		m["s"] = texts[g.pick(len(texts))]
	}
	if g.pick(3) == 0 {
		m["flag"] = g.pick(2) == 0
	}
	if g.pick(8) == 0 {
		m["x"] = "text"
	}
	return m
}

func (g *gen) data() *fixture {
	f := &fixture{}
	n := 5 + g.pick(25)
	for i := 0; i < n; i++ {
		id := uint32(i*3 + g.pick(3))
		traits := map[string]any{}
		for _, name := range traitNames {
			if v := g.traitValue(name); v != nil {
				traits[name] = v
			}
		}
		f.profiles = append(f.profiles, index.Profile{ID: id, Traits: traits})
		for e := g.pick(12); e > 0; e-- {
			ev := index.Event{Profile: id, Time: g.when(), Props: g.props()}
			switch k := g.pick(6); {
			case k < 4:
				ev.Kind, ev.Name = index.Track, []string{"A", "B", "C"}[g.pick(3)]
			case k == 4:
				ev.Kind, ev.Name = index.Page, []string{"P1", "P2"}[g.pick(2)]
			default:
				ev.Kind, ev.Name = index.Screen, "S"
			}
			f.events = append(f.events, ev)
		}
		for r := g.pick(4); r > 0; r-- {
			f.records = append(f.records, index.Record{Type: []string{"r", "q"}[g.pick(2)], ID: fmt.Sprint(g.pick(40)), Profile: id, Time: g.when(), Attrs: g.props()})
		}
	}
	return f
}

// ---- random trees ----

func ident(s string) *ast.Ident { return &ast.Ident{Name: s} }

func num(v float64) *ast.NumberLit { return &ast.NumberLit{Value: v} }

func (g *gen) dur() ast.Duration {
	u := ast.Unit(1 + g.pick(6)) // seconds .. months
	n := []int64{1, 2, 7, 30, 90}[g.pick(5)]
	if u == ast.Seconds {
		n *= 3600
	}
	return ast.Duration{N: n, Unit: u}
}

func (g *gen) timeValue() ast.TimeValue {
	switch g.pick(3) {
	case 0:
		d := g.dur()
		return &ast.Ago{Dur: d}
	case 1:
		return &ast.Now{}
	}
	t := g.when().Truncate(time.Hour)
	if g.pick(2) == 0 {
		y, m, d := t.Date()
		return &ast.TimeLit{Time: time.Date(y, m, d, 0, 0, 0, 0, time.UTC), DateOnly: true}
	}
	return &ast.TimeLit{Time: t}
}

func (g *gen) window() ast.Window {
	switch g.pick(5) {
	case 0:
		return nil
	case 1:
		return &ast.ThisWindow{Period: ast.Period(1 + g.pick(4))}
	case 2:
		return &ast.SinceWindow{Time: g.timeValue()}
	case 3:
		return &ast.BetweenWindow{From: g.timeValue(), To: g.timeValue()}
	}
	return &ast.LastWindow{Dur: g.dur()}
}

func (g *gen) timePredicate() ast.TimePredicate {
	switch g.pick(4) {
	case 0:
		return &ast.NextWindow{Dur: g.dur()}
	case 1:
		return &ast.Before{Time: g.timeValue()}
	case 2:
		return &ast.After{Time: g.timeValue()}
	}
	w := g.window()
	if w == nil {
		return &ast.LastWindow{Dur: g.dur()}
	}
	return w.(ast.TimePredicate)
}

func (g *gen) literal() ast.Value {
	switch g.pick(4) {
	case 0:
		return &ast.StringLit{Value: texts[g.pick(len(texts))]}
	case 1:
		return &ast.BoolLit{Value: g.pick(2) == 0}
	case 2:
		return g.timeValue()
	}
	return num([]float64{-1, 0, 1, 2, 2.5, 3, 3.5}[g.pick(7)])
}

// test draws a condition on one of names (traits, or properties inside a where).
func (g *gen) test(names []string) ast.Expr {
	name := ident(names[g.pick(len(names))])
	switch g.pick(8) {
	case 0:
		list := make([]ast.Value, 1+g.pick(3))
		for i := range list {
			list[i] = g.literal()
		}
		return &ast.In{Name: name, Not: g.pick(2) == 0, List: list}
	case 1:
		return &ast.Exists{Name: name, Missing: g.pick(2) == 0}
	case 2:
		return &ast.TextMatch{Name: name, Op: ast.TextOp(1 + g.pick(4)), Value: &ast.StringLit{Value: []string{"a", "b", "^a", "b$", "V"}[g.pick(5)]}}
	case 3:
		return &ast.TimeCond{Name: name, When: g.timePredicate()}
	case 4:
		var when ast.TimePredicate
		switch g.pick(3) {
		case 0:
			when = &ast.LastWindow{Dur: g.dur()}
		case 1:
			when = &ast.NextWindow{Dur: g.dur()}
		default:
			when = &ast.ThisWindow{Period: ast.Period(1 + g.pick(4))}
		}
		return &ast.Anniversary{Name: name, When: when}
	case 5:
		return &ast.Geo{Name: name, Distance: num([]float64{5, 15, 40}[g.pick(3)]), Unit: ast.DistUnit(1 + g.pick(3)), Lat: num(10.8), Lon: num(106.7)}
	}
	return &ast.Compare{Name: name, Op: ast.CompareOp(1 + g.pick(6)), Value: g.literal()}
}

func (g *gen) where() ast.Expr {
	if g.pick(2) == 0 {
		return nil
	}
	names := []string{"x", "s", "flag", "name", "nope"}
	if g.pick(3) == 0 {
		return &ast.And{List: []ast.Expr{g.test(names), &ast.Not{X: g.test(names)}}}
	}
	return g.test(names)
}

func (g *gen) event() *ast.EventTarget {
	switch g.pick(6) {
	case 0:
		return &ast.EventTarget{Kind: ast.PageEvent, Name: []string{"", "P1"}[g.pick(2)]}
	case 1:
		return &ast.EventTarget{Kind: ast.ScreenEvent}
	case 2:
		return &ast.EventTarget{Kind: ast.AnyEvent}
	}
	return &ast.EventTarget{Kind: ast.TrackEvent, Name: []string{"A", "B", "C", "Z"}[g.pick(4)]}
}

func (g *gen) aggregate() ast.Expr {
	a := &ast.Aggregate{Func: ast.AggFunc(1 + g.pick(6)), Op: ast.CompareOp(1 + g.pick(6)), Value: num([]float64{0, 1, 2, 3, 4.5}[g.pick(5)])}
	if a.Func != ast.Count {
		a.Of = ident([]string{"x", "s", "x"}[g.pick(3)])
	}
	if g.pick(4) == 0 {
		a.Target = &ast.RecordTarget{Type: []string{"r", "q", "none"}[g.pick(3)]}
		a.Where = g.where()
		return a
	}
	a.Target, a.Where, a.Window = g.event(), g.where(), g.window()
	return a
}

func (g *gen) leaf() ast.Expr {
	switch g.pick(11) {
	case 0, 1:
		return g.test(traitNames)
	case 2, 3:
		return g.aggregate()
	case 4:
		return &ast.Did{Event: g.event(), Where: g.where(), Window: g.window()}
	case 5:
		return &ast.Seen{Last: g.pick(2) == 0, Event: g.event(), Where: g.where(), When: g.timePredicate()}
	case 6, 7:
		steps := make([]*ast.SeqStep, 2+g.pick(2))
		for i := range steps {
			steps[i] = &ast.SeqStep{Event: g.event(), Where: g.where()}
		}
		s := &ast.Sequence{Steps: steps, Window: g.window()}
		if g.pick(3) != 0 {
			d := g.dur()
			s.Within = &d
		}
		if s.Within != nil && g.pick(2) == 0 {
			steps[len(steps)-1].Not = true
		}
		return s
	case 8:
		return &ast.HasRecord{Record: &ast.RecordTarget{Type: []string{"r", "q"}[g.pick(2)]}, Where: g.where()}
	case 9:
		return &ast.InSegment{Segment: &ast.StringLit{Value: []string{"s1", "s2"}[g.pick(2)]}}
	}
	return &ast.Sample{Percent: &ast.NumberLit{Value: []float64{10, 50, 90}[g.pick(3)], Percent: true}}
}

func (g *gen) tree(depth int) ast.Expr {
	if depth <= 0 || g.pick(3) == 0 {
		return g.leaf()
	}
	switch g.pick(4) {
	case 0:
		return &ast.Not{X: g.tree(depth - 1)}
	case 1:
		return &ast.Or{List: []ast.Expr{g.tree(depth - 1), g.tree(depth - 1)}}
	case 2:
		return &ast.Paren{X: g.tree(depth - 1)}
	}
	return &ast.And{List: []ast.Expr{g.tree(depth - 1), g.tree(depth - 1), g.tree(depth - 1)}[:2+g.pick(2)]}
}

// segments draws the members of "s1" and "s2" among the data's profiles.
func (g *gen) segments(f *fixture) map[string]*roaring.Bitmap {
	out := map[string]*roaring.Bitmap{"s1": roaring.New(), "s2": roaring.New()}
	for _, p := range f.profiles {
		for _, b := range out {
			if g.pick(2) == 0 {
				b.Add(p.ID)
			}
		}
	}
	return out
}

// differential evaluates trees random trees over one random data set with the engine and
// the reference and reports the first difference.
func differential(t testing.TB, seed uint64, trees int) (nontrivial int) {
	g := newGen(seed)
	f := g.data()
	ix := f.index()
	ref := f.reference()
	segs := g.segments(f)
	eng := New(ix)
	profiles := map[uint32]*profeval.Profile{}
	for _, p := range f.profiles {
		var recs []reference.Record
		recs = append(recs, ref.Records[p.ID]...)
		// a fresh copy per profile, events shuffled: the evaluator must not depend on order
		var evs []profeval.Event
		for _, e := range ref.Events[p.ID] {
			evs = append(evs, profeval.EventOf(e, nil))
		}
		g.r.Shuffle(len(evs), func(i, j int) { evs[i], evs[j] = evs[j], evs[i] })
		profiles[p.ID] = profeval.NewProfile(ref.Traits[p.ID], evs, recs)
	}
	for i := 0; i < trees; i++ {
		x := g.tree(3)
		opts := Options{At: g.at, Location: g.loc, Segment: "seg", Workers: 1 + g.pick(2),
			Segments: func(name string) (*roaring.Bitmap, error) { return segs[name], nil }}
		bm, _, err := eng.Evaluate(context.Background(), x, opts)
		if err != nil {
			t.Fatalf("seed %d tree %d: engine: %v\n%s", seed, i, err, printer.String(x))
		}
		want, err := reference.Members(ref, x, reference.Options{At: g.at, Location: g.loc, Segment: "seg",
			Segments: func(name string) (map[uint32]bool, error) {
				m := map[uint32]bool{}
				for _, p := range segs[name].ToArray() {
					m[p] = true
				}
				return m, nil
			}})
		if err != nil {
			t.Fatalf("seed %d tree %d: reference: %v\n%s", seed, i, err, printer.String(x))
		}
		got := bm.ToArray()
		if !slices.Equal(got, want) && !(len(got) == 0 && len(want) == 0) {
			t.Fatalf("seed %d tree %d at %v in %v:\n  %s\nengine    %v\nreference %v", seed, i, g.at, g.loc, printer.String(x), got, want)
		}
		// The live path's per-profile evaluator must agree profile by profile.
		for _, p := range f.profiles {
			pid := p.ID
			in, err := profeval.Holds(profiles[pid], x, profeval.Options{At: g.at, Location: g.loc, Segment: "seg", Profile: pid,
				InSegment: func(name string) (bool, error) { return segs[name].Contains(pid), nil }})
			if err != nil {
				t.Fatalf("seed %d tree %d: profeval: %v\n%s", seed, i, err, printer.String(x))
			}
			if want := slices.Contains(want, pid); in != want {
				t.Fatalf("seed %d tree %d at %v in %v, profile %d:\n  %s\nprofeval %v, reference %v", seed, i, g.at, g.loc, pid, printer.String(x), in, want)
			}
		}
		if len(got) > 0 && len(got) < len(f.profiles) {
			nontrivial++
		}
	}
	return nontrivial
}

// TestDifferential runs 2,500 random trees (100 data sets × 25 trees) against the reference.
func TestDifferential(t *testing.T) {
	nontrivial := 0
	for seed := uint64(0); seed < 100; seed++ {
		nontrivial += differential(t, seed, 25)
	}
	// Guard against a generator that only draws trivially empty or full answers.
	if nontrivial < 2500/4 {
		t.Fatalf("only %d of 2500 trees split the profiles", nontrivial)
	}
	t.Logf("%d of 2500 trees split the profiles", nontrivial)
}

// FuzzDifferential explores further seeds: go test -fuzz FuzzDifferential ./internal/engine.
func FuzzDifferential(f *testing.F) {
	for _, s := range []uint64{1, 2, 3, 1000, 123456789} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, seed uint64) { differential(t, seed, 10) })
}
