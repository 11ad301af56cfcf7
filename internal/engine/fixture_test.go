package engine

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/RoaringBitmap/roaring/v2"

	"github.com/segd/segd/internal/engine/reference"
	"github.com/segd/segd/internal/index"
	"github.com/segd/segd/internal/segql/ast"
	"github.com/segd/segd/internal/segql/parser"
)

// fixture is one data set fed to both the index (for the engine) and the reference.
type fixture struct {
	profiles []index.Profile
	events   []index.Event
	records  []index.Record
}

func (f *fixture) index() *index.Index {
	ix := index.New()
	for _, p := range f.profiles {
		ix.LoadProfile(p)
	}
	for _, e := range f.events {
		ix.AddEvent(e)
	}
	for _, r := range f.records {
		ix.UpsertRecord(r)
	}
	return ix
}

func (f *fixture) reference() *reference.Data {
	d := &reference.Data{Traits: map[uint32]map[string]any{}, Events: map[uint32][]reference.Event{}, Records: map[uint32][]reference.Record{}}
	for _, p := range f.profiles {
		d.Traits[p.ID] = p.Traits
	}
	for _, e := range f.events {
		if d.Traits[e.Profile] == nil {
			d.Traits[e.Profile] = map[string]any{}
		}
		d.Events[e.Profile] = append(d.Events[e.Profile], reference.Event{Kind: e.Kind.String(), Name: e.Name, Time: e.Time, Props: e.Props})
	}
	// Records are keyed by (type, id): the last upsert wins.
	last := map[[2]string]index.Record{}
	var order [][2]string
	for _, r := range f.records {
		k := [2]string{r.Type, r.ID}
		if _, ok := last[k]; !ok {
			order = append(order, k)
		}
		last[k] = r
	}
	for _, k := range order {
		r := last[k]
		if d.Traits[r.Profile] == nil {
			d.Traits[r.Profile] = map[string]any{}
		}
		d.Records[r.Profile] = append(d.Records[r.Profile], reference.Record{Type: r.Type, ID: r.ID, Attrs: r.Attrs})
	}
	return d
}

// at is the evaluation time of the hand-made data: Sunday 2025-06-15 12:00 UTC (the week
// began on Monday 9 June).
var at = time.Date(2025, 6, 15, 12, 0, 0, 0, time.UTC)

func ago(d time.Duration) time.Time { return at.Add(-d) }

const day = 24 * time.Hour

func track(p uint32, name string, t time.Time, props map[string]any) index.Event {
	return index.Event{Profile: p, Kind: index.Track, Name: name, Time: t, Props: props}
}

func page(p uint32, name string, t time.Time) index.Event {
	return index.Event{Profile: p, Kind: index.Page, Name: name, Time: t, Props: map[string]any{"path": "/" + name}}
}

