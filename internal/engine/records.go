package engine

import (
	"errors"

	"github.com/RoaringBitmap/roaring/v2"

	"github.com/segd/segd/internal/index"
	"github.com/segd/segd/internal/segql/ast"
)

// evalRecordAgg evaluates fn([of of] record "T" [where]) op value among cand, with the same
// empty-set rules as event aggregates. Records are current state, not events: every record
// of the type counts, whatever its time. The record table's columns are scanned like an
// event table's rows.
func (ev *evaluator) evalRecordAgg(fn ast.AggFunc, of *ast.Ident, t *ast.RecordTarget, where ast.Expr, op ast.CompareOp, value float64, cand *roaring.Bitmap) (*roaring.Bitmap, error) {
	if fn != ast.Count && of == nil {
		return nil, errors.New("engine: " + fn.String() + " needs a property (… of …)")
	}
	if cand.IsEmpty() {
		return roaring.New(), nil
	}
	var srcs []source
	if rt := ev.snap.Records(t.Type); rt != nil && rt.Len() > 0 {
		pred, err := compileRow(where, rt.Columns, ev.clock)
		if err != nil {
			return nil, err
		}
		tbl := &index.Table{Prof: rt.Prof, Columns: rt.Columns}
		srcs = append(srcs, source{tbl: tbl, lo: 0, hi: rt.Len(), pred: pred})
	} else if _, err := compileLeafs(where, ev.clock); err != nil {
		return nil, err
	}
	return ev.aggregate(fn, of, srcs, op, value, cand)
}

// compileLeafs compiles the tests of a where filter only to report their errors (a bad
// pattern is an error even when there is nothing to filter).
func compileLeafs(x ast.Expr, c clock) (rowPred, error) {
	return compileRow(x, nil, c)
}
