package engine

import (
	"fmt"
	"math"
	"math/bits"
	"slices"

	"github.com/RoaringBitmap/roaring/v2"

	"github.com/segd/segd/internal/index"
	"github.com/segd/segd/internal/segql/ast"
)

// eventTables returns the tables an event target reads: the track table of that name, the
// page or screen table, or every track, page and screen table for "any event".
func eventTables(t *ast.EventTarget, snap *index.Snapshot) []*index.Table {
	var key index.TableKey
	switch t.Kind {
	case ast.TrackEvent:
		key = index.TableKey{Kind: index.Track, Name: t.Name}
	case ast.PageEvent:
		key = index.TableKey{Kind: index.Page}
	case ast.ScreenEvent:
		key = index.TableKey{Kind: index.Screen}
	case ast.AnyEvent:
		var out []*index.Table
		for _, tb := range snap.Tables() {
			if k := tb.Key.Kind; k == index.Track || k == index.Page || k == index.Screen {
				out = append(out, tb)
			}
		}
		return out
	}
	if tb := snap.Table(key); tb != nil {
		return []*index.Table{tb}
	}
	return nil
}

// source is one table with the rows a target, filter and window select.
type source struct {
	tbl    *index.Table
	lo, hi int     // row range of the window
	pred   rowPred // nil: every row in range
}

// sources compiles target, where and window into row sources.
func (ev *evaluator) sources(t *ast.EventTarget, where ast.Expr, win span) ([]source, error) {
	var out []source
	for _, tb := range eventTables(t, ev.snap) {
		pred, err := compileRow(where, tb.Columns, ev.clock)
		if err != nil {
			return nil, err
		}
		if (t.Kind == ast.PageEvent || t.Kind == ast.ScreenEvent) && t.Name != "" {
			nameTest := &ast.Compare{Name: &ast.Ident{Name: "name"}, Op: ast.Eq, Value: &ast.StringLit{Value: t.Name}}
			byName, err := compileRow(nameTest, tb.Columns, ev.clock)
			if err != nil {
				return nil, err
			}
			if pred == nil {
				pred = byName
			} else {
				inner := pred
				pred = func(r int) bool { return byName(r) && inner(r) }
			}
		}
		s := source{tbl: tb, pred: pred, lo: 0, hi: tb.Len()}
		if !win.empty() {
			s.lo, s.hi = tb.Lower(win.lo), tb.Upper(win.hi)
		} else {
			s.hi = 0
		}
		if s.lo < s.hi {
			out = append(out, s)
		}
	}
	return out, nil
}

// aggAcc holds one worker's per-profile accumulators, indexed by profile id.
type aggAcc struct {
	n        []uint32
	touched  []uint32 // profiles whose n went from 0 to 1, in the order met
	sum      []float64
	min, max []float64
	distinct map[distinctKey]struct{}
}

type distinctKey struct {
	p    uint32
	kind index.ValueKind
	bits uint64
	s    string
}

func distinctOf(p uint32, v index.Value) (distinctKey, bool) {
	switch v.Kind {
	case index.Text:
		return distinctKey{p: p, kind: v.Kind, s: v.Str}, true
	case index.Number:
		f := v.Num
		if f == 0 {
			f = 0 // -0 and +0 are one value
		}
		return distinctKey{p: p, kind: v.Kind, bits: math.Float64bits(f)}, true
	case index.Time:
		return distinctKey{p: p, kind: v.Kind, bits: uint64(v.Nano)}, true
	case index.Bool:
		b := uint64(0)
		if v.Bool {
			b = 1
		}
		return distinctKey{p: p, kind: v.Kind, bits: b}, true
	}
	return distinctKey{}, false
}

// evalEventAgg evaluates fn([of of] target [where] [window]) op value among cand.
//
// count, sum and distinct of no events are 0; avg, min and max of no (numeric) values do not
// exist and then no comparison holds. sum, avg, min and max read numeric values only.
func (ev *evaluator) evalEventAgg(fn ast.AggFunc, of *ast.Ident, t *ast.EventTarget, where ast.Expr, w ast.Window, op ast.CompareOp, value float64, cand *roaring.Bitmap) (*roaring.Bitmap, error) {
	if fn != ast.Count && of == nil {
		return nil, fmt.Errorf("engine: %s needs a property (… of …)", fn)
	}
	win, err := ev.clock.eventWindow(w)
	if err != nil {
		return nil, err
	}
	srcs, err := ev.sources(t, where, win)
	if err != nil {
		return nil, err
	}
	if cand.IsEmpty() {
		return roaring.New(), nil
	}
	return ev.aggregate(fn, of, srcs, op, value, cand)
}

