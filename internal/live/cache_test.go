package live

import (
	"context"
	"fmt"
	"math/rand/v2"
	"reflect"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"
	"unsafe"

	"github.com/cockroachdb/pebble/v2/vfs"

	"github.com/segd/segd/internal/index"
	"github.com/segd/segd/internal/message"
	"github.com/segd/segd/internal/profeval"
	"github.com/segd/segd/internal/segment"
	"github.com/segd/segd/internal/segql/parser"
)

// A cached profile sheds the events its segments' windows no longer reach, and evaluations
// at or after the new lower bound still see every event they read; with an unbounded
// condition nothing is dropped.
func TestDropOldKeepsWhatWindowsRead(t *testing.T) {
	now := time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)
	events := func() []profeval.Event {
		var evs []profeval.Event
		for i := range 640 { // one every 17 s over the last three hours
			at := now.Add(-3*time.Hour + time.Duration(i)*17*time.Second)
			evs = append(evs, profeval.Event{Kind: "track", Name: "A", Time: at,
				Props: []profeval.Prop{{Name: "price", Value: float64(i % 7)}}})
		}
		return evs
	}
	for _, tc := range []struct {
		q       string
		drops   bool
		minKept time.Time
	}{
		{`count("A" in last 10 minutes) >= 30 and sum(price of "A" in last 20 minutes) > 100`, true, now.Add(-cacheSlack - 20*time.Minute - time.Second)},
		{`did "A" and count("A" in last 10 minutes) >= 1`, false, time.Time{}},
	} {
		x, err := parser.ParseExpr(tc.q)
		if err != nil {
			t.Fatal(err)
		}
		n := newNeeds()
		n.addTree(x)
		d := newProfileData(true, nil, nil, nil)
		d.need, d.from = n, now.Add(-2*time.Hour)
		full := profeval.NewProfile(map[string]any{}, events(), nil)
		for _, e := range events() {
			d.addEvent(e)
		}
		before, bytes := d.events.Len(), d.events.Bytes()
		dropped := d.dropOld(now)
		if got := before - d.events.Len(); got != dropped {
			t.Fatalf("%s: dropOld reported %d, removed %d", tc.q, dropped, got)
		}
		if !tc.drops {
			if dropped != 0 {
				t.Fatalf("%s: dropped %d events of an unbounded condition", tc.q, dropped)
			}
			continue
		}
		if dropped == 0 || d.events.Bytes() >= bytes {
			t.Fatalf("%s: nothing dropped (%d events, %d bytes)", tc.q, d.events.Len(), d.events.Bytes())
		}
		if first := d.events.Events()[0].Time; first.Before(tc.minKept) || first.After(tc.minKept.Add(17*time.Second)) {
			t.Fatalf("%s: oldest kept event at %v, want the first at or after %v", tc.q, first, tc.minKept)
		}
		if !d.serves(n, now.Add(-cacheSlack)) || d.serves(n, now.Add(-cacheSlack-time.Second)) {
			t.Fatalf("%s: from %v after dropping", tc.q, d.from)
		}
		// every evaluation the data still serves answers as with all events
		for at := now.Add(-cacheSlack); !at.After(now); at = at.Add(7 * time.Second) {
			o := profeval.Options{At: at, Profile: 1}
			want, err1 := profeval.Holds(full, x, o)
			got, err2 := profeval.Holds(d.profile(), x, o)
			if err1 != nil || err2 != nil || got != want {
				t.Fatalf("%s at %v: %v (%v) after dropping, %v (%v) with every event", tc.q, at, got, err2, want, err1)
			}
		}
	}
}

