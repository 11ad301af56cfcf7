package reference

import (
	"errors"
	"fmt"
	"time"

	"github.com/segd/segd/internal/segql/ast"
)

func (r *run) timeValue(v ast.TimeValue) (time.Time, error) {
	switch v := v.(type) {
	case *ast.TimeLit:
		if v.DateOnly {
			y, m, d := v.Time.UTC().Date()
			return time.Date(y, m, d, 0, 0, 0, 0, r.o.Location), nil
		}
		return v.Time, nil
	case *ast.Ago:
		return v.Dur.Subtract(r.at), nil
	case *ast.Now:
		return r.at, nil
	}
	return time.Time{}, fmt.Errorf("reference: time value %T", v)
}

// periodStart walks back from the evaluation time to the start of its day, week (Monday),
// month or year in the workspace zone.
func (r *run) periodStart(p ast.Period) time.Time {
	y, m, d := r.at.Date()
	s := time.Date(y, m, d, 0, 0, 0, 0, r.o.Location)
	switch p {
	case ast.Week:
		for s.Weekday() != time.Monday {
			s = s.AddDate(0, 0, -1)
		}
	case ast.Month:
		for s.Day() != 1 {
			s = s.AddDate(0, 0, -1)
		}
	case ast.Year:
		s = time.Date(y, time.January, 1, 0, 0, 0, 0, r.o.Location)
	}
	return s
}

// within reports whether t satisfies a window or time predicate. Events (event=true) must
// also have happened by the evaluation time.
func (r *run) within(t time.Time, w ast.Node, event bool) (bool, error) {
	if event && t.After(r.at) {
		return false, nil
	}
	switch w := w.(type) {
	case nil:
		return true, nil
	case *ast.LastWindow:
		return t.After(w.Dur.Subtract(r.at)) && !t.After(r.at), nil
	case *ast.NextWindow:
		return !t.Before(r.at) && t.Before(w.Dur.Add(r.at)), nil
	case *ast.ThisWindow:
		return !t.Before(r.periodStart(w.Period)) && !t.After(r.at), nil
	case *ast.SinceWindow:
		s, err := r.timeValue(w.Time)
		return !t.Before(s) && !t.After(r.at), err
	case *ast.BetweenWindow:
		a, err := r.timeValue(w.From)
		if err != nil {
			return false, err
		}
		b, err := r.timeValue(w.To)
		return !t.Before(a) && t.Before(b), err
	case *ast.Before:
		s, err := r.timeValue(w.Time)
		return t.Before(s), err
	case *ast.After:
		s, err := r.timeValue(w.Time)
		return t.After(s), err
	}
	return false, fmt.Errorf("reference: window %T", w)
}

// anniversary walks every calendar day around the window and asks whether the day is an
// anniversary of t (month and day of t in UTC; February 29 counts on February 28 in common
// years) and whether any instant of that day is in the window.
func (r *run) anniversary(t time.Time, w ast.Node) (bool, error) {
	var first, last time.Time
	switch w := w.(type) {
	case *ast.LastWindow:
		first, last = w.Dur.Subtract(r.at).Add(time.Nanosecond), r.at
	case *ast.NextWindow:
		first, last = r.at, w.Dur.Add(r.at).Add(-time.Nanosecond)
	case *ast.ThisWindow:
		first, last = r.periodStart(w.Period), r.at
	default:
		return false, fmt.Errorf("reference: anniversary window %T", w)
	}
	_, m, d := t.UTC().Date()
	loc := r.o.Location
	fy, fm, fd := first.In(loc).Date()
	day := time.Date(fy, fm, fd-1, 0, 0, 0, 0, loc)
	for !day.After(last.AddDate(0, 0, 1)) {
		next := time.Date(day.Year(), day.Month(), day.Day()+1, 0, 0, 0, 0, loc)
		wantDay := d
		if m == time.February && d == 29 && !leap(day.Year()) {
			wantDay = 28
		}
		if day.Month() == m && day.Day() == wantDay {
			end := next.Add(-time.Nanosecond)
			inStart, _ := r.within(day, w, false)
			inEnd, _ := r.within(end, w, false)
			startInDay := !first.Before(day) && !first.After(end)
			if inStart || inEnd || startInDay {
				return true, nil
			}
		}
		day = next
	}
	return false, nil
}

func leap(y int) bool { return time.Date(y, time.February, 29, 0, 0, 0, 0, time.UTC).Day() == 29 }

// props returns the properties of e as filters see them: page and screen calls also have
// their name as the property "name" unless they carry one.
func props(e Event) map[string]any {
	if e.Kind == "track" {
		return e.Props
	}
	if _, ok := e.Props["name"]; ok || e.Name == "" {
		return e.Props
	}
	out := map[string]any{"name": e.Name}
	for k, v := range e.Props {
		out[k] = v
	}
	return out
}

// matches reports whether e is an event of target that passes where.
func (r *run) matches(e Event, t *ast.EventTarget, where ast.Expr) (bool, error) {
	switch t.Kind {
	case ast.TrackEvent:
		if e.Kind != "track" || e.Name != t.Name {
			return false, nil
		}
	case ast.PageEvent, ast.ScreenEvent:
		want := "page"
		if t.Kind == ast.ScreenEvent {
			want = "screen"
		}
		if e.Kind != want {
			return false, nil
		}
		if t.Name != "" {
			n := classify(props(e)["name"])
			if n.k != text || n.s != t.Name {
				return false, nil
			}
		}
	case ast.AnyEvent:
		if e.Kind != "track" && e.Kind != "page" && e.Kind != "screen" {
			return false, nil
		}
	}
	if where == nil {
		return true, nil
	}
	return r.test(where, props(e))
}