// aggregate computes fn([of of]) over the rows of srcs per profile of cand and keeps the
// profiles whose aggregate satisfies op value.
func (ev *evaluator) aggregate(fn ast.AggFunc, of *ast.Ident, srcs []source, op ast.CompareOp, value float64, cand *roaring.Bitmap) (*roaring.Bitmap, error) {
	size := int(cand.Maximum()) + 1
	member := newDenseSet(cand)
	if fn == ast.Distinct && len(srcs) == 1 {
		if col := srcs[0].tbl.Columns[of.Name]; col != nil && textOnly(col) {
			distinct, err := ev.distinctCodes(srcs[0], col, member, size)
			if err != nil {
				return nil, err
			}
			return ev.threshold(fn, []*aggAcc{{n: make([]uint32, size)}}, distinct, op, value, cand)
		}
	}
	accs := make([]*aggAcc, ev.workers)
	for i := range accs {
		a := &aggAcc{n: make([]uint32, size)}
		switch fn {
		case ast.Sum, ast.Avg:
			a.sum = make([]float64, size)
		case ast.Min:
			a.min = make([]float64, size)
		case ast.Max:
			a.max = make([]float64, size)
		case ast.Distinct:
			a.distinct = map[distinctKey]struct{}{}
		}
		accs[i] = a
	}
	for _, s := range srcs {
		var ofCol *index.Column
		if of != nil {
			ofCol = s.tbl.Columns[of.Name]
			if ofCol == nil {
				continue // no row has the property: nothing to aggregate
			}
		}
		prof := s.tbl.Prof
		err := ev.chunks(s.hi-s.lo, "event scan", func(wk, lo, hi int) {
			a := accs[wk]
			for r := s.lo + lo; r < s.lo+hi; r++ {
				p := prof[r]
				if !member.has(p) || (s.pred != nil && !s.pred(r)) {
					continue
				}
				switch fn {
				case ast.Count:
					if a.n[p] == 0 {
						a.touched = append(a.touched, p)
					}
					a.n[p]++
				case ast.Distinct:
					if k, ok := distinctOf(p, ofCol.Get(r)); ok {
						a.distinct[k] = struct{}{}
					}
				default:
					if !ofCol.HasNum(r) {
						continue
					}
					v := ofCol.Nums[r]
					switch fn {
					case ast.Sum, ast.Avg:
						a.sum[p] += v
					case ast.Min:
						if a.n[p] == 0 || v < a.min[p] {
							a.min[p] = v
						}
					case ast.Max:
						if a.n[p] == 0 || v > a.max[p] {
							a.max[p] = v
						}
					}
					if a.n[p] == 0 {
						a.touched = append(a.touched, p)
					}
					a.n[p]++
				}
			}
		})
		if err != nil {
			return nil, err
		}
	}
	return ev.threshold(fn, accs, nil, op, value, cand)
}

// textOnly reports whether every value of col is text, so that dictionary codes identify
// distinct values.
func textOnly(col *index.Column) bool {
	return col.Codes != nil && col.Nums == nil && col.Times == nil && len(col.BoolSet) == 0 && !col.HasOthers()
}

// distinctCodes counts the distinct text codes of col per profile over the rows of s: with a
// bit mask per profile when the dictionary has fewer than 64 values, otherwise by sorting
// (profile, code) pairs. Codes of one column identify its texts, so this equals counting
// distinct strings.
func (ev *evaluator) distinctCodes(s source, col *index.Column, member denseSet, size int) ([]uint32, error) {
	prof, codes := s.tbl.Prof, col.Codes
	out := make([]uint32, size)
	if len(col.Values) <= 64 {
		masks := make([][]uint64, ev.workers)
		err := ev.chunks(s.hi-s.lo, "event scan", func(wk, lo, hi int) {
			m := masks[wk]
			if m == nil {
				m = make([]uint64, size)
				masks[wk] = m
			}
			// rows past the end of codes have no text (a column ends at its last value)
			end := min(s.lo+hi, len(codes))
			for r := s.lo + lo; r < end; r++ {
				c := codes[r]
				if c == 0 {
					continue
				}
				p := prof[r]
				if !member.has(p) || (s.pred != nil && !s.pred(r)) {
					continue
				}
				m[p] |= 1 << (c & 63)
			}
		})
		if err != nil {
			return nil, err
		}
		var all []uint64
		for _, m := range masks {
			if m == nil {
				continue
			}
			if all == nil {
				all = m
				continue
			}
			for p, b := range m {
				all[p] |= b
			}
		}
		for p, b := range all {
			out[p] = uint32(bits.OnesCount64(b))
		}
		return out, nil
	}
	parts := make([][]uint64, ev.workers)
	err := ev.chunks(s.hi-s.lo, "event scan", func(wk, lo, hi int) {
		end := min(s.lo+hi, len(codes))
		for r := s.lo + lo; r < end; r++ {
			c := codes[r]
			if c == 0 {
				continue
			}
			p := prof[r]
			if member.has(p) && (s.pred == nil || s.pred(r)) {
				parts[wk] = append(parts[wk], uint64(p)<<32|uint64(c))
			}
		}
	})
	if err != nil {
		return nil, err
	}
	pairs := slices.Concat(parts...)
	slices.Sort(pairs)
	for i, k := range pairs {
		if i == 0 || k != pairs[i-1] {
			out[k>>32]++
		}
	}
	return out, nil
}

