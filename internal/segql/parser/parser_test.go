package parser_test

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/segd/segd/internal/segql/ast"
	"github.com/segd/segd/internal/segql/parser"
	"github.com/segd/segd/internal/segql/printer"
	"github.com/segd/segd/internal/segql/token"
	"github.com/segd/segd/internal/segql/tree"
)

// TestParse: input → canonical text, one case per line. The canonical text
// shows the tree's shape (and the printer's parentheses show grouping).
func TestParse(t *testing.T) {
	f := func(in, want string) {
		t.Helper()
		x, err := parser.ParseExpr(in)
		if err != nil {
			t.Errorf("%s: %v", in, err)
			return
		}
		if got := printer.String(x); got != want {
			t.Errorf("%s:\n got %s\nwant %s", in, got, want)
		}
	}
	f(`age>=25`, `age >= 25`)
	f(`age == 25`, `age = 25`)
	f(`a = 1 and b = 2 or c = 3`, `a = 1 and b = 2 or c = 3`)
	f(`a = 1 and (b = 2 or c = 3)`, `a = 1 and (b = 2 or c = 3)`)
	f(`((a = 1))`, `a = 1`)
	f(`(a = 1 and b = 2) and c = 3`, `(a = 1 and b = 2) and c = 3`)
	f(`not a = 1 and b = 2`, `not a = 1 and b = 2`)
	f(`not (a = 1 and b = 2)`, `not (a = 1 and b = 2)`)
	f(`not not a exists`, `not not a exists`)
	f("`first name` = \"x\"", "`first name` = \"x\"")
	f("`age` > 1", "age > 1")
	f("`count` > 1 and count > 2", "`count` > 1 and `count` > 2")
	f(`x = "tab\there \"q\" \u00e9"`, `x = "tab\there \"q\" é"`)
	f(`x = -3.50`, `x = -3.5`)
	f(`x >= 70%`, `x >= 70%`)
	f(`x = true and y != false`, `x = true and y != false`)
	f(`x not in [1, 2.5]`, `x not in [1, 2.5]`)
	f(`x in ["a",]`, `x in ["a"]`)
	f(`x is not missing`, `x exists`)
	f(`x ends with "z"`, `x ends with "z"`)
	f(`t in last 1 days`, `t in last 1 day`)
	f(`t this week`, `t in this week`)
	f(`t in this day`, `t today`)
	f(`t since 2024-01-02`, `t since 2024-01-02`)
	f(`t between 2024-01-02 and 2024-02-01T10:00:00.500+07:00`, `t between 2024-01-02 and 2024-02-01T10:00:00.5+07:00`)
	f(`t after now and t before 3 months ago`, `t after now and t before 3 months ago`)
	f(`t > 2 weeks ago`, `t > 2 weeks ago`)
	f(`b anniversary today`, `b anniversary today`)
	f(`b anniversary in last 3 days`, `b anniversary in last 3 days`)
	f(`home within 500 m of (-33.86, 151.2)`, `home within 500 m of (-33.86, 151.2)`)
	f(`home within 2.5 mi of (1,2)`, `home within 2.5 mi of (1, 2)`)
	f(`count(screen "Home" in last 2 hours) > 0`, `count(screen "Home" in last 2 hours) > 0`)
	f(`count(any event since 2024-01-01) > 0`, `count(any event since 2024-01-01) > 0`)
	f(`count(page "Pricing") > 0`, `count(page "Pricing") > 0`)
	f(`avg(price of "Product Added" where category in ["shoes"] in this month) < 20`, `avg(price of "Product Added" where category in ["shoes"] in this month) < 20`)
	f("min(`unit price` of \"P\") <= 1", "min(`unit price` of \"P\") <= 1")
	f(`max(total of record "orders" where status = "paid") > 5`, `max(total of record "orders" where status = "paid") > 5`)
	f(`did page`, `did page`)
	f(`did "X" where a = 1 and b = 2`, `did "X" where a = 1 and b = 2`)
	f(`(did "X" where a = 1) and b = 2`, `(did "X" where a = 1) and b = 2`)
	f(`did "X" where a = 1 in last 2 days and b = 2`, `did "X" where a = 1 in last 2 days and b = 2`)
	f(`c = 1 or (not did "X" where a = 1 or a = 2)`, `c = 1 or (not did "X" where a = 1 or a = 2)`)
	f(`did "X" where (a = 1 or b = 2) and not c exists`, `did "X" where (a = 1 or b = 2) and not c exists`)
	f(`(has record "r" where a = 1) or x = 1`, `(has record "r" where a = 1) or x = 1`)
	f(`has record "r"`, `has record "r"`)
	f(`first_seen("A" where x = 1) between 2024-01-01 and 2024-02-01`, `first_seen("A" where x = 1) between 2024-01-01 and 2024-02-01`)
	f(`last_seen(any event) after 7 days ago`, `last_seen(any event) after 7 days ago`)
	f(`sequence("A" where p > 1 then "B" then "C" where q = "x")`, `sequence("A" where p > 1 then "B" then "C" where q = "x")`)
	f(`sequence(page "Pricing" then not "Signed Up" within 2 days in this month)`, `sequence(page "Pricing" then not "Signed Up" within 2 days in this month)`)
	f(`not in segment "x"`, `not in segment "x"`)
	f(`sample(12.5%)`, `sample(12.5%)`)
	f("age > 1 # comment\n  and\n  country = \"VN\" # more", `age > 1 and country = "VN"`)
	f(`last > 1 and this = 2 and in = 3`, "`last` > 1 and `this` = 2 and `in` = 3")
	f(`address.city = "Hanoi"`, `address.city = "Hanoi"`)
}

