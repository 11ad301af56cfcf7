// Package message owns the Segment tracking-API message: its Go shape, decoding from the wire
// (single calls and batches, gzip, limits), validation with field paths, the spec's clock-skew
// correction and context enrichment (user agent, campaign, page, locale).
//
// It must not import the store, identity or any HTTP server package: it is pure decoding so that
// the HTTP handler, the importers and the fuzzers share one definition of a valid message.
package message

import (
	"encoding/json"
	"slices"
	"strings"
	"time"
)

// Type is a Segment call type.
type Type string

// The Segment call types.
const (
	Identify Type = "identify"
	Track    Type = "track"
	Page     Type = "page"
	Screen   Type = "screen"
	Group    Type = "group"
	Alias    Type = "alias"
)

// Message is one decoded, validated Segment call. Maps hold JSON values as decoded by
// encoding/json with UseNumber off (float64, string, bool, nil, []any, map[string]any).
type Message struct {
	Type        Type   `json:"type"`
	MessageID   string `json:"messageId"`
	UserID      string `json:"userId,omitempty"`
	AnonymousID string `json:"anonymousId,omitempty"`
	PreviousID  string `json:"previousId,omitempty"` // alias
	GroupID     string `json:"groupId,omitempty"`    // group
	Event       string `json:"event,omitempty"`      // track
	Name        string `json:"name,omitempty"`       // page, screen
	Category    string `json:"category,omitempty"`   // page

	Properties   map[string]any `json:"properties,omitempty"`
	Traits       map[string]any `json:"traits,omitempty"`
	Context      map[string]any `json:"context,omitempty"`
	Integrations map[string]any `json:"integrations,omitempty"`

	// Timestamp is the event time after clock-skew correction; windows use it.
	Timestamp         time.Time `json:"timestamp"`
	OriginalTimestamp time.Time `json:"originalTimestamp,omitzero"`
	SentAt            time.Time `json:"sentAt,omitzero"`
	ReceivedAt        time.Time `json:"receivedAt"`

	// Enriched holds what segd derived from context (device, browser, os, source, ...).
	Enriched Enriched `json:"enriched,omitempty"`

	// Extra holds the top-level fields the struct has no place for ("version", "channel",
	// custom fields), as sent, so that nothing a client sends is lost.
	Extra map[string]any `json:"extra,omitempty"`

	// WriteKey is the "writeKey" of a single call's body ("" when absent). It is a credential
	// and is never encoded.
	WriteKey string `json:"-"`
}

// Enriched are the fields segd derived from a message's context: each key (an Enrich* name, or
// another that data stored by an older version has) at most once, in the order derived. A
// message's few fields are a slice rather than a map: building, storing and indexing a map of
// a dozen fields per message cost more than all the lookups in them.
type Enriched []EnrichedField

// EnrichedField is one derived field.
type EnrichedField struct{ Key, Value string }

// Get returns the value of key, "" when absent.
func (e Enriched) Get(key string) string {
	v, _ := e.Lookup(key)
	return v
}

// Lookup returns the value of key and whether it is present.
func (e Enriched) Lookup(key string) (string, bool) {
	for _, f := range e {
		if f.Key == key {
			return f.Value, true
		}
	}
	return "", false
}

// Map returns the fields as a map (nil when there are none).
func (e Enriched) Map() map[string]string {
	if len(e) == 0 {
		return nil
	}
	m := make(map[string]string, len(e))
	for _, f := range e {
		m[f.Key] = f.Value
	}
	return m
}

// EnrichedFromMap returns m's fields ordered by key (nil for an empty map).
func EnrichedFromMap(m map[string]string) Enriched {
	if len(m) == 0 {
		return nil
	}
	e := make(Enriched, 0, len(m))
	for k, v := range m {
		e = append(e, EnrichedField{k, v})
	}
	slices.SortFunc(e, func(a, b EnrichedField) int { return strings.Compare(a.Key, b.Key) })
	return e
}

// MarshalJSON encodes the fields as a JSON object with its members in key order, as the map
// they once were.
func (e Enriched) MarshalJSON() ([]byte, error) {
	if e == nil {
		return []byte("null"), nil
	}
	return json.Marshal(e.Map())
}

// UnmarshalJSON decodes a JSON object of strings (null: no fields).
func (e *Enriched) UnmarshalJSON(b []byte) error {
	var m map[string]string
	if err := json.Unmarshal(b, &m); err != nil {
		return err
	}
	*e = EnrichedFromMap(m)
	return nil
}