// threshold combines the workers' accumulators and keeps the profiles of cand whose
// aggregate satisfies op value.
// distinct, when not nil, holds the distinct counts per profile already (accs then only size
// the arrays).
func (ev *evaluator) threshold(fn ast.AggFunc, accs []*aggAcc, distinct []uint32, op ast.CompareOp, value float64, cand *roaring.Bitmap) (*roaring.Bitmap, error) {
	if fn == ast.Distinct && distinct == nil {
		distinct = make([]uint32, len(accs[0].n))
		seen := map[distinctKey]struct{}{}
		for _, a := range accs {
			for k := range a.distinct {
				if _, dup := seen[k]; !dup {
					seen[k] = struct{}{}
					distinct[k.p]++
				}
			}
		}
	}
	lit := index.Value{Kind: index.Number, Num: value}
	// Without a counted row, avg, min and max do not exist and count and sum are 0: when 0
	// does not satisfy the comparison, only profiles some worker counted a row for can match.
	if fn == ast.Avg || fn == ast.Min || fn == ast.Max ||
		((fn == ast.Count || fn == ast.Sum) && !compareHolds(op, index.Value{Kind: index.Number}, lit)) {
		n := 0
		for _, a := range accs {
			n += len(a.touched)
		}
		if uint64(n) < cand.GetCardinality()/2 { // else listing cand is as cheap
			touched := roaring.New()
			for _, a := range accs {
				slices.Sort(a.touched)
				touched.AddMany(a.touched)
			}
			cand = touched
		}
	}
	return ev.scan(cand, "aggregate", func(p uint32) bool {
		var n uint32
		for _, a := range accs {
			n += a.n[p]
		}
		var agg float64
		switch fn {
		case ast.Count:
			agg = float64(n)
		case ast.Distinct:
			agg = float64(distinct[p])
		case ast.Sum:
			for _, a := range accs {
				agg += a.sum[p]
			}
		case ast.Avg:
			if n == 0 {
				return false
			}
			for _, a := range accs {
				agg += a.sum[p]
			}
			agg /= float64(n)
		case ast.Min, ast.Max:
			if n == 0 {
				return false
			}
			first := true
			for _, a := range accs {
				if a.n[p] == 0 {
					continue
				}
				v := a.max
				if fn == ast.Min {
					v = a.min
				}
				if first || (fn == ast.Min && v[p] < agg) || (fn == ast.Max && v[p] > agg) {
					agg, first = v[p], false
				}
			}
		}
		return compareHolds(op, index.Value{Kind: index.Number, Num: agg}, lit)
	})
}

// evalSeen evaluates first_seen/last_seen(target [where]) WHEN: the earliest (latest)
// matching event up to the evaluation time exists and its time satisfies WHEN.
func (ev *evaluator) evalSeen(n *ast.Seen, cand *roaring.Bitmap) (*roaring.Bitmap, error) {
	when, err := ev.clock.predicate(n.When)
	if err != nil {
		return nil, err
	}
	srcs, err := ev.sources(n.Event, n.Where, allTime.clipTo(ev.clock.ns))
	if err != nil {
		return nil, err
	}
	if cand.IsEmpty() {
		return roaring.New(), nil
	}
	size := int(cand.Maximum()) + 1
	member := newDenseSet(cand)
	type acc struct {
		has []bool
		t   []int64
	}
	accs := make([]acc, ev.workers)
	for i := range accs {
		accs[i] = acc{has: make([]bool, size), t: make([]int64, size)}
	}
	for _, s := range srcs {
		prof, times := s.tbl.Prof, s.tbl.Time
		err := ev.chunks(s.hi-s.lo, "event scan", func(wk, lo, hi int) {
			a := accs[wk]
			for r := s.lo + lo; r < s.lo+hi; r++ {
				p := prof[r]
				if !member.has(p) || (s.pred != nil && !s.pred(r)) {
					continue
				}
				ts := times[r]
				if !a.has[p] || (n.Last && ts > a.t[p]) || (!n.Last && ts < a.t[p]) {
					a.has[p], a.t[p] = true, ts
				}
			}
		})
		if err != nil {
			return nil, err
		}
	}
	return ev.scan(cand, "seen", func(p uint32) bool {
		found := false
		var best int64
		for _, a := range accs {
			if !a.has[p] {
				continue
			}
			if !found || (n.Last && a.t[p] > best) || (!n.Last && a.t[p] < best) {
				best, found = a.t[p], true
			}
		}
		return found && when.has(best)
	})
}
