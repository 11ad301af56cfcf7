package live

import (
	"testing"

	"github.com/segd/segd/internal/segment"
)

func TestPolarity(t *testing.T) {
	props := func(x any) func(string) any {
		return func(k string) any {
			if k == "x" {
				return x
			}
			return nil
		}
	}
	for _, tc := range []struct {
		query      string
		kind, name string
		x          any
		want       pol
	}{
		{`count("A" in last 7 days) >= 3`, "track", "A", nil, polUp},
		{`count("A" in last 7 days) >= 3`, "track", "B", nil, polNone},
		{`count("A") < 3`, "track", "A", nil, polDown},
		{`count("A") = 0`, "track", "A", nil, polDown},
		{`count("A") = 2`, "track", "A", nil, polAny},
		{`count("A") != 0`, "track", "A", nil, polUp},
		{`not did "A" in last 1 days`, "track", "A", nil, polDown},
		{`did "A" and not did "B"`, "track", "B", nil, polDown},
		{`did "A" or not did "A"`, "track", "A", nil, polAny},
		{`sum(x of "A") >= 10`, "track", "A", 5.0, polUp},
		{`sum(x of "A") >= 10`, "track", "A", -5.0, polDown},
		{`sum(x of "A") >= 10`, "track", "A", nil, polNone},
		{`sum(x of "A") >= 10`, "track", "A", "5", polAny},
		{`max(x of "A") >= 10`, "track", "A", -5.0, polUp},
		{`max(x of "A") <= 10`, "track", "A", 5.0, polAny},
		{`min(x of "A") <= 10`, "track", "A", 5.0, polUp},
		{`avg(x of "A") > 1`, "track", "A", 5.0, polAny},
		{`distinct(x of "A") >= 2`, "track", "A", 5.0, polUp},
		{`last_seen("A") before 3 days ago`, "track", "A", nil, polAny},
		{`sequence("A" then "B" within 1 hour)`, "track", "B", nil, polAny},
		{`count(page in this week) > 5`, "page", "", nil, polUp},
		{`count(page in this week) > 5`, "screen", "", nil, polNone},
		{`count(any event today) >= 5 and country = "VN"`, "screen", "", nil, polUp},
		{`in segment "x" and count("A") >= 1`, "track", "A", nil, polUp},
		{`count(record "tickets") >= 1`, "track", "A", nil, polNone},
	} {
		c, err := compile(segment.Segment{ID: "s", Name: "s", Query: tc.query})
		if err != nil {
			t.Fatal(err)
		}
		if got := c.polarity(tc.kind, tc.name, props(tc.x)); got != tc.want {
			t.Errorf("%s, %s %q x=%v: polarity %d, want %d", tc.query, tc.kind, tc.name, tc.x, got, tc.want)
		}
	}
}
