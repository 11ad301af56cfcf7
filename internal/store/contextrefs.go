package store

import (
	"encoding/binary"
	"fmt"
	"math"
	"slices"
	"strings"
	"sync"

	"github.com/cockroachdb/pebble/v2"

	"github.com/segd/segd/internal/binrec"
	"github.com/segd/segd/internal/message"
)

// What a format 3 event leaves out of its context (eventcodec.go): shared members and page
// copies.
//
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

// appendContextExcept is appendJSON of a context without the members refs leaves out.
func appendContextExcept(dst []byte, ctx map[string]any, refs *contextRefs) []byte {
	return appendObject(dst, ctx, func(k string) bool {
		return omits(refs.omitted, k) || k == "page" && refs.page != 0
	})
}

// decodeRefs reads what a format 3 event left out of its context from r and puts it back
// into m.Context (which it creates when nil; m.Properties must be decoded already).
func (s *Store) decodeRefs(ws uint32, r *binrec.Reader, m *message.Message) error {
	n := r.Uvarint()
	if r.Err() != nil || n > uint64(len(sharedContextMembers)) {
		return errCorruptEvent
	}
	ctx := m.Context
	if ctx == nil {
		ctx = map[string]any{}
	}
	for range n {
		id := r.Uvarint()
		if r.Err() != nil {
			return errCorruptEvent
		}
		var text string
		ok := false
		if s != nil && id <= uint64(maxSharedTexts) {
			text, ok = s.text(ws, uint32(id))
		}
		name, raw, found := strings.Cut(text, "\x00")
		if !ok || !found {
			return fmt.Errorf("%w: refers to text %d, not in workspace %d's dictionary", errCorruptEvent, id, ws)
		}
		v, err := message.ParseTrustedJSON([]byte(raw))
		if err != nil {
			return fmt.Errorf("%w: text %d: %v", errCorruptEvent, id, err)
		}
		ctx[name] = v
	}
	page := r.Byte()
	if r.Err() != nil || n == 0 && page == 0 || page >= 1<<len(pageCopies) {
		return errCorruptEvent
	}
	if page != 0 {
		p := make(map[string]any, len(pageCopies))
		for i, k := range pageCopies {
			if page&(1<<i) == 0 {
				continue
			}
			v, ok := m.Properties[k]
			if !ok {
				return fmt.Errorf("%w: context.page.%s copies a property the event lacks", errCorruptEvent, k)
			}
			p[k] = v
		}
		ctx["page"] = p
	}
	m.Context = ctx
	return nil
}

// pageCopies are the members of context.page an event may leave out because its properties
// hold the same values (format 3's last byte; positions are stored: append only).
var pageCopies = [...]string{"path", "referrer", "search", "title", "url"}

// pageCopyMask returns the format 3 page byte for m: the members of a non-empty context.page
// when each of them is one of pageCopies and equals the property of the same name (text,
// number, boolean or null), else 0 (context.page is stored as it is).
func pageCopyMask(m *message.Message) uint8 {
	p, ok := m.Context["page"].(map[string]any)
	if !ok || len(p) == 0 || len(m.Properties) == 0 {
		return 0
	}
	var mask uint8
	for k, v := range p {
		i := slices.Index(pageCopies[:], k)
		prop, ok := m.Properties[k]
		if i < 0 || !ok || !sameScalar(v, prop) {
			return 0
		}
		mask |= 1 << i
	}
	return mask
}

// sameScalar reports whether a and b are the same text, number, boolean or null.
func sameScalar(a, b any) bool {
	switch x := a.(type) {
	case string:
		y, ok := b.(string)
		return ok && x == y
	case float64:
		y, ok := b.(float64)
		return ok && math.Float64bits(x) == math.Float64bits(y)
	case bool:
		y, ok := b.(bool)
		return ok && x == y
	case nil:
		return b == nil
	}
	return false
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
	// warned has the workspaces whose full dictionary was logged (once per process)
	warned map[uint32]bool
}

func textKey(ws, id uint32) []byte {
	return binary.BigEndian.AppendUint32(wsKey(prefixText, ws, 4), id)
}

func (s *Store) loadTexts() error {
	s.texts.ids, s.texts.byID, s.texts.warned = map[uint32]map[string]uint32{}, map[uint32][]string{}, map[uint32]bool{}
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

// count returns how many texts all dictionaries hold and how many dictionaries are full.
func (t *texts) count() (n, full int) {
	t.mu.RLock()
	defer t.mu.RUnlock()
	for _, all := range t.byID {
		n += len(all)
		if len(all) >= maxSharedTexts {
			full++
		}
	}
	return n, full
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
	// the new text goes on as a string of its own, so that text (the caller's scratch buffer,
	// on its stack) never escapes to the heap: it did, 512 bytes per event
	return s.addText(ws, string(text))
}

// addText is textID for a text not seen yet (by the time the lock is held, maybe it is).
func (s *Store) addText(ws uint32, text string) (uint32, error) {
	s.texts.mu.Lock()
	defer s.texts.mu.Unlock()
	if id, ok := s.texts.ids[ws][text]; ok {
		return id, nil
	}
	n := len(s.texts.byID[ws])
	if n >= maxSharedTexts {
		if !s.texts.warned[ws] {
			s.texts.warned[ws] = true
			s.log.Warn("store: the workspace's dictionary of shared context members is full; new ones are stored in every event",
				"workspace", ws, "texts", n)
		}
		return 0, nil
	}
	id := uint32(n + 1)
	if err := s.db.Set(textKey(ws, id), []byte(text), pebble.NoSync); err != nil {
		return 0, fmt.Errorf("store: add to the text dictionary: %w", err)
	}
	s.texts.add(ws, id, text)
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
