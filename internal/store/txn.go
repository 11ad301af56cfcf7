package store

import (
	"bytes"
	"cmp"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/cockroachdb/pebble/v2"
	"github.com/segd/segd/internal/message"
)

// Txn is a group of writes committed atomically and durably. It reads its own writes. A Txn is
// used by one goroutine; the write pipeline runs one at a time.
type Txn struct {
	s          *Store
	b          *pebble.Batch
	profiles   map[profileRef]*Profile // read or written in this Txn; flushed at Commit
	dirty      map[profileRef]bool
	counters   map[string]uint64 // counters advanced in this Txn
	ids        map[idRef]uint32  // identifiers set (0 = deleted) in this Txn
	suppressed map[suppressRef]bool
	seen       map[seenRef]bool // messageIds marked in this Txn

	// plain holds the writes no read of this Txn goes through the batch for: events (read
	// only by MoveEvents and DeleteEvents, which look here too) and dedupe entries (read
	// through seen). They join the batch at commit; an indexed batch costs a skiplist insert
	// and a copy per write, which was most of the writer's per-event cost.
	plain []plainWrite
	// keys holds the plain writes' keys and small values, a new chunk when one is full, so
	// that an event costs no allocation of its own for them
	keys []byte
}

// room returns an empty slice of capacity n from the Txn's key chunks; what is appended to it
// (up to n bytes) stays valid and unchanged until the Txn ends.
func (t *Txn) room(n int) []byte {
	if cap(t.keys)-len(t.keys) < n {
		t.keys = make([]byte, 0, max(16<<10, n))
	}
	start := len(t.keys)
	t.keys = t.keys[:start+n]
	return t.keys[start : start : start+n]
}

// plainWrite is a Set kept outside the indexed batch until commit. Its slices must stay
// unchanged until then.
type plainWrite struct{ key, value []byte }

type profileRef struct{ ws, pid uint32 }

// Begin starts a Txn.
func (s *Store) Begin() *Txn {
	return &Txn{s: s, b: s.db.NewIndexedBatch(), profiles: map[profileRef]*Profile{}, dirty: map[profileRef]bool{},
		counters: map[string]uint64{}, ids: map[idRef]uint32{}}
}

// Discard drops the Txn's writes. Profiles it handed out may have been modified, so the
// store's caches are cleared.
func (t *Txn) Discard() {
	t.s.cache.reset()
	t.b.Close()
}

// Commit writes the Txn durably (fsync) and releases it.
func (t *Txn) Commit() error {
	wait, err := t.CommitNoWait()
	if err != nil {
		return err
	}
	return wait()
}

// CommitNoWait applies the Txn and returns before the WAL fsync; wait blocks until the writes
// are durable (or reports that they are not) and must be called exactly once. The writes are
// visible to later reads and Txns at once, so the next Txn can be built while this one
// syncs; since the WAL is synced in order, a later Txn is durable only if this one is.
func (t *Txn) CommitNoWait() (wait func() error, err error) {
	if err := t.s.Failed(); err != nil {
		t.Discard()
		return nil, err
	}
	defer t.s.RecoverFatal(&err)
	for ref := range t.dirty {
		p := t.profiles[ref]
		v, err := json.Marshal(p)
		if err != nil {
			t.Discard()
			return nil, fmt.Errorf("store: encode profile %d: %w", ref.pid, err)
		}
		if err := t.b.Set(profileKey(ref.ws, ref.pid), v, nil); err != nil {
			t.Discard()
			return nil, err
		}
	}
	for name, next := range t.counters {
		ws, _ := strconv.ParseUint(name[:8], 16, 32)
		if err := t.b.Set(counterKey(uint32(ws), name[9:]), binary.BigEndian.AppendUint64(nil, next), nil); err != nil {
			t.Discard()
			return nil, err
		}
	}
	sorted, err := t.sortedBatch()
	if err != nil {
		t.Discard()
		return nil, err
	}
	if err := t.s.applyNoSyncWait(sorted); err != nil {
		sorted.Close()
		t.Discard()
		return nil, fmt.Errorf("store: commit: %w", err)
	}
	t.b.Close()
	t.b = sorted
	t.s.seen.noteApplied(t)
	t.s.cache.publish(t)
	t.s.mu.Lock()
	for name, next := range t.counters {
		if next > t.s.counters[name] {
			t.s.counters[name] = next
		}
	}
	for ref := range t.suppressed {
		t.s.suppressed[ref] = true
		t.s.anySuppressed.Store(true)
	}
	t.s.mu.Unlock()
	return func() error {
		err := t.b.SyncWait()
		t.b.Close()
		if err != nil {
			t.s.cache.reset()
			// Pebble's WAL is in an unknown state after a failed sync: refuse every later
			// write until segd is restarted (the WAL replay then restores a consistent state).
			return t.s.markFailed(fmt.Errorf("store: commit (fsync): %w", err))
		}
		return nil
	}, nil
}

