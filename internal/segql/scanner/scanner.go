// Package scanner turns SegQL source text into tokens, and owns the
// diagnostics type (Error, ErrorList, stable Codes) that the parser and the
// checker report through, as go/scanner does for Go.
//
// The lexer is a set of state functions (text/template/parse's shape) driven
// synchronously by Next, without a goroutine (as Prometheus' PromQL lexer).
// It imports only segql/token.
package scanner

import (
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/segd/segd/internal/segql/token"
)

// ErrorHandler receives each lexical error with its span.
type ErrorHandler func(pos, end token.Pos, code Code, msg string)

// stateFn scans from the current position and returns the next state.
type stateFn func(*Scanner) stateFn

// Scanner produces the tokens of one source text.
type Scanner struct {
	src   string
	start int // start of the token being scanned
	pos   int // current position
	state stateFn
	out   []token.Token // tokens emitted but not yet returned
	err   ErrorHandler
}

// New returns a scanner over src. err may be nil.
func New(src string, err ErrorHandler) *Scanner {
	return &Scanner{src: src, state: lexAny, err: err}
}

// Next returns the next token; at the end it returns EOF tokens forever.
// Comments and white space are skipped.
func (s *Scanner) Next() token.Token {
	for len(s.out) == 0 {
		s.state = s.state(s)
	}
	t := s.out[0]
	s.out = s.out[1:]
	return t
}

// All scans the whole input, ending with the EOF token.
func (s *Scanner) All() []token.Token {
	var ts []token.Token
	for {
		t := s.Next()
		ts = append(ts, t)
		if t.Kind == token.EOF {
			return ts
		}
	}
}

func (s *Scanner) emit(k token.Kind, text string) {
	s.out = append(s.out, token.Token{Kind: k, Pos: token.Pos(s.start), End: token.Pos(s.pos), Text: text})
	s.start = s.pos
}

func (s *Scanner) errorf(start, end int, code Code, msg string) {
	if s.err != nil {
		s.err(token.Pos(start), token.Pos(end), code, msg)
	}
}

func (s *Scanner) peek() rune {
	if s.pos >= len(s.src) {
		return -1
	}
	r, _ := utf8.DecodeRuneInString(s.src[s.pos:])
	return r
}

func (s *Scanner) next() rune {
	if s.pos >= len(s.src) {
		return -1
	}
	r, w := utf8.DecodeRuneInString(s.src[s.pos:])
	s.pos += w
	return r
}

func lexEOF(s *Scanner) stateFn {
	s.start = s.pos
	s.emit(token.EOF, "")
	return lexEOF
}

// lexAny skips space and comments and dispatches on the next character.
func lexAny(s *Scanner) stateFn {
	for {
		r := s.peek()
		switch {
		case r == -1:
			return lexEOF
		case r == '#':
			for r != -1 && r != '\n' {
				s.next()
				r = s.peek()
			}
		case unicode.IsSpace(r):
			s.next()
		default:
			s.start = s.pos
			return lexToken
		}
	}
}

func lexToken(s *Scanner) stateFn {
	r := s.peek()
	switch {
	case isLetter(r):
		return lexIdent
	case isDigit(r):
		return lexNumber
	case r == '-' && s.pos+1 < len(s.src) && isDigit(rune(s.src[s.pos+1])):
		s.next()
		return lexNumber
	case r == '"':
		return lexString
	case r == '`':
		return lexQuotedIdent
	}
	s.next()
	two := func(second byte, k2, k1 token.Kind) {
		if s.pos < len(s.src) && s.src[s.pos] == second {
			s.pos++
			s.emit(k2, s.src[s.start:s.pos])
			return
		}
		s.emit(k1, s.src[s.start:s.pos])
	}
	switch r {
	case '=':
		two('=', token.Eq, token.Eq) // "==" is accepted as "="
	case '<':
		two('=', token.Le, token.Lt)
	case '>':
		two('=', token.Ge, token.Gt)
	case '!':
		if s.pos < len(s.src) && s.src[s.pos] == '=' {
			s.pos++
			s.emit(token.Neq, "!=")
		} else {
			s.errorf(s.start, s.pos, IllegalChar, `unexpected "!" (did you mean "!=" or "not"?)`)
			s.emit(token.Illegal, "!")
		}
	case '(':
		s.emit(token.LParen, "(")
	case ')':
		s.emit(token.RParen, ")")
	case '[':
		s.emit(token.LBrack, "[")
	case ']':
		s.emit(token.RBrack, "]")
	case ',':
		s.emit(token.Comma, ",")
	default:
		s.errorf(s.start, s.pos, IllegalChar, "unexpected character "+strconv.QuoteRune(r))
		s.emit(token.Illegal, string(r))
	}
	return lexAny
}

func isLetter(r rune) bool { return r == '_' || unicode.IsLetter(r) }
func isDigit(r rune) bool  { return '0' <= r && r <= '9' }

