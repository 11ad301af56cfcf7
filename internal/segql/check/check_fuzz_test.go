package check_test

import (
	"bufio"
	"os"
	"strings"
	"testing"

	"github.com/segd/segd/internal/segql/check"
	"github.com/segd/segd/internal/segql/parser"
)

// FuzzCheck: the checker never panics on any parsed input, even a partial tree with syntax
// errors, against a schema with traits, events, records and segments; it is deterministic, and
// every diagnostic lies within the source.
func FuzzCheck(f *testing.F) {
	if file, err := os.Open("../parser/testdata/examples.segql"); err == nil {
		sc := bufio.NewScanner(file)
		for sc.Scan() {
			line, _, _ := strings.Cut(sc.Text(), " #")
			f.Add(strings.TrimSpace(line))
		}
		file.Close()
	}
	for _, s := range []string{`in segment "vip"`, `in segment "a" and in segment "a"`, `count("x" where y > "z" in last 0 days) > -1`,
		`age between 1 and "x"`, `email exists and`, `((((`, `sum(revenue of "Order Completed" in last 90 days) >= "a"`} {
		f.Add(s)
	}
	schema := testSchema()
	f.Fuzz(func(t *testing.T, src string) {
		file, x, _ := parser.Parse("", src)
		if x == nil {
			return
		}
		for _, seg := range []string{"", "vip"} {
			_, errs1 := check.Check(file, x, schema, check.Options{Segment: seg})
			_, errs2 := check.Check(file, x, schema, check.Options{Segment: seg})
			if len(errs1) != len(errs2) {
				t.Fatalf("%q: checker not deterministic: %d then %d diagnostics", src, len(errs1), len(errs2))
			}
			for i, e := range errs1 {
				if e.Pos.Offset < 0 || e.Pos.Offset > len(src) || e.End.Offset > len(src) {
					t.Fatalf("%q: diagnostic %q at %d..%d outside the source", src, e.Msg, e.Pos.Offset, e.End.Offset)
				}
				if errs2[i].Error() != e.Error() {
					t.Fatalf("%q: diagnostic %d differs: %q / %q", src, i, e, errs2[i])
				}
			}
		}
		// no schema at all
		check.Check(file, x, nil, check.Options{})
	})
}
