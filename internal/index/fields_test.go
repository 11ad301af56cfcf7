package index_test

import (
	"context"
	"maps"
	"reflect"
	"testing"
	"time"

	"github.com/segd/segd/internal/demodata"
	"github.com/segd/segd/internal/index"
	"github.com/segd/segd/internal/message"
	"github.com/segd/segd/internal/store"
)

// TestFromFieldsEqualsFromMessage checks the stored-event fast path against the definition:
// for every generated message (tracks, pages and screens with properties, names colliding
// with properties, enrichment from context), decoding only the fields gives the event that
// decoding the whole message gives, and with a property filter exactly its kept properties.
func TestFromFieldsEqualsFromMessage(t *testing.T) {
	opts := demodata.Options{Seed: 9, Customers: 60, Activity: 1}
	keeps := []map[string]bool{
		{"revenue": true, "category": true},
		{"name": true, "device_type": true, "path": true},
		{},
	}
	var f message.EventFields
	n := 0
	err := demodata.Stream(context.Background(), opts, func(m *message.Message) error {
		if m.Type == message.Page && n%3 == 0 {
			// a property called "name" wins over the page name
			m.Properties = maps.Clone(m.Properties)
			if m.Properties == nil {
				m.Properties = map[string]any{}
			}
			m.Properties["name"] = "own name"
		}
		v := store.AppendEventValue(nil, m)
		var back message.Message
		if err := store.DecodeEventValue(v, &back); err != nil {
			return err
		}
		want, wantOK := index.FromMessage(7, &back)
		if err := store.DecodeEventFields(v, &f); err != nil {
			return err
		}
		got, ok, err := index.FromFields(7, &f, nil, nil)
		if err != nil {
			return err
		}
		if ok != wantOK {
			t.Fatalf("%s %q: visible %v, want %v", m.Type, m.Event, ok, wantOK)
		}
		if !ok {
			return nil
		}
		n++
		got, want = merged(got), merged(want)
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("%s %q:\n got %+v\nwant %+v", m.Type, m.Event, got, want)
		}
		for _, keep := range keeps {
			sub, _, err := index.FromFields(7, &f, func(k string) bool { return keep[k] }, nil)
			if err != nil {
				return err
			}
			sub = merged(sub)
			kept := map[string]any{}
			for k, v := range want.Props {
				if keep[k] {
					kept[k] = v
				}
			}
			if len(kept) == 0 {
				kept = nil
			}
			w := want
			w.Props = kept
			if !reflect.DeepEqual(sub, w) {
				t.Fatalf("%s %q keeping %v:\n got %+v\nwant %+v", m.Type, m.Event, keep, sub, w)
			}
		}
		return nil
	}, func(*demodata.Record) error { return nil })
	if err != nil {
		t.Fatal(err)
	}
	if n < 1000 {
		t.Fatalf("only %d visible events generated", n)
	}
	t.Logf("%d events compared", n)
}

// propMap returns every property of e in one map.
func propMap(e *index.Event) map[string]any {
	out := make(map[string]any, len(e.Props)+len(e.Derived))
	for k, v := range e.Props {
		out[k] = v
	}
	for _, p := range e.Derived {
		out[p.Name] = p.Value
	}
	return out
}

// merged is e with all its properties in Props (nil when it has none).
func merged(e index.Event) index.Event {
	e.Props = propMap(&e)
	e.Derived = nil
	if len(e.Props) == 0 {
		e.Props = nil
	}
	return e
}

// TestFromFieldsCorrupt: damaged stored properties give an error, with or without a filter.
func TestFromFieldsCorrupt(t *testing.T) {
	m := message.Message{Type: message.Track, Event: "X", Timestamp: time.Unix(1, 0), Properties: map[string]any{"a": 1.0}}
	v := store.AppendEventValue(nil, &m)
	var f message.EventFields
	if err := store.DecodeEventFields(v, &f); err != nil {
		t.Fatal(err)
	}
	for _, keep := range []func(string) bool{nil, func(string) bool { return true }} {
		for _, bad := range []string{`[1]`, `{"a":`, ``, `{"a":1`} {
			f.Properties = []byte(bad)
			if _, _, err := index.FromFields(1, &f, keep, nil); err == nil {
				t.Errorf("properties %q (filter %v): no error", bad, keep != nil)
			}
		}
	}
}

// TestFromMessageProperties pins the definition of an event's properties: the message's own,
// then the page name as "name" and the enrichment fields, each only where the message's
// properties lack it. The message's map is shared, not modified.
func TestFromMessageProperties(t *testing.T) {
	props := map[string]any{"browser": "own", "price": 3.0}
	m := message.Message{Type: message.Page, Name: "Pricing", Timestamp: time.Unix(5, 0).UTC(), Properties: props,
		Enriched: message.EnrichedFromMap(map[string]string{"browser": "Safari", "os": "iOS"})}
	e, ok := index.FromMessage(3, &m)
	if !ok {
		t.Fatal("a page call is an event")
	}
	want := map[string]any{"browser": "own", "price": 3.0, "name": "Pricing", "os": "iOS"}
	if got := propMap(&e); !reflect.DeepEqual(got, want) {
		t.Errorf("properties %v, want %v", got, want)
	}
	if v, ok := e.Get("os"); !ok || v != "iOS" {
		t.Errorf("Get(os) = %v %v", v, ok)
	}
	if len(props) != 2 {
		t.Errorf("the message's properties were modified: %v", props)
	}
	m.Properties = map[string]any{"name": "own name"}
	e, _ = index.FromMessage(3, &m)
	if v, _ := e.Get("name"); v != "own name" {
		t.Errorf("a property called name must win over the page name, got %v", v)
	}
	// a property hides the enriched field of its name, whichever side is larger
	for _, own := range []map[string]any{{"os": "own"}, {"os": "own", "a": 1.0, "b": 2.0, "c": 3.0}} {
		m := message.Message{Type: message.Track, Event: "E", Timestamp: time.Unix(5, 0).UTC(), Properties: own,
			Enriched: message.EnrichedFromMap(map[string]string{"browser": "Safari", "os": "iOS"})}
		e, _ := index.FromMessage(3, &m)
		if len(e.Derived) != 1 || e.Derived[0] != (index.Prop{Name: "browser", Value: "Safari"}) {
			t.Errorf("with properties %v: derived %v, want only the browser", own, e.Derived)
		}
	}
	track := message.Message{Type: message.Track, Event: "E", Name: "ignored", Timestamp: time.Unix(5, 0).UTC()}
	e, _ = index.FromMessage(3, &track)
	if _, ok := e.Get("name"); ok || len(propMap(&e)) != 0 {
		t.Errorf("a track call has no derived name: %v", propMap(&e))
	}
}
