package store

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/cockroachdb/pebble/v2"
	"github.com/segd/segd/internal/message"
)

// Profile returns the live profile with the id, following merge tombstones, or ErrNotFound,
// with its event count and first/last seen (a scan of its event keys).
func (s *Store) Profile(ws, pid uint32) (*Profile, error) {
	p, err := s.ProfileRecord(ws, pid)
	if err != nil {
		return nil, err
	}
	return p, s.fillStats(ws, p)
}

// ProfileRecord is Profile without the event statistics (Events, FirstSeen and LastSeen are
// not set): identifiers and traits only, one point read. Hot paths use it.
func (s *Store) ProfileRecord(ws, pid uint32) (*Profile, error) {
	for hops := 0; hops < 64; hops++ {
		p := new(Profile)
		if err := s.getJSON(profileKey(ws, pid), p); err != nil {
			return nil, err
		}
		if p.MergedInto == 0 {
			p.Events, p.FirstSeen, p.LastSeen = 0, time.Time{}, time.Time{}
			return p, nil
		}
		pid = p.MergedInto
	}
	return nil, fmt.Errorf("store: merge chain from profile %d too long: invariant broken", pid)
}

// ProfileTraits returns the id of the live profile pid resolves to (following merge
// tombstones) and the values of its traits that keep selects (all when keep is nil), decoding
// nothing else of the record. It is ProfileRecord for readers that need only traits.
func (s *Store) ProfileTraits(ws, pid uint32, keep func(name string) bool) (uint32, map[string]any, error) {
	pid, _, traits, err := s.profileParts(ws, pid, keep, false)
	return pid, traits, err
}

// ProfileIdentity is ProfileTraits with the profile's identifiers too: what a destination
// sends about a profile, without decoding the rest of its record.
func (s *Store) ProfileIdentity(ws, pid uint32, keep func(name string) bool) (uint32, []Identifier, map[string]any, error) {
	return s.profileParts(ws, pid, keep, true)
}

func (s *Store) profileParts(ws, pid uint32, keep func(name string) bool, withIDs bool) (uint32, []Identifier, map[string]any, error) {
	for hops := 0; hops < 64; hops++ {
		v, closer, err := s.db.Get(profileKey(ws, pid))
		if errors.Is(err, pebble.ErrNotFound) {
			return 0, nil, nil, ErrNotFound
		}
		if err != nil {
			return 0, nil, nil, err
		}
		var merged uint32
		var traits, ids []byte
		err = message.EachTrustedMember(v, func(key string, raw []byte) error {
			switch key {
			case "mergedInto":
				n, err := strconv.ParseUint(string(raw), 10, 32)
				merged = uint32(n)
				return err
			case "traits":
				traits = raw
			case "identifiers":
				ids = raw
			}
			return nil
		})
		if err != nil || merged != 0 {
			closer.Close()
			if err != nil {
				return 0, nil, nil, fmt.Errorf("store: profile %d: %w", pid, err)
			}
			pid = merged
			continue
		}
		var idents []Identifier
		if withIDs && ids != nil {
			if err := json.Unmarshal(ids, &idents); err != nil {
				closer.Close()
				return 0, nil, nil, fmt.Errorf("store: profile %d identifiers: %w", pid, err)
			}
		}
		out := map[string]any{}
		if traits != nil {
			err = message.EachTrustedMember(traits, func(name string, tv []byte) error {
				if keep != nil && !keep(name) {
					return nil
				}
				return message.EachTrustedMember(tv, func(key string, raw []byte) error {
					if key != "v" {
						return nil
					}
					x, err := message.ParseTrustedJSON(raw)
					out[name] = x
					return err
				})
			})
		}
		closer.Close()
		if err != nil {
			return 0, nil, nil, fmt.Errorf("store: profile %d traits: %w", pid, err)
		}
		return pid, idents, out, nil
	}
	return 0, nil, nil, fmt.Errorf("store: merge chain from profile %d too long: invariant broken", pid)
}

