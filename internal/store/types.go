package store

import (
	"encoding/json"
	"time"
)

// Workspace is a tenant: every piece of data belongs to exactly one.
type Workspace struct {
	ID       uint32    `json:"id"`
	Name     string    `json:"name"`
	Created  time.Time `json:"created"`
	TimeZone string    `json:"timeZone"` // IANA name for calendar windows; "UTC" by default
	// DedupeWindow is how long a messageId is remembered; zero means the default (7 days).
	DedupeWindow Duration `json:"dedupeWindow,omitempty"`
	// Identity holds the workspace's identity rules as the identity package encodes them.
	Identity json.RawMessage `json:"identity,omitempty"`
	// AllowPrivateDestinations lets this workspace's webhooks target loopback, link-local and
	// private addresses (off by default: a guard against server-side request forgery).
	AllowPrivateDestinations bool `json:"allowPrivateDestinations,omitempty"`
}

// Duration is a time.Duration that encodes as a Go duration string in JSON.
type Duration time.Duration

// MarshalJSON encodes d as a string such as "168h0m0s".
func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(time.Duration(d).String()) }

// UnmarshalJSON accepts a duration string.
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return err
	}
	v, err := time.ParseDuration(s)
	*d = Duration(v)
	return err
}

// Scope is what an API key may do.
type Scope string

// Key scopes.
const (
	ScopeWrite Scope = "write" // tracking API ingestion
	ScopeRead  Scope = "read"  // personalisation reads
	ScopeAdmin Scope = "admin" // management API
)

// APIKey is the stored form of a key: only its SHA-256 is the database key; the secret is never
// stored.
type APIKey struct {
	Workspace uint32    `json:"workspace"`
	Scope     Scope     `json:"scope"`
	Prefix    string    `json:"prefix"` // first characters of the secret, to recognise it in lists
	Created   time.Time `json:"created"`
	Revoked   bool      `json:"revoked,omitempty"`
}

// Identifier is one identity of a profile.
type Identifier struct {
	Type  string    `json:"type"` // userId, anonymousId, email, phone or a configured external type
	Value string    `json:"value"`
	Added time.Time `json:"added"`
}

// TraitValue is a trait with the event time of the write that set it; the latest event time
// wins when writes or merges collide.
type TraitValue struct {
	V any       `json:"v"`
	T time.Time `json:"t"`
}

// Profile is one person, after identity resolution.
type Profile struct {
	ID          uint32                `json:"id"`
	Created     time.Time             `json:"created"`
	Identifiers []Identifier          `json:"identifiers"`
	Traits      map[string]TraitValue `json:"traits,omitempty"`
	FirstSeen   time.Time             `json:"firstSeen,omitzero"`
	LastSeen    time.Time             `json:"lastSeen,omitzero"`
	Events      int64                 `json:"events"`
	// MergedInto is set on the tombstone of a profile that was merged away.
	MergedInto uint32 `json:"mergedInto,omitempty"`
	// Merges lists the merge-log sequence numbers that touched this profile.
	Merges []uint64 `json:"merges,omitempty"`
}

// HasIdentifier reports whether p has the identifier.
func (p *Profile) HasIdentifier(typ, value string) bool {
	for _, id := range p.Identifiers {
		if id.Type == typ && id.Value == value {
			return true
		}
	}
	return false
}

// CountType returns how many identifiers of typ p has.
func (p *Profile) CountType(typ string) int {
	n := 0
	for _, id := range p.Identifiers {
		if id.Type == typ {
			n++
		}
	}
	return n
}

// TraitMap returns the plain trait values.
func (p *Profile) TraitMap() map[string]any {
	m := make(map[string]any, len(p.Traits))
	for k, v := range p.Traits {
		m[k] = v.V
	}
	return m
}

// Record is a related-data record of a named type (ticket, account, card, feedback) linked to a
// profile.
type Record struct {
	Type       string         `json:"type"`
	ID         string         `json:"id"`
	Profile    uint32         `json:"profile"`
	Attributes map[string]any `json:"attributes"`
	Timestamp  time.Time      `json:"timestamp"`
	Updated    time.Time      `json:"updated"`
}

// Merge is one entry of the merge log.
type Merge struct {
	Seq         uint64       `json:"seq"`
	At          time.Time    `json:"at"`
	MessageID   string       `json:"messageId"`
	Into        uint32       `json:"into"`
	From        uint32       `json:"from"`
	Linking     []Identifier `json:"linking"`     // the identifiers of the message that linked the two
	Moved       []Identifier `json:"moved"`       // identifiers of From now on Into
	MovedEvents int64        `json:"movedEvents"` // events rewritten under Into
}