// A cached event keeps no string pointing into the request it was decoded from.
func TestCachedEventCopiesStrings(t *testing.T) {
	body := strings.Repeat("x", 4096) + "Viewed" + "category" + "shoes" + "Pricing" + "a-long-value-" + strings.Repeat("y", 80)
	part := func(i, n int) string { return body[4096+i : 4096+i+n] }
	inBody := func(s string) bool {
		p := uintptr(unsafe.Pointer(unsafe.StringData(s)))
		b := uintptr(unsafe.Pointer(unsafe.StringData(body)))
		return p >= b && p < b+uintptr(len(body))
	}
	x, err := parser.ParseExpr(`count("Viewed" where category = "shoes" and other != "z" in last 1 hours) >= 1 and did page "Pricing"`)
	if err != nil {
		t.Fatal(err)
	}
	n := newNeeds()
	n.addTree(x)
	for _, need := range []*needs{n, nil} {
		tr := need.event(&index.Event{Kind: index.Track, Name: part(0, 6), Time: time.Now(),
			Props: map[string]any{part(6, 8): part(14, 5)}, Derived: []index.Prop{{Name: "other", Value: part(26, 93)}}})
		pg := need.event(&index.Event{Kind: index.Page, Name: part(19, 7), Time: time.Now()})
		strs := []string{tr.Name, pg.Name}
		for _, p := range tr.Props {
			strs = append(strs, p.Name, p.Value.(string))
		}
		if len(tr.Props) != 2 {
			t.Fatalf("kept %v", tr.Props)
		}
		for _, s := range strs {
			if inBody(s) {
				t.Errorf("cached event string %q points into the request body (needs %v)", s, need != nil)
			}
		}
	}
	// traits set on a cached profile likewise
	l := &Live{cache: newCache(nil, 10)}
	d := newProfileData(true, nil, nil, nil)
	l.cache.put(profKey{1, 1}, d)
	l.updateCache(&Change{WS: 1, Kind: TraitsSet, Profile: 1, Traits: map[string]any{part(6, 8): part(14, 5)}}, nil, nil)
	for k, v := range d.traits {
		if inBody(k) || inBody(v.(string)) {
			t.Errorf("cached trait %q = %q points into the request body", k, v)
		}
	}
	if d.traits["category"] != "shoes" {
		t.Fatalf("cached traits %v", d.traits)
	}
}

// When a workspace's last real-time segment is deleted the cache lets its profiles go (nothing
// reads them, and keeping them current cost every event); a new segment starts it again.
func TestCacheDroppedWithTheLastRealtimeSegment(t *testing.T) {
	clk := &clock{t: time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)}
	e := newEnv(t, vfs.NewMem(), clk, &catalog{}, true)
	defer e.close()
	e.addSegment("s1", "busy", `count("A" in last 1 hours) >= 1`)
	for _, u := range []string{"u1", "u2", "u3"} {
		e.send(e.track(u, "A", clk.Now(), nil))
	}
	e.sync()
	if n := e.live.cache.ll.Len(); n < 3 {
		t.Fatalf("cache holds %d profiles after events of 3 people", n)
	}
	e.cat.mu.Lock()
	old := e.cat.segs[0]
	e.cat.segs = nil
	e.cat.mu.Unlock()
	e.live.SegmentChanged(e.ws, &old, nil)
	e.sync()
	if n := e.live.cache.ll.Len(); n != 0 {
		t.Fatalf("cache holds %d profiles with no real-time segment left", n)
	}
	e.send(e.track("u1", "A", clk.Now(), nil))
	e.sync()
	if n, b := e.live.cache.ll.Len(), e.live.cache.bytes; n != 0 || b != 0 {
		t.Fatalf("cache holds %d profiles (%d bytes) after an event with no segment", n, b)
	}
	e.addSegment("s2", "busy2", `count("A" in last 1 hours) >= 2`)
	e.send(e.track("u1", "A", clk.Now(), nil))
	e.sync()
	if got := e.live.Members(e.ws, "s2"); !got.Contains(e.pid("u1")) || got.GetCardinality() != 1 {
		t.Fatalf("members of the new segment: %v", got.ToArray())
	}
}

