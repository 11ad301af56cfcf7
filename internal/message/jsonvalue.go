package message

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"unicode/utf8"
)

// The decoder validates a body once (validJSON, which agrees with json.Valid) and then walks
// it with the small parser below, which trusts that validity. encoding/json would scan every
// batch element three more times (the batch as a struct, the array as raw elements, each
// element again) and decode through reflection; this path scans twice in total. Values come
// out exactly as encoding/json would produce them into an `any` (map[string]any, []any,
// float64, string, bool, nil); a fuzz test compares the two.

// parseValid decodes one JSON value from data, which must be valid JSON (validJSON).
//
// Strings without escapes are substrings of one string copy of data, so a message costs one
// allocation for all its plain strings rather than one each.
func parseValid(data []byte) (any, error) {
	p := valueParser{data: data, src: string(data)}
	p.ws()
	v, err := p.value()
	if err != nil {
		return nil, err
	}
	return v, nil
}

type valueParser struct {
	data  []byte
	src   string // string(data), or "" to allocate each string on its own
	i     int
	boxes *textBoxes // string values boxed before (nil: box each)
}

// textBoxes remembers short string values of a batch's messages, each boxed in an `any`
// once: a batch's messages repeat most of their texts (user agent, locale, page path,
// category, ...), and boxing a string allocates. A slot holds the last text hashed to it.
type textBoxes [256]struct {
	s string
	v any
}

func (b *textBoxes) box(s string) any {
	if b == nil || len(s) == 0 || len(s) > 128 {
		return s
	}
	n := len(s)
	e := &b[(uint(n)*31+uint(s[0])*7+uint(s[n/2])*131+uint(s[n-1]))&255]
	if e.v != nil && e.s == s {
		return e.v
	}
	var v any = s
	e.s, e.v = s, v
	return v
}

func (p *valueParser) ws() {
	for p.i < len(p.data) {
		switch p.data[p.i] {
		case ' ', '\t', '\n', '\r':
			p.i++
		default:
			return
		}
	}
}

func (p *valueParser) value() (any, error) {
	switch c := p.data[p.i]; c {
	case '{':
		return p.object(8)
	case '[':
		p.i++
		arr := make([]any, 0, 4)
		p.ws()
		if p.data[p.i] == ']' {
			p.i++
			return arr, nil
		}
		for {
			p.ws()
			v, err := p.value()
			if err != nil {
				return nil, err
			}
			arr = append(arr, v)
			p.ws()
			if p.data[p.i] == ',' {
				p.i++
				continue
			}
			p.i++ // ']'
			return arr, nil
		}
	case '"':
		s, err := p.str()
		if err != nil {
			return nil, err
		}
		return p.boxes.box(s), nil
	case 't':
		p.i += 4
		return true, nil
	case 'f':
		p.i += 5
		return false, nil
	case 'n':
		p.i += 4
		return nil, nil
	default:
		start := p.i
		for p.i < len(p.data) {
			c := p.data[p.i]
			if c >= '0' && c <= '9' || c == '-' || c == '+' || c == '.' || c == 'e' || c == 'E' {
				p.i++
				continue
			}
			break
		}
		f, err := strconv.ParseFloat(string(p.data[start:p.i]), 64)
		if err != nil {
			return nil, fmt.Errorf("number %s is out of range", p.data[start:p.i])
		}
		return f, nil
	}
}

func (p *valueParser) object(hint int) (map[string]any, error) {
	obj := make(map[string]any, hint)
	err := p.members(func(k string) error {
		v, err := p.value()
		if err != nil {
			return err
		}
		obj[k] = v
		return nil
	})
	if err != nil {
		return nil, err
	}
	return obj, nil
}

// members walks the object at p.i: for each member in order it reads the key and calls f with
// p.i at the member's value, which f must decode (moving p.i past it); then it moves past the
// object.
func (p *valueParser) members(f func(k string) error) error {
	p.i++ // '{'
	p.ws()
	if p.data[p.i] == '}' {
		p.i++
		return nil
	}
	for {
		p.ws()
		k, err := p.str()
		if err != nil {
			return err
		}
		p.ws()
		p.i++ // ':'
		p.ws()
		if err := f(k); err != nil {
			return err
		}
		p.ws()
		if p.data[p.i] == ',' {
			p.i++
			continue
		}
		p.i++ // '}'
		return nil
	}
}

