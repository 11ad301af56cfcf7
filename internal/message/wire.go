package message

import (
	"encoding/json"
	"time"
)

// IdentityTraits returns the traits the identity resolver reads (email, phone, ...): the
// message's traits merged over context.traits, the message's own traits winning. Context is
// not changed; the result is a new map (nil when both are empty).
func (m *Message) IdentityTraits() map[string]any {
	ctxTraits, _ := m.Context["traits"].(map[string]any)
	if len(ctxTraits) == 0 {
		if len(m.Traits) == 0 {
			return nil
		}
		out := make(map[string]any, len(m.Traits))
		for k, v := range m.Traits {
			out[k] = v
		}
		return out
	}
	out := make(map[string]any, len(m.Traits)+len(ctxTraits))
	for k, v := range ctxTraits {
		out[k] = v
	}
	for k, v := range m.Traits {
		out[k] = v
	}
	return out
}

// WireJSON encodes m in Segment's wire form, as a client would send it: the top-level fields,
// Extra inlined, times as RFC 3339 with nanoseconds, and timestamp set to the corrected event
// time. It leaves out what segd adds (receivedAt, enriched) and the write key. Decoding the
// result with the same receipt time gives m back.
func (m *Message) WireJSON() ([]byte, error) {
	w := make(map[string]any, len(m.Extra)+16)
	for k, v := range m.Extra {
		w[k] = v
	}
	w["type"] = string(m.Type)
	w["messageId"] = m.MessageID
	put := func(k, v string) {
		if v != "" {
			w[k] = v
		}
	}
	put("userId", m.UserID)
	put("anonymousId", m.AnonymousID)
	put("previousId", m.PreviousID)
	put("groupId", m.GroupID)
	put("event", m.Event)
	put("name", m.Name)
	put("category", m.Category)
	putMap := func(k string, v map[string]any) {
		if v != nil {
			w[k] = v
		}
	}
	putMap("properties", m.Properties)
	putMap("traits", m.Traits)
	putMap("context", m.Context)
	putMap("integrations", m.Integrations)
	putTime := func(k string, t time.Time) {
		if !t.IsZero() {
			w[k] = t.UTC().Format(time.RFC3339Nano)
		}
	}
	putTime("timestamp", m.Timestamp)
	putTime("originalTimestamp", m.OriginalTimestamp)
	putTime("sentAt", m.SentAt)
	return json.Marshal(w)
}
