package printer_test

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/segd/segd/internal/segql/ast"
	"github.com/segd/segd/internal/segql/parser"
	"github.com/segd/segd/internal/segql/printer"
	"github.com/segd/segd/internal/segql/token"
)

var update = flag.Bool("update", false, "rewrite the .golden files from the printer's output")

// TestGolden prints each query of testdata/*.input (queries separated by a
// line "---") and compares with the .golden file; -update rewrites it.
func TestGolden(t *testing.T) {
	inputs, _ := filepath.Glob("testdata/*.input")
	if len(inputs) == 0 {
		t.Fatal("no inputs")
	}
	for _, in := range inputs {
		data, err := os.ReadFile(in)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for i, q := range strings.Split(string(data), "\n---\n") {
			x, err := parser.ParseExpr(q)
			if err != nil {
				t.Fatalf("%s: query %d: %v", in, i+1, err)
			}
			s := printer.String(x)
			y, err := parser.ParseExpr(s)
			if err != nil {
				t.Fatalf("%s: query %d printed as %q: %v", in, i+1, s, err)
			}
			if again := printer.String(y); again != s {
				t.Errorf("%s: query %d: not idempotent:\n%s\n%s", in, i+1, s, again)
			}
			out = append(out, s)
		}
		got := strings.Join(out, "\n") + "\n"
		golden := strings.TrimSuffix(in, ".input") + ".golden"
		if *update {
			if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		want, err := os.ReadFile(golden)
		if err != nil {
			t.Fatalf("%v (run go test -update)", err)
		}
		if got != string(want) {
			t.Errorf("%s: output differs from %s:\n%s", in, golden, diff(string(want), got))
		}
	}
}

func diff(want, got string) string {
	w, g := strings.Split(want, "\n"), strings.Split(got, "\n")
	var b strings.Builder
	for i := 0; i < max(len(w), len(g)); i++ {
		var a, c string
		if i < len(w) {
			a = w[i]
		}
		if i < len(g) {
			c = g[i]
		}
		if a != c {
			b.WriteString("- " + a + "\n+ " + c + "\n")
		}
	}
	return b.String()
}

// TestParenthesesFromShape: trees built without Paren nodes (from JSON or by
// program) get the parentheses their shape needs.
func TestParenthesesFromShape(t *testing.T) {
	id := func(n string) *ast.Ident { return &ast.Ident{NamePos: token.NoPos, NameEnd: token.NoPos, Name: n} }
	cmp := func(n string) ast.Expr {
		return &ast.Compare{Name: id(n), Op: ast.Eq, Value: &ast.NumberLit{Value: 1}}
	}
	did := &ast.Did{Event: &ast.EventTarget{Kind: ast.TrackEvent, Name: "E"}, Where: cmp("p")}
	f := func(x ast.Expr, want string) {
		t.Helper()
		if got := printer.String(x); got != want {
			t.Errorf("got %s want %s", got, want)
		}
	}
	f(&ast.And{List: []ast.Expr{&ast.Or{List: []ast.Expr{cmp("a"), cmp("b")}}, cmp("c")}}, `(a = 1 or b = 1) and c = 1`)
	f(&ast.Or{List: []ast.Expr{&ast.And{List: []ast.Expr{cmp("a"), cmp("b")}}, cmp("c")}}, `a = 1 and b = 1 or c = 1`)
	f(&ast.Or{List: []ast.Expr{cmp("a"), &ast.Or{List: []ast.Expr{cmp("b"), cmp("c")}}}}, `a = 1 or (b = 1 or c = 1)`)
	f(&ast.Not{X: &ast.Or{List: []ast.Expr{cmp("a"), cmp("b")}}}, `not (a = 1 or b = 1)`)
	f(&ast.And{List: []ast.Expr{did, cmp("c")}}, `(did "E" where p = 1) and c = 1`)
	f(&ast.And{List: []ast.Expr{cmp("c"), &ast.Not{X: did}}}, `c = 1 and (not did "E" where p = 1)`)
	f(did, `did "E" where p = 1`)
}

func TestLiterals(t *testing.T) {
	f := func(got, want string) {
		t.Helper()
		if got != want {
			t.Errorf("got %s want %s", got, want)
		}
	}
	f(printer.Name("age"), "age")
	f(printer.Name("first name"), "`first name`")
	f(printer.Name("count"), "`count`")
	f(printer.Name("1st"), "`1st`")
	f(printer.Name("a.b_c"), "a.b_c")
	f(printer.Number(0.1), "0.1")
	f(printer.Number(1e21), "1000000000000000000000")
	f(printer.Number(-2), "-2")
	ts := time.Date(2025, 1, 2, 3, 4, 5, 0, time.FixedZone("", 7*3600))
	f(printer.Time(ts, false), "2025-01-02T03:04:05+07:00")
	f(printer.Time(time.Date(2024, 11, 1, 0, 0, 0, 0, time.UTC), true), "2024-11-01")
}
