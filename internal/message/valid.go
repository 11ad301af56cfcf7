package message

import "bytes"

// validJSON reports whether data is one valid JSON value with optional surrounding white
// space, exactly as json.Valid does (a fuzz test compares the two), in one direct pass:
// json.Valid runs a byte-at-a-time state machine through function pointers, which made it
// 4-6% of the CPU spent on every ingested message. Like json.Valid it accepts invalid UTF-8
// inside strings (decoding replaces it) and refuses nesting deeper than 10,000.
func validJSON(data []byte) bool {
	v := validator{data: data}
	v.ws()
	if !v.value() {
		return false
	}
	v.ws()
	return v.i == len(v.data)
}

// maxNesting is encoding/json's limit on nested arrays and objects.
const maxNesting = 10000

type validator struct {
	data  []byte
	i     int
	depth int
}

func (v *validator) ws() {
	for v.i < len(v.data) && isSpace(v.data[v.i]) {
		v.i++
	}
}

// value checks one value starting at v.i (no leading white space) and moves past it.
func (v *validator) value() bool {
	if v.i >= len(v.data) {
		return false
	}
	switch c := v.data[v.i]; {
	case c == '{':
		return v.object()
	case c == '[':
		return v.array()
	case c == '"':
		return v.str()
	case c == '-' || c >= '0' && c <= '9':
		return v.number()
	case c == 't':
		return v.literal("true")
	case c == 'f':
		return v.literal("false")
	case c == 'n':
		return v.literal("null")
	}
	return false
}

func (v *validator) literal(word string) bool {
	if !bytes.HasPrefix(v.data[v.i:], []byte(word)) {
		return false
	}
	v.i += len(word)
	return true
}

func (v *validator) object() bool {
	if empty, ok := v.open('}'); empty || !ok {
		return ok
	}
	for {
		if v.i >= len(v.data) || v.data[v.i] != '"' || !v.str() {
			return false
		}
		v.ws()
		if v.i >= len(v.data) || v.data[v.i] != ':' {
			return false
		}
		v.i++
		v.ws()
		if !v.value() {
			return false
		}
		if more, ok := v.separator('}'); !more {
			return ok
		}
	}
}

func (v *validator) array() bool {
	if empty, ok := v.open(']'); empty || !ok {
		return ok
	}
	for {
		if !v.value() {
			return false
		}
		if more, ok := v.separator(']'); !more {
			return ok
		}
	}
}

// open enters the object or array at v.i, whose closing bracket is end; empty reports that
// it closed at once.
func (v *validator) open(end byte) (empty, ok bool) {
	if v.depth++; v.depth > maxNesting {
		return false, false
	}
	v.i++ // '{' or '['
	v.ws()
	if v.i < len(v.data) && v.data[v.i] == end {
		v.i++
		v.depth--
		return true, true
	}
	return false, true
}

// separator reads what follows a member or an element: a comma (more follows) or end.
func (v *validator) separator(end byte) (more, ok bool) {
	v.ws()
	if v.i >= len(v.data) {
		return false, false
	}
	switch v.data[v.i] {
	case ',':
		v.i++
		v.ws()
		return true, true
	case end:
		v.i++
		v.depth--
		return false, true
	}
	return false, false
}

// str checks a string starting at the opening quote: no raw control characters, only the
// escapes JSON defines.
func (v *validator) str() bool {
	i := v.i + 1
	for {
		// runs of ordinary bytes are the common case
		for i < len(v.data) {
			c := v.data[i]
			if c == '"' || c == '\\' || c < 0x20 {
				break
			}
			i++
		}
		if i >= len(v.data) {
			return false
		}
		switch v.data[i] {
		case '"':
			v.i = i + 1
			return true
		case '\\':
			if i+1 >= len(v.data) {
				return false
			}
			switch v.data[i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				i += 2
			case 'u':
				if i+6 > len(v.data) {
					return false
				}
				for _, h := range v.data[i+2 : i+6] {
					if !isHex(h) {
						return false
					}
				}
				i += 6
			default:
				return false
			}
		default: // a control character
			return false
		}
	}
}

func isHex(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}

// number checks -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
func (v *validator) number() bool {
	d, i := v.data, v.i
	if d[i] == '-' {
		i++
	}
	if i >= len(d) {
		return false
	}
	switch {
	case d[i] == '0':
		i++
	case d[i] >= '1' && d[i] <= '9':
		i = digits(d, i)
	default:
		return false
	}
	if i < len(d) && d[i] == '.' {
		j := digits(d, i+1)
		if j == i+1 {
			return false
		}
		i = j
	}
	if i < len(d) && (d[i] == 'e' || d[i] == 'E') {
		i++
		if i < len(d) && (d[i] == '+' || d[i] == '-') {
			i++
		}
		j := digits(d, i)
		if j == i {
			return false
		}
		i = j
	}
	v.i = i
	return true
}

func digits(d []byte, i int) int {
	for i < len(d) && d[i] >= '0' && d[i] <= '9' {
		i++
	}
	return i
}
