package index

import (
	"fmt"
	"maps"
	"math/rand/v2"
	"reflect"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"
	"unsafe"
)

var t0 = time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC)

func TestClassify(t *testing.T) {
	for _, tc := range []struct {
		in   any
		want ValueKind
	}{
		{"VN", Text},
		{"2025-01-01T00:00:00Z", Time},
		{"2025-01-01T00:00:00.123+07:00", Time},
		{"2025-01-01", Time},
		{"2025-13-01", Text},
		{"2025-01-01 00:00", Text},
		{3.5, Number},
		{true, Bool},
		{nil, None},
		{map[string]any{"lat": 10.7, "lon": 106.7}, Geo},
		{map[string]any{"lat": 10.7, "lng": 106.7}, Geo},
		{[]any{10.7, 106.7}, Geo},
		{[]any{100.0, 106.7}, List},
		{[]any{"a"}, List},
		{map[string]any{"a": 1.0}, Object},
	} {
		if got := Classify(tc.in).Kind; got != tc.want {
			t.Errorf("Classify(%v) = %v, want %v", tc.in, got, tc.want)
		}
	}
}

func TestTraits(t *testing.T) {
	ix := New()
	ix.LoadProfile(Profile{ID: 1, Traits: map[string]any{"country": "VN", "age": 30.0, "plan": "pro"}})
	ix.LoadProfile(Profile{ID: 2, Traits: map[string]any{"country": "VN", "age": "thirty"}})
	ix.SetTraits(1, map[string]any{"country": "TH", "plan": nil})
	s := ix.Acquire()
	defer s.Release()
	c := s.Trait("country")
	if got := c.ByCode[c.Code("VN")].ToArray(); !slices.Equal(got, []uint32{2}) {
		t.Fatalf("VN holders %v", got)
	}
	if got := c.ByCode[c.Code("TH")].ToArray(); !slices.Equal(got, []uint32{1}) {
		t.Fatalf("TH holders %v", got)
	}
	if s.Trait("plan").Present.Contains(1) {
		t.Fatal("nil did not remove plan")
	}
	age := s.Trait("age")
	if !age.NumPresent.Contains(1) || age.Num(1) != 30 || age.Get(2).Str != "thirty" {
		t.Fatalf("age: %v %v", age.Get(1), age.Get(2))
	}
	if got := s.Live().ToArray(); !slices.Equal(got, []uint32{1, 2}) {
		t.Fatalf("live %v", got)
	}
}

// TestEventsSortedOnRead adds events out of order and reads them time-ordered with their
// properties moved along.
func TestEventsSortedOnRead(t *testing.T) {
	ix := New()
	for _, i := range []int{3, 1, 2, 0} {
		ix.AddEvent(Event{Profile: uint32(i), Name: "A", Time: t0.Add(time.Duration(i) * time.Hour),
			Props: map[string]any{"n": float64(i), "s": fmt.Sprint("v", i)}})
	}
	ix.AddEvent(Event{Profile: 9, Kind: Page, Name: "Home", Time: t0})
	s := ix.Acquire()
	defer s.Release()
	tb := s.Table(TableKey{Kind: Track, Name: "A"})
	if !slices.Equal(tb.Prof, []uint32{0, 1, 2, 3}) {
		t.Fatalf("profiles %v", tb.Prof)
	}
	n, str := tb.Columns["n"], tb.Columns["s"]
	for r := 0; r < 4; r++ {
		if n.Nums[r] != float64(r) || str.Values[str.Codes[r]] != fmt.Sprint("v", r) {
			t.Fatalf("row %d: %v %v", r, n.Get(r), str.Get(r))
		}
	}
	if lo, hi := tb.Lower(t0.Add(time.Hour).UnixNano()), tb.Upper(t0.Add(2*time.Hour).UnixNano()); lo != 1 || hi != 3 {
		t.Fatalf("window rows [%d, %d)", lo, hi)
	}
	pg := s.Table(TableKey{Kind: Page})
	if pg == nil || pg.Columns["name"].Get(0).Str != "Home" {
		t.Fatal("page name not kept as property")
	}
}

