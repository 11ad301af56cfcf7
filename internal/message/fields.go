package message

import "time"

// EventFields are the parts of an event that the index and the real-time evaluator read,
// decoded by store.DecodeEventFields from the stored form without parsing the JSON objects
// they do not need (traits, context, integrations, extra). Byte slices alias the stored value.
type EventFields struct {
	Type       Type
	Event      []byte
	Name       []byte
	Timestamp  time.Time
	Properties []byte   // JSON object text; nil when absent
	Enriched   [][]byte // key, value, key, value, ...
}