// lexIdent scans a word: a letter or _, then letters, digits, _ and dots
// (address.city names a nested trait).
func lexIdent(s *Scanner) stateFn {
	for {
		r := s.peek()
		if !isLetter(r) && !isDigit(r) && r != '.' {
			break
		}
		s.next()
	}
	s.emit(token.Ident, s.src[s.start:s.pos])
	return lexAny
}

// IsIdent reports whether name scans as one plain identifier, so that the
// printer may write it without backquotes.
func IsIdent(name string) bool {
	if name == "" {
		return false
	}
	for i, r := range name {
		switch {
		case isLetter(r):
		case i > 0 && (isDigit(r) || r == '.'):
		default:
			return false
		}
	}
	return true
}

// lexQuotedIdent scans `any name`: no escapes, no newline, not empty.
func lexQuotedIdent(s *Scanner) stateFn {
	s.next()
	for {
		r := s.next()
		switch r {
		case '`':
			name := s.src[s.start+1 : s.pos-1]
			if name == "" {
				s.errorf(s.start, s.pos, BadLiteral, "empty quoted name")
			} else if !utf8.ValidString(name) {
				s.errorf(s.start, s.pos, BadLiteral, "quoted name is not valid UTF-8")
			}
			s.emit(token.QuotedIdent, name)
			return lexAny
		case -1, '\n':
			if r == '\n' {
				s.pos--
			}
			s.errorf(s.start, s.pos, Unterminated, "quoted name not terminated")
			s.emit(token.QuotedIdent, s.src[s.start+1:s.pos])
			return lexAny
		}
	}
}

// lexString scans a double-quoted string with Go escapes (\" \\ \n \t \uXXXX ...).
func lexString(s *Scanner) stateFn {
	s.next()
	for {
		r := s.next()
		switch r {
		case '\\':
			s.next()
		case '"':
			raw := s.src[s.start:s.pos]
			v, err := strconv.Unquote(raw)
			if err != nil {
				s.errorf(s.start, s.pos, BadLiteral, "invalid escape in string "+raw)
				v = raw[1 : len(raw)-1]
			} else if !utf8.ValidString(v) {
				// JSON (the segment tree, the API) cannot carry it: refuse rather than alter it
				s.errorf(s.start, s.pos, BadLiteral, "string is not valid UTF-8")
			}
			s.emit(token.String, v)
			return lexAny
		case -1, '\n':
			if r == '\n' {
				s.pos--
			}
			s.errorf(s.start, s.pos, Unterminated, "string not terminated")
			s.emit(token.String, s.src[s.start+1:s.pos])
			return lexAny
		}
	}
}

// lexNumber scans 25, -3, 10.77, 10% and, when four digits are followed by
// "-", a date (2024-11-01) or an RFC 3339 timestamp.
func lexNumber(s *Scanner) stateFn {
	digits := s.pos
	for isDigit(s.peek()) {
		s.next()
	}
	if s.pos-digits == 4 && s.src[s.start] != '-' && s.peek() == '-' {
		return lexTime
	}
	kind := token.Int
	if s.peek() == '.' && s.pos+1 < len(s.src) && isDigit(rune(s.src[s.pos+1])) {
		s.next()
		for isDigit(s.peek()) {
			s.next()
		}
		kind = token.Float
	}
	text := s.src[s.start:s.pos]
	if s.peek() == '%' {
		s.next()
		kind = token.Percent
	}
	s.emit(kind, text)
	return lexAny
}

const dateLayout = "2006-01-02"

// lexTime scans YYYY-MM-DD and an optional THH:MM:SS[.frac](Z|±HH:MM).
func lexTime(s *Scanner) stateFn {
	for {
		r := s.peek()
		if !isDigit(r) && r != '-' {
			break
		}
		s.next()
	}
	kind, layout := token.Date, dateLayout
	if r := s.peek(); r == 'T' || r == 't' {
		kind, layout = token.Time, time.RFC3339Nano
		for {
			r := s.peek()
			if !isDigit(r) && !strings.ContainsRune("Tt:.+-Zz", r) {
				break
			}
			s.next()
		}
	}
	text := s.src[s.start:s.pos]
	if _, err := time.Parse(layout, strings.ToUpper(text)); err != nil {
		what := "date (want YYYY-MM-DD)"
		if kind == token.Time {
			what = "timestamp (want RFC 3339, e.g. 2025-01-01T00:00:00Z)"
		}
		s.errorf(s.start, s.pos, BadLiteral, "invalid "+what+": "+text)
	}
	s.emit(kind, text)
	return lexAny
}

// ParseTime parses the Text of a Date or Time token.
func ParseTime(k token.Kind, text string) (time.Time, error) {
	if k == token.Date {
		return time.Parse(dateLayout, text)
	}
	return time.Parse(time.RFC3339Nano, strings.ToUpper(text))
}
