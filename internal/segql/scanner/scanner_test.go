package scanner_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/segd/segd/internal/segql/scanner"
	"github.com/segd/segd/internal/segql/token"
)

// TestScan: source → tokens as "kind:text" (and errors as "!code"), one
// case per line.
func TestScan(t *testing.T) {
	f := func(src, want string) {
		t.Helper()
		var out []string
		s := scanner.New(src, func(pos, end token.Pos, code scanner.Code, msg string) {
			out = append(out, fmt.Sprintf("!%s@%d", code, pos))
		})
		for {
			tok := s.Next()
			if tok.Kind == token.EOF {
				break
			}
			out = append(out, fmt.Sprintf("%s:%s", tok.Kind, tok.Text))
		}
		if got := strings.Join(out, " "); got != want {
			t.Errorf("%q:\n got %s\nwant %s", src, got, want)
		}
	}
	f(`age>=25`, `identifier:age >=:>= integer:25`)
	f(`a.b_c 1.5 -3 10% 2.5%`, `identifier:a.b_c number:1.5 integer:-3 percentage:10 percentage:2.5`)
	f("`first name` \"a\\\"b\"", `quoted name:first name string:a"b`)
	f(`2024-11-01 2025-01-01T00:00:00Z 2025-01-01t10:00:00.5+07:00`, `date:2024-11-01 timestamp:2025-01-01T00:00:00Z timestamp:2025-01-01t10:00:00.5+07:00`)
	f(`= == != < <= > >= ( ) [ ] ,`, `=:= =:== !=:!= <:< <=:<= >:> >=:>= (:( ):) [:[ ]:] ,:,`)
	f("a # comment\nb", `identifier:a identifier:b`)
	f(`Hà_Nội`, `identifier:Hà_Nội`)
	f(`1.x`, `integer:1 !IllegalChar@1 illegal token:. identifier:x`)
	f(`a ! b`, `identifier:a !IllegalChar@2 illegal token:! identifier:b`)
	f(`"abc`, `!Unterminated@0 string:abc`)
	f("`ab\nc", "!Unterminated@0 quoted name:ab identifier:c")
	f("``", "!BadLiteral@0 quoted name:")
	f(`"\q"`, `!BadLiteral@0 string:\q`)
	f(`2024-13-01`, `!BadLiteral@0 date:2024-13-01`)
	f(`12345-1`, `integer:12345 integer:-1`)
	f(`- 3`, `!IllegalChar@0 illegal token:- integer:3`)
}

func TestPosition(t *testing.T) {
	file := token.NewFile("seg", "a = 1\n  and b\n")
	f := func(off int, want string) {
		t.Helper()
		if got := file.Position(token.Pos(off)).String(); got != want {
			t.Errorf("offset %d: got %s want %s", off, got, want)
		}
	}
	f(0, "seg:1:1")
	f(4, "seg:1:5")
	f(6, "seg:2:1")
	f(8, "seg:2:3")
	f(100, "seg:3:1")
	f(-1, "seg")
}

func TestIsIdent(t *testing.T) {
	for s, want := range map[string]bool{"age": true, "a.b": true, "_x1": true, "": false, "1a": false, "a b": false, ".a": false, "é": true} {
		if got := scanner.IsIdent(s); got != want {
			t.Errorf("IsIdent(%q) = %v", s, got)
		}
	}
}

func TestErrorListOrder(t *testing.T) {
	file := token.NewFile("", "abc def")
	var l scanner.ErrorList
	l.Add(file.Position(4), file.Position(7), scanner.Syntax, "second")
	l.Add(file.Position(0), file.Position(3), scanner.UnknownTrait, "first")
	l = append(l, &scanner.Error{Pos: file.Position(5), Code: scanner.UnverifiedEvent, Msg: "w", Severity: scanner.SevWarning})
	l.Sort()
	if got := l.Error(); got != "1:1: first\n1:5: second\n1:6: warning: w" {
		t.Errorf("got %q", got)
	}
	if len(l.Errors()) != 2 || !l.HasErrors() || l.Err() == nil {
		t.Error("errors not counted")
	}
	warn := scanner.ErrorList{l[2]}
	if warn.HasErrors() || warn.Err() != nil {
		t.Error("a warning alone is not an error")
	}
}
