package store

import (
	"github.com/segd/segd/internal/binrec"
	"github.com/segd/segd/internal/message"
)

// StoredEventType returns the call type of a stored event value from its header alone, so
// that a scan can skip identify, group and alias calls without decoding them.
func StoredEventType(b []byte) (message.Type, bool) {
	if !validEventHeader(b) {
		return "", false
	}
	return codeTypes[b[1]], true
}

// DecodeEventFields decodes the fields of EventFields from a stored event value (the format
// of AppendEventValue). f.Enriched is reused; its keys may be shared with other calls and must
// not be modified.
func DecodeEventFields(b []byte, f *message.EventFields) error {
	typ, ok := StoredEventType(b)
	if !ok {
		return errCorruptEvent
	}
	f.Type = typ
	r := binrec.NewReader(b[2:], errCorruptEvent)
	for i := 0; i < 8; i++ { // messageId, userId, anonymousId, previousId, groupId, event, name, category
		s := r.Bytes()
		switch i {
		case 5:
			f.Event = s
		case 6:
			f.Name = s
		}
	}
	f.Timestamp = r.Time()
	for i := 0; i < 3; i++ { // originalTimestamp, sentAt, receivedAt
		r.SkipTime()
	}
	f.Properties = r.Bytes()
	if len(f.Properties) == 0 {
		f.Properties = nil
	}
	for i := 0; i < 4; i++ { // traits, context, integrations, extra
		r.Bytes()
	}
	n := r.Uvarint()
	if r.Err() != nil || n > uint64(r.Len()) {
		return errCorruptEvent
	}
	f.Enriched = f.Enriched[:0]
	for i := uint64(0); i < n; i++ {
		f.Enriched = append(f.Enriched, readEnrichedKey(&r, b[0]), r.Bytes())
	}
	return r.Err()
}