// Lookup returns the profile id owning an identifier.
func (s *Store) Lookup(ws uint32, typ, value string) (uint32, error) {
	return s.readIdentifier(ws, typ, value)
}

// readIdentifier reads the owner of an identifier from the database (the identifier filter
// answers most absent ones from memory).
func (s *Store) readIdentifier(ws uint32, typ, value string) (uint32, error) {
	key := identifierKey(ws, typ, value)
	if s.ids.absentKey(ws, key) {
		return 0, ErrNotFound
	}
	v, closer, err := s.db.Get(key)
	if errors.Is(err, pebble.ErrNotFound) {
		return 0, ErrNotFound
	}
	if err != nil {
		return 0, err
	}
	defer closer.Close()
	if len(v) != 4 {
		return 0, fmt.Errorf("store: corrupt identifier value (%d bytes) for %s:%s", len(v), typ, value)
	}
	return binary.BigEndian.Uint32(v), nil
}

// StoredEvent is an event as read back, with its sequence number.
type StoredEvent struct {
	Seq uint64 `json:"seq"`
	message.Message
}

// Events returns up to limit events of the profile, newest first, with event time strictly
// before `before` (zero means no bound).
func (s *Store) Events(ws, pid uint32, before time.Time, limit int) ([]StoredEvent, error) {
	prefix := eventPrefix(ws, pid)
	upper := prefixEnd(prefix)
	if !before.IsZero() {
		upper = appendTime(append([]byte(nil), prefix...), before)
	}
	it, err := s.db.NewIter(&pebble.IterOptions{LowerBound: prefix, UpperBound: upper})
	if err != nil {
		return nil, err
	}
	defer it.Close()
	var out []StoredEvent
	for it.Last(); it.Valid() && (limit <= 0 || len(out) < limit); it.Prev() {
		var e StoredEvent
		if err := s.decodeEvent(ws, it.Value(), &e.Message); err != nil {
			return nil, fmt.Errorf("store: decode event: %w", err)
		}
		e.Seq = binary.BigEndian.Uint64(it.Key()[len(prefix)+8:])
		out = append(out, e)
	}
	return out, it.Error()
}

// ProfileEventsRaw calls fn with each stored event of the profile, oldest first: its
// sequence number, event time and stored value (valid only during the call; see
// StoredEventType and DecodeEventFields to read parts of it without a full decode).
func (s *Store) ProfileEventsRaw(ws, pid uint32, fn func(seq uint64, t time.Time, value []byte) error) error {
	prefix := eventPrefix(ws, pid)
	return scan(s.db, prefix, func(k, v []byte) error {
		return fn(binary.BigEndian.Uint64(k[len(prefix)+8:]), decodeTime(k[len(prefix):]), v)
	})
}

// ScanEvents calls fn for every event of the workspace in (profile, event time) order. The
// message passed to fn is freshly decoded and may be retained.
func (s *Store) ScanEvents(ws uint32, fn func(pid uint32, seq uint64, m *message.Message) error) error {
	prefix := wsKey(prefixEvent, ws, 0)
	return scan(s.db, prefix, func(k, v []byte) error {
		m := new(message.Message)
		if err := s.decodeEvent(ws, v, m); err != nil {
			return fmt.Errorf("store: decode event: %w", err)
		}
		pid := binary.BigEndian.Uint32(k[5:9])
		return fn(pid, binary.BigEndian.Uint64(k[17:25]), m)
	})
}

// ScanEventsRaw calls fn with each event's encoded JSON; faster than ScanEvents when the
// caller decodes only what it needs. value is only valid during the call.
func (s *Store) ScanEventsRaw(ws uint32, fn func(pid uint32, seq uint64, t time.Time, value []byte) error) error {
	prefix := wsKey(prefixEvent, ws, 0)
	return scan(s.db, prefix, func(k, v []byte) error {
		return fn(binary.BigEndian.Uint32(k[5:9]), binary.BigEndian.Uint64(k[17:25]), decodeTime(k[9:17]), v)
	})
}