func TestMergeEraseRecords(t *testing.T) {
	ix := New()
	ix.LoadProfile(Profile{ID: 1, Traits: map[string]any{"a": "x"}})
	ix.LoadProfile(Profile{ID: 2, Traits: map[string]any{"a": "y", "b": 1.0}})
	ix.AddEvent(Event{Profile: 2, Name: "E", Time: t0})
	ix.AddEvent(Event{Profile: 1, Name: "E", Time: t0.Add(time.Hour)})
	ix.UpsertRecord(Record{Type: "tickets", ID: "t1", Profile: 2, Attrs: map[string]any{"s": "open"}})
	ix.UpsertRecord(Record{Type: "tickets", ID: "t2", Profile: 3})
	ix.Merge(2, 1)
	s := ix.Acquire()
	if got := s.Live().ToArray(); !slices.Equal(got, []uint32{1, 3}) {
		t.Fatalf("live after merge %v", got)
	}
	if s.Trait("a").Get(1).Str != "x" || s.Trait("b").Num(1) != 1 || s.Trait("b").Present.Contains(2) {
		t.Fatal("traits after merge: into's values win, from's fill gaps")
	}
	if tb := s.Table(TableKey{Name: "E"}); !slices.Equal(tb.Prof, []uint32{1, 1}) {
		t.Fatalf("events after merge %v", tb.Prof)
	}
	if rt := s.Records("tickets"); rt.Prof[0] != 1 {
		t.Fatalf("record after merge %v", rt.Prof)
	}
	s.Release()
	ix.Erase(1)
	if !ix.DeleteRecord("tickets", "t2") || ix.DeleteRecord("tickets", "t2") {
		t.Fatal("delete record")
	}
	s = ix.Acquire()
	defer s.Release()
	if s.Table(TableKey{Name: "E"}).Len() != 0 || s.Records("tickets").Len() != 0 || s.Live().Contains(1) || s.Trait("a").Present.Contains(1) {
		t.Fatal("erase left data behind")
	}
}

func TestSchema(t *testing.T) {
	ix := New()
	ix.LoadProfile(Profile{ID: 1, Traits: map[string]any{"country": "VN", "signup_at": "2025-01-01T00:00:00Z"}})
	ix.LoadProfile(Profile{ID: 2, Traits: map[string]any{"country": 5.0}})
	ix.AddEvent(Event{Profile: 1, Name: "Order Completed", Time: t0, Props: map[string]any{"revenue": 10.0}})
	ix.UpsertRecord(Record{Type: "accounts", ID: "a", Profile: 1, Attrs: map[string]any{"balance": 3.0}})
	s := ix.Schema()
	if s.Profiles != 2 || len(s.Traits) != 2 || s.Traits[0].Name != "country" || s.Traits[0].Count != 2 || len(s.Traits[0].Kinds) != 2 {
		t.Fatalf("traits %+v", s.Traits)
	}
	if s.Traits[1].Kinds[0].Kind != Time {
		t.Fatalf("signup_at kind %v", s.Traits[1].Kinds)
	}
	if len(s.Events) != 1 || s.Events[0].Name != "Order Completed" || s.Events[0].Properties[0].Kinds[0].Kind != Number {
		t.Fatalf("events %+v", s.Events)
	}
	if len(s.Records) != 1 || s.Records[0].Attributes[0].Name != "balance" {
		t.Fatalf("records %+v", s.Records)
	}
}

// retail makes n events over profiles with a realistic property mix.
func retail(n, profiles int) []Event {
	r := rand.New(rand.NewPCG(1, 2))
	names := []string{"Page Viewed", "Product Viewed", "Product Added", "Order Completed"}
	cats := []string{"shoes", "hats", "bags", "shirts", "socks"}
	es := make([]Event, n)
	for i := range es {
		es[i] = Event{Profile: uint32(r.IntN(profiles)), Name: names[r.IntN(len(names))], Time: t0.Add(time.Duration(i) * time.Second),
			Props: map[string]any{"category": cats[r.IntN(len(cats))], "price": float64(r.IntN(200))}}
	}
	return es
}

