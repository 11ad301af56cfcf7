package store

import (
	"encoding/binary"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/segd/segd/internal/binrec"
	"github.com/segd/segd/internal/message"
)

// Events are stored in a compact binary form rather than JSON: the write path encodes hundreds
// of thousands per second and the index rebuild decodes millions.
//
//	byte      format (2, or 3 when part of the context is left out; 1 is still read)
//	byte      type code (1 identify, 2 track, 3 page, 4 screen, 5 group, 6 alias)
//	8 × str   messageId, userId, anonymousId, previousId, groupId, event, name, category
//	4 × time  timestamp, originalTimestamp, sentAt, receivedAt
//	5 × json  properties, traits, context, integrations, extra
//	uvarint n, then n × (key, str value)   enriched
//	format 3 only: uvarint n, then n × uvarint id   shared context members
//	format 3 only: byte                             context.page members copied from properties
//
// str is a uvarint length and the bytes; time is a flag byte (0 = zero time, 1 = set) followed
// by a varint of Unix nanoseconds when set; json is a uvarint length (0 = absent) and the JSON
// text of an object. Strings and times are written and read by package binrec (a time flag
// other than 0 or 1 is corrupt). An enriched key is a uvarint code: c ≥ 1 is enrichedKeys[c-1],
// 0 is followed by the key as a str. Format 1 wrote every key as a str; the names were a
// quarter of a typical web event's bytes, all of which the store writes several times over
// (log, memtable, flush, compactions). Format 3 events leave some context members out of the
// context's JSON and list them as ids of the workspace's text dictionary instead (contextrefs.go);
// each text is the member's name, a 0 byte and its value's JSON. Their last byte, when not 0,
// says that context.page was left out too because each of its members repeats the property
// of the same name (analytics.js sends a page call's url, path, title, referrer and search
// twice): bit i is the member pageCopies[i].
const (
	eventFormat       = 2
	eventFormat1      = 1
	eventFormatShared = 3
)

// enrichedKeys are the enriched fields' names by code (code = position + 1). Stored codes
// keep their meaning: the list only grows at its end. A name not in it is stored in full.
var enrichedKeys = [...]string{"device_type", "browser", "browser_version", "os", "os_version",
	"acquisition_source", "acquisition_medium", "acquisition_campaign", "acquisition_term",
	"acquisition_content", "page_url", "page_path", "referrer", "referrer_domain", "locale",
	"timezone", "ip"}

// enrichedKeyBytes are enrichedKeys as byte slices, handed out by DecodeEventFields (read only).
var enrichedKeyBytes = func() [len(enrichedKeys)][]byte {
	var out [len(enrichedKeys)][]byte
	for i, k := range enrichedKeys {
		out[i] = []byte(k)
	}
	return out
}()

// enrichedCode is the code of an enriched field's name, 0 when it has none.
func enrichedCode(k string) uint64 {
	for i, name := range enrichedKeys {
		if name == k {
			return uint64(i + 1)
		}
	}
	return 0
}

// validEventHeader reports whether b starts with a known format and call type.
func validEventHeader(b []byte) bool {
	return len(b) >= 2 && (b[0] == eventFormat || b[0] == eventFormat1 || b[0] == eventFormatShared) && b[1] != 0 && int(b[1]) < len(codeTypes)
}

// readEnrichedKey reads an enriched field's name as the format stores it.
func readEnrichedKey(r *binrec.Reader, format byte) []byte {
	c, name := readEnrichedName(r, format)
	if c > 0 {
		return enrichedKeyBytes[c-1]
	}
	return name
}

// readEnrichedKeyString is readEnrichedKey as a string (a coded name is not copied).
func readEnrichedKeyString(r *binrec.Reader, format byte) string {
	c, name := readEnrichedName(r, format)
	if c > 0 {
		return enrichedKeys[c-1]
	}
	return string(name)
}

// readEnrichedName reads an enriched field's name: its code (c ≥ 1, a valid one) or, for 0,
// the name as stored. An invalid code fails r.
func readEnrichedName(r *binrec.Reader, format byte) (c uint64, name []byte) {
	if format == eventFormat1 {
		return 0, r.Bytes()
	}
	c = r.Uvarint()
	switch {
	case c == 0:
		return 0, r.Bytes()
	case c <= uint64(len(enrichedKeys)):
		return c, nil
	}
	r.Fail()
	return 0, nil
}

var typeCodes = map[message.Type]byte{message.Identify: 1, message.Track: 2, message.Page: 3,
	message.Screen: 4, message.Group: 5, message.Alias: 6}

var codeTypes = [...]message.Type{1: message.Identify, 2: message.Track, 3: message.Page,
	4: message.Screen, 5: message.Group, 6: message.Alias}

// AppendEventValue appends the stored form of m (WriteKey is not stored) with its whole
// context in it; Store.AppendEvent refers to the workspace's shared texts instead.
func AppendEventValue(dst []byte, m *message.Message) []byte {
	return appendEventValue(dst, m, contextRefs{})
}

// contextRefs says what a format 3 event leaves out of its context's JSON: the shared members
// (ids, and omitted: bit i is sharedContextMembers[i]) and the members of context.page that
// copy properties (page: bit i is pageCopies[i]).
type contextRefs struct {
	ids     []uint32
	omitted uint8
	page    uint8
}

func (c *contextRefs) any() bool { return len(c.ids) > 0 || c.page != 0 }

