// Package token defines the lexical vocabulary of SegQL: token kinds, source
// positions as byte offsets, and the File that turns an offset into
// line:column when (and only when) a position is printed.
//
// It owns nothing but these small value types and must not import any other
// segql package.
package token

import (
	"fmt"
	"sort"
	"strconv"
)

// Pos is a byte offset into the source text. The zero value is the first byte;
// NoPos marks a node built without source (from JSON or by program).
type Pos int

// NoPos is the position of nodes that do not come from source text.
const NoPos Pos = -1

// IsValid reports whether p refers to a place in the source.
func (p Pos) IsValid() bool { return p >= 0 }

// Kind is the kind of a lexical token. Words (and, or, count, in, last, ...)
// are all Ident: SegQL keywords are contextual and the parser recognises them,
// so a trait may be called "count" or "last".
type Kind int

// Token kinds.
const (
	Illegal Kind = iota
	EOF
	Ident       // age, first_name, address.city
	QuotedIdent // `first name` (Text holds the name without backquotes)
	String      // "VN" (Text holds the unescaped value)
	Int         // 25, -3
	Float       // 10.7769
	Percent     // 10% (Text holds the number without %)
	Time        // 2025-01-01T00:00:00Z (RFC 3339)
	Date        // 2024-11-01
	Eq          // =
	Neq         // !=
	Lt          // <
	Le          // <=
	Gt          // >
	Ge          // >=
	LParen      // (
	RParen      // )
	LBrack      // [
	RBrack      // ]
	Comma       // ,
)

var kindNames = [...]string{
	Illegal:     "illegal token",
	EOF:         "end of input",
	Ident:       "identifier",
	QuotedIdent: "quoted name",
	String:      "string",
	Int:         "integer",
	Float:       "number",
	Percent:     "percentage",
	Time:        "timestamp",
	Date:        "date",
	Eq:          "=",
	Neq:         "!=",
	Lt:          "<",
	Le:          "<=",
	Gt:          ">",
	Ge:          ">=",
	LParen:      "(",
	RParen:      ")",
	LBrack:      "[",
	RBrack:      "]",
	Comma:       ",",
}

func (k Kind) String() string {
	if k >= 0 && int(k) < len(kindNames) {
		return kindNames[k]
	}
	return "token(" + strconv.Itoa(int(k)) + ")"
}

// Token is one lexical token. Text is the token's value: the identifier,
// the unescaped string, the digits of a number, or the literal source for
// operators and times.
type Token struct {
	Kind Kind
	Pos  Pos // first byte
	End  Pos // one past the last byte
	Text string
}

// Position is a printable source location. Line and Column count from 1;
// Column counts bytes, as go/token does.
type Position struct {
	Filename string
	Offset   int
	Line     int
	Column   int
}

// IsValid reports whether the position has a line.
func (p Position) IsValid() bool { return p.Line > 0 }

// String renders "line:col", or "file:line:col" when the file is named, or
// "-" for an invalid position.
func (p Position) String() string {
	if !p.IsValid() {
		if p.Filename != "" {
			return p.Filename
		}
		return "-"
	}
	s := fmt.Sprintf("%d:%d", p.Line, p.Column)
	if p.Filename != "" {
		s = p.Filename + ":" + s
	}
	return s
}

// File maps byte offsets of one source text to lines and columns.
// Name may be empty; then positions print as "line:col".
type File struct {
	Name  string
	size  int
	lines []int // offsets of the first byte of each line
}

// NewFile indexes src. The File does not keep src.
func NewFile(name, src string) *File {
	f := &File{Name: name, size: len(src), lines: []int{0}}
	for i := 0; i < len(src); i++ {
		if src[i] == '\n' {
			f.lines = append(f.lines, i+1)
		}
	}
	return f
}

// Size is the length of the source in bytes.
func (f *File) Size() int { return f.size }

// Position turns p into a line and column. Offsets past the end clamp to the
// end; NoPos gives an invalid Position.
func (f *File) Position(p Pos) Position {
	if f == nil || !p.IsValid() {
		pos := Position{Offset: -1}
		if f != nil {
			pos.Filename = f.Name
		}
		return pos
	}
	off := int(p)
	if off > f.size {
		off = f.size
	}
	i := sort.Search(len(f.lines), func(i int) bool { return f.lines[i] > off }) - 1
	return Position{Filename: f.Name, Offset: off, Line: i + 1, Column: off - f.lines[i] + 1}
}