// ScanProfiles calls fn for every live (not merged-away) profile in id order.
func (s *Store) ScanProfiles(ws uint32, fn func(p *Profile) error) error {
	return scan(s.db, wsKey(prefixProfile, ws, 0), func(_, v []byte) error {
		p := new(Profile)
		if err := json.Unmarshal(v, p); err != nil {
			return fmt.Errorf("store: decode profile: %w", err)
		}
		if p.MergedInto != 0 {
			return nil
		}
		return fn(p)
	})
}

// ScanRecords calls fn for every record of the workspace.
func (s *Store) ScanRecords(ws uint32, fn func(r *Record) error) error {
	return scan(s.db, wsKey(prefixRecord, ws, 0), func(_, v []byte) error {
		r := new(Record)
		if err := json.Unmarshal(v, r); err != nil {
			return fmt.Errorf("store: decode record: %w", err)
		}
		return fn(r)
	})
}

// Records returns the profile's records.
func (s *Store) Records(ws, pid uint32) ([]Record, error) {
	refs, err := profileRecords(s.db, ws, pid)
	if err != nil {
		return nil, err
	}
	out := make([]Record, 0, len(refs))
	for _, ref := range refs {
		var r Record
		if err := s.getJSON(recordKey(ws, ref[0], ref[1]), &r); err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, nil
}

// Merges returns the merge-log entries with the given sequence numbers.
func (s *Store) Merges(ws uint32, seqs []uint64) ([]Merge, error) {
	out := make([]Merge, 0, len(seqs))
	for _, seq := range seqs {
		var m Merge
		if err := s.getJSON(mergeKey(ws, seq), &m); err != nil {
			return nil, err
		}
		out = append(out, m)
	}
	return out, nil
}

// AllMerges returns the workspace's merge log in order.
func (s *Store) AllMerges(ws uint32) ([]Merge, error) {
	var out []Merge
	err := scan(s.db, wsKey(prefixMerge, ws, 0), func(_, v []byte) error {
		var m Merge
		if err := json.Unmarshal(v, &m); err != nil {
			return err
		}
		out = append(out, m)
		return nil
	})
	return out, err
}

// CountEvents counts the workspace's stored events (a full key scan).
func (s *Store) CountEvents(ws uint32) (int64, error) {
	var n int64
	err := scan(s.db, wsKey(prefixEvent, ws, 0), func(_, _ []byte) error { n++; return nil })
	return n, err
}

// HasMessage reports whether messageID is in the dedupe window. Every dedupe check of the
// store (SeenBefore, Txn.Seen) comes here: the filter answers most absent ids, the database the
// rest.
func (s *Store) HasMessage(ws uint32, messageID string) (bool, error) {
	if !s.filter.mayContain(ws, messageID) {
		return false, nil
	}
	_, closer, err := s.db.Get(dedupeKey(ws, messageID))
	if errors.Is(err, pebble.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	closer.Close()
	return true, nil
}

// expireChunk is how many messageIds one batch of ExpireDedupe forgets: a year of history
// holds tens of millions, more than one Pebble batch can (4 GB).
const expireChunk = 50_000

// ExpireDedupe forgets messageIds received before cutoff, a batch of expireChunk at a time;
// it returns how many it removed. It stops between batches when ctx is done (shutdown must
// not wait for tens of millions of deletions).
//
// It reads every remembered messageId of the workspace (each `D` key holds its receipt
// time): an index in receipt order (the `A` keys of earlier versions) cost a key more per
// ingested message, written, flushed and compacted, to spare a pass that runs once an hour.
// Any `A` keys left by an earlier version are dropped.
func (s *Store) ExpireDedupe(ctx context.Context, ws uint32, cutoff time.Time) (int, error) {
	// the filter generations this pass empties: chosen before it reads the keys to delete
	gone := s.filter.expirable(ws, cutoff)
	if err := s.dropLegacyDedupeAge(ws); err != nil {
		return 0, err
	}
	prefix := wsKey(prefixDedupe, ws, 0)
	it, err := s.db.NewIter(&pebble.IterOptions{LowerBound: prefix, UpperBound: prefixEnd(prefix)})
	if err != nil {
		return 0, err
	}
	defer it.Close()
	b := s.db.NewBatch()
	defer func() { b.Close() }()
	done, pending := 0, 0
	commit := func() error {
		if pending == 0 {
			return nil
		}
		if err := b.Commit(s.sync); err != nil {
			return err
		}
		done, pending = done+pending, 0
		b.Close()
		b = s.db.NewBatch()
		return nil
	}
	for it.First(); it.Valid(); it.Next() {
		v, err := it.ValueAndErr()
		if err != nil {
			return done, err
		}
		if len(v) < 8 {
			return done, fmt.Errorf("store: corrupt dedupe entry (%d bytes) for %q", len(v), it.Key()[len(prefix):])
		}
		if !decodeTime(v).Before(cutoff) {
			continue
		}
		b.Delete(append([]byte(nil), it.Key()...), nil)
		if pending++; pending == expireChunk {
			if err := commit(); err != nil {
				return done, err
			}
			if err := ctx.Err(); err != nil {
				return done, err
			}
		}
	}
	if err := it.Error(); err != nil {
		return done, err
	}
	if err := commit(); err != nil {
		return done, err
	}
	s.filter.drop(ws, gone)
	return done, nil
}

// dropLegacyDedupeAge deletes the workspace's `A` keys, if any are left.
func (s *Store) dropLegacyDedupeAge(ws uint32) error {
	prefix := wsKey(prefixDedupeAge, ws, 0)
	it, err := s.db.NewIter(&pebble.IterOptions{LowerBound: prefix, UpperBound: prefixEnd(prefix)})
	if err != nil {
		return err
	}
	found := it.First()
	if err := it.Close(); err != nil || !found {
		return err
	}
	return s.db.DeleteRange(prefix, prefixEnd(prefix), s.sync)
}

// ---- documents owned by other packages ----

// Doc reads a document.
func (s *Store) Doc(ws uint32, kind, id string) ([]byte, error) {
	v, closer, err := s.db.Get(docKey(ws, kind, id))
	if errors.Is(err, pebble.ErrNotFound) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, err
	}
	defer closer.Close()
	return append([]byte(nil), v...), nil
}

// Docs lists the documents of a kind in id order.
func (s *Store) Docs(ws uint32, kind string, fn func(id string, v []byte) error) error {
	prefix := docKey(ws, kind, "")
	return scan(s.db, prefix, func(k, v []byte) error { return fn(string(k[len(prefix):]), v) })
}

// PutDoc writes a document durably.
func (s *Store) PutDoc(ws uint32, kind, id string, v []byte) error {
	return s.db.Set(docKey(ws, kind, id), v, s.sync)
}

// PutDocLazy writes a document without waiting for the disk: it becomes durable with the
// next synced write of anyone (the write-ahead log is one sequence) or at Close, and a crash
// before that loses it. For state whose loss only repeats work, such as a delivery cursor.
func (s *Store) PutDocLazy(ws uint32, kind, id string, v []byte) error {
	return s.db.Set(docKey(ws, kind, id), v, pebble.NoSync)
}

// DeleteDoc removes a document durably.
func (s *Store) DeleteDoc(ws uint32, kind, id string) error {
	return s.db.Delete(docKey(ws, kind, id), s.sync)
}

// fillStats sets the profile's event count and first/last seen from its stored events (they
// are not kept in the profile record, so that an event does not rewrite its profile).
func (s *Store) fillStats(ws uint32, p *Profile) error {
	prefix := eventPrefix(ws, p.ID)
	it, err := s.db.NewIter(&pebble.IterOptions{LowerBound: prefix, UpperBound: prefixEnd(prefix)})
	if err != nil {
		return err
	}
	defer it.Close()
	p.Events = 0
	for it.First(); it.Valid(); it.Next() {
		k := it.Key()
		if p.Events == 0 {
			p.FirstSeen = decodeTime(k[len(prefix) : len(prefix)+8])
		}
		p.LastSeen = decodeTime(k[len(prefix) : len(prefix)+8])
		p.Events++
	}
	return it.Error()
}
