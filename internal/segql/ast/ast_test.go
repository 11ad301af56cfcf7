package ast_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/segd/segd/internal/segql/ast"
	"github.com/segd/segd/internal/segql/parser"
)

func TestInspectOrder(t *testing.T) {
	x, err := parser.ParseExpr(`a = 1 and count("E" where p exists in last 2 days) > 3 and not sequence("A" then not "B" within 1 day)`)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	ast.Inspect(x, func(n ast.Node) bool {
		if n != nil {
			got = append(got, strings.TrimPrefix(fmt.Sprintf("%T", n), "*ast."))
		}
		return true
	})
	want := "And Compare Ident NumberLit Aggregate EventTarget Exists Ident LastWindow NumberLit Not Sequence SeqStep EventTarget SeqStep EventTarget"
	if g := strings.Join(got, " "); g != want {
		t.Errorf("got  %s\nwant %s", g, want)
	}
	// Returning false skips children.
	n := 0
	ast.Inspect(x, func(node ast.Node) bool {
		if node != nil {
			n++
		}
		_, isAgg := node.(*ast.Aggregate)
		return !isAgg
	})
	if n != len(got)-5 {
		t.Errorf("skipping an aggregate's children visited %d nodes, want %d", n, len(got)-5)
	}
}

func TestDuration(t *testing.T) {
	at := time.Date(2024, 3, 31, 12, 0, 0, 0, time.UTC)
	f := func(n int64, u ast.Unit, want string) {
		t.Helper()
		d := ast.Duration{N: n, Unit: u}
		if got := d.Subtract(at).Format(time.RFC3339); got != want {
			t.Errorf("%d %s before %v: got %s want %s", n, u, at, got, want)
		}
		if back := d.Add(d.Subtract(at)); u != ast.Months && u != ast.Years && !back.Equal(at) {
			t.Errorf("%d %s: Add does not undo Subtract", n, u)
		}
	}
	f(90, ast.Seconds, "2024-03-31T11:58:30Z")
	f(2, ast.Hours, "2024-03-31T10:00:00Z")
	f(30, ast.Days, "2024-03-01T12:00:00Z")
	f(1, ast.Weeks, "2024-03-24T12:00:00Z")
	f(1, ast.Months, "2024-02-29T12:00:00Z") // clamped to the end of February
	f(13, ast.Months, "2023-02-28T12:00:00Z")
	f(3, ast.Months, "2023-12-31T12:00:00Z")
	f(1, ast.Years, "2023-03-31T12:00:00Z")
	for _, s := range []string{"day", "days", "months", "second"} {
		if _, ok := ast.ParseUnit(s); !ok {
			t.Errorf("unit %q not accepted", s)
		}
	}
	if _, ok := ast.ParseUnit("fortnight"); ok {
		t.Error("fortnight accepted")
	}
	if got := ast.Miles.Meters(1); got != 1609.344 {
		t.Errorf("a mile is %v m", got)
	}
}
