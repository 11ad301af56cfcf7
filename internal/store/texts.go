package store

import (
	"encoding/binary"
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/cockroachdb/pebble/v2"

	"github.com/segd/segd/internal/binrec"
	"github.com/segd/segd/internal/message"
)

// Shared context members. A browser or app sends the same long context members with every
// event of a device: the user agent string (a third of a typical web event's stored bytes),
// the user-agent client hints, the library, app, OS and screen. An event refers to such a
// member by a number of its workspace's text dictionary (key U ws id → name 0x00 value JSON)
// instead of holding it, so the store writes it once instead of with every event, several
// times over (log, memtable, flush, compactions).
//
// Only members that describe software and hardware models are shared; never identifiers or
// personal data (context.device carries device and advertising ids, context.ip, traits): a
// dictionary text belongs to no profile and outlives the erasure of every profile that
// referred to it.
var sharedContextMembers = [...]string{"userAgent", "userAgentData", "library", "app", "os", "screen"}

// minSharedText is the shortest member (name, separator and value JSON) worth a reference.
const minSharedText = 24

// maxSharedTexts bounds a workspace's dictionary (it is kept in memory); members seen after
// it is full are stored in their events. A variable for tests.
var maxSharedTexts = 1 << 16

// appendContextExcept is appendJSON of a context without the shared members omitted selects
// (bit i: sharedContextMembers[i]).
func appendContextExcept(dst []byte, ctx map[string]any, omitted uint8) []byte {
	dst = append(dst, '{')
	first := true
	for k, v := range ctx {
		if omits(omitted, k) {
			continue
		}
		if !first {
			dst = append(dst, ',')
		}
		first = false
		dst = appendJSONString(dst, k)
		dst = append(dst, ':')
		dst = appendJSON(dst, v)
	}
	return append(dst, '}')
}

// appendCanonicalJSON is appendJSON with the members of objects in name order, so that equal
// values give equal texts.
func appendCanonicalJSON(dst []byte, v any) []byte {
	switch x := v.(type) {
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		dst = append(dst, '{')
		for i, k := range keys {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = appendJSONString(dst, k)
			dst = append(dst, ':')
			dst = appendCanonicalJSON(dst, x[k])
		}
		return append(dst, '}')
	case []any:
		dst = append(dst, '[')
		for i, e := range x {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = appendCanonicalJSON(dst, e)
		}
		return append(dst, ']')
	}
	return appendJSON(dst, v)
}

// decodeShared reads a format 3 event's shared members from r into ctx (which it creates
// when nil) and returns it.
func (s *Store) decodeShared(ws uint32, r *binrec.Reader, ctx map[string]any) (map[string]any, error) {
	n := r.Uvarint()
	if r.Err() != nil || n == 0 || n > uint64(len(sharedContextMembers)) {
		return ctx, errCorruptEvent
	}
	for range n {
		id := r.Uvarint()
		if r.Err() != nil {
			return ctx, errCorruptEvent
		}
		var text string
		ok := false
		if s != nil && id <= uint64(maxSharedTexts) {
			text, ok = s.text(ws, uint32(id))
		}
		name, raw, found := strings.Cut(text, "\x00")
		if !ok || !found {
			return ctx, fmt.Errorf("%w: refers to text %d, not in workspace %d's dictionary", errCorruptEvent, id, ws)
		}
		v, err := message.ParseTrustedJSON([]byte(raw))
		if err != nil {
			return ctx, fmt.Errorf("%w: text %d: %v", errCorruptEvent, id, err)
		}
		if ctx == nil {
			ctx = map[string]any{}
		}
		ctx[name] = v
	}
	return ctx, nil
}

func omits(omitted uint8, k string) bool {
	for i, name := range sharedContextMembers {
		if name == k {
			return omitted&(1<<i) != 0
		}
	}
	return false
}

// texts is the in-memory copy of the text dictionaries of all workspaces, loaded at Open.
// Entries are only added: an id, once published, keeps its text.
type texts struct {
	mu   sync.RWMutex
	ids  map[uint32]map[string]uint32 // ws → text → id
	byID map[uint32][]string          // ws → texts by id-1
}

func textKey(ws, id uint32) []byte {
	return binary.BigEndian.AppendUint32(wsKey(prefixText, ws, 4), id)
}

func (s *Store) loadTexts() error {
	s.texts.ids, s.texts.byID = map[uint32]map[string]uint32{}, map[uint32][]string{}
	return scan(s.db, []byte{prefixText}, func(k, v []byte) error {
		if len(k) != 9 {
			return fmt.Errorf("store: malformed text key %x", k)
		}
		ws, id := binary.BigEndian.Uint32(k[1:5]), binary.BigEndian.Uint32(k[5:])
		if int(id) != len(s.texts.byID[ws])+1 {
			return fmt.Errorf("store: text dictionary of workspace %d: id %d follows %d", ws, id, len(s.texts.byID[ws]))
		}
		s.texts.add(ws, id, string(v))
		return nil
	})
}

func (t *texts) add(ws, id uint32, text string) {
	m := t.ids[ws]
	if m == nil {
		m = map[string]uint32{}
		t.ids[ws] = m
	}
	m[text] = id
	t.byID[ws] = append(t.byID[ws], text)
}

// textID returns the id of text in the workspace's dictionary, adding it when it is new; 0
// when the dictionary is full. A new entry is written to the store before textID returns, so
// it precedes in the log every commit that refers to it: a durable event's texts are durable.
func (s *Store) textID(ws uint32, text []byte) (uint32, error) {
	s.texts.mu.RLock()
	id, ok := s.texts.ids[ws][string(text)]
	s.texts.mu.RUnlock()
	if ok {
		return id, nil
	}
	s.texts.mu.Lock()
	defer s.texts.mu.Unlock()
	if id, ok := s.texts.ids[ws][string(text)]; ok {
		return id, nil
	}
	n := len(s.texts.byID[ws])
	if n >= maxSharedTexts {
		return 0, nil
	}
	id = uint32(n + 1)
	if err := s.db.Set(textKey(ws, id), text, pebble.NoSync); err != nil {
		return 0, fmt.Errorf("store: add to the text dictionary: %w", err)
	}
	s.texts.add(ws, id, string(text))
	return id, nil
}

// text returns the workspace's dictionary text id.
func (s *Store) text(ws, id uint32) (string, bool) {
	s.texts.mu.RLock()
	defer s.texts.mu.RUnlock()
	all := s.texts.byID[ws]
	if id == 0 || int(id) > len(all) {
		return "", false
	}
	return all[id-1], true
}