// A full scan and a per-profile load hand out the same events with the same properties: both
// decode into a reused scratch array (the scan packs each profile's properties into an array
// of their own before handing them over, the profile copies them), so a profile that kept a
// slice of the scratch would see the next profile's values.
func TestScanAndLoadKeepEachProfilesProperties(t *testing.T) {
	clk := &clock{t: time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)}
	e := newEnv(t, vfs.NewMem(), clk, &catalog{}, true)
	defer e.close()
	x, err := parser.ParseExpr(`count("Viewed" where category = "shoes" and price > 10) >= 1`)
	if err != nil {
		t.Fatal(err)
	}
	need := newNeeds()
	need.addTree(x)
	want := map[uint32][]string{}
	for u := range 40 {
		user := fmt.Sprintf("u%d", u)
		var ms []message.Message
		for i := range u%5 + 1 {
			ms = append(ms, e.track(user, "Viewed", clk.Now().Add(time.Duration(i)*time.Minute),
				map[string]any{"category": fmt.Sprintf("c%d-%d", u, i), "price": float64(100*u + i), "ignored": "z"}))
		}
		e.send(ms...)
		pid := e.pid(user)
		for i := range u%5 + 1 {
			want[pid] = append(want[pid], fmt.Sprintf("category=c%d-%d price=%d", u, i, 100*u+i))
		}
	}
	describe := func(evs []profeval.Event) []string {
		var out []string
		for _, ev := range evs {
			out = append(out, fmt.Sprintf("category=%v price=%v", ev.Get("category"), ev.Get("price")))
			if ev.Get("ignored") != nil || len(ev.Props) != 2 {
				t.Errorf("kept properties %v", ev.Props)
			}
		}
		return out
	}
	scanned := 0
	if err := scanAll(context.Background(), e.st, e.ws, need, time.Time{}, func(pid uint32, d *profileData) {
		scanned++
		if got := describe(d.events.Events()); !slices.Equal(got, want[pid]) {
			t.Errorf("scan: profile %d has %v, want %v", pid, got, want[pid])
		}
	}); err != nil {
		t.Fatal(err)
	}
	if scanned != len(want) {
		t.Fatalf("scanned %d profiles, want %d", scanned, len(want))
	}
	for pid, w := range want {
		d, err := load(e.st, e.ws, pid, need, time.Time{})
		if err != nil {
			t.Fatal(err)
		}
		if got := describe(d.events.Events()); !slices.Equal(got, w) {
			t.Errorf("load: profile %d has %v, want %v", pid, got, w)
		}
	}
}

// Equal short texts and numbers kept by the cache share one box: the data word of the
// interface is the same pointer, and the value is unchanged.
func TestShareValueBoxesOnce(t *testing.T) {
	data := func(v any) uintptr { return (*[2]uintptr)(unsafe.Pointer(&v))[1] }
	for _, v := range []any{"shoes", 12.5, 1e300, "a text of some length"} {
		fresh := func() any {
			switch x := v.(type) {
			case string:
				return shareValue(strings.Clone(x))
			case float64:
				return shareValue(any(x + 0))
			}
			return nil
		}
		// a value takes an occupied slot one time in four: after 64 tries it holds it
		for range 64 {
			fresh()
		}
		a, b := fresh(), fresh()
		if a != v || b != v {
			t.Fatalf("shareValue(%v) = %v, %v", v, a, b)
		}
		if data(a) != data(b) {
			t.Errorf("%v: two boxes", v)
		}
	}
	long := strings.Repeat("z", maxSharedText+1)
	if shareValue(long) != long || shareBytes([]byte("Viewed")) != "Viewed" {
		t.Fatal("long text or bytes changed")
	}
}

