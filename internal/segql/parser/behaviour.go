package parser

import (
	"strconv"

	"github.com/segd/segd/internal/segql/ast"
	"github.com/segd/segd/internal/segql/scanner"
	"github.com/segd/segd/internal/segql/token"
)

// ---- behaviour constructs ----

func (p *parser) parseWhere() ast.Expr {
	if !p.isWord("where") {
		return nil
	}
	p.next()
	return p.parseOr(true)
}

func (p *parser) parseEventTarget() *ast.EventTarget {
	t := p.tok
	switch {
	case t.Kind == token.String:
		p.next()
		return &ast.EventTarget{KindPos: t.Pos, Kind: ast.TrackEvent, Name: t.Text, EndPos: t.End}
	case p.isWord("page") || p.isWord("screen"):
		p.next()
		e := &ast.EventTarget{KindPos: t.Pos, Kind: ast.PageEvent, EndPos: t.End}
		if t.Text == "screen" {
			e.Kind = ast.ScreenEvent
		}
		if p.tok.Kind == token.String {
			e.Name, e.EndPos = p.tok.Text, p.tok.End
			p.next()
		}
		return e
	case p.isWord("any"):
		p.next()
		end := p.expectWord("event", "after any").End
		return &ast.EventTarget{KindPos: t.Pos, Kind: ast.AnyEvent, EndPos: end}
	case p.isWord("record"):
		p.fail(t, scanner.Syntax, "records are not events here; use count(record ...) or has record")
	}
	p.fail(t, scanner.Syntax, `expected an event ("Event Name", page, screen or any event), found `+describe(t))
	return nil
}

func (p *parser) parseRecordTarget() *ast.RecordTarget {
	r := p.expectWord("record", "")
	t := p.tok
	if t.Kind != token.String {
		p.fail(t, scanner.Syntax, `expected a record type string after record, e.g. record "tickets", found `+describe(t))
	}
	p.next()
	return &ast.RecordTarget{RecordPos: r.Pos, Type: t.Text, EndPos: t.End}
}

func (p *parser) parseAggregate() *ast.Aggregate {
	t := p.tok
	fn, _ := ast.ParseAggFunc(t.Text)
	p.next()
	p.expect(token.LParen, "after "+t.Text)
	a := &ast.Aggregate{FuncPos: t.Pos, Func: fn}
	if (p.tok.Kind == token.Ident || p.tok.Kind == token.QuotedIdent) && p.peekWord(1, "of") {
		a.Of = p.parseIdent()
		p.next()
	}
	if fn == ast.Count && a.Of != nil {
		p.errorAt(a.Of.Pos(), a.Of.End(), scanner.Syntax, `count takes no property: write count("Event" where `+quoteName(a.Of.Name)+" exists)")
	}
	if fn != ast.Count && a.Of == nil {
		p.errorAt(p.tok.Pos, p.tok.End, scanner.Syntax, fn.String()+` needs a property: `+fn.String()+`(PROPERTY of "Event" ...)`)
	}
	if p.isWord("record") {
		a.Target = p.parseRecordTarget()
	} else {
		a.Target = p.parseEventTarget()
	}
	a.Where = p.parseWhere()
	a.Window = p.parseWindow()
	a.Rparen = p.expect(token.RParen, "to close "+fn.String()+"(...)").Pos
	op, ok := compareOp(p.tok.Kind)
	if !ok {
		p.failf(p.tok, scanner.Syntax, "expected a comparison (= != < <= > >=) after %s(...), found %s", fn, describe(p.tok))
	}
	a.OpPos, a.Op = p.tok.Pos, op
	p.next()
	a.Value = p.parseNumber(false)
	return a
}

func (p *parser) parseDid() *ast.Did {
	d := &ast.Did{DidPos: p.tok.Pos}
	p.next()
	d.Event = p.parseEventTarget()
	d.Where = p.parseWhere()
	d.Window = p.parseWindow()
	return d
}

func (p *parser) parseHasRecord() *ast.HasRecord {
	h := &ast.HasRecord{HasPos: p.tok.Pos}
	p.next()
	h.Record = p.parseRecordTarget()
	h.Where = p.parseWhere()
	return h
}

func (p *parser) parseSeen() *ast.Seen {
	t := p.tok
	s := &ast.Seen{FuncPos: t.Pos, Last: t.Text == "last_seen"}
	p.next()
	p.expect(token.LParen, "after "+t.Text)
	s.Event = p.parseEventTarget()
	s.Where = p.parseWhere()
	if w := p.tok; p.isWord("in") || timeWords[w.Text] && w.Kind == token.Ident {
		p.failf(w, scanner.Syntax, "%s(...) takes no window; put the time condition after the parenthesis: %s(...) in last 30 days", t.Text, t.Text)
	}
	s.Rparen = p.expect(token.RParen, "to close "+t.Text+"(...)").Pos
	s.When = p.parseTimePredicate()
	return s
}

