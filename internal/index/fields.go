package index

import (
	"fmt"

	"github.com/segd/segd/internal/message"
)

// FromFields is FromMessage for a stored event decoded by store.DecodeEventFields, without
// decoding the rest of the message. keep, when set, selects the properties returned: the
// others are not parsed. intern, when set, makes the strings of names and enriched values
// (few distinct ones, repeated in every event) share memory.
func FromFields(pid uint32, f *message.EventFields, keep func(name string) bool, intern func([]byte) string) (Event, bool, error) {
	k, ok := KindOf(f.Type)
	if !ok {
		return Event{}, false, nil
	}
	if intern == nil {
		intern = func(b []byte) string { return string(b) }
	}
	var p map[string]any
	if f.Properties != nil {
		if keep == nil {
			v, err := message.ParseTrustedJSON(f.Properties)
			if err != nil {
				return Event{}, false, err
			}
			var ok bool
			if p, ok = v.(map[string]any); !ok {
				return Event{}, false, fmt.Errorf("index: stored properties are not an object")
			}
		} else if err := message.EachTrustedMember(f.Properties, func(key string, raw []byte) error {
			if !keep(key) {
				return nil
			}
			v, err := message.ParseTrustedJSON(raw)
			if err != nil {
				return err
			}
			if p == nil {
				p = make(map[string]any, 2)
			}
			p[key] = v
			return nil
		}); err != nil {
			return Event{}, false, err
		}
	}
	add := func(key string, v func() string) {
		if keep != nil && !keep(key) {
			return
		}
		if _, ok := p[key]; ok {
			return
		}
		if p == nil {
			p = make(map[string]any, 1+len(f.Enriched)/2)
		}
		p[key] = v()
	}
	if k != Track && len(f.Name) > 0 {
		add("name", func() string { return intern(f.Name) })
	}
	for j := 0; j+1 < len(f.Enriched); j += 2 {
		val := f.Enriched[j+1]
		add(intern(f.Enriched[j]), func() string { return intern(val) })
	}
	return Event{Profile: pid, Kind: k, Name: intern(f.Event), Time: f.Timestamp, Props: p}, true, nil
}
