package calibration_test

import (
	"math"
	"testing"
	"time"

	"github.com/segd/segd/internal/analytics/calibration"
)

func day(y int, m time.Month, d, h int) time.Time { return time.Date(y, m, d, h, 0, 0, 0, time.UTC) }

func TestSummarise(t *testing.T) {
	txs := []calibration.Transaction{
		{"b", day(2020, 1, 8, 10), 5},
		{"a", day(2020, 1, 1, 9), 10},
		{"a", day(2020, 1, 1, 18), 15}, // same day: merged with the first purchase
		{"a", day(2020, 1, 15, 12), 20},
		{"a", day(2020, 1, 15, 13), 4}, // same day as the previous
		{"a", day(2020, 1, 29, 8), 30},
		{"a", day(2020, 2, 5, 8), 7},  // holdout
		{"a", day(2020, 2, 6, 8), 1},  // holdout
		{"a", day(2020, 3, 1, 8), 99}, // after the holdout: ignored
		{"c", day(2020, 2, 2, 8), 50}, // first buys after calibration: not in the cohort
	}
	sums, err := calibration.Summarise(txs, calibration.Options{
		CalibrationEnd: day(2020, 1, 29, 0),
		HoldoutEnd:     day(2020, 2, 26, 0),
	})
	if err != nil {
		t.Fatal(err)
	}
	want := []calibration.Summary{
		{Customer: "a", First: day(2020, 1, 1, 0), X: 2, Tx: 4, T: 4, Zbar: 27, Days: 3, Amount: 79, HoldoutX: 2, HoldoutAmount: 8},
		{Customer: "b", First: day(2020, 1, 8, 0), X: 0, Tx: 0, T: 3, Zbar: 0, Days: 1, Amount: 5},
	}
	if len(sums) != len(want) {
		t.Fatalf("got %d summaries %+v, want %d", len(sums), sums, len(want))
	}
	for i, w := range want {
		g := sums[i]
		if g.Customer != w.Customer || !g.First.Equal(w.First) || g.X != w.X || math.Abs(g.Tx-w.Tx) > 1e-12 || math.Abs(g.T-w.T) > 1e-12 ||
			g.Zbar != w.Zbar || g.Days != w.Days || g.Amount != w.Amount || g.HoldoutX != w.HoldoutX || g.HoldoutAmount != w.HoldoutAmount {
			t.Errorf("summary %d = %+v, want %+v", i, g, w)
		}
	}
}

func TestSummariseUnitAndLocation(t *testing.T) {
	// 23:30 UTC on Jan 1 is Jan 2 in Paris; in days.
	paris, err := time.LoadLocation("Europe/Paris")
	if err != nil {
		t.Skip("no time zone data:", err)
	}
	txs := []calibration.Transaction{{"a", day(2020, 1, 1, 0), 1}, {"a", time.Date(2020, 1, 1, 23, 30, 0, 0, time.UTC), 1}}
	for _, c := range []struct {
		loc  *time.Location
		x    float64
		tx   float64
		days int
	}{
		{time.UTC, 0, 0, 1},
		{paris, 1, 1, 2},
	} {
		sums, err := calibration.Summarise(txs, calibration.Options{CalibrationEnd: day(2020, 1, 11, 0), Unit: 24 * time.Hour, Location: c.loc})
		if err != nil {
			t.Fatal(err)
		}
		if s := sums[0]; s.X != c.x || s.Tx != c.tx || s.Days != c.days || s.T != 10 {
			t.Errorf("%s: %+v, want x=%g tx=%g days=%d T=10", c.loc, s, c.x, c.tx, c.days)
		}
	}
}

func TestOptionsValidate(t *testing.T) {
	for _, o := range []calibration.Options{
		{},
		{CalibrationEnd: day(2020, 1, 1, 0), HoldoutEnd: day(2019, 1, 1, 0)},
		{CalibrationEnd: day(2020, 1, 1, 0), Unit: -time.Hour},
	} {
		if _, err := calibration.Summarise(nil, o); err == nil {
			t.Errorf("options %+v accepted", o)
		}
	}
}
