package engine

import (
	"fmt"
	"math"
	"regexp"
	"strings"

	"github.com/segd/segd/internal/index"
	"github.com/segd/segd/internal/segql/ast"
)

// valuePred tests one classified value (a trait of a profile, a property of an event row, an
// attribute of a record). A missing value has Kind index.None.
//
// The comparison rules, shared by all three:
//   - = holds when the value has the literal's kind and equals it; in when = holds for an element;
//   - != and not in hold when the value exists and = (in) does not;
//   - < <= > >= hold for numbers, times and texts (byte order) of the literal's kind;
//   - every test but "is missing" is false for a missing value.
type valuePred func(v index.Value) bool

// leaf is a compiled test on one name.
type leaf struct {
	name string
	pred valuePred
	node ast.Expr
}

func literalValue(v ast.Value, c clock) (index.Value, error) {
	switch v := v.(type) {
	case *ast.StringLit:
		return index.Value{Kind: index.Text, Str: v.Value}, nil
	case *ast.NumberLit:
		return index.Value{Kind: index.Number, Num: v.Float()}, nil
	case *ast.BoolLit:
		return index.Value{Kind: index.Bool, Bool: v.Value}, nil
	case ast.TimeValue:
		ns, err := c.timeValue(v)
		return index.Value{Kind: index.Time, Nano: ns}, err
	}
	return index.Value{}, fmt.Errorf("engine: unsupported literal %T", v)
}

func equal(v, lit index.Value) bool {
	if v.Kind != lit.Kind {
		return false
	}
	switch v.Kind {
	case index.Text:
		return v.Str == lit.Str
	case index.Number:
		return v.Num == lit.Num
	case index.Time:
		return v.Nano == lit.Nano
	case index.Bool:
		return v.Bool == lit.Bool
	}
	return false
}

// order compares v with lit of the same orderable kind; ok is false otherwise.
func order(v, lit index.Value) (c int, ok bool) {
	if v.Kind != lit.Kind {
		return 0, false
	}
	switch v.Kind {
	case index.Text:
		return strings.Compare(v.Str, lit.Str), true
	case index.Number:
		switch {
		case v.Num < lit.Num:
			return -1, true
		case v.Num > lit.Num:
			return 1, true
		case v.Num == lit.Num:
			return 0, true
		}
		return 0, false // NaN
	case index.Time:
		switch {
		case v.Nano < lit.Nano:
			return -1, true
		case v.Nano > lit.Nano:
			return 1, true
		}
		return 0, true
	}
	return 0, false
}

func compareHolds(op ast.CompareOp, v, lit index.Value) bool {
	switch op {
	case ast.Eq:
		return equal(v, lit)
	case ast.Neq:
		return v.Kind != index.None && !equal(v, lit)
	}
	c, ok := order(v, lit)
	if !ok {
		return false
	}
	switch op {
	case ast.Lt:
		return c < 0
	case ast.Le:
		return c <= 0
	case ast.Gt:
		return c > 0
	case ast.Ge:
		return c >= 0
	}
	return false
}

func textMatcher(op ast.TextOp, s string) (func(string) bool, error) {
	switch op {
	case ast.Contains:
		return func(v string) bool { return strings.Contains(v, s) }, nil
	case ast.StartsWith:
		return func(v string) bool { return strings.HasPrefix(v, s) }, nil
	case ast.EndsWith:
		return func(v string) bool { return strings.HasSuffix(v, s) }, nil
	case ast.Matches:
		re, err := regexp.Compile(s)
		if err != nil {
			return nil, fmt.Errorf("engine: bad pattern %q: %w", s, err)
		}
		return re.MatchString, nil
	}
	return nil, fmt.Errorf("engine: unknown text operator %v", op)
}

// compileLeaf compiles a test on one name (a trait, property or attribute).
func compileLeaf(x ast.Expr, c clock) (leaf, error) {
	switch n := x.(type) {
	case *ast.Compare:
		lit, err := literalValue(n.Value, c)
		if err != nil {
			return leaf{}, err
		}
		op := n.Op
		return leaf{n.Name.Name, func(v index.Value) bool { return compareHolds(op, v, lit) }, x}, nil
	case *ast.In:
		lits := make([]index.Value, len(n.List))
		for i, l := range n.List {
			var err error
			if lits[i], err = literalValue(l, c); err != nil {
				return leaf{}, err
			}
		}
		not := n.Not
		return leaf{n.Name.Name, func(v index.Value) bool {
			if v.Kind == index.None {
				return false
			}
			for _, l := range lits {
				if equal(v, l) {
					return !not
				}
			}
			return not
		}, x}, nil
	case *ast.Exists:
		missing := n.Missing
		return leaf{n.Name.Name, func(v index.Value) bool { return (v.Kind == index.None) == missing }, x}, nil
	case *ast.TextMatch:
		m, err := textMatcher(n.Op, n.Value.Value)
		if err != nil {
			return leaf{}, err
		}
		s, contains := n.Value.Value, n.Op == ast.Contains
		return leaf{n.Name.Name, func(v index.Value) bool {
			switch v.Kind {
			case index.Text:
				return m(v.Str)
			case index.List:
				if !contains {
					return false
				}
				for _, e := range v.Raw.([]any) {
					if es, ok := e.(string); ok && es == s {
						return true
					}
				}
			}
			return false
		}, x}, nil
	case *ast.TimeCond:
		sp, err := c.predicate(n.When)
		if err != nil {
			return leaf{}, err
		}
		return leaf{n.Name.Name, func(v index.Value) bool { return v.Kind == index.Time && sp.has(v.Nano) }, x}, nil
	case *ast.Anniversary:
		sp, err := c.predicate(n.When)
		if err != nil {
			return leaf{}, err
		}
		days := c.anniversaryDays(sp)
		return leaf{n.Name.Name, func(v index.Value) bool {
			if v.Kind != index.Time {
				return false
			}
			m, d := monthDay(v.Nano)
			return days[m][d]
		}, x}, nil
	case *ast.Geo:
		lat, lon := n.Lat.Value, n.Lon.Value
		limit := n.Unit.Meters(n.Distance.Value)
		// The great-circle distance is at least the arc between the two latitudes, so a point
		// whose latitude differs by more than limit (plus a margin for rounding) is too far:
		// this skips the trigonometry for nearly every point.
		maxDLat := (limit*(1+1e-9) + 1e-3) / earthRadius * 180 / math.Pi
		return leaf{n.Name.Name, func(v index.Value) bool {
			if v.Kind != index.Geo || math.Abs(v.Num-lat) > maxDLat {
				return false
			}
			return haversine(v.Num, v.Lon, lat, lon) <= limit
		}, x}, nil
	}
	return leaf{}, fmt.Errorf("engine: %T is not a test on a name", x)
}

