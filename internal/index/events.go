package index

import (
	"slices"
	"sort"
	"strings"

	"github.com/RoaringBitmap/roaring/v2"
)

// EventKind is the Segment call type of an event.
type EventKind uint8

// The event kinds. Track is the zero value: most events are track calls.
const (
	Track EventKind = iota
	Page
	Screen
	Identify
	Group
	Alias
)

var eventKindNames = [...]string{"track", "page", "screen", "identify", "group", "alias"}

func (k EventKind) String() string {
	if int(k) < len(eventKindNames) {
		return eventKindNames[k]
	}
	return "unknown"
}

// TableKey names an event table: track events by event name; every other kind has one table
// per kind (Name empty) whose rows carry the page or screen name as the property "name".
type TableKey struct {
	Kind EventKind
	Name string
}

// Table holds the events of one name (or one non-track kind) as parallel column arrays:
// Prof[i] did the event at Time[i] (Unix nanoseconds UTC) with properties in Columns.
//
// In a Snapshot the rows are ordered by Time ascending, so a window is two binary searches,
// and every column array that exists has exactly Len() entries. Writers append and mark the
// table unsorted when an event arrives out of order; the index sorts on the next read.
type Table struct {
	Key      TableKey
	Prof     []uint32
	Time     []int64
	Columns  map[string]*Column
	Profiles *roaring.Bitmap // profiles with at least one row

	sorted bool // rows ascending by Time
	// sortedUpTo is, while !sorted, how many leading rows were in order when the first row
	// out of order arrived: only the rows from the first one later than the tail's earliest
	// need sorting (live ingestion appends nearly in order; a rebuild appends by profile).
	sortedUpTo int
	padded     bool // every column array has Len() entries
	// derived remembers the column of each position of the last events' derived fields:
	// they come in the order enrichment derives them, so most events find their columns
	// here without a map lookup each (names compare equal at once: the same constants).
	derived []derivedColumn
}

type derivedColumn struct {
	name string
	col  *Column
}

// Len returns the number of rows.
func (t *Table) Len() int { return len(t.Prof) }

// Lower returns the first row with Time >= ns.
func (t *Table) Lower(ns int64) int {
	i, _ := slices.BinarySearch(t.Time, ns)
	return i
}

// Upper returns the first row with Time > ns.
func (t *Table) Upper(ns int64) int {
	if ns == 1<<63-1 {
		return len(t.Time)
	}
	i, _ := slices.BinarySearch(t.Time, ns+1)
	return i
}

// Column is one property over the rows of a table, typed per row like a Trait.
type Column struct {
	Name string

	// Text: Codes[row] is the dictionary code (0 = the row has no text value), nil when no
	// row ever had text. Values[code] is the text.
	Codes  []uint32
	Values []string
	dict   map[string]uint32
	// last is the code of the text set last (0: none): consecutive events repeat a column's
	// few values (a category, a browser, a locale), which then cost a comparison instead of
	// a map lookup
	last uint32

	// Number and Time: arrays (nil until a value of the kind arrives) plus presence bits.
	Nums    []float64
	NumSet  bitset
	Times   []int64
	TimeSet bitset

	// Bool: BoolSet has the rows with a boolean, BoolTrue those that are true.
	BoolSet, BoolTrue bitset

	// Geo, List and Object values are rare in event properties; kept per row.
	others map[int]Value
}

// Code returns the dictionary code of text s, or 0 when no row has it.
func (c *Column) Code(s string) uint32 { return c.dict[s] }

// HasOthers reports whether some row holds a point, a list or an object.
func (c *Column) HasOthers() bool { return len(c.others) > 0 }

// HasNum reports whether row holds a number.
func (c *Column) HasNum(row int) bool { return c.NumSet.Has(row) }

// HasTime reports whether row holds a time.
func (c *Column) HasTime(row int) bool { return c.TimeSet.Has(row) }