// The cache's counts of events and bytes stay what its profiles hold while the step's jobs
// add events beside each other and commit counts their growth: many people, several events
// each per step, a cache small enough to evict during a step, names some segment reads and
// one none does (jobs that only add events).
func TestCacheCountsWhatItsProfilesHold(t *testing.T) {
	defer func(n int) { parallelMin = n }(parallelMin)
	parallelMin = 2
	defer func(n int) { envCacheProfiles = n }(envCacheProfiles)
	envCacheProfiles = 40
	clk := &clock{t: time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)}
	e := newEnv(t, vfs.NewMem(), clk, &catalog{}, true)
	defer e.close()
	e.addSegment("s1", "viewers", `count("A" where n > 3 in last 1 hours) >= 2`)
	e.addSegment("s2", "buyers", `sum("B".v in last 2 hours) >= 10`)
	r := rand.New(rand.NewPCG(7, 8))
	names := []string{"A", "B", "C"}
	for round := range 30 {
		var ms []message.Message
		for range 120 {
			u := fmt.Sprint("u", r.IntN(60))
			ms = append(ms, e.track(u, names[r.IntN(len(names))], clk.Now(), map[string]any{"n": float64(r.IntN(8)), "v": float64(r.IntN(5))}))
		}
		e.send(ms...)
		e.sync()
		c := e.live.cache
		events, bytes := 0, 0
		for _, d := range c.items {
			events += d.events.Len()
			bytes += d.events.Bytes()
		}
		if c.events != events || c.bytes != bytes {
			t.Fatalf("round %d: cache counts %d events, %d bytes; its %d profiles hold %d, %d", round, c.events, c.bytes, len(c.items), events, bytes)
		}
		clk.Add(time.Duration(r.IntN(600)) * time.Second)
	}
}

// TestAppliedEventsConvertedUnderTheirNeeds: Apply converts an added event for the cache
// under the workspace's needs of that moment (the properties the real-time segments read);
// a job uses that conversion only for data loaded under the same needs, and converts the
// event again for data loaded under others (a segment changed in between).
func TestAppliedEventsConvertedUnderTheirNeeds(t *testing.T) {
	clk := &clock{t: time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)}
	e := newEnv(t, vfs.NewMem(), clk, &catalog{}, true)
	defer e.close()
	e.addSegment("s1", "red", `count("E" where color = "red") >= 1`)
	e.sync()
	ev := index.Event{Kind: index.Track, Name: "E", Time: clk.Now(), Props: map[string]any{"color": "red", "size": "L"}}
	chs := []Change{{WS: e.ws, Kind: EventAdded, Profile: 7, Seq: 1, Indexed: &ev}, {WS: e.ws, Kind: TraitsSet, Profile: 7}}
	e.live.prepare(chs)
	need := e.live.segs(e.ws).needs
	c := chs[0].cached
	if c == nil || c.need != need {
		t.Fatalf("the added event was not converted under the workspace's needs: %+v", c)
	}
	if len(c.ev.Props) != 1 || c.ev.Props[0] != (profeval.Prop{Name: "color", Value: "red"}) || c.ev.Name != "E" {
		t.Fatalf("converted event %+v: want only the property a segment reads", c.ev)
	}
	if chs[1].cached != nil {
		t.Fatal("a trait change has no event to convert")
	}
	added := func(need *needs) []profeval.Prop {
		d := newProfileData(true, nil, nil, nil)
		d.need = need
		j := &job{d: d, added: []*Change{&chs[0]}, now: clk.Now()}
		j.addEvents(nil)
		if d.events.Len() != 1 {
			t.Fatalf("%d events added, want 1", d.events.Len())
		}
		return d.events.Props(0)
	}
	// the job takes Apply's conversion for data under the same needs (marked to tell)
	c.ev.Props = []profeval.Prop{{Name: "color", Value: "marked"}}
	if got := added(need); len(got) != 1 || got[0].Value != "marked" {
		t.Errorf("data under the same needs: properties %v, want Apply's conversion", got)
	}
	// and converts again under other needs: here those that also read size
	other := newNeeds()
	other.prop("color")
	other.prop("size")
	got := added(other)
	sort.Slice(got, func(i, k int) bool { return got[i].Name < got[k].Name })
	if want := []profeval.Prop{{Name: "color", Value: "red"}, {Name: "size", Value: "L"}}; !reflect.DeepEqual(got, want) {
		t.Errorf("data under other needs: properties %v, want %v", got, want)
	}
}

