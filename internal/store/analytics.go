package store

import (
	"encoding/binary"
	"fmt"

	"github.com/cockroachdb/pebble/v2"
)

// An append-only log per (workspace, name) kept as documents of kind "log:"+name whose ids
// are a big-endian sequence number, so that id order is append order. Analytics records
// lifecycle and funnel stage changes in it; a recompute appends thousands of entries at once,
// so an append is one batch and one fsync.

func logKind(name string) string { return "log:" + name }

func logID(seq uint64) string {
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], seq)
	return string(b[:])
}

// lastLogSeq returns the sequence number of the newest entry of the log, 0 when empty.
func (s *Store) lastLogSeq(ws uint32, name string) (uint64, error) {
	prefix := docKey(ws, logKind(name), "")
	it, err := s.db.NewIter(&pebble.IterOptions{LowerBound: prefix, UpperBound: prefixEnd(prefix)})
	if err != nil {
		return 0, err
	}
	defer it.Close()
	if !it.Last() {
		return 0, it.Error()
	}
	k := it.Key()[len(prefix):]
	if len(k) != 8 {
		return 0, fmt.Errorf("store: log %s: bad key length %d", name, len(k))
	}
	return binary.BigEndian.Uint64(k), nil
}

// AppendLog appends entries to the named log of ws in one durable batch and returns the
// sequence number of the first (sequence numbers start at 1). Concurrent appends to the same
// log must be serialised by the caller.
func (s *Store) AppendLog(ws uint32, name string, entries [][]byte) (uint64, error) {
	if len(entries) == 0 {
		return 0, nil
	}
	last, err := s.lastLogSeq(ws, name)
	if err != nil {
		return 0, fmt.Errorf("store: append log %s: %w", name, err)
	}
	b := s.db.NewBatch()
	defer b.Close()
	kind := logKind(name)
	for i, e := range entries {
		if err := b.Set(docKey(ws, kind, logID(last+1+uint64(i))), e, nil); err != nil {
			return 0, fmt.Errorf("store: append log %s: %w", name, err)
		}
	}
	if err := b.Commit(s.sync); err != nil {
		return 0, fmt.Errorf("store: append log %s: %w", name, err)
	}
	return last + 1, nil
}

// ReadLog calls fn for the entries of the named log with sequence number ≥ from, oldest first,
// until fn returns false or an error. v is valid only during the call.
func (s *Store) ReadLog(ws uint32, name string, from uint64, fn func(seq uint64, v []byte) (bool, error)) error {
	prefix := docKey(ws, logKind(name), "")
	lower := append(append([]byte(nil), prefix...), logID(from)...)
	it, err := s.db.NewIter(&pebble.IterOptions{LowerBound: lower, UpperBound: prefixEnd(prefix)})
	if err != nil {
		return err
	}
	defer it.Close()
	for it.First(); it.Valid(); it.Next() {
		v, err := it.ValueAndErr()
		if err != nil {
			return err
		}
		more, err := fn(binary.BigEndian.Uint64(it.Key()[len(prefix):]), v)
		if err != nil || !more {
			return err
		}
	}
	return it.Error()
}

// RecentLog calls fn for the newest entries of the named log, newest first, at most limit of
// them (all when limit ≤ 0), until fn returns false or an error. v is valid only during the
// call.
func (s *Store) RecentLog(ws uint32, name string, limit int, fn func(seq uint64, v []byte) (bool, error)) error {
	prefix := docKey(ws, logKind(name), "")
	it, err := s.db.NewIter(&pebble.IterOptions{LowerBound: prefix, UpperBound: prefixEnd(prefix)})
	if err != nil {
		return err
	}
	defer it.Close()
	n := 0
	for it.Last(); it.Valid() && (limit <= 0 || n < limit); it.Prev() {
		v, err := it.ValueAndErr()
		if err != nil {
			return err
		}
		n++
		more, err := fn(binary.BigEndian.Uint64(it.Key()[len(prefix):]), v)
		if err != nil || !more {
			return err
		}
	}
	return it.Error()
}
