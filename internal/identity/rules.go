// Package identity owns identity resolution: which identifiers a message carries (userId,
// anonymousId, email, phone and configured external ids), how they are normalised, which values
// never link, and when two profiles merge. Every merge is recorded in the store's merge log and
// moves identifiers, traits, events and records to the surviving profile.
//
// It reads and writes through the Txn interface it declares (satisfied by *store.Txn); it must
// not import ingest, engine, live or httpapi.
package identity

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
)

// Identifier types known to every workspace.
const (
	UserID      = "userId"
	AnonymousID = "anonymousId"
	Email       = "email"
	Phone       = "phone"
)

// Rules are a workspace's identity-resolution settings.
type Rules struct {
	// Limits caps how many identifiers of a type one profile may hold; a merge that would exceed
	// a limit does not happen. Types not listed use DefaultLimit.
	Limits       map[string]int `json:"limits,omitempty"`
	DefaultLimit int            `json:"defaultLimit,omitempty"`
	// Priority orders identifier types: the highest-priority identifier of a message decides
	// which profile it belongs to when its identifiers point at profiles that cannot merge.
	Priority []string `json:"priority,omitempty"`
	// Blocked values never link anything (compared after trimming and lower-casing).
	Blocked []string `json:"blocked,omitempty"`
	// External lists trait names that are identifiers of their own type (e.g. "customer_id").
	External []string `json:"external,omitempty"`
}

// DefaultRules are used when a workspace has none: userId at most 1, others 5.
func DefaultRules() Rules {
	return Rules{
		Limits:       map[string]int{UserID: 1},
		DefaultLimit: 5,
		Priority:     []string{UserID, Email, Phone, AnonymousID},
		Blocked: []string{"", "null", "undefined", "nil", "none", "0", "-1", "n/a", "unknown",
			"anonymous", "test@test.com", "test@example.com", "email@example.com", "noreply@example.com"},
	}
}

// Validate reports a rules error in words an operator can act on.
func (r Rules) Validate() error {
	for typ, n := range r.Limits {
		if n < 1 {
			return fmt.Errorf("identity: limit for %q is %d: must be at least 1", typ, n)
		}
	}
	if r.DefaultLimit < 0 {
		return fmt.Errorf("identity: defaultLimit %d is negative", r.DefaultLimit)
	}
	seen := map[string]bool{}
	for _, t := range r.Priority {
		if seen[t] {
			return fmt.Errorf("identity: %q appears twice in priority", t)
		}
		seen[t] = true
	}
	for _, t := range r.External {
		if t == UserID || t == AnonymousID || t == Email || t == Phone {
			return fmt.Errorf("identity: external id %q clashes with a built-in identifier type", t)
		}
	}
	return nil
}

// ParseRules decodes stored rules, filling defaults for what is absent.
func ParseRules(b []byte) (Rules, error) {
	r := DefaultRules()
	if len(b) == 0 {
		return r, nil
	}
	if err := json.Unmarshal(b, &r); err != nil {
		return r, fmt.Errorf("identity: decode rules: %w", err)
	}
	if r.DefaultLimit == 0 {
		r.DefaultLimit = 5
	}
	return r, r.Validate()
}

// Limit returns the per-profile limit for typ.
func (r Rules) Limit(typ string) int {
	if n, ok := r.Limits[typ]; ok {
		return n
	}
	if r.DefaultLimit > 0 {
		return r.DefaultLimit
	}
	return 5
}

// rank orders identifier types by priority; unknown types come after all listed ones.
func (r Rules) rank(typ string) int {
	if i := slices.Index(r.Priority, typ); i >= 0 {
		return i
	}
	return len(r.Priority)
}

// IsBlocked reports whether value never links.
func (r Rules) IsBlocked(value string) bool {
	v := strings.ToLower(strings.TrimSpace(value))
	return slices.Contains(r.Blocked, v) || (v == "" && slices.Contains(r.Blocked, ""))
}

// NormalizeEmail lower-cases and trims an email; it returns "" if it is not an address.
func NormalizeEmail(s string) string {
	s = strings.ToLower(strings.TrimSpace(s))
	at := strings.LastIndexByte(s, '@')
	if at <= 0 || at == len(s)-1 || strings.ContainsAny(s, " \t\n") {
		return ""
	}
	return s
}

// NormalizePhone returns the E.164 form (+ and digits) when the number carries a country code
// (leading + or 00), otherwise the digits alone; "" if there are too few digits.
func NormalizePhone(s string) string {
	s = strings.TrimSpace(s)
	plus := strings.HasPrefix(s, "+")
	var d strings.Builder
	for _, c := range s {
		switch {
		case c >= '0' && c <= '9':
			d.WriteRune(c)
		case c == ' ' || c == '-' || c == '(' || c == ')' || c == '.' || c == '+' || c == '/':
		default:
			return ""
		}
	}
	digits := d.String()
	if !plus && strings.HasPrefix(digits, "00") {
		plus, digits = true, digits[2:]
	}
	if len(digits) < 6 || len(digits) > 15 {
		return ""
	}
	if plus {
		return "+" + digits
	}
	return digits
}
