package store

import (
	"encoding/json"
	"math"
	"slices"
	"strconv"
	"unicode/utf8"
)

// appendJSON appends v (a value as encoding/json decodes into `any`) as JSON. It is a
// reflection-free encoder for the hot write path: map keys are written in map order (not
// sorted), which is fine for storage. Values of other types fall back to encoding/json.
func appendJSON(dst []byte, v any) []byte { return appendJSONValue(dst, v, false) }

// appendCanonicalJSON is appendJSON with the members of objects in name order, so that equal
// values give equal texts.
func appendCanonicalJSON(dst []byte, v any) []byte { return appendJSONValue(dst, v, true) }

func appendJSONValue(dst []byte, v any, sorted bool) []byte {
	switch x := v.(type) {
	case nil:
		return append(dst, "null"...)
	case string:
		return appendJSONString(dst, x)
	case bool:
		if x {
			return append(dst, "true"...)
		}
		return append(dst, "false"...)
	case float64:
		return appendJSONFloat(dst, x)
	case int:
		return strconv.AppendInt(dst, int64(x), 10)
	case int64:
		return strconv.AppendInt(dst, x, 10)
	case map[string]any:
		if sorted {
			return appendSortedObject(dst, x)
		}
		return appendObject(dst, x, nil)
	case []any:
		dst = append(dst, '[')
		for i, val := range x {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = appendJSONValue(dst, val, sorted)
		}
		return append(dst, ']')
	case map[string]string:
		dst = append(dst, '{')
		first := true
		for k, val := range x {
			if !first {
				dst = append(dst, ',')
			}
			first = false
			dst = appendJSONString(dst, k)
			dst = append(dst, ':')
			dst = appendJSONString(dst, val)
		}
		return append(dst, '}')
	default:
		b, err := json.Marshal(x)
		if err != nil {
			return append(dst, "null"...)
		}
		return append(dst, b...)
	}
}

// appendObject appends m as a JSON object in map order, without the members skip selects
// (none when skip is nil).
func appendObject(dst []byte, m map[string]any, skip func(name string) bool) []byte {
	dst = append(dst, '{')
	first := true
	for k, val := range m {
		if skip != nil && skip(k) {
			continue
		}
		if !first {
			dst = append(dst, ',')
		}
		first = false
		dst = appendJSONString(dst, k)
		dst = append(dst, ':')
		dst = appendJSONValue(dst, val, false)
	}
	return append(dst, '}')
}

func appendSortedObject(dst []byte, m map[string]any) []byte {
	keys := make([]string, 0, 8) // on the stack for the usual small objects (ingestion's hot path)
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	dst = append(dst, '{')
	for i, k := range keys {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = appendJSONString(dst, k)
		dst = append(dst, ':')
		dst = appendJSONValue(dst, m[k], true)
	}
	return append(dst, '}')
}

// appendJSONFloat formats like encoding/json (shortest representation that round-trips).
func appendJSONFloat(dst []byte, f float64) []byte {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return append(dst, "null"...)
	}
	abs := math.Abs(f)
	format := byte('f')
	if abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		format = 'e'
	}
	return strconv.AppendFloat(dst, f, format, -1, 64)
}

const hexDigits = "0123456789abcdef"

// appendJSONString writes s quoted, escaping what JSON requires; invalid UTF-8 becomes U+FFFD
// as with encoding/json.
func appendJSONString(dst []byte, s string) []byte {
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			dst = append(dst, s[start:i]...)
			switch c {
			case '"', '\\':
				dst = append(dst, '\\', c)
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			dst = append(dst, s[start:i]...)
			dst = append(dst, '\\', 'u', '2', '0', '2', hexDigits[r&0xf])
			i += size
			start = i
			continue
		}
		i += size
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}