// BenchmarkBuild measures the rebuild path: events per second and bytes held per event.
func BenchmarkBuild(b *testing.B) {
	const n = 1_000_000
	es := retail(n, 100_000)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		ix := New()
		for j := 0; j < n; j += 10_000 {
			ix.AddEvents(es[j : j+10_000])
		}
		ix.Acquire().Release()
	}
	b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "events/s")
}

func BenchmarkMemoryPerEvent(b *testing.B) {
	const n = 1_000_000
	es := retail(n, 100_000)
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		runtime.GC()
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		ix := New()
		ix.AddEvents(es)
		ix.Optimize()
		ix.Acquire().Release()
		runtime.GC()
		runtime.ReadMemStats(&after)
		b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc)/n, "bytes/event")
		runtime.KeepAlive(ix)
	}
}

// TestRecordColumns checks that record columns stay equal to classifying the attribute maps
// through random upserts (new, replacing, moving kinds) and deletes.
func TestRecordColumns(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	ix := New()
	values := []any{nil, "open", "closed", 3.5, 7.0, true, false, "2024-01-02", []any{"a"}, map[string]any{"k": 1.0}}
	for i := 0; i < 3000; i++ {
		id := fmt.Sprint(r.IntN(200))
		if r.IntN(4) == 0 {
			ix.DeleteRecord("t", id)
			continue
		}
		attrs := map[string]any{}
		for _, k := range []string{"a", "b", "c"} {
			if r.IntN(3) > 0 {
				attrs[k] = values[r.IntN(len(values))]
			}
		}
		ix.UpsertRecord(Record{Type: "t", ID: id, Profile: uint32(r.IntN(50)), Attrs: attrs})
	}
	snap := ix.Acquire()
	defer snap.Release()
	rt := snap.Records("t")
	for row := 0; row < rt.Len(); row++ {
		for _, k := range []string{"a", "b", "c"} {
			want := Classify(rt.Attrs[row][k])
			var got Value
			if c := rt.Columns[k]; c != nil {
				if c.Codes != nil && len(c.Codes) != rt.Len() || c.Nums != nil && len(c.Nums) != rt.Len() {
					t.Fatalf("column %s not %d rows long", k, rt.Len())
				}
				got = c.Get(row)
			}
			if got.Kind != want.Kind || got.Str != want.Str || got.Num != want.Num || got.Bool != want.Bool || got.Nano != want.Nano {
				t.Fatalf("row %d %s: column %+v, attrs %+v", row, k, got, want)
			}
		}
	}
}

// TestSortPerm checks the radix sort against a stable comparison sort, with ties, negative
// times and extreme values.
func TestSortPerm(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	for _, n := range []int{0, 1, 2, 3, 100, 5000} {
		for _, spread := range []int64{1, 3, 1 << 20, 1 << 62} {
			times := make([]int64, n)
			for i := range times {
				times[i] = r.Int64N(spread) - spread/2
			}
			if n > 3 {
				times[0], times[1] = -1<<63, 1<<63-1
			}
			want := make([]int32, n)
			for i := range want {
				want[i] = int32(i)
			}
			slices.SortStableFunc(want, func(a, b int32) int {
				switch {
				case times[a] < times[b]:
					return -1
				case times[a] > times[b]:
					return 1
				}
				return 0
			})
			if got := sortPerm(times); !slices.Equal(got, want) {
				t.Fatalf("n=%d spread=%d: order differs", n, spread)
			}
		}
	}
}

