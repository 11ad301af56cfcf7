package check

import "sort"

// Kind is the type of a trait, event property or record attribute.
type Kind int

// Kinds. Unknown is the kind of a name the schema does not know.
const (
	Unknown Kind = iota
	Text
	Number
	Bool
	Time
	Geo  // a {lat, lon} point
	List // a list of texts
)

var kindNames = [...]string{Unknown: "unknown", Text: "text", Number: "number", Bool: "bool", Time: "time", Geo: "geo", List: "list"}

func (k Kind) String() string {
	if k >= 0 && int(k) < len(kindNames) {
		return kindNames[k]
	}
	return "kind?"
}

// ParseKind accepts text, number, bool, time, geo and list.
func ParseKind(s string) (Kind, bool) {
	for k := Text; k <= List; k++ {
		if s == k.String() {
			return k, true
		}
	}
	return Unknown, false
}

// Field is a trait, property or attribute as discovered from the data:
// its kind and how many profiles (events, records) carry it.
type Field struct {
	Kind  Kind
	Count int64
}

// EventType is one event name with its properties.
type EventType struct {
	Count      int64
	Properties map[string]Field
}

// RecordType is one related-record type (tickets, accounts) with its attributes.
type RecordType struct {
	Count      int64
	Attributes map[string]Field
}

// SegmentInfo is what the checker needs to know of an existing segment.
type SegmentInfo struct {
	// DependsOn lists the segments its definition refers to with "in segment".
	DependsOn []string
}

// Schema is the workspace schema the checker resolves names against. The
// store discovers it from the data; tests build it by hand. A nil map means
// "none known".
type Schema struct {
	Traits      map[string]Field
	Events      map[string]EventType // track event names
	Page        EventType            // properties of page calls
	Screen      EventType            // properties of screen calls
	RecordTypes map[string]RecordType
	Segments    map[string]SegmentInfo
}

// ComputedTraits are the traits segd's analytics computes. They are known
// to the checker even before any value exists (see Schema.WithComputed).
var ComputedTraits = map[string]Kind{
	"rfm_recency_days":         Number,
	"rfm_frequency":            Number,
	"rfm_monetary":             Number,
	"rfm_r":                    Number,
	"rfm_f":                    Number,
	"rfm_m":                    Number,
	"rfm_score":                Text, // "545"
	"rfm_segment":              Text, // "Champions"
	"churn_probability":        Number,
	"p_alive":                  Number,
	"clv_12m":                  Number,
	"expected_purchases_90d":   Number,
	"expected_avg_order_value": Number,
	"lifecycle_stage":          Text,
	"funnel_stage":             Text,
	"discount_share":           Number,
	"avg_discount_pct":         Number,
	"price_sensitivity":        Text,
	"next_best_category":       Text,
	"customer_cluster":         Text, // "3": the segment-suggestion cluster
}

// WithComputed returns a copy of s whose traits include ComputedTraits
// (a discovered trait of the same name wins).
func (s *Schema) WithComputed() *Schema {
	c := *s
	c.Traits = make(map[string]Field, len(s.Traits)+len(ComputedTraits))
	for n, k := range ComputedTraits {
		c.Traits[n] = Field{Kind: k}
	}
	for n, f := range s.Traits {
		c.Traits[n] = f
	}
	return &c
}

// discoveredTraits reports whether the schema knows any trait beyond the
// computed ones, i.e. whether the workspace has seen profile data.
func (s *Schema) discoveredTraits() bool {
	for n := range s.Traits {
		if _, ok := ComputedTraits[n]; !ok {
			return true
		}
	}
	return false
}

func keys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
