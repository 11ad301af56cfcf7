// Package message owns the Segment tracking-API message: its Go shape, decoding from the wire
// (single calls and batches, gzip, limits), validation with field paths, the spec's clock-skew
// correction and context enrichment (user agent, campaign, page, locale).
//
// It must not import the store, identity or any HTTP server package: it is pure decoding so that
// the HTTP handler, the importers and the fuzzers share one definition of a valid message.
package message

import (
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
	Enriched map[string]string `json:"enriched,omitempty"`

	// Extra holds the top-level fields the struct has no place for ("version", "channel",
	// custom fields), as sent, so that nothing a client sends is lost.
	Extra map[string]any `json:"extra,omitempty"`

	// WriteKey is the "writeKey" of a single call's body ("" when absent). It is a credential
	// and is never encoded.
	WriteKey string `json:"-"`
}
