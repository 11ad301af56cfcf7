package lift_test

import (
	"math"
	"reflect"
	"testing"

	"github.com/segd/segd/internal/analytics/lift"
)

func TestDistinguish(t *testing.T) {
	// 100 customers; members are the first 20.
	n := 100
	members := make([]bool, n)
	for i := range 20 {
		members[i] = true
	}
	feature := func(name string, has func(i int) bool) lift.Feature {
		f := lift.Feature{Name: name, Has: make([]bool, n)}
		for i := range n {
			f.Has[i] = has(i)
		}
		return f
	}
	features := []lift.Feature{
		// 15 of 20 members, 25 of 100 overall: support 0.75, base 0.25, lift 3.
		feature("mobile", func(i int) bool { return i < 15 || (i >= 50 && i < 60) }),
		// 10 of 20 members, 20 overall: lift 2.5.
		feature("coupon", func(i int) bool { return i < 10 || (i >= 80 && i < 90) }),
		// Everywhere alike: lift 1, not listed.
		feature("email", func(i int) bool { return i%2 == 0 }),
		// 2 members only, lift 5 but under MinCount.
		feature("rare", func(i int) bool { return i < 2 }),
		// No member, 40% of base: under-represented.
		feature("store", func(i int) bool { return i >= 60 }),
	}
	got, err := lift.Distinguish(members, features, lift.Options{Under: true})
	if err != nil {
		t.Fatal(err)
	}
	want := []lift.Finding{
		{Feature: "mobile", Members: 15, Support: 0.75, BaseShare: 0.25, Lift: 3},
		{Feature: "coupon", Members: 10, Support: 0.5, BaseShare: 0.2, Lift: 2.5},
		{Feature: "store", Members: 0, Support: 0, BaseShare: 0.4, Lift: 0},
	}
	if len(got) != len(want) {
		t.Fatalf("findings %v, want %v", got, want)
	}
	for i := range want {
		g, w := got[i], want[i]
		if g.Feature != w.Feature || g.Members != w.Members || math.Abs(g.Support-w.Support) > 1e-12 || math.Abs(g.BaseShare-w.BaseShare) > 1e-12 || math.Abs(g.Lift-w.Lift) > 1e-12 {
			t.Errorf("finding %d = %v, want %v", i, g, w)
		}
	}
	if _, err := lift.Distinguish(members, []lift.Feature{{Name: "short", Has: []bool{true}}}, lift.Options{}); err == nil {
		t.Error("mismatched feature length accepted")
	}
}

func TestBinsAndCategorical(t *testing.T) {
	bins := lift.Bins("orders", []float64{0, 1, 2.5, 5, 9, math.NaN()}, []float64{1, 5})
	names := []string{bins[0].Name, bins[1].Name, bins[2].Name}
	if !reflect.DeepEqual(names, []string{"orders < 1", "1 ≤ orders < 5", "orders ≥ 5"}) {
		t.Errorf("bin names %q", names)
	}
	for b, want := range [][]bool{
		{true, false, false, false, false, false},
		{false, true, true, false, false, false},
		{false, false, false, true, true, false},
	} {
		if !reflect.DeepEqual(bins[b].Has, want) {
			t.Errorf("bin %s = %v, want %v", bins[b].Name, bins[b].Has, want)
		}
	}
	cats := lift.Categorical("country", []string{"FR", "DE", "", "FR"})
	if len(cats) != 2 || cats[0].Name != "country = DE" || !reflect.DeepEqual(cats[1].Has, []bool{true, false, false, true}) {
		t.Errorf("categorical features %+v", cats)
	}
}