// Get returns the value of row classified, Kind None when the row lacks the property.
func (c *Column) Get(row int) Value {
	if c.Codes != nil && row < len(c.Codes) && c.Codes[row] != 0 {
		return Value{Kind: Text, Str: c.Values[c.Codes[row]]}
	}
	if c.NumSet.Has(row) {
		return Value{Kind: Number, Num: c.Nums[row]}
	}
	if c.TimeSet.Has(row) {
		return Value{Kind: Time, Nano: c.Times[row]}
	}
	if c.BoolSet.Has(row) {
		return Value{Kind: Bool, Bool: c.BoolTrue.Has(row)}
	}
	if v, ok := c.others[row]; ok {
		return v
	}
	return Value{}
}

func (c *Column) set(row int, v Value) {
	switch v.Kind {
	case None:
	case Text:
		if c.dict == nil {
			c.dict = map[string]uint32{}
			c.Values = []string{""}
		}
		code := c.last
		if code == 0 || c.Values[code] != v.Str {
			code = c.textCode(v.Str)
			c.last = code
		}
		c.Codes = growTo(c.Codes, row+1)
		c.Codes[row] = code
	case Number:
		c.Nums = growTo(c.Nums, row+1)
		c.Nums[row] = v.Num
		c.NumSet.set(row)
	case Time:
		c.Times = growTo(c.Times, row+1)
		c.Times[row] = v.Nano
		c.TimeSet.set(row)
	case Bool:
		c.BoolSet.set(row)
		if v.Bool {
			c.BoolTrue.set(row)
		}
	default:
		if c.others == nil {
			c.others = map[int]Value{}
		}
		c.others[row] = v
	}
}

// textCode returns the dictionary code of s, adding it when new.
func (c *Column) textCode(s string) uint32 {
	if code, ok := c.dict[s]; ok {
		return code
	}
	// a copy: the decoder's strings are slices of the whole request body, which a dictionary
	// entry would otherwise keep alive for good
	s = strings.Clone(s)
	code := uint32(len(c.Values))
	c.dict[s] = code
	c.Values = append(c.Values, s)
	return code
}

// clearRow removes the value of row, whatever its kind.
func (c *Column) clearRow(row int) {
	if row < len(c.Codes) {
		c.Codes[row] = 0
	}
	c.NumSet.clear(row)
	c.TimeSet.clear(row)
	c.BoolSet.clear(row)
	c.BoolTrue.clear(row)
	delete(c.others, row)
}

// truncate drops the rows from n on (their values must have been cleared).
func (c *Column) truncate(n int) {
	if len(c.Codes) > n {
		c.Codes = c.Codes[:n]
	}
	if len(c.Nums) > n {
		c.Nums = c.Nums[:n]
	}
	if len(c.Times) > n {
		c.Times = c.Times[:n]
	}
}

// growTo extends s with zero values to length n (amortised, like append).
func growTo[T any](s []T, n int) []T {
	if len(s) >= n {
		return s
	}
	if cap(s) >= n {
		return s[:n]
	}
	return append(s, make([]T, n-len(s))...)
}

func (c *Column) pad(n int) {
	if c.Codes != nil {
		c.Codes = growTo(c.Codes, n)
	}
	if c.Nums != nil {
		c.Nums = growTo(c.Nums, n)
	}
	if c.Times != nil {
		c.Times = growTo(c.Times, n)
	}
}

// kindCounts reports how many rows hold each kind.
func (c *Column) kindCounts() []KindCount {
	var out []KindCount
	add := func(k ValueKind, n int) {
		if n > 0 {
			out = append(out, KindCount{Kind: k, Count: n})
		}
	}
	text := 0
	for _, code := range c.Codes {
		if code != 0 {
			text++
		}
	}
	add(Text, text)
	add(Number, c.NumSet.count())
	add(Bool, c.BoolSet.count())
	add(Time, c.TimeSet.count())
	var geo, lists, objects int
	for _, v := range c.others {
		switch v.Kind {
		case Geo:
			geo++
		case List:
			lists++
		default:
			objects++
		}
	}
	add(Geo, geo)
	add(List, lists)
	add(Object, objects)
	return out
}

func newTable(key TableKey) *Table {
	return &Table{Key: key, Columns: map[string]*Column{}, Profiles: roaring.New(), sorted: true, padded: true}
}

