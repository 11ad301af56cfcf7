package engine

import (
	"github.com/RoaringBitmap/roaring/v2"

	"github.com/segd/segd/internal/index"
	"github.com/segd/segd/internal/segql/ast"
)

// evalTrait evaluates a test on a trait among cand. Text tests work on the dictionary (one
// test per distinct value, then a union of value bitmaps); number, time and point tests scan
// the holders of that kind; the rest fall back to the value rules over every holder.
func (ev *evaluator) evalTrait(x ast.Expr, cand *roaring.Bitmap) (*roaring.Bitmap, error) {
	lf, err := compileLeaf(x, ev.clock)
	if err != nil {
		return nil, err
	}
	t := ev.snap.Trait(lf.name)
	if t == nil {
		// Nobody has the trait: only "is missing" (and nothing else) can hold.
		if lf.pred(index.Value{}) {
			return cand.Clone(), nil
		}
		return roaring.New(), nil
	}
	switch n := x.(type) {
	case *ast.Exists:
		if n.Missing {
			return roaring.AndNot(cand, t.Present), nil
		}
		return roaring.And(cand, t.Present), nil
	case *ast.Compare:
		lit, err := literalValue(n.Value, ev.clock)
		if err != nil {
			return nil, err
		}
		if n.Op == ast.Neq {
			eq, err := ev.traitRel(t, lit, ast.Eq, cand)
			if err != nil {
				return nil, err
			}
			return roaring.AndNot(roaring.And(cand, t.Present), eq), nil
		}
		return ev.traitRel(t, lit, n.Op, cand)
	case *ast.In:
		out := roaring.New()
		for _, l := range n.List {
			lit, err := literalValue(l, ev.clock)
			if err != nil {
				return nil, err
			}
			eq, err := ev.traitRel(t, lit, ast.Eq, cand)
			if err != nil {
				return nil, err
			}
			out.Or(eq)
		}
		if n.Not {
			return roaring.AndNot(roaring.And(cand, t.Present), out), nil
		}
		return out, nil
	case *ast.TextMatch:
		m, err := textMatcher(n.Op, n.Value.Value)
		if err != nil {
			return nil, err
		}
		out := ev.textCodes(t, m, cand)
		if n.Op == ast.Contains && !t.OtherPresent.IsEmpty() {
			lists, err := ev.scan(roaring.And(cand, t.OtherPresent), "trait scan", func(p uint32) bool {
				return lf.pred(t.Get(p))
			})
			if err != nil {
				return nil, err
			}
			out.Or(lists)
		}
		return out, nil
	case *ast.TimeCond, *ast.Anniversary:
		return ev.scan(roaring.And(cand, t.TimePresent), "trait scan", func(p uint32) bool {
			return lf.pred(index.Value{Kind: index.Time, Nano: t.TimeNano(p)})
		})
	case *ast.Geo:
		return ev.scan(roaring.And(cand, t.GeoPresent), "trait scan", func(p uint32) bool {
			lat, lon := t.LatLon(p)
			return lf.pred(index.Value{Kind: index.Geo, Num: lat, Lon: lon})
		})
	}
	return ev.scan(roaring.And(cand, t.Present), "trait scan", func(p uint32) bool { return lf.pred(t.Get(p)) })
}

// traitRel returns the holders (among cand) of a value of lit's kind that stands in relation
// op (=, <, <=, >, >=) to lit.
func (ev *evaluator) traitRel(t *index.Trait, lit index.Value, op ast.CompareOp, cand *roaring.Bitmap) (*roaring.Bitmap, error) {
	switch lit.Kind {
	case index.Text:
		if op == ast.Eq {
			if code := t.Code(lit.Str); code != 0 {
				return roaring.And(cand, t.ByCode[code]), nil
			}
			return roaring.New(), nil
		}
		return ev.textCodes(t, func(s string) bool {
			return compareHolds(op, index.Value{Kind: index.Text, Str: s}, lit)
		}, cand), nil
	case index.Number:
		return ev.scan(roaring.And(cand, t.NumPresent), "trait scan", func(p uint32) bool {
			return compareHolds(op, index.Value{Kind: index.Number, Num: t.Num(p)}, lit)
		})
	case index.Time:
		return ev.scan(roaring.And(cand, t.TimePresent), "trait scan", func(p uint32) bool {
			return compareHolds(op, index.Value{Kind: index.Time, Nano: t.TimeNano(p)}, lit)
		})
	case index.Bool:
		if op != ast.Eq {
			return roaring.New(), nil
		}
		if lit.Bool {
			return roaring.And(cand, t.True), nil
		}
		return roaring.And(cand, t.False), nil
	}
	return roaring.New(), nil
}

// textCodes tests every distinct text value once and unions the bitmaps of those that match.
func (ev *evaluator) textCodes(t *index.Trait, m func(string) bool, cand *roaring.Bitmap) *roaring.Bitmap {
	var hits []*roaring.Bitmap
	for code := 1; code < len(t.Values); code++ {
		if m(t.Values[code]) {
			hits = append(hits, t.ByCode[code])
		}
	}
	if len(hits) == 0 {
		return roaring.New()
	}
	return roaring.And(cand, roaring.FastOr(hits...))
}
