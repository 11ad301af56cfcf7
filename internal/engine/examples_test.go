package engine

import (
	"context"
	"errors"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/RoaringBitmap/roaring/v2"

	"github.com/segd/segd/internal/index"
)

// exampleCases are the examples with the members the hand-made data gives them.
var exampleCases = []struct {
	src  string
	want []uint32
}{
	{`country in ["VN", "TH"] and age >= 25`, []uint32{1, 4}},
	{`email exists and plan is missing`, []uint32{1, 4}},
	{"`first name` starts with \"Ng\" or city matches \"^Ho Chi\"", []uint32{1, 4}},
	{`signup_at in last 30 days`, []uint32{1, 3}},
	{`signup_at before 2025-01-01T00:00:00Z`, []uint32{2}},
	{`birthday anniversary in next 7 days`, []uint32{1}},
	{`home within 10 km of (10.7769, 106.7009)`, []uint32{1}},
	{`count("Page Viewed" where path contains "/pricing" in last 7 days) > 3`, []uint32{1}},
	{`count("Product Added" in last 1 day) >= 1 and count("Order Completed" in last 1 day) = 0`, []uint32{1}},
	{`sum(revenue of "Order Completed" in last 90 days) >= 1000`, []uint32{2}},
	{`distinct(category of "Product Viewed" in last 30 days) >= 3`, []uint32{1}},
	{`count(page in this week) > 3`, []uint32{4}},
	{`count("Order Completed" where coupon exists between 2024-11-01 and 2024-12-01) >= 2`, []uint32{3}},
	{`did "Email Opened" in last 14 days`, []uint32{2}},
	{`last_seen("Order Completed") before 60 days ago`, []uint32{3}},
	{`first_seen("Order Completed") in last 30 days`, []uint32{4}},
	{`sequence("Product Added" then "Order Completed" within 1 hour in last 30 days)`, []uint32{2, 4}},
	{`sequence("Product Added" then not "Order Completed" within 1 day)`, []uint32{3}},
	{`count(record "tickets" where status = "open" and priority = "high") >= 1`, []uint32{2}},
	{`has record "accounts" where type = "credit_card" and balance > 1000`, []uint32{1}},
	{`in segment "vip" and not in segment "unsubscribed"`, []uint32{1, 3}},
	// beyond the list
	{`country != "VN"`, []uint32{2, 3}},
	{`country not in ["VN"]`, []uint32{2, 3}},
	{`not country = "VN"`, []uint32{2, 3, 5}},
	{`age < 25 or age > 35`, []uint32{2, 3}},
	{`avg(revenue of "Order Completed") > 310`, []uint32{2}},
	{`min(revenue of "Order Completed") >= 50`, []uint32{2}},
	{`max(revenue of "Order Completed") < 100`, []uint32{4}},
	{`count("Order Completed") = 0`, []uint32{1, 5}},
	{`count(page "Home") = 3`, []uint32{1}},
	{`count(any event in last 1 hour) >= 1`, nil}, // (at-1h, at]: the page at at-1h is out
	{`count(any event in last 2 hours) >= 1`, []uint32{1}},
	{`signup_at between 2025-06-01 and 2025-06-11`, []uint32{1, 3}},
	{`signup_at after 2025-06-05T00:00:00Z`, []uint32{3}},
	{`last_seen("Order Completed") in last 1 day`, []uint32{2}},
	{`sum(balance of record "accounts") > 1000`, []uint32{1, 4}},
	{`birthday anniversary in last 200 days`, []uint32{2, 4}},
}

func TestExamples(t *testing.T) {
	f := examples()
	ix := f.index()
	for _, tc := range exampleCases {
		got := evalBoth(t, f, ix, tc.src, at)
		if !slices.Equal(got, tc.want) && !(len(got) == 0 && len(tc.want) == 0) {
			t.Errorf("%s: got %v, want %v", tc.src, got, tc.want)
		}
	}
}