// rowPred tests one row of an event table.
type rowPred func(row int) bool

func constRow(b bool) rowPred { return func(int) bool { return b } }

// compileRow compiles a where filter for the rows of an event table or record table, given
// its columns. Common tests on text and numbers read the column arrays directly; everything
// else goes through the value rules.
func compileRow(x ast.Expr, cols map[string]*index.Column, c clock) (rowPred, error) {
	switch n := x.(type) {
	case nil:
		return nil, nil
	case *ast.Paren:
		return compileRow(n.X, cols, c)
	case *ast.Not:
		p, err := compileRow(n.X, cols, c)
		if err != nil {
			return nil, err
		}
		return func(r int) bool { return !p(r) }, nil
	case *ast.And, *ast.Or:
		var list []ast.Expr
		and := false
		if a, ok := n.(*ast.And); ok {
			list, and = a.List, true
		} else {
			list = n.(*ast.Or).List
		}
		preds := make([]rowPred, len(list))
		for i, y := range list {
			var err error
			if preds[i], err = compileRow(y, cols, c); err != nil {
				return nil, err
			}
		}
		if and {
			return func(r int) bool {
				for _, p := range preds {
					if !p(r) {
						return false
					}
				}
				return true
			}, nil
		}
		return func(r int) bool {
			for _, p := range preds {
				if p(r) {
					return true
				}
			}
			return false
		}, nil
	}
	lf, err := compileLeaf(x, c)
	if err != nil {
		return nil, err
	}
	col := cols[lf.name]
	if col == nil {
		return constRow(lf.pred(index.Value{})), nil
	}
	if p := fastRow(x, col, lf, c); p != nil {
		return p, nil
	}
	return func(r int) bool { return lf.pred(col.Get(r)) }, nil
}

// fastRow returns a direct column test for the common shapes, or nil.
func fastRow(x ast.Expr, col *index.Column, lf leaf, c clock) rowPred {
	switch n := x.(type) {
	case *ast.Compare:
		lit, err := literalValue(n.Value, c)
		if err != nil {
			return nil
		}
		switch {
		case lit.Kind == index.Text && n.Op == ast.Eq:
			code := col.Code(lit.Str)
			if code == 0 {
				return constRow(false)
			}
			codes := col.Codes
			// a column's arrays end at its last row with a value (as Column.Get knows)
			return func(r int) bool { return r < len(codes) && codes[r] == code }
		case lit.Kind == index.Number && n.Op != ast.Neq:
			nums, set, op := col.Nums, col.NumSet, n.Op
			return func(r int) bool {
				return set.Has(r) && compareHolds(op, index.Value{Kind: index.Number, Num: nums[r]}, lit)
			}
		}
	case *ast.In:
		if n.Not {
			return nil
		}
		want := make([]bool, len(col.Values))
		for _, l := range n.List {
			if s, ok := l.(*ast.StringLit); ok {
				if code := col.Code(s.Value); code != 0 {
					want[code] = true
				}
			} else {
				return nil
			}
		}
		codes := col.Codes
		if codes == nil {
			return constRow(false)
		}
		return func(r int) bool { return r < len(codes) && want[codes[r]] }
	case *ast.TextMatch:
		m, err := textMatcher(n.Op, n.Value.Value)
		if err != nil {
			return nil
		}
		codes := col.Codes
		if codes == nil {
			return nil
		}
		want := make([]bool, len(col.Values))
		for code := 1; code < len(col.Values); code++ {
			want[code] = m(col.Values[code])
		}
		if n.Op == ast.Contains && col.HasOthers() {
			// a row without text may hold a list, which contains tests element-wise
			return func(r int) bool {
				if r < len(codes) && codes[r] != 0 {
					return want[codes[r]]
				}
				return lf.pred(col.Get(r))
			}
		}
		return func(r int) bool { return r < len(codes) && want[codes[r]] }
	}
	return nil
}
