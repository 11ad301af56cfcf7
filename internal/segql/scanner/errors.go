package scanner

import (
	"fmt"
	"sort"
	"strings"

	"github.com/segd/segd/internal/segql/token"
)

// Code is a stable error code. Codes never change meaning once published;
// the UI and API clients switch on them. The catalogue is in docs/segql.md.
type Code string

// Syntax codes, reported by the scanner and the parser.
const (
	IllegalChar  Code = "IllegalChar"  // a character that starts no token
	Unterminated Code = "Unterminated" // a string or quoted name without its closing quote
	BadLiteral   Code = "BadLiteral"   // a malformed string escape, number, date or timestamp
	Syntax       Code = "Syntax"       // an unexpected token
	BadDuration  Code = "BadDuration"  // a duration that is not "positive-integer unit"
	BadFilter    Code = "BadFilter"    // a condition that is not allowed inside a where filter
	BadSequence  Code = "BadSequence"  // a negated step that is not last, or one without within
	TooDeep      Code = "TooDeep"      // nesting beyond the parser's limit
)

// Checker codes, reported by segql/check.
const (
	UnknownTrait      Code = "UnknownTrait"
	UnknownEvent      Code = "UnknownEvent"
	UnverifiedEvent   Code = "UnverifiedEvent" // warning: the workspace has no events yet
	UnknownProperty   Code = "UnknownProperty"
	UnknownRecordType Code = "UnknownRecordType"
	UnknownAttribute  Code = "UnknownAttribute"
	UnknownSegment    Code = "UnknownSegment"
	SegmentCycle      Code = "SegmentCycle"
	TypeMismatch      Code = "TypeMismatch"
	BadRegexp         Code = "BadRegexp"
	BadWindow         Code = "BadWindow"
	BadPercent        Code = "BadPercent"
	BadValue          Code = "BadValue" // an out-of-range literal: latitude, distance, empty list
)

// Severity tells errors from warnings.
type Severity int

// Severities. The zero value is an error.
const (
	SevError Severity = iota
	SevWarning
)

func (s Severity) String() string {
	if s == SevWarning {
		return "warning"
	}
	return "error"
}

// Error is one diagnostic with its span [Pos, End).
type Error struct {
	Pos      token.Position
	End      token.Position
	Code     Code
	Msg      string
	Severity Severity
}

// Error renders "line:col: message" (warnings add "warning: "), or just
// the message when the position is unknown (a tree decoded from JSON).
func (e Error) Error() string {
	msg := e.Msg
	if e.Severity == SevWarning {
		msg = "warning: " + msg
	}
	if e.Pos.IsValid() {
		return e.Pos.String() + ": " + msg
	}
	return msg
}

// ErrorList is a list of diagnostics, kept sorted by position by Sort.
type ErrorList []*Error

// Add appends an error.
func (l *ErrorList) Add(pos, end token.Position, code Code, msg string) {
	*l = append(*l, &Error{Pos: pos, End: end, Code: code, Msg: msg})
}

// Addf appends an error with a formatted message.
func (l *ErrorList) Addf(pos, end token.Position, code Code, format string, args ...any) {
	l.Add(pos, end, code, fmt.Sprintf(format, args...))
}

// Len, Swap and Less make the list sortable by offset, then code, then message.
func (l ErrorList) Len() int      { return len(l) }
func (l ErrorList) Swap(i, j int) { l[i], l[j] = l[j], l[i] }
func (l ErrorList) Less(i, j int) bool {
	a, b := l[i], l[j]
	if a.Pos.Offset != b.Pos.Offset {
		return a.Pos.Offset < b.Pos.Offset
	}
	if a.Code != b.Code {
		return a.Code < b.Code
	}
	return a.Msg < b.Msg
}

// Sort sorts the list by position (stable for equal keys).
func (l ErrorList) Sort() { sort.Stable(l) }

// HasErrors reports whether any entry is an error rather than a warning.
func (l ErrorList) HasErrors() bool {
	for _, e := range l {
		if e.Severity == SevError {
			return true
		}
	}
	return false
}

// Errors returns only the entries of error severity.
func (l ErrorList) Errors() ErrorList {
	var out ErrorList
	for _, e := range l {
		if e.Severity == SevError {
			out = append(out, e)
		}
	}
	return out
}

// Err returns the list as an error if it holds any error (warnings alone
// give nil), so that callers can write `if err := list.Err(); err != nil`.
func (l ErrorList) Err() error {
	if errs := l.Errors(); len(errs) > 0 {
		return errs
	}
	return nil
}

// Error lists every entry, one per line.
func (l ErrorList) Error() string {
	switch len(l) {
	case 0:
		return "no errors"
	case 1:
		return l[0].Error()
	}
	var b strings.Builder
	for i, e := range l {
		if i > 0 {
			b.WriteByte('\n')
		}
		b.WriteString(e.Error())
	}
	return b.String()
}