// BenchmarkBuildProfileOrder is BenchmarkBuild with events in the order a rebuild reads them
// from the store: grouped by profile, each profile's events ascending, tables unsorted.
func BenchmarkBuildProfileOrder(b *testing.B) {
	const n = 1_000_000
	es := retail(n, 100_000)
	slices.SortStableFunc(es, func(x, y Event) int { return int(x.Profile) - int(y.Profile) })
	for i := range es { // a loader allocates the maps in the order it reads: keep them local
		es[i].Props = maps.Clone(es[i].Props)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		ix := New()
		for j := 0; j < n; j += 4096 {
			ix.AddEvents(es[j:min(j+4096, n)])
		}
		ix.Acquire().Release()
	}
	b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "events/s")
}

// Rows appended after a read, partly out of order, are sorted in with only the rows that
// must move: the result equals an index that received the same events in one go.
func TestIncrementalSortEqualsFullSort(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	var all []Event
	inc := New()
	for round := 0; round < 8; round++ {
		base := t0.Add(time.Duration(round) * time.Hour)
		for i := 0; i < 200; i++ {
			at := base.Add(time.Duration(r.IntN(60)) * time.Minute) // minutes: many equal times
			if r.IntN(10) == 0 {
				at = t0.Add(time.Duration(r.IntN((round+1)*60)) * time.Minute) // late
			}
			props := map[string]any{}
			switch r.IntN(6) {
			case 0:
				props["v"] = float64(r.IntN(5))
			case 1:
				props["v"] = fmt.Sprint("s", r.IntN(5))
			case 2:
				props["v"] = r.IntN(2) == 0
			case 3:
				props["v"] = at.Add(-time.Hour).Format(time.RFC3339)
			case 4:
				props["v"] = []any{10.5, 106.7}
			}
			if r.IntN(3) == 0 {
				props["w"] = float64(i)
			}
			e := Event{Profile: uint32(r.IntN(50)), Kind: Track, Name: "A", Time: at, Props: props}
			all = append(all, e)
			inc.AddEvent(e)
		}
		inc.Acquire().Release() // sorts what has come so far
	}
	full := New()
	for _, e := range all {
		full.AddEvent(e)
	}
	a, b := inc.Acquire(), full.Acquire()
	defer a.Release()
	defer b.Release()
	ta, tb := a.Table(TableKey{Kind: Track, Name: "A"}), b.Table(TableKey{Kind: Track, Name: "A"})
	if !slices.Equal(ta.Prof, tb.Prof) || !slices.Equal(ta.Time, tb.Time) {
		t.Fatal("rows differ")
	}
	if !slices.IsSorted(ta.Time) {
		t.Fatal("not sorted")
	}
	for _, name := range []string{"v", "w"} {
		for row := range ta.Prof {
			if x, y := ta.Columns[name].Get(row), tb.Columns[name].Get(row); !reflect.DeepEqual(x, y) {
				t.Fatalf("column %s row %d: %+v, want %+v", name, row, x, y)
			}
		}
	}
}

// The index keeps no string that points into the text it was given: the decoder's strings
// are slices of a whole request body, which one kept dictionary entry would keep alive.
func TestIndexCopiesStrings(t *testing.T) {
	body := strings.Repeat("x", 4096) + "Viewed" + "category" + "shoes" + "plan" + "pro"
	part := func(i, n int) string { return body[4096+i : 4096+i+n] }
	inBody := func(s string) bool {
		p := uintptr(unsafe.Pointer(unsafe.StringData(s)))
		b := uintptr(unsafe.Pointer(unsafe.StringData(body)))
		return p >= b && p < b+uintptr(len(body))
	}
	ix := New()
	ix.AddEvent(Event{Profile: 1, Name: part(0, 6), Time: t0, Props: map[string]any{part(6, 8): part(14, 5)}})
	ix.SetTraits(1, map[string]any{part(19, 4): part(23, 3)})
	s := ix.Acquire()
	defer s.Release()
	tb := s.Table(TableKey{Kind: Track, Name: "Viewed"})
	if tb == nil {
		t.Fatal("no table")
	}
	c := tb.Columns["category"]
	plan := s.Trait("plan")
	for what, str := range map[string]string{"table name": tb.Key.Name, "column name": c.Name, "column value": c.Values[c.Codes[0]],
		"trait name": plan.Name, "trait value": plan.Values[plan.Code("pro")]} {
		if inBody(str) {
			t.Errorf("the index's %s %q points into the request body", what, str)
		}
	}
}

