// Package parser builds the SegQL syntax tree from source text by recursive
// descent (precedence: not binds tighter than and, and tighter than or;
// parentheses group). Keywords are contextual: a word is a keyword only where
// the grammar expects one, so traits may be named "count" or "last".
//
// On a syntax error the parser records it, skips to the next and/or/")" at
// the same nesting depth, leaves an ast.BadExpr in the tree and goes on, so
// that one run reports every error. The grammar is in docs/segql.md.
//
// It imports segql/token, segql/scanner and segql/ast only; it must not
// import the checker, the engine or the store.
package parser

import (
	"fmt"
	"strconv"

	"github.com/segd/segd/internal/segql/ast"
	"github.com/segd/segd/internal/segql/scanner"
	"github.com/segd/segd/internal/segql/token"
)

// maxDepth bounds nesting of parentheses and "not", so hostile input cannot
// exhaust the stack.
const maxDepth = 500

// Parse parses one SegQL condition. name labels positions in errors and may be
// empty. The tree is non-nil even when there are errors (it then holds
// BadExpr nodes); use it only when the list has no errors.
func Parse(name, src string) (*token.File, ast.Expr, scanner.ErrorList) {
	p := &parser{file: token.NewFile(name, src)}
	sc := scanner.New(src, func(pos, end token.Pos, code scanner.Code, msg string) {
		p.errs.Add(p.file.Position(pos), p.file.Position(end), code, msg)
	})
	p.toks = sc.All()
	p.tok = p.toks[0]
	x := p.parseQuery()
	p.errs.Sort()
	return p.file, x, p.errs
}

// ParseExpr parses src and returns the tree, or the error list as an error.
func ParseExpr(src string) (ast.Expr, error) {
	_, x, errs := Parse("", src)
	if err := errs.Err(); err != nil {
		return nil, err
	}
	return x, nil
}

type parser struct {
	file  *token.File
	toks  []token.Token
	i     int
	tok   token.Token // toks[i]
	prev  token.Token // the token consumed last
	paren int         // depth of ( and [ consumed so far
	depth int         // recursion depth of nested conditions
	errs  scanner.ErrorList
}

// bailout unwinds a construct after its first error; parsePrimary recovers.
type bailout struct{}

func (p *parser) next() {
	switch p.tok.Kind {
	case token.LParen, token.LBrack:
		p.paren++
	case token.RParen, token.RBrack:
		p.paren--
	}
	p.prev = p.tok
	if p.i < len(p.toks)-1 {
		p.i++
	}
	p.tok = p.toks[p.i]
}

func (p *parser) peek(n int) token.Token {
	if p.i+n < len(p.toks) {
		return p.toks[p.i+n]
	}
	return p.toks[len(p.toks)-1]
}

func (p *parser) isWord(w string) bool { return p.tok.Kind == token.Ident && p.tok.Text == w }

func (p *parser) peekWord(n int, w string) bool {
	t := p.peek(n)
	return t.Kind == token.Ident && t.Text == w
}

func (p *parser) errorAt(pos, end token.Pos, code scanner.Code, msg string) {
	if n := len(p.errs); n > 0 && p.errs[n-1].Pos.Offset == int(pos) {
		return // one error per place: the first is the useful one
	}
	p.errs.Add(p.file.Position(pos), p.file.Position(end), code, msg)
}

func (p *parser) fail(t token.Token, code scanner.Code, msg string) {
	p.errorAt(t.Pos, t.End, code, msg)
	panic(bailout{})
}

func (p *parser) failf(t token.Token, code scanner.Code, format string, args ...any) {
	p.fail(t, code, fmt.Sprintf(format, args...))
}

// describe names a token for "found ..." in messages.
func describe(t token.Token) string {
	switch t.Kind {
	case token.Ident:
		return strconv.Quote(t.Text)
	case token.QuotedIdent:
		return "`" + t.Text + "`"
	case token.String:
		return "string " + strconv.Quote(t.Text)
	case token.Int, token.Float, token.Date, token.Time:
		return t.Text
	case token.Percent:
		return t.Text + "%"
	case token.EOF:
		return "end of input"
	}
	return strconv.Quote(t.Kind.String())
}

func (p *parser) expect(k token.Kind, context string) token.Token {
	t := p.tok
	if t.Kind != k {
		p.failf(t, scanner.Syntax, "expected %q %s, found %s", k.String(), context, describe(t))
	}
	p.next()
	return t
}

func (p *parser) expectWord(w, context string) token.Token {
	t := p.tok
	if !p.isWord(w) {
		p.failf(t, scanner.Syntax, "expected %q %s, found %s", w, context, describe(t))
	}
	p.next()
	return t
}

// ---- conditions ----

func (p *parser) parseQuery() ast.Expr {
	if p.tok.Kind == token.EOF {
		p.errorAt(p.tok.Pos, p.tok.End, scanner.Syntax, "empty segment: expected a condition")
		return &ast.BadExpr{From: p.tok.Pos, To: p.tok.End}
	}
	x := p.parseOr(false)
	for p.tok.Kind != token.EOF {
		t := p.tok
		if t.Kind == token.RParen {
			p.errorAt(t.Pos, t.End, scanner.Syntax, `unmatched ")"`)
			p.next()
			continue
		}
		p.errorAt(t.Pos, t.End, scanner.Syntax, "expected and, or or end of input, found "+describe(t))
		// Read on as if "and" were there, to report what follows too.
		start := p.i
		p.parseOr(false)
		if p.i == start {
			p.next()
		}
	}
	return x
}