// sortedBatch copies the Txn's writes into a new batch with the point writes in ascending key
// order (for one key, in the order written). Pebble inserts a batch into its memtable (a
// skiplist) entry by entry and reuses the previous entry's search path when the next key
// follows it, so ascending keys cost a few steps each instead of a search from the top: with
// a group's event, dedupe and identifier keys in arrival order the memtable insert was a third
// of the commit goroutine's time. A key written twice keeps its last value, and no write moves
// across a range deletion.
func (t *Txn) sortedBatch() (*pebble.Batch, error) {
	sc := sortScratch.Get().(*sortedBatchScratch)
	defer sc.release()
	entries := sc.entries[:0]
	r := t.b.Reader()
	for {
		kind, key, value, ok, err := r.Next()
		if err != nil {
			return nil, fmt.Errorf("store: read batch: %w", err)
		}
		if !ok {
			break
		}
		entries = append(entries, batchEntry{kind, key, value})
	}
	// the plain writes come last: after every range deletion, which DeleteEvents allows for
	size := len(t.b.Repr())
	for _, w := range t.plain {
		entries = append(entries, batchEntry{pebble.InternalKeyKindSet, w.key, w.value})
		size += len(w.key) + len(w.value) + 8
	}
	sc.entries = entries
	out := t.s.db.NewBatchWithSize(size)
	// The sort moves small records without pointers (swapping the entries themselves, with
	// their slices, cost a write barrier per pointer while the collector ran) and compares
	// the keys' first 16 bytes as two integers: a group's keys share their 5-byte prefix, so
	// a byte comparison went deep into most keys.
	run := 0 // start of the point writes not yet sorted
	flush := func(end int) error {
		order := sc.order[:0]
		for i := run; i < end; i++ {
			order = append(order, newSortKey(entries[i].key, int32(i)))
		}
		sc.order = order // kept for the next use of sc
		slices.SortFunc(order, func(a, b sortKey) int {
			if c := cmp.Compare(a.hi, b.hi); c != 0 {
				return c
			}
			if c := cmp.Compare(a.lo, b.lo); c != 0 {
				return c
			}
			if c := bytes.Compare(entries[a.i].key, entries[b.i].key); c != 0 {
				return c
			}
			return int(a.i - b.i)
		})
		for _, o := range order {
			e := &entries[o.i]
			var err error
			switch e.kind {
			case pebble.InternalKeyKindSet:
				err = out.Set(e.key, e.value, nil)
			case pebble.InternalKeyKindDelete:
				err = out.Delete(e.key, nil)
			default:
				err = fmt.Errorf("store: unexpected write kind %v in a transaction", e.kind)
			}
			if err != nil {
				return err
			}
		}
		return nil
	}
	for i, e := range entries {
		if e.kind != pebble.InternalKeyKindRangeDelete {
			continue
		}
		if err := flush(i); err != nil {
			out.Close()
			return nil, err
		}
		if err := out.DeleteRange(e.key, e.value, nil); err != nil {
			out.Close()
			return nil, err
		}
		run = i + 1
	}
	if err := flush(len(entries)); err != nil {
		out.Close()
		return nil, err
	}
	return out, nil
}

// batchEntry is one write of a Txn as sortedBatch reads it.
type batchEntry struct {
	kind       pebble.InternalKeyKind
	key, value []byte
}

// sortedBatchScratch is sortedBatch's working memory, reused: a large group's entries were
// half a megabyte to allocate, zero and scan per commit.
type sortedBatchScratch struct {
	entries []batchEntry
	order   []sortKey
}

var sortScratch = sync.Pool{New: func() any { return new(sortedBatchScratch) }}

// release clears the entries (they point into the Txn's memory) and returns sc to the pool.
func (sc *sortedBatchScratch) release() {
	clear(sc.entries)
	sc.entries = sc.entries[:0]
	sortScratch.Put(sc)
}

