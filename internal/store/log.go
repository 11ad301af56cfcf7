package store

import (
	"fmt"

	"github.com/cockroachdb/pebble/v2"
)

// DocBatch groups document writes (of any kinds and workspaces) into one atomic commit, so a
// caller that writes many documents per step (the membership log, the timer queue) pays one
// fsync for all of them. A DocBatch is used by one goroutine.
type DocBatch struct {
	s *Store
	b *pebble.Batch
	n int
}

// NewDocBatch starts an empty batch; Commit or Close releases it.
func (s *Store) NewDocBatch() *DocBatch { return &DocBatch{s: s, b: s.db.NewBatch()} }

// Put adds a document write.
func (d *DocBatch) Put(ws uint32, kind, id string, v []byte) {
	if err := d.b.Set(docKey(ws, kind, id), v, nil); err != nil {
		panic("store: batch set failed on an open batch: " + err.Error())
	}
	d.n++
}

// Delete adds a document removal.
func (d *DocBatch) Delete(ws uint32, kind, id string) {
	if err := d.b.Delete(docKey(ws, kind, id), nil); err != nil {
		panic("store: batch delete failed on an open batch: " + err.Error())
	}
	d.n++
}

// Len is the number of writes added.
func (d *DocBatch) Len() int { return d.n }

// Commit writes the batch atomically and releases it. With sync the commit is durable
// (fsync) when Commit returns; without, it is durable at the next synced write or at Close.
func (d *DocBatch) Commit(sync bool) error {
	if sync {
		wait, err := d.CommitNoWait()
		if err != nil {
			return err
		}
		return wait()
	}
	defer d.b.Close()
	if d.n == 0 {
		return nil
	}
	if err := d.b.Commit(pebble.NoSync); err != nil {
		return fmt.Errorf("store: commit documents: %w", err)
	}
	return nil
}

// CommitNoWait writes the batch atomically, synced, and returns before the fsync: the writes
// are visible to reads at once, and wait blocks until they are durable (it must be called
// exactly once). Since the WAL is synced in order, a later write is durable only if this one is.
// A failed fsync marks the store failed (ErrStorageFailed) until restart.
func (d *DocBatch) CommitNoWait() (wait func() error, err error) {
	if d.n == 0 {
		d.b.Close()
		return func() error { return nil }, nil
	}
	defer d.s.RecoverFatal(&err)
	if err := d.s.applyNoSyncWait(d.b); err != nil {
		d.b.Close()
		return nil, fmt.Errorf("store: commit documents: %w", err)
	}
	return func() error {
		err := d.b.SyncWait()
		d.b.Close()
		if err != nil {
			// as for a Txn: the WAL is in an unknown state, every later write is refused
			return d.s.markFailed(fmt.Errorf("store: commit documents (fsync): %w", err))
		}
		return nil
	}, nil
}

// Close drops an uncommitted batch.
func (d *DocBatch) Close() { d.b.Close() }

// DocsRange calls fn for the documents of kind with from <= id < to, in id (byte) order; an
// empty to means no upper bound. Ids may be binary (big-endian sequence numbers make a kind
// an ordered log). fn's value is only valid during the call; an error from fn stops the scan
// and is returned as is.
func (s *Store) DocsRange(ws uint32, kind, from, to string, fn func(id string, v []byte) error) error {
	prefix := docKey(ws, kind, "")
	upper := prefixEnd(prefix)
	if to != "" {
		upper = docKey(ws, kind, to)
	}
	it, err := s.db.NewIter(&pebble.IterOptions{LowerBound: docKey(ws, kind, from), UpperBound: upper})
	if err != nil {
		return err
	}
	for it.First(); it.Valid(); it.Next() {
		v, err := it.ValueAndErr()
		if err != nil {
			it.Close()
			return err
		}
		if err := fn(string(it.Key()[len(prefix):]), v); err != nil {
			it.Close()
			return err
		}
	}
	if err := it.Error(); err != nil {
		it.Close()
		return err
	}
	return it.Close()
}

// LastDoc returns the document of kind with the greatest id starting with idPrefix, or
// ErrNotFound.
func (s *Store) LastDoc(ws uint32, kind, idPrefix string) (string, []byte, error) {
	base := docKey(ws, kind, "")
	prefix := docKey(ws, kind, idPrefix)
	it, err := s.db.NewIter(&pebble.IterOptions{LowerBound: prefix, UpperBound: prefixEnd(prefix)})
	if err != nil {
		return "", nil, err
	}
	defer it.Close()
	if !it.Last() {
		if err := it.Error(); err != nil {
			return "", nil, err
		}
		return "", nil, ErrNotFound
	}
	v, err := it.ValueAndErr()
	if err != nil {
		return "", nil, err
	}
	return string(it.Key()[len(base):]), append([]byte(nil), v...), nil
}
