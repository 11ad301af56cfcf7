package index

import (
	"encoding/json"
	"sort"
)

// Schema is the workspace schema discovered from the data: what the checker validates names
// and types against and what GET /api/v1/schema returns.
type Schema struct {
	Profiles int            `json:"profiles"`
	Traits   []TraitSchema  `json:"traits"`
	Events   []EventSchema  `json:"events"`
	Records  []RecordSchema `json:"records"`
}

// KindCount says how many profiles (traits) or rows (properties, attributes) hold a kind.
type KindCount struct {
	Kind  ValueKind `json:"kind"`
	Count int       `json:"count"`
}

// MarshalJSON writes the kind by name.
func (k ValueKind) MarshalJSON() ([]byte, error) { return json.Marshal(k.String()) }

// TraitSchema describes one trait.
type TraitSchema struct {
	Name  string      `json:"name"`
	Count int         `json:"count"` // profiles with a value
	Kinds []KindCount `json:"kinds"` // most common first
}

// EventSchema describes one event table. Kind is "track" with the event name in Name, or
// "page"/"screen"/... with Name empty.
type EventSchema struct {
	Kind       string           `json:"kind"`
	Name       string           `json:"name,omitempty"`
	Count      int              `json:"count"`
	Profiles   int              `json:"profiles"`
	Properties []PropertySchema `json:"properties"`
}

// PropertySchema describes one event property or record attribute.
type PropertySchema struct {
	Name  string      `json:"name"`
	Count int         `json:"count"`
	Kinds []KindCount `json:"kinds"`
}

// RecordSchema describes one record type.
type RecordSchema struct {
	Type       string           `json:"type"`
	Count      int              `json:"count"`
	Attributes []PropertySchema `json:"attributes"`
}

// Schema summarises the index. It costs a pass over the property columns and the record
// attributes, so callers should cache it for a while rather than call it per request.
func (ix *Index) Schema() Schema {
	snap := ix.Acquire()
	defer snap.Release()
	var s Schema
	s.Profiles = int(ix.live.GetCardinality())
	for name, t := range ix.traits {
		n := int(t.Present.GetCardinality())
		if n == 0 {
			continue
		}
		s.Traits = append(s.Traits, TraitSchema{Name: name, Count: n, Kinds: sortKinds(t.kindCounts())})
	}
	sort.Slice(s.Traits, func(i, j int) bool { return s.Traits[i].Name < s.Traits[j].Name })
	for key, t := range ix.tables {
		if t.Len() == 0 {
			continue
		}
		es := EventSchema{Kind: key.Kind.String(), Name: key.Name, Count: t.Len(), Profiles: int(t.Profiles.GetCardinality())}
		for name, c := range t.Columns {
			kinds := sortKinds(c.kindCounts())
			total := 0
			for _, k := range kinds {
				total += k.Count
			}
			if total > 0 {
				es.Properties = append(es.Properties, PropertySchema{Name: name, Count: total, Kinds: kinds})
			}
		}
		sortProps(es.Properties)
		s.Events = append(s.Events, es)
	}
	sort.Slice(s.Events, func(i, j int) bool {
		a, b := s.Events[i], s.Events[j]
		if a.Kind != b.Kind {
			return a.Kind < b.Kind
		}
		return a.Name < b.Name
	})
	for typ, rt := range ix.records {
		if rt.Len() == 0 {
			continue
		}
		attrs := rt.attrKinds()
		for i := range attrs {
			attrs[i].Kinds = sortKinds(attrs[i].Kinds)
		}
		sortProps(attrs)
		s.Records = append(s.Records, RecordSchema{Type: typ, Count: rt.Len(), Attributes: attrs})
	}
	sort.Slice(s.Records, func(i, j int) bool { return s.Records[i].Type < s.Records[j].Type })
	return s
}

func sortKinds(k []KindCount) []KindCount {
	sort.SliceStable(k, func(i, j int) bool { return k[i].Count > k[j].Count })
	return k
}

func sortProps(p []PropertySchema) {
	sort.Slice(p, func(i, j int) bool { return p[i].Name < p[j].Name })
}
