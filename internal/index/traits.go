package index

import (
	"github.com/RoaringBitmap/roaring/v2"
	"strings"
)

// Trait is the column of one trait name over all profiles. A trait may hold values of
// different kinds for different profiles (JSON has no schema); each kind has its own
// sub-column and a profile's value lives in exactly one of them.
//
// Readers get a *Trait from a Snapshot and must not modify it or keep it after Release.
type Trait struct {
	Name string

	// Present holds every profile with a value of any kind.
	Present *roaring.Bitmap

	// Text: dictionary code per value; Values[code] is the text, ByCode[code] its holders.
	// Code 0 is reserved for "no text value". Codes are never reused: a value whose holders
	// all changed keeps its (empty) bitmap.
	Values []string
	ByCode []*roaring.Bitmap
	dict   map[string]uint32
	codes  paged[uint32]

	// Number and Time: value per profile, meaningful where the presence bitmap says so.
	NumPresent  *roaring.Bitmap
	nums        paged[float64]
	TimePresent *roaring.Bitmap
	times       paged[int64]

	// Bool: holders of true and of false.
	True, False *roaring.Bitmap

	// Geo: latitude and longitude in degrees.
	GeoPresent *roaring.Bitmap
	lats, lons paged[float64]

	// List and Object values kept as given (rare; compared structurally by the engine).
	OtherPresent *roaring.Bitmap
	others       map[uint32]any
}

func newTrait(name string) *Trait {
	name = strings.Clone(name)
	return &Trait{
		Name:         name,
		Present:      roaring.New(),
		Values:       []string{""},
		ByCode:       []*roaring.Bitmap{roaring.New()},
		dict:         map[string]uint32{},
		NumPresent:   roaring.New(),
		TimePresent:  roaring.New(),
		True:         roaring.New(),
		False:        roaring.New(),
		GeoPresent:   roaring.New(),
		OtherPresent: roaring.New(),
		others:       map[uint32]any{},
	}
}

// Code returns the dictionary code of text value s, or 0 when no profile ever had it.
func (t *Trait) Code(s string) uint32 { return t.dict[s] }

// TextCode returns the text code of profile p (0 when p has no text value).
func (t *Trait) TextCode(p uint32) uint32 { return t.codes.get(p) }

// Num returns p's number; valid only when NumPresent contains p.
func (t *Trait) Num(p uint32) float64 { return t.nums.get(p) }

// TimeNano returns p's time in Unix nanoseconds; valid only when TimePresent contains p.
func (t *Trait) TimeNano(p uint32) int64 { return t.times.get(p) }

// LatLon returns p's point; valid only when GeoPresent contains p.
func (t *Trait) LatLon(p uint32) (lat, lon float64) { return t.lats.get(p), t.lons.get(p) }

// Other returns p's list or object value, or nil.
func (t *Trait) Other(p uint32) any { return t.others[p] }

// Get returns p's value classified, Kind None when p has none.
func (t *Trait) Get(p uint32) Value {
	switch {
	case !t.Present.Contains(p):
		return Value{}
	case t.NumPresent.Contains(p):
		return Value{Kind: Number, Num: t.nums.get(p)}
	case t.TimePresent.Contains(p):
		return Value{Kind: Time, Nano: t.times.get(p)}
	case t.True.Contains(p):
		return Value{Kind: Bool, Bool: true}
	case t.False.Contains(p):
		return Value{Kind: Bool}
	case t.GeoPresent.Contains(p):
		return Value{Kind: Geo, Num: t.lats.get(p), Lon: t.lons.get(p)}
	case t.OtherPresent.Contains(p):
		v := t.others[p]
		if _, ok := v.([]any); ok {
			return Value{Kind: List, Raw: v}
		}
		return Value{Kind: Object, Raw: v}
	default:
		return Value{Kind: Text, Str: t.Values[t.codes.get(p)]}
	}
}

// clear removes p's value of whatever kind.
func (t *Trait) clear(p uint32) {
	if !t.Present.Contains(p) {
		return
	}
	t.Present.Remove(p)
	if c := t.codes.get(p); c != 0 {
		t.ByCode[c].Remove(p)
		t.codes.set(p, 0)
		return
	}
	switch {
	case t.NumPresent.Contains(p):
		t.NumPresent.Remove(p)
	case t.TimePresent.Contains(p):
		t.TimePresent.Remove(p)
	case t.True.Contains(p):
		t.True.Remove(p)
	case t.False.Contains(p):
		t.False.Remove(p)
	case t.GeoPresent.Contains(p):
		t.GeoPresent.Remove(p)
	case t.OtherPresent.Contains(p):
		t.OtherPresent.Remove(p)
		delete(t.others, p)
	}
}

// set replaces p's value; a None value removes it.
func (t *Trait) set(p uint32, v Value) {
	t.clear(p)
	if v.Kind == None {
		return
	}
	t.Present.Add(p)
	switch v.Kind {
	case Text:
		c, ok := t.dict[v.Str]
		if !ok {
			v.Str = strings.Clone(v.Str) // not a slice of the decoded request (see Column.set)
			c = uint32(len(t.Values))
			t.dict[v.Str] = c
			t.Values = append(t.Values, v.Str)
			t.ByCode = append(t.ByCode, roaring.New())
		}
		t.codes.set(p, c)
		t.ByCode[c].Add(p)
	case Number:
		t.nums.set(p, v.Num)
		t.NumPresent.Add(p)
	case Time:
		t.times.set(p, v.Nano)
		t.TimePresent.Add(p)
	case Bool:
		if v.Bool {
			t.True.Add(p)
		} else {
			t.False.Add(p)
		}
	case Geo:
		t.lats.set(p, v.Num)
		t.lons.set(p, v.Lon)
		t.GeoPresent.Add(p)
	default:
		t.others[p] = v.Raw
		t.OtherPresent.Add(p)
	}
}

// kindCounts reports how many profiles hold each kind.
func (t *Trait) kindCounts() []KindCount {
	var out []KindCount
	add := func(k ValueKind, n uint64) {
		if n > 0 {
			out = append(out, KindCount{Kind: k, Count: int(n)})
		}
	}
	var text uint64
	for _, b := range t.ByCode[1:] {
		text += b.GetCardinality()
	}
	add(Text, text)
	add(Number, t.NumPresent.GetCardinality())
	add(Bool, t.True.GetCardinality()+t.False.GetCardinality())
	add(Time, t.TimePresent.GetCardinality())
	add(Geo, t.GeoPresent.GetCardinality())
	var lists, objects uint64
	for _, v := range t.others {
		if _, ok := v.([]any); ok {
			lists++
		} else {
			objects++
		}
	}
	add(List, lists)
	add(Object, objects)
	return out
}

func (t *Trait) runOptimize() {
	t.Present.RunOptimize()
	t.NumPresent.RunOptimize()
	t.TimePresent.RunOptimize()
	t.True.RunOptimize()
	t.False.RunOptimize()
	t.GeoPresent.RunOptimize()
	for _, b := range t.ByCode {
		b.RunOptimize()
	}
}