// TestParseShape checks the tree shape for precedence and flattening.
func TestParseShape(t *testing.T) {
	f := func(in, want string) {
		t.Helper()
		x, err := parser.ParseExpr(in)
		if err != nil {
			t.Fatalf("%s: %v", in, err)
		}
		if got := shape(x); got != want {
			t.Errorf("%s:\n got %s\nwant %s", in, got, want)
		}
	}
	f(`a = 1 or b = 2 and c = 3`, `Or(Compare, And(Compare, Compare))`)
	f(`a = 1 and b = 2 and c = 3`, `And(Compare, Compare, Compare)`)
	f(`(a = 1 and b = 2) and c = 3`, `And(Paren(And(Compare, Compare)), Compare)`)
	f(`not a = 1 or b = 2`, `Or(Not(Compare), Compare)`)
	f(`not in segment "x" and y exists`, `And(Not(InSegment), Exists)`)
	f(`did "X" where a = 1 or b = 2`, `Did`)
	f(`count("X" where a = 1 or b = 2 in last 2 days) > 1 or c = 1`, `Or(Aggregate, Compare)`)
}

func shape(x ast.Expr) string {
	name := strings.TrimPrefix(fmt.Sprintf("%T", x), "*ast.")
	var kids []ast.Expr
	switch x := x.(type) {
	case *ast.And:
		kids = x.List
	case *ast.Or:
		kids = x.List
	case *ast.Not:
		kids = []ast.Expr{x.X}
	case *ast.Paren:
		kids = []ast.Expr{x.X}
	}
	if kids == nil {
		return name
	}
	parts := make([]string, len(kids))
	for i, k := range kids {
		parts[i] = shape(k)
	}
	return name + "(" + strings.Join(parts, ", ") + ")"
}

// TestPositions checks spans: every node lies within the source and within
// its parent, and a few spans are exactly the expected text.
func TestPositions(t *testing.T) {
	for _, src := range seeds(t) {
		_, x, errs := parser.Parse("", src)
		if len(errs) > 0 {
			continue
		}
		checkSpans(t, src, x)
	}
	src := `x = 1 and count("A" where p > 2 in last 3 days) >= 4`
	x, _ := parser.ParseExpr(src)
	agg := x.(*ast.And).List[1].(*ast.Aggregate)
	for _, c := range []struct {
		n    ast.Node
		want string
	}{
		{agg, `count("A" where p > 2 in last 3 days) >= 4`},
		{agg.Where, `p > 2`},
		{agg.Window, `in last 3 days`},
		{agg.Target, `"A"`},
		{agg.Value, `4`},
	} {
		if got := src[c.n.Pos():c.n.End()]; got != c.want {
			t.Errorf("span of %T: got %q want %q", c.n, got, c.want)
		}
	}
}

func checkSpans(t *testing.T, src string, x ast.Node) {
	t.Helper()
	var stack []ast.Node
	ast.Inspect(x, func(n ast.Node) bool {
		if n == nil {
			stack = stack[:len(stack)-1]
			return true
		}
		if n.Pos() < 0 || n.End() > token.Pos(len(src)) || n.Pos() > n.End() {
			t.Errorf("%q: %T span [%d,%d) outside source", src, n, n.Pos(), n.End())
		}
		if len(stack) > 0 {
			p := stack[len(stack)-1]
			if n.Pos() < p.Pos() || n.End() > p.End() {
				t.Errorf("%q: %T [%d,%d) outside parent %T [%d,%d)", src, n, n.Pos(), n.End(), p, p.Pos(), p.End())
			}
		}
		stack = append(stack, n)
		return true
	})
}

