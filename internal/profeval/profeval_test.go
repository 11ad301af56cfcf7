package profeval

import (
	"testing"
	"time"

	"github.com/segd/segd/internal/engine/reference"
	"github.com/segd/segd/internal/segql/ast"
	"github.com/segd/segd/internal/segql/parser"
)

var t0 = time.Date(2025, 6, 15, 12, 0, 0, 0, time.UTC)

func ev(name string, min int) Event {
	return Event{Kind: "track", Name: name, Time: t0.Add(time.Duration(min) * time.Minute)}
}

// check evaluates q with both evaluators and requires want from each.
func check(t *testing.T, q string, evs []Event, at time.Time, want bool) {
	t.Helper()
	x, err := parser.ParseExpr(q)
	if err != nil {
		t.Fatal(err)
	}
	var refEvs []reference.Event
	for i := range evs {
		refEvs = append(refEvs, evs[i].Reference())
	}
	ms, err := reference.Members(&reference.Data{Traits: map[uint32]map[string]any{1: {}}, Events: map[uint32][]reference.Event{1: refEvs}}, x, reference.Options{At: at})
	if err != nil {
		t.Fatal(err)
	}
	if ref := len(ms) == 1; ref != want {
		t.Fatalf("%s: reference %v, want %v", q, ref, want)
	}
	p := NewProfile(map[string]any{}, append([]Event(nil), evs...), nil)
	got, err := Holds(p, x, Options{At: at, Profile: 1})
	if err != nil {
		t.Fatal(err)
	}
	if got != want {
		t.Fatalf("%s: profeval %v, want %v", q, got, want)
	}
}

// A negated last step after two positive ones: the chain must use the latest B before the
// deadline (B@5, no Z after it), not the earliest (B@1, Z@3 follows it).
func TestSequenceThenNotUsesLatestLastStep(t *testing.T) {
	evs := []Event{ev("A", 0), ev("B", 1), ev("Z", 3), ev("B", 5)}
	check(t, `sequence("A" then "B" then not "Z" within 10 minutes)`, evs, t0.Add(time.Hour), true)
	evs = append(evs, ev("Z", 7))
	check(t, `sequence("A" then "B" then not "Z" within 10 minutes)`, evs, t0.Add(time.Hour), false)
	// the deadline must have passed
	check(t, `sequence("A" then "B" then not "Z" within 10 minutes)`, evs[:4], t0.Add(9*time.Minute), false)
}

// Events added out of order, and dropped from the front, keep the groups right.
func TestAddOutOfOrder(t *testing.T) {
	p := &Profile{}
	for _, e := range []Event{ev("A", 10), ev("B", 5), ev("A", 1), ev("A", 20)} {
		p.Add(e)
		p.Group("track", "A") // index between adds
	}
	got := p.Group("track", "A")
	if len(got) != 3 || p.Events()[got[0]].Time != t0.Add(time.Minute) || p.Events()[got[2]].Time != t0.Add(20*time.Minute) {
		t.Fatalf("group A = %v over %v", got, p.Events())
	}
	if n := p.DropBefore(t0.Add(6 * time.Minute)); n != 2 {
		t.Fatalf("dropped %d, want 2", n)
	}
	if got := p.Group("track", "A"); len(got) != 2 {
		t.Fatalf("group A after drop = %v", got)
	}
	x, _ := parser.ParseExpr(`count("A" in last 1 hours) = 2 and not did "B"`)
	if ok, err := Holds(p, x, Options{At: t0.Add(30 * time.Minute)}); err != nil || !ok {
		t.Fatalf("holds = %v, %v", ok, err)
	}
}

// DropBefore gives back the capacity of the arrays a busier past grew (events and their
// properties), and keeps the rest with their properties.
func TestDropBeforeShrinks(t *testing.T) {
	var evs []Event
	for i := range 1000 {
		e := ev("A", i)
		e.Props = []Prop{{"i", float64(i)}, {"odd", i%2 == 1}}
		evs = append(evs, e)
	}
	p := NewProfile(map[string]any{}, evs, nil)
	if n := p.DropBefore(t0.Add(990 * time.Minute)); n != 990 {
		t.Fatalf("dropped %d", n)
	}
	if p.Len() != 10 || cap(p.events) > 64 || cap(p.props) > 64 || !p.Time(0).Equal(t0.Add(990*time.Minute)) {
		t.Fatalf("after dropping: %d events, capacity %d (properties %d), first at %v", p.Len(), cap(p.events), cap(p.props), p.Time(0))
	}
	for i := range p.Len() {
		if got := p.Props(i); len(got) != 2 || got[0].Value != float64(990+i) || got[1].Value != (i%2 == 1) {
			t.Fatalf("event %d kept properties %v", i, got)
		}
	}
	if got, _ := Holds(p, mustParse(t, `count("A" where i >= 995) = 5`), Options{At: t0.Add(2000 * time.Minute)}); !got {
		t.Fatal("the kept events are not all there")
	}
}

func mustParse(t *testing.T, q string) ast.Expr {
	t.Helper()
	x, err := parser.ParseExpr(q)
	if err != nil {
		t.Fatal(err)
	}
	return x
}