// TestSlabHandsOutZeroedDisjointSlices: what a step takes from a slab is zeroed (the last
// step's values must not leak into the next) and never overlaps what it took before.
func TestSlabHandsOutZeroedDisjointSlices(t *testing.T) {
	var s slab[int]
	for round := range 3 {
		var taken [][]int
		for n := range 40 {
			x := s.take(n % 7)
			for i := range x {
				if x[i] != 0 {
					t.Fatalf("round %d: taken slice holds %d", round, x[i])
				}
				x[i] = round*1000 + n
			}
			taken = append(taken, x)
		}
		p := s.one()
		*p = -1
		for n, x := range taken {
			for _, v := range x {
				if v != round*1000+n {
					t.Fatalf("round %d: slice %d was overwritten: %v", round, n, x)
				}
			}
		}
		s.reset()
	}
}

// TestBoundaryReadOncePerStep: a step reads a calendar segment's boundary timer once (the
// timers do not move while it prepares its jobs) and the next step reads it again.
func TestBoundaryReadOncePerStep(t *testing.T) {
	c, err := compile(segment.Segment{ID: "s1", Name: "weekly", Query: `count(page in this week) > 5`, Mode: segment.ModeRealtime})
	if err != nil {
		t.Fatal(err)
	}
	l := &Live{timers: newTimers()}
	const ws = 1
	k := timerKey{ws, c.tseg, boundaryPID}
	due := time.Date(2025, 6, 9, 0, 0, 0, 0, time.UTC).UnixNano()
	l.timers.due.put(k, timerState{due: due})
	var mem stepMem
	mem.reset()
	if st, ok := l.boundary(&mem, ws, c); !ok || st.due != due {
		t.Fatalf("boundary %+v %v, want due %d", st, ok, due)
	}
	l.timers.due.put(k, timerState{due: due + int64(time.Hour)})
	if st, _ := l.boundary(&mem, ws, c); st.due != due {
		t.Errorf("within a step the boundary was read again: %+v, want due %d", st, due)
	}
	if st, _ := l.boundary(nil, ws, c); st.due != due+int64(time.Hour) {
		t.Errorf("without a step: %+v, want the timer as it is now", st)
	}
	mem.reset()
	if st, _ := l.boundary(&mem, ws, c); st.due != due+int64(time.Hour) {
		t.Errorf("the next step read %+v, want the timer as it is now", st)
	}
}

// TestDerivedNamesCacheKeepsWhatNeedsSays: converting events with a remembered derived-name
// cache gives what converting each on its own gives, whatever order, number and names of
// derived fields the events have.
func TestDerivedNamesCacheKeepsWhatNeedsSays(t *testing.T) {
	n := newNeeds()
	n.prop("browser")
	n.prop("locale")
	n.prop("category")
	names := []string{"browser", "os", "locale", "device_type", "page_path"}
	r := rand.New(rand.NewPCG(3, 4))
	var dc derivedNames
	for i := range 500 {
		e := index.Event{Kind: index.Track, Name: "E", Time: time.Unix(int64(i), 0), Props: map[string]any{"category": "shoes", "price": 3.0}}
		for _, k := range r.Perm(len(names))[:r.IntN(len(names)+1)] {
			e.Derived = append(e.Derived, index.Prop{Name: names[k], Value: fmt.Sprint(names[k], i%3)})
		}
		want, _ := n.eventInto(&e, nil)
		got, _ := n.eventIntoCached(&e, nil, &dc)
		sort.Slice(want.Props, func(a, b int) bool { return want.Props[a].Name < want.Props[b].Name })
		sort.Slice(got.Props, func(a, b int) bool { return got.Props[a].Name < got.Props[b].Name })
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("event %d (derived %v): cached %+v, on its own %+v", i, e.Derived, got, want)
		}
	}
}
