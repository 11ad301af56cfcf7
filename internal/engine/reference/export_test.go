package reference

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/segd/segd/internal/segql/ast"
)

// TestDistinctCountIsPairwiseDistinct: the one-pass distinct count Aggregate uses gives what
// the reference's pairwise comparison of classified values gives, over bags mixing texts,
// texts that are the same instant written differently, numbers with 0, -0 and NaN, booleans,
// lists, geo pairs and absent values, small (no set) and large (a set) alike.
func TestDistinctCountIsPairwiseDistinct(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	pool := []any{
		"a", "b", "A", "", "2025-01-01", "2025-01-01T00:00:00Z", "2025-01-01T01:00:00+01:00",
		"2025-01-01T00:00:00.000000001Z", "2025-13-01", 0.0, math.Copysign(0, -1), 1.0, 1.5,
		math.NaN(), true, false, nil, []any{1.0, 2.0}, []any{"x"}, map[string]any{"k": 1.0},
	}
	for i := range 40 {
		pool = append(pool, fmt.Sprint("v", i), float64(i))
	}
	for round := range 3000 {
		n := r.IntN(60)
		if round%3 == 0 {
			n = r.IntN(12)
		}
		raw := make([]any, n)
		for i := range raw {
			raw[i] = pool[r.IntN(len(pool))]
		}
		vals := make([]value, n)
		for i, v := range raw {
			vals[i] = classify(v)
		}
		want := 0
		for k := 0; k <= n; k++ {
			if aggregate(ast.Distinct, vals, n, ast.Eq, float64(k)) {
				want = k
			}
		}
		if got := distinctCount(raw); got != want {
			t.Fatalf("round %d: distinctCount(%v) = %d, pairwise %d", round, raw, got, want)
		}
		for _, op := range []ast.CompareOp{ast.Ge, ast.Lt, ast.Eq} {
			w := float64(r.IntN(20))
			if got, exp := Aggregate(ast.Distinct, raw, n, op, w), aggregate(ast.Distinct, vals, n, op, w); got != exp {
				t.Fatalf("round %d: Aggregate(distinct %v %v) = %v, reference %v", round, op, w, got, exp)
			}
		}
	}
}
