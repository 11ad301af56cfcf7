package store

import (
	"errors"
	"fmt"
	"strings"
	"sync"
)

// Storage faults. Pebble cannot survive a failed WAL write or sync in-process: DB.Apply calls
// Logger.Fatalf("pebble: fatal commit error") because its commit pipeline is left in an
// unknown state, and every later commit fails the same way. The store's logger turns Fatalf
// into a panic with the prefix "pebble fatal: "; RecoverFatal turns that panic back into
// ErrStorageFailed and remembers it, so that requests are answered 503 and health checks
// fail until an operator fixes the disk and restarts segd. Reads keep working meanwhile.
// After the restart Pebble replays its WAL: every acknowledged write is there, and a write
// that failed is either wholly present or wholly absent (WAL records are checksummed
// batches), exactly as after a crash.

// ErrStorageFailed is returned by writes after the disk failed (full, read-only, I/O error).
var ErrStorageFailed = errors.New("storage failed")

// fatalPanicPrefix is what quietLogger.Fatalf panics with.
const fatalPanicPrefix = "pebble fatal: "

// failures records the first fatal error of each store. It lives outside Store so that this
// file can be added without touching Store's definition; the entry is removed by Forget.
var failures sync.Map // *Store → error

// RecoverFatal is deferred by write paths: it recovers a Pebble fatal-error panic, records the
// store as failed and sets *errp to an ErrStorageFailed error that says what to do. Any other
// panic is re-raised.
func (s *Store) RecoverFatal(errp *error) {
	r := recover()
	if r == nil {
		return
	}
	msg, ok := r.(string)
	if !ok || !strings.HasPrefix(msg, fatalPanicPrefix) {
		panic(r)
	}
	err := fmt.Errorf("%w: %s; writes are refused until segd is restarted (free disk space or fix the device first)",
		ErrStorageFailed, strings.TrimPrefix(msg, fatalPanicPrefix))
	v, _ := failures.LoadOrStore(s, err)
	*errp = v.(error)
}

// Guard runs a write with RecoverFatal, and refuses it at once when the store already failed.
func (s *Store) Guard(write func() error) (err error) {
	if err := s.Failed(); err != nil {
		return err
	}
	defer s.RecoverFatal(&err)
	return write()
}

// Failed returns the storage failure that stopped writes, or nil.
func (s *Store) Failed() error {
	if v, ok := failures.Load(s); ok {
		return v.(error)
	}
	return nil
}

// Forget drops the failure record of a closed store.
func (s *Store) Forget() { failures.Delete(s) }
