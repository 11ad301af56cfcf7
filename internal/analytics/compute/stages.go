package compute

import (
	"context"
	"fmt"
	"github.com/segd/segd/internal/segment"

	"github.com/RoaringBitmap/roaring/v2"
	"github.com/segd/segd/internal/engine"
	"github.com/segd/segd/internal/index"
	"github.com/segd/segd/internal/segql/ast"
	"github.com/segd/segd/internal/segql/check"
	"github.com/segd/segd/internal/segql/parser"
	"github.com/segd/segd/internal/segql/scanner"
)

// CheckSchema converts the index's discovered schema into the checker's, with the computed
// traits known even before they have values.
func CheckSchema(s index.Schema) *check.Schema { return segment.CheckSchema(s, nil) }

// CompileRule parses and checks a stage condition against the schema.
func CompileRule(src string, schema *check.Schema) (ast.Expr, error) {
	file, x, errs := parser.Parse("rule", src)
	if errs.HasErrors() {
		return nil, errs.Err()
	}
	if _, errs := check.Check(file, x, schema, check.Options{}); errs.HasErrors() {
		return nil, errs.Err()
	}
	return x, nil
}

// Stages evaluates stage rules over the live profiles of ix at at: the first matching rule
// gives a profile its stage. It returns one member set per rule (disjoint). A rule that
// names a trait or event the workspace has never seen matches nobody instead of failing.
func Stages(ctx context.Context, ix *index.Index, rules []StageRule, schema *check.Schema, o engine.Options) ([]*roaring.Bitmap, error) {
	snap := ix.Acquire()
	remaining := snap.Live().Clone()
	snap.Release()
	eng := engine.New(ix)
	out := make([]*roaring.Bitmap, len(rules))
	for i, r := range rules {
		var got *roaring.Bitmap
		if r.Condition == "" {
			got = remaining.Clone()
		} else {
			x, err := CompileRule(r.Condition, schema)
			if err != nil {
				if onlyUnknownNames(r.Condition, schema) {
					out[i] = roaring.New()
					continue
				}
				return nil, fmt.Errorf("compute: stage %q: %w", r.Stage, err)
			}
			got, _, err = eng.Evaluate(ctx, x, o)
			if err != nil {
				return nil, fmt.Errorf("compute: stage %q: %w", r.Stage, err)
			}
			got.And(remaining)
		}
		remaining.AndNot(got)
		out[i] = got
	}
	return out, nil
}

// onlyUnknownNames reports whether the rule fails to check only because it names traits or
// events the workspace has never seen (no e-mails or carts yet): such a rule matches nobody.
func onlyUnknownNames(src string, schema *check.Schema) bool {
	file, x, errs := parser.Parse("rule", src)
	if errs.HasErrors() {
		return false
	}
	_, errs = check.Check(file, x, schema, check.Options{})
	for _, e := range errs {
		if e.Severity == scanner.SevWarning {
			continue
		}
		if e.Code != scanner.UnknownTrait && e.Code != scanner.UnknownEvent {
			return false
		}
	}
	return true
}
