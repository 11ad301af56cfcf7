package index

import "github.com/segd/segd/internal/message"

// FromMessage turns a stored Segment message into the event the index and the live evaluator
// see: track, page and screen calls (identify, group and alias describe people, not
// behaviour, and are not segmentable events). Properties are the message's properties plus,
// where they do not collide, the page/screen name as "name" and what enrichment derived
// (device_type, browser, os, acquisition_source, …). Batch and live evaluation must both use
// this one definition.
//
// The event shares m's properties map (Props) and adds the rest as Derived.
func FromMessage(pid uint32, m *message.Message) (Event, bool) {
	k, ok := KindOf(m.Type)
	if !ok {
		return Event{}, false
	}
	e := Event{Profile: pid, Kind: k, Name: m.Event, Time: m.Timestamp, Props: m.Properties}
	named := k != Track && m.Name != ""
	n := len(m.Enriched)
	if named {
		n++
	}
	if n == 0 {
		return e, true
	}
	e.Derived = make([]Prop, 0, n)
	if named {
		if _, ok := m.Properties["name"]; !ok {
			e.Derived = append(e.Derived, Prop{"name", m.Name})
		}
	}
	// A message has a dozen enriched fields and a few properties: a pass over the properties
	// comparing names costs less than a map lookup per field.
	if len(m.Enriched) <= 64 && len(m.Properties) <= len(m.Enriched) {
		shadowed := shadowedFields(m)
		for i, f := range m.Enriched { // enrichment never derives a "name"
			if shadowed&(1<<i) == 0 {
				e.Derived = append(e.Derived, Prop{f.Key, f.Value})
			}
		}
		return e, true
	}
	for _, f := range m.Enriched {
		if _, ok := m.Properties[f.Key]; !ok {
			e.Derived = append(e.Derived, Prop{f.Key, f.Value})
		}
	}
	return e, true
}

// shadowedFields returns a bit set of the enriched fields a property of the same name hides
// (bit i for m.Enriched[i]; at most 64 fields).
func shadowedFields(m *message.Message) uint64 {
	var bits uint64
	for k := range m.Properties {
		for i, f := range m.Enriched {
			if f.Key == k {
				bits |= 1 << i
			}
		}
	}
	return bits
}

// KindOf is the event kind of a call type; identify, group and alias calls are not events.
func KindOf(t message.Type) (EventKind, bool) {
	switch t {
	case message.Track:
		return Track, true
	case message.Page:
		return Page, true
	case message.Screen:
		return Screen, true
	}
	return 0, false
}