// seeds returns every query in testdata: the examples file (one per line)
// and the printer inputs.
func seeds(t testing.TB) []string {
	var out []string
	files, _ := filepath.Glob("testdata/*.segql")
	more, _ := filepath.Glob("../printer/testdata/*.input")
	for _, name := range append(files, more...) {
		data, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		if strings.HasSuffix(name, ".input") {
			out = append(out, strings.Split(string(data), "\n---\n")...)
			continue
		}
		sc := bufio.NewScanner(strings.NewReader(string(data)))
		for sc.Scan() {
			out = append(out, errorMarker.ReplaceAllString(sc.Text(), ""))
		}
	}
	return out
}

// errorMarker is an expected error in testdata/errors.segql: the marker is
// written immediately before the token the error points at, and holds a
// regular expression for the message.
var errorMarker = regexp.MustCompile(`/\* ERROR ("(?:[^"\\]|\\.)*") \*/ *`)

// TestErrors runs testdata/errors.segql: one query per line; each
// /* ERROR "rx" */ marker expects exactly one error at the column of the
// token after the marker, whose "CODE: message" matches rx. Lines without a
// marker must parse cleanly. Lines starting with "//" are comments.
func TestErrors(t *testing.T) {
	data, err := os.ReadFile("testdata/errors.segql")
	if err != nil {
		t.Fatal(err)
	}
	for i, line := range strings.Split(string(data), "\n") {
		if strings.TrimSpace(line) == "" || strings.HasPrefix(line, "//") {
			continue
		}
		type want struct {
			col int
			rx  *regexp.Regexp
		}
		var wants []want
		var clean strings.Builder
		rest := line
		for {
			loc := errorMarker.FindStringSubmatchIndex(rest)
			if loc == nil {
				clean.WriteString(rest)
				break
			}
			clean.WriteString(rest[:loc[0]])
			rx, err := strconv.Unquote(rest[loc[2]:loc[3]])
			if err != nil {
				t.Fatalf("line %d: bad marker: %v", i+1, err)
			}
			wants = append(wants, want{col: clean.Len() + 1, rx: regexp.MustCompile(rx)})
			rest = rest[loc[1]:]
		}
		src := clean.String()
		_, _, errs := parser.Parse("", src)
		used := make([]bool, len(wants))
	next:
		for _, e := range errs {
			for j, w := range wants {
				if !used[j] && e.Pos.Line == 1 && e.Pos.Column == w.col && w.rx.MatchString(string(e.Code)+": "+e.Msg) {
					used[j] = true
					continue next
				}
			}
			t.Errorf("line %d: %s\n  unexpected error %s (%s)", i+1, src, e, e.Code)
		}
		for j, w := range wants {
			if !used[j] {
				t.Errorf("line %d: %s\n  missing error at column %d matching %q", i+1, src, w.col, w.rx)
			}
		}
	}
}

// TestRoundTrip: for every seed, parse → print → parse gives the same tree
// (compared through its JSON form, which has no positions or Paren nodes),
// printing is idempotent, and text → JSON → text is lossless.
func TestRoundTrip(t *testing.T) {
	n := 0
	for _, src := range seeds(t) {
		_, x, errs := parser.Parse("", src)
		if len(errs) > 0 {
			continue
		}
		n++
		roundTrip(t, src, x)
	}
	if n < 30 {
		t.Fatalf("only %d seeds parsed", n)
	}
}

func roundTrip(t testing.TB, src string, x ast.Expr) {
	t.Helper()
	text := printer.String(x)
	_, y, errs := parser.Parse("", text)
	if len(errs) > 0 {
		t.Fatalf("%q printed as %q, which does not parse: %v", src, text, errs)
	}
	if again := printer.String(y); again != text {
		t.Fatalf("printing is not idempotent:\n%s\n%s", text, again)
	}
	jx, err := tree.Encode(x)
	if err != nil {
		t.Fatalf("%q: encode: %v", src, err)
	}
	jy, _ := tree.Encode(y)
	if string(jx) != string(jy) {
		t.Fatalf("%q: tree changed by print/parse:\n%s\n%s", src, jx, jy)
	}
	z, err := tree.Decode(jx)
	if err != nil {
		t.Fatalf("%q: decode %s: %v", src, jx, err)
	}
	if got := printer.String(z); got != text {
		t.Fatalf("text → JSON → text lost something:\n%s\n%s", text, got)
	}
}

func FuzzParsePrintParse(f *testing.F) {
	for _, s := range seeds(f) {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, src string) {
		_, x, errs := parser.Parse("", src)
		if x == nil {
			t.Fatal("nil tree")
		}
		for _, e := range errs {
			if e.Pos.Offset < 0 || e.Pos.Offset > len(src) {
				t.Fatalf("error offset %d outside source", e.Pos.Offset)
			}
		}
		if len(errs) > 0 {
			return
		}
		checkSpans(t, src, x)
		roundTrip(t, src, x)
	})
}