// A text column gives every row its value's code, one code per distinct value, whether a value
// repeats the row before it (the memo of the last code) or not.
func TestColumnTextCodes(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	vals := []string{"", "shoes", "hats", "Shoes", "shoes "}
	var c Column
	want := make([]string, 5000)
	for row := range want {
		v := vals[r.IntN(len(vals))]
		if r.IntN(3) > 0 && row > 0 {
			v = want[row-1] // runs, as consecutive events repeat a value
		}
		want[row] = v
		c.set(row, Value{Kind: Text, Str: v})
	}
	for row, v := range want {
		if got := c.Values[c.Codes[row]]; got != v || c.Codes[row] == 0 || c.Code(v) != c.Codes[row] {
			t.Fatalf("row %d: code %d (%q), want %q (code %d)", row, c.Codes[row], got, v, c.Code(v))
		}
	}
	if len(c.Values) != len(vals)+1 {
		t.Errorf("%d dictionary entries for %d distinct values", len(c.Values)-1, len(vals))
	}
}

// BenchmarkAddEventsLive adds events as ingestion does, in commits of 500: web track calls with
// a few properties of which most repeat from event to event (a category, a path) and the
// enrichment fields of one kind of browser, and a product id out of 5,000.
func BenchmarkAddEventsLive(b *testing.B) {
	r := rand.New(rand.NewPCG(7, 8))
	es := make([]Event, 100_000)
	for i := range es {
		es[i] = Event{Profile: uint32(r.IntN(100_000)), Kind: Track, Name: "Product Viewed", Time: t0.Add(time.Duration(i) * time.Millisecond),
			Props: map[string]any{"product_id": fmt.Sprint("p-", r.IntN(5000)), "category": "shoes", "price": float64(r.IntN(20000)) / 100, "path": "/products/p"},
			Derived: []Prop{{"device_type", "mobile"}, {"browser", "Safari"}, {"browser_version", "17.0"}, {"os", "iOS"},
				{"os_version", "17.0"}, {"ip", "203.0.113.7"}, {"locale", "vi-VN"}}}
	}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		ix := New()
		for j := 0; j < len(es); j += 500 {
			ix.AddEvents(es[j : j+500])
		}
	}
	b.ReportMetric(float64(len(es))*float64(b.N)/b.Elapsed().Seconds(), "events/s")
}

// TestDerivedColumnsInAnyOrder: a table remembers the columns of the last events' derived
// fields by position; events whose derived fields come in another order, are fewer or more,
// or have other names still put each value in its own column.
func TestDerivedColumnsInAnyOrder(t *testing.T) {
	tb := newTable(TableKey{Kind: Track, Name: "E"})
	derived := [][]Prop{
		{{"browser", "Safari"}, {"os", "iOS"}},
		{{"browser", "Chrome"}, {"os", "Android"}, {"locale", "vi-VN"}},
		{{"os", "Linux"}, {"browser", "Firefox"}},
		{{"locale", "en-SG"}},
		{{"browser", "Edge"}, {"os", "Windows"}, {"locale", "th-TH"}},
	}
	for i, d := range derived {
		tb.add(&Event{Profile: uint32(i + 1), Kind: Track, Name: "E", Time: t0, Derived: d}, t0.UnixNano()+int64(i))
	}
	tb.prepare()
	for row, d := range derived {
		want := map[string]string{}
		for _, p := range d {
			want[p.Name] = p.Value.(string)
		}
		for _, name := range []string{"browser", "os", "locale"} {
			c := tb.Columns[name]
			got := c.Get(row)
			if w, ok := want[name]; ok != (got.Kind == Text) || got.Str != w {
				t.Errorf("row %d column %s: %+v, want %q", row, name, got, w)
			}
		}
	}
}