// TestOutOfOrder imports the same events in shuffled orders and requires the same members.
func TestOutOfOrder(t *testing.T) {
	f := examples()
	want := map[string][]uint32{}
	ix := f.index()
	for _, tc := range exampleCases {
		want[tc.src] = evalBoth(t, f, ix, tc.src, at)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for round := 0; round < 5; round++ {
		g := *f
		g.events = slices.Clone(f.events)
		rng.Shuffle(len(g.events), func(i, j int) { g.events[i], g.events[j] = g.events[j], g.events[i] })
		ix := g.index()
		for _, tc := range exampleCases {
			if got := evalBoth(t, &g, ix, tc.src, at); !slices.Equal(got, want[tc.src]) {
				t.Fatalf("round %d: %s: got %v, want %v", round, tc.src, got, want[tc.src])
			}
		}
	}
}

// TestTimeAlone: with no new data, a window lets members go as the evaluation time moves.
func TestTimeAlone(t *testing.T) {
	f := examples()
	ix := f.index()
	src := `did "Email Opened" in last 14 days`
	if got := evalBoth(t, f, ix, src, at.Add(9*day-time.Second)); !slices.Equal(got, []uint32{2}) {
		t.Fatalf("just before the window closes: %v", got)
	}
	if got := evalBoth(t, f, ix, src, at.Add(9*day)); len(got) != 0 {
		t.Fatalf("when the window closes: %v", got)
	}
	// Events after the evaluation time have not happened yet.
	if got := evalBoth(t, f, ix, `did "Email Opened"`, at.Add(-20*day-time.Second)); len(got) != 0 {
		t.Fatalf("before any email was opened: %v", got)
	}
}

func TestAnniversaryFeb29(t *testing.T) {
	f := &fixture{profiles: []index.Profile{{ID: 1, Traits: map[string]any{"b": "2000-02-29"}}, {ID: 2, Traits: map[string]any{"b": "1999-03-01"}}}}
	ix := f.index()
	for _, tc := range []struct {
		at   time.Time
		src  string
		want []uint32
	}{
		{time.Date(2025, 2, 28, 9, 0, 0, 0, time.UTC), `b anniversary in this day`, []uint32{1}},         // common year: Feb 28
		{time.Date(2025, 3, 1, 9, 0, 0, 0, time.UTC), `b anniversary in this day`, []uint32{2}},          // not Mar 1
		{time.Date(2024, 2, 28, 9, 0, 0, 0, time.UTC), `b anniversary in this day`, nil},                 // leap year: Feb 29 itself
		{time.Date(2024, 2, 29, 9, 0, 0, 0, time.UTC), `b anniversary in this day`, []uint32{1}},         //
		{time.Date(2025, 12, 30, 9, 0, 0, 0, time.UTC), `b anniversary in next 70 days`, []uint32{1, 2}}, // across the year end
	} {
		got := evalBoth(t, f, ix, tc.src, tc.at)
		if !slices.Equal(got, tc.want) && !(len(got) == 0 && len(tc.want) == 0) {
			t.Errorf("%v %s: got %v, want %v", tc.at, tc.src, got, tc.want)
		}
	}
}

func TestSample(t *testing.T) {
	ix := index.New()
	for p := uint32(0); p < 20000; p++ {
		ix.SetTraits(p, map[string]any{"x": 1.0})
	}
	x := mustParse(t, `sample(10%)`)
	eval := func(seg string) *roaring.Bitmap {
		bm, _, err := New(ix).Evaluate(context.Background(), x, Options{At: at, Segment: seg})
		if err != nil {
			t.Fatal(err)
		}
		return bm
	}
	a, b, c := eval("holdout"), eval("holdout"), eval("other")
	if n := a.GetCardinality(); n < 1800 || n > 2200 {
		t.Fatalf("10%% of 20000 gave %d", n)
	}
	if !a.Equals(b) {
		t.Fatal("sample is not stable")
	}
	if a.Equals(c) || roaring.And(a, c).GetCardinality() > 300 {
		t.Fatalf("samples of different segments overlap too much: %d", roaring.And(a, c).GetCardinality())
	}
}

func TestExplainAndCancel(t *testing.T) {
	ix := examples().index()
	x := mustParse(t, `count("Page Viewed" in last 7 days) >= 1 and country = "VN"`)
	_, plan, err := New(ix).Evaluate(context.Background(), x, Options{At: at, Explain: true})
	if err != nil {
		t.Fatal(err)
	}
	if plan.Step != "and" || len(plan.Children) != 2 || !strings.HasPrefix(plan.Children[0].Step, "trait country") || plan.Children[0].Kept != 2 || plan.Kept != 1 {
		t.Fatalf("plan: %+v (children %+v %+v)", plan, plan.Children[0], plan.Children[1])
	}
	// An empty cheap operand skips the expensive one.
	x = mustParse(t, `count("Page Viewed") >= 1 and country = "FR"`)
	_, plan, _ = New(ix).Evaluate(context.Background(), x, Options{At: at, Explain: true})
	if !plan.Children[1].Skipped {
		t.Fatalf("expected the event scan to be skipped: %+v", plan.Children[1])
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, _, err = New(ix).Evaluate(ctx, mustParse(t, `count("Page Viewed") >= 1`), Options{At: at})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("canceled: %v", err)
	}
}