func (p *parser) parseSequence() *ast.Sequence {
	s := &ast.Sequence{SeqPos: p.tok.Pos}
	p.next()
	p.expect(token.LParen, "after sequence")
	for {
		st := &ast.SeqStep{NotPos: token.NoPos}
		if p.isWord("not") {
			st.Not, st.NotPos = true, p.tok.Pos
			p.next()
		}
		st.Event = p.parseEventTarget()
		st.Where = p.parseWhere()
		s.Steps = append(s.Steps, st)
		if !p.isWord("then") {
			break
		}
		p.next()
	}
	if p.isWord("within") {
		p.next()
		d := p.parseDuration()
		s.Within = &d
	}
	s.Window = p.parseWindow()
	s.Rparen = p.expect(token.RParen, "to close sequence(...)").Pos
	if len(s.Steps) < 2 {
		p.errorAt(s.SeqPos, s.Rparen+1, scanner.BadSequence, `a sequence needs at least two steps: sequence("A" then "B" within 1 day)`)
	}
	for i, st := range s.Steps {
		if !st.Not {
			continue
		}
		switch {
		case i == 0:
			p.errorAt(st.NotPos, st.End(), scanner.BadSequence, "the first step of a sequence cannot be negated")
		case i < len(s.Steps)-1:
			p.errorAt(st.NotPos, st.End(), scanner.BadSequence, "only the last step of a sequence can be negated")
		case s.Within == nil:
			p.errorAt(st.NotPos, st.End(), scanner.BadSequence, `a negated step needs a time limit: then not "X" within 1 day`)
		}
	}
	return s
}

func (p *parser) parseSample() *ast.Sample {
	s := &ast.Sample{SamplePos: p.tok.Pos}
	p.next()
	p.expect(token.LParen, "after sample")
	if p.tok.Kind != token.Percent {
		p.fail(p.tok, scanner.BadPercent, "sample takes a percentage, e.g. sample(10%), found "+describe(p.tok))
	}
	s.Percent = p.parseNumber(true)
	s.Rparen = p.expect(token.RParen, "to close sample(...)").Pos
	return s
}

func (p *parser) parseInSegment() *ast.InSegment {
	s := &ast.InSegment{InPos: p.tok.Pos}
	p.next()
	p.next() // "segment"
	t := p.tok
	if t.Kind != token.String {
		p.fail(t, scanner.Syntax, `expected a segment name string after in segment, e.g. in segment "vip", found `+describe(t))
	}
	p.next()
	s.Segment = &ast.StringLit{ValuePos: t.Pos, ValueEnd: t.End, Value: t.Text}
	return s
}

// ---- windows and time ----

// parseWindow parses an optional event window: in last N unit, this P,
// today, since T, between A and B.
func (p *parser) parseWindow() ast.Window {
	switch {
	case p.isWord("in") && p.peekWord(1, "next"):
		p.errorAt(p.tok.Pos, p.peek(1).End, scanner.BadWindow, `events are in the past: use "in last", not "in next"`)
		panic(bailout{})
	case p.isWord("in") && (p.peekWord(1, "last") || p.peekWord(1, "this")),
		p.isWord("this"), p.isWord("today"), p.isWord("since"), p.isWord("between"):
		return p.parseTimePredicate().(ast.Window)
	case p.isWord("before") || p.isWord("after"):
		p.failf(p.tok, scanner.BadWindow, `%q is not an event window; use "between A and B" or "since T"`, p.tok.Text)
	}
	return nil
}

// parseTimePredicate parses a window or in next N unit, before T, after T.
func (p *parser) parseTimePredicate() ast.TimePredicate {
	t := p.tok
	if t.Kind != token.Ident {
		p.fail(t, scanner.Syntax, "expected a time condition (in last, in next, this, today, since, between, before, after), found "+describe(t))
	}
	switch t.Text {
	case "in":
		p.next()
		switch {
		case p.isWord("last"):
			p.next()
			return &ast.LastWindow{InPos: t.Pos, Dur: p.parseDuration()}
		case p.isWord("next"):
			p.next()
			return &ast.NextWindow{InPos: t.Pos, Dur: p.parseDuration()}
		case p.isWord("this"):
			p.next()
			return p.parseThis(t)
		}
		p.fail(p.tok, scanner.Syntax, `expected "last", "next" or "this" after in, found `+describe(p.tok))
	case "this":
		p.next()
		return p.parseThis(t)
	case "today":
		p.next()
		return &ast.ThisWindow{ThisPos: t.Pos, Period: ast.Day, EndPos: t.End}
	case "since":
		p.next()
		return &ast.SinceWindow{SincePos: t.Pos, Time: p.parseTimeValue()}
	case "between":
		p.next()
		from := p.parseTimeValue()
		p.expectWord("and", "between the two times")
		return &ast.BetweenWindow{BetweenPos: t.Pos, From: from, To: p.parseTimeValue()}
	case "before":
		p.next()
		return &ast.Before{BeforePos: t.Pos, Time: p.parseTimeValue()}
	case "after":
		p.next()
		return &ast.After{AfterPos: t.Pos, Time: p.parseTimeValue()}
	}
	p.fail(t, scanner.Syntax, "expected a time condition (in last, in next, this, today, since, between, before, after), found "+describe(t))
	return nil
}