// parseMembers decodes the valid JSON object in data (after optional white space) as a
// message's top-level members; a repeated member keeps its last value, as in encoding/json.
// A known field's string value is kept as a string, not boxed in an `any` (an allocation each).
func parseMembers(data []byte, boxes *textBoxes) (members, error) {
	p := valueParser{data: data, src: string(data), boxes: boxes}
	p.ws()
	var out members
	err := p.members(func(k string) error {
		f := fieldIndex(k)
		if f >= 0 && p.data[p.i] == '"' {
			s, err := p.str()
			if err != nil {
				return err
			}
			out.known[f], out.strs[f] = nil, s
			out.isStr |= 1 << f
			return nil
		}
		v, err := p.value()
		if err != nil {
			return err
		}
		switch {
		case f >= 0:
			out.known[f] = v
			out.isStr &^= 1 << f
		case out.extra == nil:
			out.extra = map[string]any{k: v}
		default:
			out.extra[k] = v
		}
		return nil
	})
	if err != nil {
		return members{}, err
	}
	return out, nil
}

// str reads a string at p.i. Plain ASCII strings without escapes (nearly all of them) are
// sliced directly; anything else goes through encoding/json so escapes, surrogates and invalid
// UTF-8 are handled exactly as it handles them.
func (p *valueParser) str() (string, error) {
	start := p.i
	q := bytes.IndexByte(p.data[start+1:], '"')
	seg := p.data[start+1 : start+1+q]
	if bytes.IndexByte(seg, '\\') < 0 {
		p.i = start + 1 + q + 1
		if utf8.Valid(seg) {
			if p.src != "" {
				return p.src[start+1 : start+1+q], nil
			}
			return string(seg), nil
		}
	} else {
		p.i = skipString(p.data, start)
	}
	var s string
	if err := json.Unmarshal(p.data[start:p.i], &s); err != nil {
		return "", err
	}
	return s, nil
}

// skipValid returns the index just past the JSON value starting at data[i] (after optional
// whitespace), for valid JSON.
func skipValid(data []byte, i int) int {
	for i < len(data) && isSpace(data[i]) {
		i++
	}
	switch data[i] {
	case '"':
		return skipString(data, i)
	case '{', '[':
		depth := 0
		for i < len(data) {
			switch data[i] {
			case '"':
				i = skipString(data, i)
				continue
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return i + 1
				}
			}
			i++
		}
		return i
	default:
		for i < len(data) {
			switch data[i] {
			case ',', '}', ']', ' ', '\t', '\n', '\r':
				return i
			}
			i++
		}
		return i
	}
}

func skipString(data []byte, i int) int {
	i++
	for {
		q := bytes.IndexByte(data[i:], '"')
		b := bytes.IndexByte(data[i:i+q], '\\')
		if b < 0 {
			return i + q + 1
		}
		i += b + 2 // past the escape; an escaped quote is skipped here
	}
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

// eachMember calls f with each member of the valid JSON object starting at data[i]: its key
// (decoded) and its value's raw bytes.
func eachMember(data []byte, i int, f func(key string, raw []byte) error) error {
	for i < len(data) && isSpace(data[i]) {
		i++
	}
	p := valueParser{data: data, i: i + 1}
	for {
		p.ws()
		if p.data[p.i] == '}' {
			return nil
		}
		k, err := p.str()
		if err != nil {
			return err
		}
		p.ws()
		p.i++ // ':'
		p.ws()
		end := skipValid(p.data, p.i)
		if err := f(k, p.data[p.i:end]); err != nil {
			return err
		}
		p.i = end
		p.ws()
		if p.data[p.i] == ',' {
			p.i++
		}
	}
}

// eachElement calls f with the raw bytes of each element of the valid JSON array at data[i].
func eachElement(data []byte, i int, f func(raw []byte)) {
	for i < len(data) && isSpace(data[i]) {
		i++
	}
	i++ // '['
	for {
		for isSpace(data[i]) {
			i++
		}
		if data[i] == ']' {
			return
		}
		end := skipValid(data, i)
		f(data[i:end])
		i = end
		for isSpace(data[i]) {
			i++
		}
		if data[i] == ',' {
			i++
		}
	}
}