func (t *Table) add(e *Event, ns int64) {
	row := len(t.Prof)
	if row > 0 && ns < t.Time[row-1] {
		if t.sorted {
			t.sortedUpTo = row
		}
		t.sorted = false
	}
	if row == 0 || t.Prof[row-1] != e.Profile {
		t.Profiles.Add(e.Profile) // rebuilds come grouped by profile: one Add per run
	}
	t.Prof = append(t.Prof, e.Profile)
	t.Time = append(t.Time, ns)
	for k, v := range e.Props {
		t.column(k).set(row, Classify(v))
	}
	for i, p := range e.Derived {
		t.derivedColumn(i, p.Name).set(row, Classify(p.Value))
	}
	if e.Kind == Page || e.Kind == Screen {
		if _, ok := e.Get("name"); !ok && e.Name != "" {
			t.column("name").set(row, Value{Kind: Text, Str: e.Name})
		}
	}
	t.padded = false
}

// derivedColumn is column(name) for the i-th derived field of an event.
func (t *Table) derivedColumn(i int, name string) *Column {
	if i < len(t.derived) && t.derived[i].name == name {
		return t.derived[i].col
	}
	c := t.column(name)
	if i < 32 {
		for len(t.derived) <= i {
			t.derived = append(t.derived, derivedColumn{})
		}
		t.derived[i] = derivedColumn{c.Name, c}
	}
	return c
}

func (t *Table) column(name string) *Column {
	c, ok := t.Columns[name]
	if !ok {
		name = strings.Clone(name)
		c = &Column{Name: name}
		t.Columns[name] = c
	}
	return c
}

// prepare makes the table readable: rows sorted by time, column arrays full length.
func (t *Table) prepare() {
	if !t.sorted {
		t.sortByTime()
	}
	if !t.padded {
		for _, c := range t.Columns {
			c.pad(len(t.Prof))
		}
		t.padded = true
	}
}

// sortByTime reorders every column by a stable sort on Time, so events with equal times keep
// their arrival order (which makes results independent of the sort algorithm).
func (t *Table) sortByTime() {
	n := len(t.Prof)
	// Rows before p are in order and not later than any row after it: they stay.
	p := 0
	if k := t.sortedUpTo; k > 0 && k < n {
		tailMin := t.Time[k]
		for _, v := range t.Time[k:] {
			tailMin = min(tailMin, v)
		}
		p = sort.Search(k, func(i int) bool { return t.Time[i] > tailMin })
	}
	perm := sortPerm(t.Time[p:])
	permuteTail(t.Prof, p, perm)
	permuteTail(t.Time, p, perm)
	for _, c := range t.Columns {
		c.pad(n)
		if c.Codes != nil {
			permuteTail(c.Codes, p, perm)
		}
		if c.Nums != nil {
			permuteTail(c.Nums, p, perm)
		}
		if c.Times != nil {
			permuteTail(c.Times, p, perm)
		}
		c.NumSet = permuteBitsTail(c.NumSet, p, perm)
		c.TimeSet = permuteBitsTail(c.TimeSet, p, perm)
		c.BoolSet = permuteBitsTail(c.BoolSet, p, perm)
		c.BoolTrue = permuteBitsTail(c.BoolTrue, p, perm)
		if len(c.others) > 0 {
			others := make(map[int]Value, len(c.others))
			inv := make(map[int]int, len(c.others))
			for i, old := range perm {
				if _, ok := c.others[p+int(old)]; ok {
					inv[p+int(old)] = p + i
				}
			}
			for row, v := range c.others {
				if row >= p {
					row = inv[row]
				}
				others[row] = v
			}
			c.others = others
		}
	}
	t.sorted = true
	t.sortedUpTo = 0
	t.padded = true
}

// permuteTail reorders s[p:] so that s[p+i] becomes the old s[p+perm[i]].
func permuteTail[T any](s []T, p int, perm []int32) {
	tail := permute(s[p:], perm)
	copy(s[p:], tail)
}

