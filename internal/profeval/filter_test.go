package profeval

import (
	"fmt"
	"math"
	"testing"
	"time"

	"github.com/segd/segd/internal/engine/reference"
	"github.com/segd/segd/internal/segql/ast"
)

// Every compiled filter must answer what the reference's Conditions.Test answers, for every
// operator against every kind of value a property or trait can hold.
func TestCompiledFiltersEqualReference(t *testing.T) {
	values := []any{nil, "a", "b", "", "2024-01-02", "2024-01-02T03:04:05Z", "VN", 0.0, 1.0, -1.0, 2.5, 3, math.NaN(),
		true, false, []any{"a", 1.0}, map[string]any{"k": "v"},
		"/pricing/enterprise", "/blog/pricing", "xa", "ab", []any{"b", "ab"}, []any{10.5, 106.7}, []any{}, "2024-01-02 is a date"}
	lits := []ast.Value{&ast.StringLit{Value: "a"}, &ast.StringLit{Value: ""}, &ast.StringLit{Value: "2024-01-02"},
		&ast.NumberLit{Value: 0}, &ast.NumberLit{Value: 1}, &ast.NumberLit{Value: 2.5}, &ast.NumberLit{Value: 3},
		&ast.NumberLit{Value: -1}, &ast.BoolLit{Value: true}, &ast.BoolLit{Value: false}}
	name := &ast.Ident{Name: "v"}
	var exprs []ast.Expr
	for op := ast.Eq; op <= ast.Ge; op++ {
		for _, l := range lits {
			exprs = append(exprs, &ast.Compare{Name: name, Op: op, Value: l})
		}
	}
	for _, not := range []bool{false, true} {
		exprs = append(exprs, &ast.In{Name: name, Not: not, List: lits[:3]}, &ast.In{Name: name, Not: not, List: lits[3:]},
			&ast.In{Name: name, Not: not, List: []ast.Value{lits[0], lits[4], lits[8]}})
		exprs = append(exprs, &ast.Exists{Name: name, Missing: not})
	}
	for op := ast.Contains; op <= ast.Matches; op++ {
		for _, lit := range []string{"a", "b", "", "/pricing", "2024", "^a", "b$", "a[", "2024-01-02"} {
			exprs = append(exprs, &ast.TextMatch{Name: name, Op: op, Value: &ast.StringLit{Value: lit}})
		}
	}
	n := len(exprs)
	for i := 0; i+1 < n; i += 3 {
		exprs = append(exprs, &ast.And{List: []ast.Expr{exprs[i], &ast.Not{X: exprs[i+1]}}}, &ast.Or{List: []ast.Expr{exprs[i], exprs[i+1]}},
			&ast.Paren{X: exprs[i]})
	}
	c := reference.NewConditions(reference.Options{At: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)})
	compiled := 0
	for _, x := range exprs {
		f, ok := compileFilter(x)
		if !ok {
			continue
		}
		compiled++
		for _, v := range values {
			bag := map[string]any{"v": v}
			want, err := c.Test(x, bag)
			if err != nil {
				t.Fatalf("%s with v=%#v: %v", describe(x), v, err)
			}
			if got := f(MapBag(bag)); got != want {
				t.Errorf("%s with v=%#v: compiled %v, reference %v", describe(x), v, got, want)
			}
			// the same value as an event's property
			if got := f(&Event{Kind: "track", Name: "v", Props: []Prop{{"w", 1.0}, {"v", v}}}); got != want {
				t.Errorf("%s with event property v=%#v: compiled %v, reference %v", describe(x), v, got, want)
			}
		}
		if got, want := f(MapBag{}), mustTest(t, c, x, map[string]any{}); got != want {
			t.Errorf("%s with v absent: compiled %v, reference %v", describe(x), got, want)
		}
	}
	if compiled < len(exprs)/2 {
		t.Fatalf("only %d of %d conditions compiled", compiled, len(exprs))
	}
}

func mustTest(t *testing.T, c reference.Conditions, x ast.Expr, bag map[string]any) bool {
	ok, err := c.Test(x, bag)
	if err != nil {
		t.Fatal(err)
	}
	return ok
}

func describe(x ast.Expr) string {
	switch n := x.(type) {
	case *ast.Compare:
		return fmt.Sprintf("v op%d %#v", n.Op, n.Value)
	case *ast.TextMatch:
		return fmt.Sprintf("v %s %q", n.Op, n.Value.Value)
	}
	return fmt.Sprintf("%T", x)
}