// AppendEvent appends the stored form of m, an event of workspace ws, to dst: the context
// members that events share (sharedContextMembers) as references to the workspace's text
// dictionary, new texts added to it. Safe for concurrent use.
func (s *Store) AppendEvent(dst []byte, ws uint32, m *message.Message) ([]byte, error) {
	var ids [len(sharedContextMembers)]uint32
	refs := contextRefs{ids: ids[:0], page: pageCopyMask(m)}
	var scratch *[]byte
	defer func() {
		if scratch != nil {
			textScratch.Put(scratch)
		}
	}()
	for i, name := range sharedContextMembers {
		v, ok := m.Context[name]
		if !ok {
			continue
		}
		if scratch == nil {
			scratch = textScratch.Get().(*[]byte)
		}
		text := appendCanonicalJSON(append(append((*scratch)[:0], name...), 0), v)
		*scratch = text
		if len(text) < minSharedText {
			continue
		}
		id, err := s.textID(ws, text)
		if err != nil {
			return dst, err
		}
		if id != 0 {
			refs.ids = append(refs.ids, id)
			refs.omitted |= 1 << i
		}
	}
	return appendEventValue(dst, m, refs), nil
}

// textScratch holds the buffers AppendEvent writes a shared member's text into (a buffer on
// its stack escaped to the heap through the JSON encoder: 512 bytes per event).
var textScratch = sync.Pool{New: func() any { b := make([]byte, 0, 512); return &b }}

// appendEventValue appends the stored form of m, in format 3 when refs leaves something out.
func appendEventValue(dst []byte, m *message.Message, refs contextRefs) []byte {
	format := byte(eventFormat)
	if refs.any() {
		format = eventFormatShared
	}
	dst = append(dst, format, typeCodes[m.Type])
	for _, s := range [...]string{m.MessageID, m.UserID, m.AnonymousID, m.PreviousID, m.GroupID, m.Event, m.Name, m.Category} {
		dst = binrec.AppendString(dst, s)
	}
	for _, t := range [...]time.Time{m.Timestamp, m.OriginalTimestamp, m.SentAt, m.ReceivedAt} {
		dst = binrec.AppendTime(dst, t)
	}
	for i, obj := range [...]map[string]any{m.Properties, m.Traits, m.Context, m.Integrations, m.Extra} {
		if obj == nil {
			dst = append(dst, 0)
			continue
		}
		// length-prefix: encode into a scratch tail, then move it behind the length
		start := len(dst)
		dst = append(dst, make([]byte, binary.MaxVarintLen32)...)
		body := len(dst)
		if i == 2 && refs.any() {
			dst = appendContextExcept(dst, obj, &refs)
		} else {
			dst = appendJSON(dst, obj)
		}
		n := len(dst) - body
		var lenBuf [binary.MaxVarintLen32]byte
		ln := binary.PutUvarint(lenBuf[:], uint64(n))
		copy(dst[start:], lenBuf[:ln])
		copy(dst[start+ln:], dst[body:])
		dst = dst[:start+ln+n]
	}
	dst = binary.AppendUvarint(dst, uint64(len(m.Enriched)))
	for _, f := range m.Enriched {
		c := enrichedCode(f.Key)
		dst = binary.AppendUvarint(dst, c)
		if c == 0 {
			dst = binrec.AppendString(dst, f.Key)
		}
		dst = binrec.AppendString(dst, f.Value)
	}
	if refs.any() {
		dst = binary.AppendUvarint(dst, uint64(len(refs.ids)))
		for _, id := range refs.ids {
			dst = binary.AppendUvarint(dst, uint64(id))
		}
		dst = append(dst, refs.page)
	}
	return dst
}

var errCorruptEvent = errors.New("store: corrupt event value")

// DecodeEventValue decodes a stored event that refers to no shared texts (one that
// AppendEventValue wrote) into m. The result shares no memory with b.
func DecodeEventValue(b []byte, m *message.Message) error {
	return (*Store)(nil).decodeEvent(0, b, m)
}

// decodeEvent decodes a stored event of workspace ws into m, its shared context members
// from the workspace's dictionary (none when s is nil). The result shares no memory with b.
func (s *Store) decodeEvent(ws uint32, b []byte, m *message.Message) error {
	if !validEventHeader(b) {
		return errCorruptEvent
	}
	m.Type = codeTypes[b[1]]
	r := binrec.NewReader(b[2:], errCorruptEvent)
	for _, dst := range [...]*string{&m.MessageID, &m.UserID, &m.AnonymousID, &m.PreviousID, &m.GroupID, &m.Event, &m.Name, &m.Category} {
		*dst = r.String()
	}
	for _, dst := range [...]*time.Time{&m.Timestamp, &m.OriginalTimestamp, &m.SentAt, &m.ReceivedAt} {
		*dst = r.Time()
	}
	for _, dst := range [...]*map[string]any{&m.Properties, &m.Traits, &m.Context, &m.Integrations, &m.Extra} {
		raw := r.Bytes()
		if err := r.Err(); err != nil {
			return err
		}
		if len(raw) == 0 {
			*dst = nil
			continue
		}
		v, err := message.ParseTrustedJSON(raw)
		if err != nil {
			return fmt.Errorf("%w: %v", errCorruptEvent, err)
		}
		obj, ok := v.(map[string]any)
		if !ok {
			return errCorruptEvent
		}
		*dst = obj
	}
	n := r.Uvarint()
	if n > uint64(r.Len()) {
		return errCorruptEvent
	}
	if n > 0 {
		m.Enriched = make(message.Enriched, 0, n)
		for i := uint64(0); i < n; i++ {
			k := readEnrichedKeyString(&r, b[0])
			m.Enriched = append(m.Enriched, message.EnrichedField{Key: k, Value: r.String()})
		}
	}
	if b[0] == eventFormatShared {
		if err := s.decodeRefs(ws, &r, m); err != nil {
			return err
		}
	}
	return r.Err()
}