// aggregate applies fn to the values (nil values for count) and compares the result.
func aggregate(fn ast.AggFunc, vals []value, n int, op ast.CompareOp, want float64) bool {
	var agg float64
	switch fn {
	case ast.Count:
		agg = float64(n)
	case ast.Distinct:
		var uniq []value
		for _, v := range vals {
			if v.k == none || v.k == geo || v.k == list || v.k == object {
				continue
			}
			dup := false
			for _, u := range uniq {
				if same(u, v) {
					dup = true
				}
			}
			if !dup {
				uniq = append(uniq, v)
			}
		}
		agg = float64(len(uniq))
	default:
		var f numberFold
		for _, v := range vals {
			f.add(fn, v)
		}
		return f.compare(fn, op, want)
	}
	return compare(op, value{k: number, f: agg}, value{k: number, f: want})
}

// numberFold is sum, avg, min or max over the numbers among values (others are skipped),
// in the order they are added.
type numberFold struct {
	agg float64
	n   int
}

func (f *numberFold) add(fn ast.AggFunc, v value) {
	if v.k == number {
		f.addNumber(fn, v.f)
	}
}

func (f *numberFold) addNumber(fn ast.AggFunc, x float64) {
	switch fn {
	case ast.Sum, ast.Avg:
		f.agg += x
	case ast.Min:
		if f.n == 0 || x < f.agg {
			f.agg = x
		}
	case ast.Max:
		if f.n == 0 || x > f.agg {
			f.agg = x
		}
	}
	f.n++
}

// compare compares the fold's result with want; min, max and avg of no numbers hold nothing.
func (f *numberFold) compare(fn ast.AggFunc, op ast.CompareOp, want float64) bool {
	if fn != ast.Sum && f.n == 0 {
		return false
	}
	agg := f.agg
	if fn == ast.Avg {
		agg /= float64(f.n)
	}
	return compare(op, value{k: number, f: agg}, value{k: number, f: want})
}

func (r *run) eventAgg(p uint32, fn ast.AggFunc, of *ast.Ident, t *ast.EventTarget, where ast.Expr, w ast.Window, op ast.CompareOp, want float64) (bool, error) {
	var vals []value
	n := 0
	for _, e := range r.d.Events[p] {
		var win ast.Node
		if w != nil {
			win = w
		}
		in, err := r.within(e.Time, win, true)
		if err != nil {
			return false, err
		}
		ok, err := r.matches(e, t, where)
		if err != nil {
			return false, err
		}
		if !in || !ok {
			continue
		}
		n++
		if of != nil {
			vals = append(vals, classify(props(e)[of.Name]))
		}
	}
	return aggregate(fn, vals, n, op, want), nil
}

func (r *run) recordAgg(p uint32, fn ast.AggFunc, of *ast.Ident, typ string, where ast.Expr, op ast.CompareOp, want float64) (bool, error) {
	var vals []value
	n := 0
	for _, rec := range r.d.Records[p] {
		if rec.Type != typ {
			continue
		}
		if where != nil {
			ok, err := r.test(where, rec.Attrs)
			if err != nil {
				return false, err
			}
			if !ok {
				continue
			}
		}
		n++
		if of != nil {
			vals = append(vals, classify(rec.Attrs[of.Name]))
		}
	}
	return aggregate(fn, vals, n, op, want), nil
}

func (r *run) seen(p uint32, n *ast.Seen) (bool, error) {
	var best time.Time
	found := false
	for _, e := range r.d.Events[p] {
		if e.Time.After(r.at) {
			continue
		}
		ok, err := r.matches(e, n.Event, n.Where)
		if err != nil {
			return false, err
		}
		if !ok {
			continue
		}
		if !found || (n.Last && e.Time.After(best)) || (!n.Last && e.Time.Before(best)) {
			best, found = e.Time, true
		}
	}
	if !found {
		return false, nil
	}
	return r.within(best, n.When, false)
}

// sequence tries every chain of events, one per positive step, in strictly increasing time.
func (r *run) sequence(p uint32, n *ast.Sequence) (bool, error) {
	steps := n.Steps
	neg := steps[len(steps)-1].Not
	if neg && n.Within == nil {
		return false, errors.New("reference: negated step needs within")
	}
	times := make([][]time.Time, len(steps))
	for i, s := range steps {
		for _, e := range r.d.Events[p] {
			if e.Time.After(r.at) {
				continue
			}
			ok, err := r.matches(e, s.Event, s.Where)
			if err != nil {
				return false, err
			}
			if ok {
				times[i] = append(times[i], e.Time)
			}
		}
	}
	positive := len(steps)
	if neg {
		positive--
	}
	for _, t1 := range times[0] {
		var win ast.Node
		if n.Window != nil {
			win = n.Window
		}
		if in, err := r.within(t1, win, true); err != nil || !in {
			if err != nil {
				return false, err
			}
			continue
		}
		var deadline time.Time
		bounded := n.Within != nil
		if bounded {
			deadline = n.Within.Add(t1.In(r.o.Location))
		}
		if neg && deadline.After(r.at) {
			continue
		}
		var try func(i int, prev time.Time) bool
		try = func(i int, prev time.Time) bool {
			if i == positive {
				if !neg {
					return true
				}
				for _, z := range times[len(steps)-1] {
					if z.After(prev) && !z.After(deadline) {
						return false
					}
				}
				return true
			}
			for _, t := range times[i] {
				if t.After(prev) && (!bounded || !t.After(deadline)) && try(i+1, t) {
					return true
				}
			}
			return false
		}
		if try(1, t1) {
			return true, nil
		}
	}
	return false, nil
}