func (p *parser) parseOr(filter bool) ast.Expr {
	x := p.parseAnd(filter)
	if !p.isWord("or") {
		return x
	}
	list := []ast.Expr{x}
	for p.isWord("or") {
		p.next()
		list = append(list, p.parseAnd(filter))
	}
	return &ast.Or{List: list}
}

func (p *parser) parseAnd(filter bool) ast.Expr {
	x := p.parseNot(filter)
	if !p.isWord("and") {
		return x
	}
	list := []ast.Expr{x}
	for p.isWord("and") {
		p.next()
		list = append(list, p.parseNot(filter))
	}
	return &ast.And{List: list}
}

func (p *parser) parseNot(filter bool) ast.Expr {
	if !p.isWord("not") {
		return p.parsePrimary(filter)
	}
	pos := p.tok.Pos
	p.depth++
	defer func() { p.depth-- }()
	if p.depth > maxDepth {
		return p.parsePrimary(filter) // reports TooDeep
	}
	p.next()
	return &ast.Not{NotPos: pos, X: p.parseNot(filter)}
}

// parsePrimary parses one condition, recovering from its first error.
func (p *parser) parsePrimary(filter bool) (x ast.Expr) {
	start, depth := p.tok.Pos, p.paren
	defer func() {
		if r := recover(); r != nil {
			if _, ok := r.(bailout); !ok {
				panic(r)
			}
			p.sync(depth)
			end := p.prev.End
			if end < start {
				end = start
			}
			x = &ast.BadExpr{From: start, To: end}
		}
	}()
	if p.depth > maxDepth {
		p.fail(p.tok, scanner.TooDeep, "conditions nested too deeply")
	}
	return p.primary(filter)
}

// sync skips to a token that may follow a condition at nesting depth d:
// and, or, then, a closing bracket of an enclosing group, or the end.
func (p *parser) sync(d int) {
	for p.tok.Kind != token.EOF {
		if p.paren <= d {
			switch {
			case p.tok.Kind == token.RParen || p.tok.Kind == token.RBrack:
				return
			case p.isWord("and") || p.isWord("or") || p.isWord("then"):
				return
			}
		}
		p.next()
	}
}

// construct names the behaviour construct starting at the current token, or "".
func (p *parser) construct() string {
	if p.tok.Kind != token.Ident {
		return ""
	}
	w, next := p.tok.Text, p.peek(1)
	switch w {
	case "in":
		if p.peekWord(1, "segment") {
			return "in segment"
		}
	case "did":
		if next.Kind == token.String || p.peekWord(1, "page") || p.peekWord(1, "screen") || p.peekWord(1, "any") || p.peekWord(1, "record") {
			return w
		}
	case "has":
		if p.peekWord(1, "record") {
			return "has record"
		}
	case "first_seen", "last_seen", "sequence", "sample":
		if next.Kind == token.LParen {
			return w
		}
	default:
		if _, ok := ast.ParseAggFunc(w); ok && next.Kind == token.LParen {
			return w
		}
	}
	return ""
}

func (p *parser) primary(filter bool) ast.Expr {
	t := p.tok
	switch t.Kind {
	case token.LParen:
		p.next()
		p.depth++
		x := p.parseOr(filter)
		p.depth--
		r := p.expect(token.RParen, "to close the group")
		return &ast.Paren{Lparen: t.Pos, X: x, Rparen: r.Pos}
	case token.QuotedIdent:
		return p.parseTraitCond(filter)
	case token.Ident:
		c := p.construct()
		if c != "" && filter {
			p.failf(t, scanner.BadFilter, "%s is not allowed in a where filter (filters test event properties or record attributes)", c)
		}
		switch c {
		case "":
			return p.parseTraitCond(filter)
		case "in segment":
			return p.parseInSegment()
		case "did":
			return p.parseDid()
		case "has record":
			return p.parseHasRecord()
		case "first_seen", "last_seen":
			return p.parseSeen()
		case "sequence":
			return p.parseSequence()
		case "sample":
			return p.parseSample()
		default:
			return p.parseAggregate()
		}
	}
	p.fail(t, scanner.Syntax, "expected a condition, found "+describe(t))
	return nil
}

func (p *parser) parseIdent() *ast.Ident {
	t := p.tok
	if t.Kind != token.Ident && t.Kind != token.QuotedIdent {
		p.fail(t, scanner.Syntax, "expected a name, found "+describe(t))
	}
	p.next()
	return &ast.Ident{NamePos: t.Pos, NameEnd: t.End, Name: t.Text}
}

