package engine

import (
	"fmt"
	"math"
	"time"

	"github.com/segd/segd/internal/segql/ast"
)

// span is a closed interval of Unix nanoseconds [lo, hi]. Every window and time predicate of
// the language becomes one: half-open ends are moved by one nanosecond, which is exact because
// all times are whole nanoseconds.
type span struct{ lo, hi int64 }

var allTime = span{math.MinInt64, math.MaxInt64}

func (s span) has(ns int64) bool { return ns >= s.lo && ns <= s.hi }

func (s span) empty() bool { return s.lo > s.hi }

func (s span) clipTo(hi int64) span {
	if s.hi > hi {
		s.hi = hi
	}
	return s
}

// clock is the evaluation time in the workspace zone.
type clock struct {
	at  time.Time // in loc
	loc *time.Location
	ns  int64
}

func newClock(at time.Time, loc *time.Location) clock {
	at = at.In(loc)
	return clock{at: at, loc: loc, ns: at.UnixNano()}
}

// timeValue resolves a literal point in time. A date-only literal means midnight of that
// date in the workspace zone.
func (c clock) timeValue(v ast.TimeValue) (int64, error) {
	switch v := v.(type) {
	case *ast.TimeLit:
		if v.DateOnly {
			y, m, d := v.Time.UTC().Date()
			return time.Date(y, m, d, 0, 0, 0, 0, c.loc).UnixNano(), nil
		}
		return v.Time.UnixNano(), nil
	case *ast.Ago:
		return v.Dur.Subtract(c.at).UnixNano(), nil
	case *ast.Now:
		return c.ns, nil
	}
	return 0, fmt.Errorf("unsupported time value %T", v)
}

// periodStart returns the start of the current day, week (Monday), month or year in loc.
func (c clock) periodStart(p ast.Period) (int64, error) {
	y, m, d := c.at.Date()
	switch p {
	case ast.Day:
	case ast.Week:
		back := (int(c.at.Weekday()) + 6) % 7 // days since Monday
		d -= back
	case ast.Month:
		d = 1
	case ast.Year:
		m, d = time.January, 1
	default:
		return 0, fmt.Errorf("unknown period %v", p)
	}
	return time.Date(y, m, d, 0, 0, 0, 0, c.loc).UnixNano(), nil
}

// predicate resolves a window or time predicate to a span:
//
//	in last D     (at − D, at]
//	in next D     [at, at + D)
//	this P        [start of P in the workspace zone, at]
//	since T       [T, at]
//	between A, B  [A, B)
//	before T      (−∞, T)
//	after T       (T, +∞)
func (c clock) predicate(n ast.Node) (span, error) {
	switch w := n.(type) {
	case nil:
		return allTime, nil
	case *ast.LastWindow:
		return span{w.Dur.Subtract(c.at).UnixNano() + 1, c.ns}, nil
	case *ast.NextWindow:
		return span{c.ns, w.Dur.Add(c.at).UnixNano() - 1}, nil
	case *ast.ThisWindow:
		start, err := c.periodStart(w.Period)
		return span{start, c.ns}, err
	case *ast.SinceWindow:
		t, err := c.timeValue(w.Time)
		return span{t, c.ns}, err
	case *ast.BetweenWindow:
		a, err := c.timeValue(w.From)
		if err != nil {
			return span{}, err
		}
		b, err := c.timeValue(w.To)
		return span{a, b - 1}, err
	case *ast.Before:
		t, err := c.timeValue(w.Time)
		return span{math.MinInt64, t - 1}, err
	case *ast.After:
		t, err := c.timeValue(w.Time)
		return span{t + 1, math.MaxInt64}, err
	}
	return span{}, fmt.Errorf("unsupported window %T", n)
}

// eventWindow is predicate for event windows: events after the evaluation time have not
// happened yet at that time, so every event window (and "all time") ends at at.
func (c clock) eventWindow(w ast.Window) (span, error) {
	var n ast.Node
	if w != nil {
		n = w
	}
	s, err := c.predicate(n)
	return s.clipTo(c.ns), err
}

// anniversary reports whether the month-day of ns (taken in UTC, the date as stored) has an
// anniversary day in loc that overlaps s. February 29 falls on February 28 in common years.
func (c clock) anniversary(ns int64, s span) bool {
	_, m, d := time.Unix(0, ns).UTC().Date()
	y0 := time.Unix(0, max(s.lo, -1<<62)).In(c.loc).Year()
	y1 := time.Unix(0, min(s.hi, 1<<62)).In(c.loc).Year()
	for y := y0 - 1; y <= y1+1; y++ {
		dd := d
		if m == time.February && d == 29 && !isLeap(y) {
			dd = 28
		}
		start := time.Date(y, m, dd, 0, 0, 0, 0, c.loc)
		end := start.AddDate(0, 0, 1)
		if start.UnixNano() <= s.hi && end.UnixNano()-1 >= s.lo {
			return true
		}
	}
	return false
}

// anniversaryDays tabulates anniversary for every month-day (anniversary depends on ns only
// through its UTC month and day), indexed [month][day].
func (c clock) anniversaryDays(s span) *[13][32]bool {
	var out [13][32]bool
	for m := time.January; m <= time.December; m++ {
		for d := 1; d <= 31; d++ {
			t := time.Date(2000, m, d, 0, 0, 0, 0, time.UTC) // a leap year: February 29 exists
			if t.Month() != m {
				break
			}
			out[m][d] = c.anniversary(t.UnixNano(), s)
		}
	}
	return &out
}

// monthDay returns the UTC month (1-12) and day of month of Unix nanoseconds ns, by the
// civil-from-days algorithm (proleptic Gregorian calendar, as package time uses).
func monthDay(ns int64) (month, day int) {
	days := ns / (24 * int64(time.Hour))
	if ns%(24*int64(time.Hour)) < 0 {
		days--
	}
	z := days + 719468
	era := z / 146097
	if z < 0 && z%146097 != 0 {
		era--
	}
	doe := z - era*146097                                  // [0, 146096]
	yoe := (doe - doe/1460 + doe/36524 - doe/146096) / 365 // [0, 399]
	doy := doe - (365*yoe + yoe/4 - yoe/100)               // [0, 365]
	mp := (5*doy + 2) / 153                                // [0, 11], March first
	day = int(doy - (153*mp+2)/5 + 1)
	month = int(mp + 3)
	if month > 12 {
		month -= 12
	}
	return month, day
}

func isLeap(y int) bool { return y%4 == 0 && (y%100 != 0 || y%400 == 0) }

// earthRadius is the mean Earth radius (IUGG) in meters, used by the haversine distance.
const earthRadius = 6371008.8

// haversine returns the great-circle distance in meters between two points in degrees.
func haversine(lat1, lon1, lat2, lon2 float64) float64 {
	const rad = math.Pi / 180
	dlat := (lat2 - lat1) * rad
	dlon := (lon2 - lon1) * rad
	a := math.Sin(dlat/2)*math.Sin(dlat/2) + math.Cos(lat1*rad)*math.Cos(lat2*rad)*math.Sin(dlon/2)*math.Sin(dlon/2)
	return 2 * earthRadius * math.Asin(math.Min(1, math.Sqrt(a)))
}

// timeOf turns Unix nanoseconds into a time in the workspace zone (for calendar arithmetic).
func timeOf(ns int64, c clock) time.Time { return time.Unix(0, ns).In(c.loc) }