// sortKey orders one write of sortedBatch: the first 16 bytes of its key as two big-endian
// integers (zero-padded: equal integers still need the keys compared), and its position in
// the Txn, which breaks ties between writes of one key.
type sortKey struct {
	hi, lo uint64
	i      int32
}

func newSortKey(key []byte, i int32) sortKey {
	var b [16]byte
	copy(b[:], key)
	return sortKey{hi: binary.BigEndian.Uint64(b[:8]), lo: binary.BigEndian.Uint64(b[8:]), i: i}
}

// Next returns the next value of the workspace counter name (starting at 1).
func (t *Txn) Next(ws uint32, name string) (uint64, error) {
	full := fmt.Sprintf("%08x/%s", ws, name)
	cur, ok := t.counters[full]
	if !ok {
		t.s.mu.Lock()
		cur, ok = t.s.counters[full]
		t.s.mu.Unlock()
		if !ok {
			v, closer, err := t.s.db.Get(counterKey(ws, name))
			switch {
			case errors.Is(err, pebble.ErrNotFound):
				cur = 1
			case err != nil:
				return 0, err
			default:
				if len(v) != 8 {
					closer.Close()
					return 0, fmt.Errorf("store: corrupt counter %q (%d bytes)", name, len(v))
				}
				cur = binary.BigEndian.Uint64(v)
				closer.Close()
			}
		}
	}
	t.counters[full] = cur + 1
	return cur, nil
}

func (t *Txn) get(key []byte) ([]byte, error) {
	v, closer, err := t.b.Get(key)
	if errors.Is(err, pebble.ErrNotFound) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, err
	}
	out := append([]byte(nil), v...)
	closer.Close()
	return out, nil
}

// ---- profiles and identifiers ----

// Profile returns the profile (possibly a tombstone with MergedInto set). The returned value
// is owned by the Txn: modify it and call MarkDirty.
func (t *Txn) Profile(ws, pid uint32) (*Profile, error) {
	ref := profileRef{ws, pid}
	if p, ok := t.profiles[ref]; ok {
		return p, nil
	}
	if p := t.s.cache.profile(ref); p != nil {
		t.profiles[ref] = p
		return p, nil
	}
	v, err := t.get(profileKey(ws, pid))
	if err != nil {
		return nil, err
	}
	p := new(Profile)
	if err := json.Unmarshal(v, p); err != nil {
		return nil, fmt.Errorf("store: decode profile %d: %w", pid, err)
	}
	t.profiles[ref] = p
	return p, nil
}

// MarkDirty schedules p to be written at Commit.
func (t *Txn) MarkDirty(ws uint32, p *Profile) {
	ref := profileRef{ws, p.ID}
	t.profiles[ref] = p
	t.dirty[ref] = true
}

// NewProfile allocates a new profile id and returns the empty profile (dirty).
func (t *Txn) NewProfile(ws uint32, now time.Time) (*Profile, error) {
	id, err := t.Next(ws, "profile")
	if err != nil {
		return nil, err
	}
	if id > 1<<32-1 {
		panic("store: profile ids exhausted (uint32): invariant broken")
	}
	p := &Profile{ID: uint32(id), Created: now, Traits: map[string]TraitValue{}}
	t.MarkDirty(ws, p)
	return p, nil
}

// LookupIdentifier returns the profile id owning the identifier, or ErrNotFound.
func (t *Txn) LookupIdentifier(ws uint32, typ, value string) (uint32, error) {
	ref := idRef{ws, typ, value}
	if pid, ok := t.ids[ref]; ok {
		if pid == 0 {
			return 0, ErrNotFound
		}
		return pid, nil
	}
	if pid, ok := t.s.cache.identifier(ref); ok {
		return pid, nil
	}
	// identifiers written by this Txn are in t.ids, so the database alone is authoritative here
	pid, err := t.s.readIdentifier(ws, typ, value)
	if err != nil {
		return 0, err
	}
	t.s.cache.noteIdentifier(ref, pid)
	return pid, nil
}

// SetIdentifier points the identifier at pid.
func (t *Txn) SetIdentifier(ws uint32, typ, value string, pid uint32) error {
	t.ids[idRef{ws, typ, value}] = pid
	key := identifierKey(ws, typ, value)
	t.s.ids.addKey(ws, key) // before the commit that makes the key visible
	return t.b.Set(key, binary.BigEndian.AppendUint32(nil, pid), nil)
}