func compareOp(k token.Kind) (ast.CompareOp, bool) {
	switch k {
	case token.Eq:
		return ast.Eq, true
	case token.Neq:
		return ast.Neq, true
	case token.Lt:
		return ast.Lt, true
	case token.Le:
		return ast.Le, true
	case token.Gt:
		return ast.Gt, true
	case token.Ge:
		return ast.Ge, true
	}
	return 0, false
}

var timeWords = map[string]bool{"before": true, "after": true, "between": true, "since": true, "this": true, "today": true}

// parseTraitCond parses NAME followed by an operator. In a where filter only
// comparisons, lists, existence and text matching are allowed.
func (p *parser) parseTraitCond(filter bool) ast.Expr {
	name := p.parseIdent()
	t := p.tok
	if op, ok := compareOp(t.Kind); ok {
		p.next()
		return &ast.Compare{Name: name, OpPos: t.Pos, Op: op, Value: p.parseValue()}
	}
	if t.Kind != token.Ident {
		p.failf(t, scanner.Syntax, "expected an operator after %s, found %s", quoteName(name.Name), describe(t))
	}
	switch w := t.Text; {
	case w == "in" && p.peek(1).Kind == token.LBrack:
		p.next()
		return p.parseList(name, false)
	case w == "not" && p.peekWord(1, "in"):
		p.next()
		p.next()
		if p.tok.Kind != token.LBrack {
			p.failf(p.tok, scanner.Syntax, `expected "[" after not in, found %s`, describe(p.tok))
		}
		return p.parseList(name, true)
	case w == "exists":
		p.next()
		return &ast.Exists{Name: name, WordEnd: t.End}
	case w == "is":
		p.next()
		missing := true
		if p.isWord("not") {
			p.next()
			missing = false
		}
		end := p.expectWord("missing", "after is").End
		return &ast.Exists{Name: name, Missing: missing, WordEnd: end}
	case w == "contains" || w == "matches" || w == "starts" || w == "ends":
		p.next()
		op := ast.Contains
		switch w {
		case "matches":
			op = ast.Matches
		case "starts":
			p.expectWord("with", "after starts")
			op = ast.StartsWith
		case "ends":
			p.expectWord("with", "after ends")
			op = ast.EndsWith
		}
		s := p.tok
		if s.Kind != token.String {
			p.failf(s, scanner.Syntax, "expected a string after %s, found %s", op, describe(s))
		}
		p.next()
		return &ast.TextMatch{Name: name, OpPos: t.Pos, Op: op, Value: &ast.StringLit{ValuePos: s.Pos, ValueEnd: s.End, Value: s.Text}}
	case filter && (timeWords[w] || w == "in" || w == "anniversary" || w == "within"):
		p.failf(t, scanner.BadFilter, "%q is not allowed on a property in a where filter (compare with <, >, = instead; a window goes after the filter)", w)
	case w == "in" && (p.peekWord(1, "last") || p.peekWord(1, "next") || p.peekWord(1, "this")), timeWords[w]:
		return &ast.TimeCond{Name: name, When: p.parseTimePredicate()}
	case w == "anniversary":
		p.next()
		when := p.parseTimePredicate()
		switch when.(type) {
		case *ast.LastWindow, *ast.NextWindow, *ast.ThisWindow:
		default:
			p.errorAt(when.Pos(), when.End(), scanner.Syntax, "anniversary takes in last N days, in next N days, this week|month|year or today")
		}
		return &ast.Anniversary{Name: name, KwPos: t.Pos, When: when}
	case w == "within":
		return p.parseGeo(name)
	}
	p.failf(t, scanner.Syntax, "expected an operator after %s, found %s", quoteName(name.Name), describe(t))
	return nil
}

func quoteName(n string) string {
	if scanner.IsIdent(n) {
		return n
	}
	return "`" + n + "`"
}

func (p *parser) parseList(name *ast.Ident, not bool) *ast.In {
	lb := p.expect(token.LBrack, "to start the list")
	x := &ast.In{Name: name, Not: not, Lbrack: lb.Pos}
	for p.tok.Kind != token.RBrack {
		x.List = append(x.List, p.parseValue())
		if p.tok.Kind != token.Comma {
			break
		}
		p.next()
	}
	x.Rbrack = p.expect(token.RBrack, "to end the list").Pos
	if len(x.List) == 0 {
		p.errorAt(lb.Pos, x.Rbrack+1, scanner.Syntax, "empty list")
	}
	return x
}

func (p *parser) parseGeo(name *ast.Ident) *ast.Geo {
	p.expectWord("within", "")
	g := &ast.Geo{Name: name, Distance: p.parseNumber(false)}
	u := p.tok
	unit, ok := ast.DistUnit(0), false
	if u.Kind == token.Ident {
		unit, ok = ast.ParseDistUnit(u.Text)
	}
	if !ok {
		p.failf(u, scanner.Syntax, "expected a distance unit (km, mi or m), found %s", describe(u))
	}
	p.next()
	g.Unit = unit
	p.expectWord("of", "after the distance")
	p.expect(token.LParen, "before the latitude")
	g.Lat = p.parseNumber(false)
	p.expect(token.Comma, "between latitude and longitude")
	g.Lon = p.parseNumber(false)
	g.Rparen = p.expect(token.RParen, "after the longitude").Pos
	return g
}
