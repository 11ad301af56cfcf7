package index

import "github.com/segd/segd/internal/message"

// FromMessage turns a stored Segment message into the event the index and the live evaluator
// see: track, page and screen calls (identify, group and alias describe people, not
// behaviour, and are not segmentable events). Properties are the message's properties plus,
// where they do not collide, the page/screen name as "name" and what enrichment derived
// (device_type, browser, os, acquisition_source, …). Batch and live evaluation must both use
// this one definition.
func FromMessage(pid uint32, m *message.Message) (Event, bool) {
	k, ok := KindOf(m.Type)
	if !ok {
		return Event{}, false
	}
	p := make(map[string]any, len(m.Properties)+len(m.Enriched)+1)
	for key, val := range m.Properties {
		p[key] = val
	}
	if k != Track && m.Name != "" {
		if _, ok := p["name"]; !ok {
			p["name"] = m.Name
		}
	}
	for key, val := range m.Enriched {
		if _, ok := p[key]; !ok {
			p[key] = val
		}
	}
	return Event{Profile: pid, Kind: k, Name: m.Event, Time: m.Timestamp, Props: p}, true
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