// DeleteIdentifier removes the identifier.
func (t *Txn) DeleteIdentifier(ws uint32, typ, value string) error {
	t.ids[idRef{ws, typ, value}] = 0
	return t.b.Delete(identifierKey(ws, typ, value), nil)
}

// ---- events ----

// AppendEvent stores the event under the profile, ordered by event time, and returns the
// workspace-wide sequence number assigned to it.
func (t *Txn) AppendEvent(ws, pid uint32, m *message.Message) (uint64, error) {
	return t.AppendEncodedEvent(ws, pid, m.Timestamp, AppendEventValue(nil, m))
}

// AppendEncodedEvent is AppendEvent for a message already encoded with AppendEventValue (by
// the caller, off the writer's goroutine); at is its Timestamp. value is kept, not copied,
// until the Txn is committed or discarded.
func (t *Txn) AppendEncodedEvent(ws, pid uint32, at time.Time, value []byte) (uint64, error) {
	seq, err := t.Next(ws, "event")
	if err != nil {
		return 0, err
	}
	k := appendEventKey(t.room(eventKeyLen), ws, pid, at, seq)
	t.plain = append(t.plain, plainWrite{k, value})
	return seq, nil
}

// MoveEvents rewrites every event of from under into and returns how many moved.
func (t *Txn) MoveEvents(ws, from, into uint32) (int64, error) {
	var n int64
	prefix := eventPrefix(ws, from)
	type kv struct{ k, v []byte }
	var moved []kv
	err := scan(t.b, prefix, func(k, v []byte) error {
		moved = append(moved, kv{append([]byte(nil), k...), append([]byte(nil), v...)})
		return nil
	})
	if err != nil {
		return 0, err
	}
	// this Txn's own events of the profile were never written anywhere: re-key them
	for i := range t.plain {
		if k := t.plain[i].key; bytes.HasPrefix(k, prefix) {
			t.plain[i].key = append(eventPrefix(ws, into), k[len(prefix):]...)
			n++
		}
	}
	for _, e := range moved {
		nk := append(eventPrefix(ws, into), e.k[len(prefix):]...)
		if err := t.b.Set(nk, e.v, nil); err != nil {
			return n, err
		}
		if err := t.b.Delete(e.k, nil); err != nil {
			return n, err
		}
		n++
	}
	return n, nil
}

// DeleteEvents removes every event of the profile.
func (t *Txn) DeleteEvents(ws, pid uint32) error {
	p := eventPrefix(ws, pid)
	// this Txn's own events of the profile are dropped here; the range deletion covers the
	// stored ones (the plain writes join the batch after it, so events appended later stay)
	t.plain = slices.DeleteFunc(t.plain, func(w plainWrite) bool { return bytes.HasPrefix(w.key, p) })
	return t.b.DeleteRange(p, prefixEnd(p), nil)
}

// ---- dedupe ----

// Seen reports whether messageID was accepted within the dedupe window.
// Writes of this Txn are tracked in a map, so the lookup goes straight to the database (a
// point read of the DB is much cheaper than one through the indexed batch).
func (t *Txn) Seen(ws uint32, messageID string) (bool, error) {
	if t.seen[seenRef{ws, messageID}] {
		return true, nil
	}
	return t.s.HasMessage(ws, messageID)
}

type seenRef struct {
	ws uint32
	id string
}

// Reserve sizes the Txn for about n messages: the map of their messageIds and the plain
// writes of their events and dedupe entries, which, grown by doubling, rehashed and copied
// themselves a dozen times per commit group.
func (t *Txn) Reserve(n int) {
	if t.seen == nil {
		t.seen = make(map[seenRef]bool, n)
	}
	t.plain = slices.Grow(t.plain, 2*n)
}

// MarkSeen remembers messageID as accepted at received.
func (t *Txn) MarkSeen(ws uint32, messageID string, received time.Time) error {
	if t.seen == nil {
		t.seen = map[seenRef]bool{}
	}
	t.seen[seenRef{ws, messageID}] = true
	t.s.filter.add(ws, messageID, received) // before the commit that makes the key visible
	k := appendDedupeKey(t.room(dedupeKeyLen(messageID)), ws, messageID)
	t.plain = append(t.plain, plainWrite{k, appendTime(t.room(8), received)})
	return nil
}

// ---- records ----

// Record returns a record or ErrNotFound.
func (t *Txn) Record(ws uint32, typ, id string) (*Record, error) {
	v, err := t.get(recordKey(ws, typ, id))
	if err != nil {
		return nil, err
	}
	r := new(Record)
	return r, json.Unmarshal(v, r)
}