// examples is the data behind the examples; each case's comment says who matches.
func examples() *fixture {
	f := &fixture{profiles: []index.Profile{
		{ID: 1, Traits: map[string]any{"country": "VN", "age": 30.0, "email": "a@x.vn", "first name": "Nguyen", "city": "Ho Chi Minh City",
			"signup_at": "2025-06-01T08:00:00Z", "birthday": "1990-06-18", "home": map[string]any{"lat": 10.78, "lon": 106.70}}},
		{ID: 2, Traits: map[string]any{"country": "TH", "age": 20.0, "email": "b@x.th", "plan": "pro", "first name": "Anh", "city": "Hanoi",
			"signup_at": "2024-03-01T00:00:00Z", "birthday": "1985-01-01", "home": []any{21.03, 105.85}}},
		{ID: 3, Traits: map[string]any{"country": "US", "age": 40.0, "signup_at": "2025-06-10T00:00:00Z"}},
		{ID: 4, Traits: map[string]any{"country": "VN", "age": 25.0, "email": "d@x.vn", "first name": "Ngoc", "city": "Da Nang",
			"signup_at": "2025-05-01T00:00:00Z", "birthday": "2000-02-29"}},
		{ID: 5, Traits: map[string]any{}},
	}}
	add := func(es ...index.Event) { f.events = append(f.events, es...) }
	pricing := map[string]any{"path": "/pricing"}
	for i := 1; i <= 4; i++ {
		add(track(1, "Page Viewed", ago(time.Duration(i)*day), pricing))
	}
	add(track(1, "Product Added", ago(2*time.Hour), nil))
	for i, c := range []string{"shoes", "hats", "bags", "shoes"} {
		add(track(1, "Product Viewed", ago(time.Duration(i+1)*day), map[string]any{"category": c}))
	}
	add(page(1, "Home", ago(time.Hour)), page(1, "Home", ago(2*time.Hour)), page(1, "Home", ago(3*time.Hour)))

	for i := 1; i <= 3; i++ {
		add(track(2, "Page Viewed", ago(time.Duration(i)*day), pricing))
	}
	add(track(2, "Page Viewed", ago(day), map[string]any{"path": "/home"}))
	add(track(2, "Product Added", ago(3*time.Hour), nil))
	add(track(2, "Order Completed", ago(2*time.Hour), map[string]any{"revenue": 600.0}))
	add(track(2, "Order Completed", ago(30*day), map[string]any{"revenue": 500.0}))
	for i, c := range []string{"shoes", "shoes", "hats"} {
		add(track(2, "Product Viewed", ago(time.Duration(i+1)*day), map[string]any{"category": c}))
	}
	add(track(2, "Order Completed", time.Date(2024, 11, 10, 0, 0, 0, 0, time.UTC), map[string]any{"revenue": 100.0, "coupon": "X"}))
	add(track(2, "Order Completed", time.Date(2024, 11, 20, 0, 0, 0, 0, time.UTC), map[string]any{"revenue": 50.0}))
	add(track(2, "Email Opened", ago(5*day), nil))

	for i := 0; i < 5; i++ {
		add(track(3, "Page Viewed", ago(10*day), pricing))
	}
	add(track(3, "Order Completed", time.Date(2024, 11, 5, 0, 0, 0, 0, time.UTC), map[string]any{"coupon": "A", "revenue": 10.0}))
	add(track(3, "Order Completed", time.Date(2024, 11, 25, 0, 0, 0, 0, time.UTC), map[string]any{"coupon": "B", "revenue": 10.0}))
	add(track(3, "Order Completed", ago(100*day), map[string]any{"revenue": 900.0}))
	add(track(3, "Email Opened", ago(20*day), nil))
	add(track(3, "Product Added", ago(5*day), nil))

	add(page(4, "A", time.Date(2025, 6, 9, 10, 0, 0, 0, time.UTC)), page(4, "B", time.Date(2025, 6, 10, 0, 0, 0, 0, time.UTC)),
		page(4, "C", time.Date(2025, 6, 12, 0, 0, 0, 0, time.UTC)), page(4, "D", time.Date(2025, 6, 14, 0, 0, 0, 0, time.UTC)),
		page(4, "E", time.Date(2025, 6, 8, 23, 0, 0, 0, time.UTC)))
	add(track(4, "Product Added", ago(2*day), nil))
	add(track(4, "Order Completed", ago(2*day-30*time.Minute), map[string]any{"revenue": 20.0}))

	f.records = []index.Record{
		{Type: "tickets", ID: "t1", Profile: 1, Attrs: map[string]any{"status": "open", "priority": "low"}},
		{Type: "tickets", ID: "t2", Profile: 2, Attrs: map[string]any{"status": "open", "priority": "high"}},
		{Type: "tickets", ID: "t3", Profile: 3, Attrs: map[string]any{"status": "closed", "priority": "high"}},
		{Type: "accounts", ID: "a1", Profile: 1, Attrs: map[string]any{"type": "credit_card", "balance": 1500.0}},
		{Type: "accounts", ID: "a2", Profile: 2, Attrs: map[string]any{"type": "credit_card", "balance": 500.0}},
		{Type: "accounts", ID: "a4", Profile: 4, Attrs: map[string]any{"type": "savings", "balance": 5000.0}},
	}
	return f
}

var exampleSegments = map[string]*roaring.Bitmap{"vip": roaring.BitmapOf(1, 2, 3), "unsubscribed": roaring.BitmapOf(2)}

func segmentsFunc(name string) (*roaring.Bitmap, error) {
	if b, ok := exampleSegments[name]; ok {
		return b, nil
	}
	return nil, fmt.Errorf("no segment %q", name)
}

func refSegments(name string) (map[uint32]bool, error) {
	b, err := segmentsFunc(name)
	if err != nil {
		return nil, err
	}
	m := map[uint32]bool{}
	for _, p := range b.ToArray() {
		m[p] = true
	}
	return m, nil
}

func mustParse(t testing.TB, src string) ast.Expr {
	t.Helper()
	x, err := parser.ParseExpr(src)
	if err != nil {
		t.Fatalf("parse %q: %v", src, err)
	}
	return x
}

// evalBoth evaluates with the engine and the reference and fails when they differ.
func evalBoth(t testing.TB, f *fixture, ix *index.Index, src string, when time.Time) []uint32 {
	t.Helper()
	x := mustParse(t, src)
	bm, _, err := New(ix).Evaluate(context.Background(), x, Options{At: when, Segments: segmentsFunc, Segment: "s"})
	if err != nil {
		t.Fatalf("%s: engine: %v", src, err)
	}
	ref, err := reference.Members(f.reference(), x, reference.Options{At: when, Segments: refSegments, Segment: "s"})
	if err != nil {
		t.Fatalf("%s: reference: %v", src, err)
	}
	got := bm.ToArray()
	if !slices.Equal(got, ref) && !(len(got) == 0 && len(ref) == 0) {
		t.Fatalf("%s: engine %v, reference %v", src, got, ref)
	}
	return got
}