// permuteBitsTail is permuteTail for a bit set (rows p and later); it grows b to the
// table's length when it is shorter (unset rows at the end are not stored).
func permuteBitsTail(b bitset, p int, perm []int32) bitset {
	if len(b) == 0 {
		return b
	}
	if need := (p + len(perm) + 63) / 64; len(b) < need {
		b = append(b, make(bitset, need-len(b))...)
	}
	old := make(bitset, len(b))
	copy(old, b)
	for i, q := range perm {
		row := p + i
		if old.Has(p + int(q)) {
			b[row>>6] |= 1 << (uint(row) & 63)
		} else {
			b[row>>6] &^= 1 << (uint(row) & 63)
		}
	}
	return b
}

func permute[T any](s []T, perm []int32) []T {
	out := make([]T, len(perm))
	for i, p := range perm {
		out[i] = s[p]
	}
	return out
}

func permuteBits(b bitset, perm []int32) bitset {
	if len(b) == 0 {
		return b
	}
	out := make(bitset, (len(perm)+63)/64)
	for i, p := range perm {
		if b.Has(int(p)) {
			out[i>>6] |= 1 << (uint(i) & 63)
		}
	}
	return out
}

// sortPerm returns the row order that sorts times ascending, rows with equal times in their
// current order (a stable sort). It is an LSD radix sort on the times minus their minimum,
// 11 bits per pass, skipping passes whose digit is the same for every row: rebuilds sort
// tens of millions of rows, where a comparison sort is several times slower.
func sortPerm(times []int64) []int32 {
	n := len(times)
	perm := make([]int32, n)
	for i := range perm {
		perm[i] = int32(i)
	}
	if n < 2 {
		return perm
	}
	lo, hi := times[0], times[0]
	for _, v := range times {
		lo, hi = min(lo, v), max(hi, v)
	}
	span := uint64(hi) - uint64(lo) // wraps correctly: hi >= lo
	keys := make([]uint64, n)
	for i, v := range times {
		keys[i] = uint64(v) - uint64(lo)
	}
	const digit = 11
	tmpKeys := make([]uint64, n)
	tmpPerm := make([]int32, n)
	var count [1 << digit]int
	for shift := uint(0); shift < 64 && span>>shift != 0; shift += digit {
		clear(count[:])
		for _, k := range keys {
			count[(k>>shift)&(1<<digit-1)]++
		}
		if count[(keys[0]>>shift)&(1<<digit-1)] == n {
			continue // every row has this digit: the pass would not move anything
		}
		sum := 0
		for i, c := range count {
			count[i] = sum
			sum += c
		}
		for i, k := range keys {
			d := (k >> shift) & (1<<digit - 1)
			j := count[d]
			count[d]++
			tmpKeys[j], tmpPerm[j] = k, perm[i]
		}
		keys, tmpKeys = tmpKeys, keys
		perm, tmpPerm = tmpPerm, perm
	}
	return perm
}

// keepRows keeps only the rows for which keep is true, preserving order.
func (t *Table) keepRows(keep func(row int) bool) {
	t.prepare()
	n := len(t.Prof)
	var idx []int32
	for i := 0; i < n; i++ {
		if keep(i) {
			idx = append(idx, int32(i))
		}
	}
	if len(idx) == n {
		return
	}
	// permute with a subset of rows is exactly a filter.
	t.Prof = permute(t.Prof, idx)
	t.Time = permute(t.Time, idx)
	for _, c := range t.Columns {
		if c.Codes != nil {
			c.Codes = permute(c.Codes, idx)
		}
		if c.Nums != nil {
			c.Nums = permute(c.Nums, idx)
		}
		if c.Times != nil {
			c.Times = permute(c.Times, idx)
		}
		c.NumSet = permuteBits(c.NumSet, idx)
		c.TimeSet = permuteBits(c.TimeSet, idx)
		c.BoolSet = permuteBits(c.BoolSet, idx)
		c.BoolTrue = permuteBits(c.BoolTrue, idx)
		if len(c.others) > 0 {
			others := map[int]Value{}
			for newRow, old := range idx {
				if v, ok := c.others[int(old)]; ok {
					others[newRow] = v
				}
			}
			c.others = others
		}
	}
	t.Profiles = roaring.New()
	t.Profiles.AddMany(t.Prof)
}