// PutRecord upserts r (moving its profile link if the profile changed) and returns the record
// it replaced, nil when there was none.
func (t *Txn) PutRecord(ws uint32, r *Record) (old *Record, err error) {
	old, err = t.Record(ws, r.Type, r.ID)
	if err != nil && !errors.Is(err, ErrNotFound) {
		return nil, err
	}
	if old != nil && old.Profile != r.Profile {
		if err := t.b.Delete(profileRecordKey(ws, old.Profile, r.Type, r.ID), nil); err != nil {
			return nil, err
		}
	}
	v, err := json.Marshal(r)
	if err != nil {
		return nil, err
	}
	if err := t.b.Set(recordKey(ws, r.Type, r.ID), v, nil); err != nil {
		return nil, err
	}
	return old, t.b.Set(profileRecordKey(ws, r.Profile, r.Type, r.ID), nil, nil)
}

// DeleteRecord removes a record; it returns the deleted record, or ErrNotFound.
func (t *Txn) DeleteRecord(ws uint32, typ, id string) (*Record, error) {
	r, err := t.Record(ws, typ, id)
	if err != nil {
		return nil, err
	}
	if err := t.b.Delete(recordKey(ws, typ, id), nil); err != nil {
		return nil, err
	}
	return r, t.b.Delete(profileRecordKey(ws, r.Profile, typ, id), nil)
}

// ProfileRecords lists the (type, id) of the profile's records.
func (t *Txn) ProfileRecords(ws, pid uint32) ([][2]string, error) {
	return profileRecords(t.b, ws, pid)
}

func profileRecords(r pebble.Reader, ws, pid uint32) ([][2]string, error) {
	prefix := profileRecordPrefix(ws, pid)
	var out [][2]string
	err := scan(r, prefix, func(k, _ []byte) error {
		rest := k[len(prefix):]
		for i, c := range rest {
			if c == 0 {
				out = append(out, [2]string{string(rest[:i]), string(rest[i+1:])})
				break
			}
		}
		return nil
	})
	return out, err
}

// ---- merges and suppression ----

// AppendMerge assigns m a sequence number and stores it.
func (t *Txn) AppendMerge(ws uint32, m *Merge) error {
	seq, err := t.Next(ws, "merge")
	if err != nil {
		return err
	}
	m.Seq = seq
	v, err := json.Marshal(m)
	if err != nil {
		return err
	}
	return t.b.Set(mergeKey(ws, seq), v, nil)
}

// Suppressed reports whether the identifier is on the workspace's block-list.
// The block-list is small (erasures are rare) and kept in memory, so this costs no read.
func (t *Txn) Suppressed(ws uint32, typ, value string) (bool, error) {
	if len(t.suppressed) == 0 && !t.s.anySuppressed.Load() {
		return false, nil // no block-list anywhere yet
	}
	var h [32]byte
	copy(h[:], HashIdentifier(typ, value))
	if t.suppressed[suppressRef{ws, h}] {
		return true, nil
	}
	return t.s.isSuppressed(ws, h), nil
}

// Suppress adds the identifier's hash to the block-list.
func (t *Txn) Suppress(ws uint32, typ, value string) error {
	var h [32]byte
	copy(h[:], HashIdentifier(typ, value))
	if t.suppressed == nil {
		t.suppressed = map[suppressRef]bool{}
	}
	t.suppressed[suppressRef{ws, h}] = true
	return t.b.Set(append(wsKey(prefixSuppress, ws, 32), h[:]...), nil, nil)
}

// DeleteProfile removes the profile record itself.
func (t *Txn) DeleteProfile(ws, pid uint32) error {
	ref := profileRef{ws, pid}
	delete(t.profiles, ref)
	delete(t.dirty, ref)
	t.s.cache.dropProfile(ref)
	return t.b.Delete(profileKey(ws, pid), nil)
}

// PutDoc stores a JSON document of a kind owned by another package (segments, destinations).
func (t *Txn) PutDoc(ws uint32, kind, id string, v []byte) error {
	return t.b.Set(docKey(ws, kind, id), v, nil)
}

// markFailed records a storage failure (see faults.go) and returns the error writes get.
func (s *Store) markFailed(cause error) error {
	err := fmt.Errorf("%w: %v; writes are refused until segd is restarted (free disk space or fix the device first)",
		ErrStorageFailed, cause)
	v, _ := failures.LoadOrStore(s, err)
	return v.(error)
}
