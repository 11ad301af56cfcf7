package engine

import (
	"errors"

	"github.com/RoaringBitmap/roaring/v2"

	"github.com/segd/segd/internal/index"
	"github.com/segd/segd/internal/segql/ast"
)

// evalRecordAgg evaluates fn([of of] record "T" [where]) op value among cand, with the same
// empty-set rules as event aggregates. Records are current state, not events: every record
// of the type counts, whatever its time.
func (ev *evaluator) evalRecordAgg(fn ast.AggFunc, of *ast.Ident, t *ast.RecordTarget, where ast.Expr, op ast.CompareOp, value float64, cand *roaring.Bitmap) (*roaring.Bitmap, error) {
	if fn != ast.Count && of == nil {
		return nil, errors.New("engine: " + fn.String() + " needs a property (… of …)")
	}
	pred, err := compileAttrs(where, ev.clock)
	if err != nil {
		return nil, err
	}
	if cand.IsEmpty() {
		return roaring.New(), nil
	}
	size := int(cand.Maximum()) + 1
	a := &aggAcc{n: make([]uint32, size), sum: make([]float64, size), min: make([]float64, size), max: make([]float64, size), distinct: map[distinctKey]struct{}{}}
	member := newDenseSet(cand)
	if rt := ev.snap.Records(t.Type); rt != nil {
		for i := range rt.IDs {
			if i%chunkSize == 0 {
				if err := ev.canceled("record scan"); err != nil {
					return nil, err
				}
			}
			p := rt.Prof[i]
			if !member.has(p) || (pred != nil && !pred(rt.Attrs[i])) {
				continue
			}
			if fn == ast.Count {
				a.n[p]++
				continue
			}
			v := index.Classify(rt.Attrs[i][of.Name])
			if fn == ast.Distinct {
				if k, ok := distinctOf(p, v); ok {
					a.distinct[k] = struct{}{}
				}
				continue
			}
			if v.Kind != index.Number {
				continue
			}
			if a.n[p] == 0 || v.Num < a.min[p] {
				a.min[p] = v.Num
			}
			if a.n[p] == 0 || v.Num > a.max[p] {
				a.max[p] = v.Num
			}
			a.sum[p] += v.Num
			a.n[p]++
		}
	}
	return ev.threshold(fn, []*aggAcc{a}, nil, op, value, cand)
}
