package index

import (
	"encoding/json"
	"math"
	"math/bits"
	"time"
)

// ValueKind is the kind of a trait, property or attribute value as the index stores it.
type ValueKind uint8

// The value kinds. None means absent (a JSON null or a missing key).
const (
	None ValueKind = iota
	Text
	Number
	Bool
	Time
	Geo
	List
	Object
)

var kindNames = [...]string{"none", "text", "number", "bool", "time", "geo", "list", "object"}

func (k ValueKind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return "unknown"
}

// Value is one classified JSON value. Only the fields for its Kind are meaningful.
type Value struct {
	Kind ValueKind
	Str  string  // Text
	Num  float64 // Number; Geo latitude
	Lon  float64 // Geo longitude
	Nano int64   // Time, Unix nanoseconds UTC
	Bool bool    // Bool
	Raw  any     // List, Object: the JSON value as given
}

// Classify turns a decoded JSON value into a Value.
//
// Strings that parse as RFC 3339 (with or without fractional seconds) or as a bare date
// YYYY-MM-DD (midnight UTC) are times, because JSON has no time type and traits such as
// signup_at or birthday arrive that way. An object {"lat": x, "lon": y} (also "lng") and an
// array [lat, lon] of two numbers within range are geographic points. Integers of Go types
// and json.Number are accepted as numbers so that callers decoding with UseNumber also work.
func Classify(v any) Value {
	switch x := v.(type) {
	case nil:
		return Value{}
	case string:
		if ns, ok := ParseTime(x); ok {
			return Value{Kind: Time, Nano: ns}
		}
		return Value{Kind: Text, Str: x}
	case float64:
		return Value{Kind: Number, Num: x}
	case float32:
		return Value{Kind: Number, Num: float64(x)}
	case int:
		return Value{Kind: Number, Num: float64(x)}
	case int64:
		return Value{Kind: Number, Num: float64(x)}
	case int32:
		return Value{Kind: Number, Num: float64(x)}
	case uint32:
		return Value{Kind: Number, Num: float64(x)}
	case uint64:
		return Value{Kind: Number, Num: float64(x)}
	case json.Number:
		f, err := x.Float64()
		if err != nil {
			return Value{Kind: Text, Str: string(x)}
		}
		return Value{Kind: Number, Num: f}
	case bool:
		return Value{Kind: Bool, Bool: x}
	case time.Time:
		return Value{Kind: Time, Nano: x.UnixNano()}
	case []any:
		if len(x) == 2 {
			lat, ok1 := x[0].(float64)
			lon, ok2 := x[1].(float64)
			if ok1 && ok2 && validLatLon(lat, lon) {
				return Value{Kind: Geo, Num: lat, Lon: lon}
			}
		}
		return Value{Kind: List, Raw: x}
	case map[string]any:
		if len(x) == 2 {
			lat, ok1 := x["lat"].(float64)
			lon, ok2 := x["lon"].(float64)
			if !ok2 {
				lon, ok2 = x["lng"].(float64)
			}
			if ok1 && ok2 && validLatLon(lat, lon) {
				return Value{Kind: Geo, Num: lat, Lon: lon}
			}
		}
		return Value{Kind: Object, Raw: x}
	default:
		return Value{Kind: Object, Raw: x}
	}
}

func validLatLon(lat, lon float64) bool {
	return !math.IsNaN(lat) && !math.IsNaN(lon) && lat >= -90 && lat <= 90 && lon >= -180 && lon <= 180
}

// ParseTime reports whether s is an RFC 3339 time or a YYYY-MM-DD date and returns it as
// Unix nanoseconds (UTC). The cheap shape test first keeps ordinary text fast.
func ParseTime(s string) (int64, bool) {
	if len(s) < 10 || s[4] != '-' || s[7] != '-' || !isDigit(s[0]) || !isDigit(s[9]) {
		return 0, false
	}
	if len(s) == 10 {
		t, err := time.Parse(time.DateOnly, s)
		if err != nil {
			return 0, false
		}
		return t.UnixNano(), true
	}
	if len(s) < 20 || s[10] != 'T' {
		return 0, false
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return 0, false
	}
	return t.UnixNano(), true
}

func isDigit(b byte) bool { return b >= '0' && b <= '9' }

// paged is a lazily allocated array indexed by profile id: pages of 4096 entries are allocated
// only where some profile in their range has a value, so a sparse trait over a million
// profiles costs memory in proportion to its holders, not to the id space.
type paged[T any] struct {
	pages [][]T
}

const pageBits = 12
const pageSize = 1 << pageBits

func (p *paged[T]) set(i uint32, v T) {
	pi := int(i >> pageBits)
	if pi >= len(p.pages) {
		p.pages = append(p.pages, make([][]T, pi+1-len(p.pages))...)
	}
	if p.pages[pi] == nil {
		p.pages[pi] = make([]T, pageSize)
	}
	p.pages[pi][i&(pageSize-1)] = v
}

func (p *paged[T]) get(i uint32) T {
	pi := int(i >> pageBits)
	if pi >= len(p.pages) || p.pages[pi] == nil {
		var zero T
		return zero
	}
	return p.pages[pi][i&(pageSize-1)]
}

// bitset is a plain growable bit array used for per-row presence in event columns.
type bitset []uint64

func (b *bitset) set(i int) {
	w := i >> 6
	for w >= len(*b) {
		*b = append(*b, 0)
	}
	(*b)[w] |= 1 << (uint(i) & 63)
}

func (b bitset) clear(i int) {
	if w := i >> 6; w < len(b) {
		b[w] &^= 1 << (uint(i) & 63)
	}
}

// Has reports whether bit i is set; bits beyond the end are unset.
func (b bitset) Has(i int) bool {
	w := i >> 6
	return w < len(b) && b[w]&(1<<(uint(i)&63)) != 0
}

func (b bitset) count() int {
	n := 0
	for _, w := range b {
		n += bits.OnesCount64(w)
	}
	return n
}