// parseThis parses the period after "this" (or "in this"); start is the
// first word.
func (p *parser) parseThis(start token.Token) *ast.ThisWindow {
	u := p.tok
	per, ok := ast.Period(0), false
	if u.Kind == token.Ident {
		per, ok = ast.ParsePeriod(u.Text)
	}
	if !ok {
		p.fail(u, scanner.Syntax, "expected day, week, month or year after this, found "+describe(u))
	}
	p.next()
	return &ast.ThisWindow{ThisPos: start.Pos, Period: per, EndPos: u.End}
}

func (p *parser) parseDuration() ast.Duration {
	t := p.tok
	if t.Kind != token.Int {
		p.fail(t, scanner.BadDuration, "expected a whole number of units (e.g. 30 days), found "+describe(t))
	}
	n, err := strconv.ParseInt(t.Text, 10, 64)
	if err != nil || n <= 0 || n > 1_000_000 {
		p.errorAt(t.Pos, t.End, scanner.BadDuration, "duration must be between 1 and 1000000 units, found "+t.Text)
		if n <= 0 || err != nil {
			n = 1
		}
	}
	p.next()
	u := p.tok
	unit, ok := ast.Unit(0), false
	if u.Kind == token.Ident {
		unit, ok = ast.ParseUnit(u.Text)
	}
	if !ok {
		p.fail(u, scanner.BadDuration, "expected a time unit (seconds, minutes, hours, days, weeks, months, years), found "+describe(u))
	}
	p.next()
	return ast.Duration{NPos: t.Pos, UnitEnd: u.End, N: n, Unit: unit}
}

func (p *parser) isAgo() bool {
	if p.tok.Kind != token.Int || p.peek(1).Kind != token.Ident {
		return false
	}
	_, ok := ast.ParseUnit(p.peek(1).Text)
	return ok && p.peekWord(2, "ago")
}

func (p *parser) parseTimeValue() ast.TimeValue {
	t := p.tok
	switch {
	case t.Kind == token.Date || t.Kind == token.Time:
		p.next()
		tm, _ := scanner.ParseTime(t.Kind, t.Text) // the scanner reported a bad time
		return &ast.TimeLit{ValuePos: t.Pos, ValueEnd: t.End, Time: tm, DateOnly: t.Kind == token.Date}
	case p.isWord("now"):
		p.next()
		return &ast.Now{NowPos: t.Pos}
	case p.isAgo():
		d := p.parseDuration()
		end := p.tok.End
		p.next()
		return &ast.Ago{Dur: d, AgoEnd: end}
	case t.Kind == token.Int && p.peek(1).Kind == token.Ident:
		if _, ok := ast.ParseUnit(p.peek(1).Text); ok {
			p.fail(p.peek(2), scanner.Syntax, `expected "ago" after `+t.Text+" "+p.peek(1).Text+", found "+describe(p.peek(2)))
		}
	}
	p.fail(t, scanner.Syntax, "expected a time (2025-01-01, 2025-01-01T00:00:00Z, now or N days ago), found "+describe(t))
	return nil
}

func (p *parser) parseNumber(percent bool) *ast.NumberLit {
	t := p.tok
	if t.Kind != token.Int && t.Kind != token.Float && !(percent && t.Kind == token.Percent) {
		p.fail(t, scanner.Syntax, "expected a number, found "+describe(t))
	}
	p.next()
	v, err := strconv.ParseFloat(t.Text, 64)
	if err != nil {
		p.errorAt(t.Pos, t.End, scanner.BadLiteral, "number out of range: "+t.Text)
		v = 0
	}
	return &ast.NumberLit{ValuePos: t.Pos, ValueEnd: t.End, Value: v, Percent: t.Kind == token.Percent}
}

// parseValue parses a literal operand of a comparison or list.
func (p *parser) parseValue() ast.Value {
	t := p.tok
	switch t.Kind {
	case token.String:
		p.next()
		return &ast.StringLit{ValuePos: t.Pos, ValueEnd: t.End, Value: t.Text}
	case token.Int, token.Float, token.Percent:
		if _, unit := ast.ParseUnit(p.peek(1).Text); t.Kind == token.Int && unit && p.peek(1).Kind == token.Ident {
			return p.parseTimeValue()
		}
		return p.parseNumber(true)
	case token.Date, token.Time:
		return p.parseTimeValue()
	case token.Ident:
		switch t.Text {
		case "true", "false":
			p.next()
			return &ast.BoolLit{ValuePos: t.Pos, ValueEnd: t.End, Value: t.Text == "true"}
		case "now":
			return p.parseTimeValue()
		}
	}
	p.fail(t, scanner.Syntax, "expected a value (string, number, true, false, date or time), found "+describe(t))
	return nil
}
