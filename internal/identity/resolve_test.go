package identity

import (
	"errors"
	"testing"
	"time"

	"github.com/segd/segd/internal/message"
	"github.com/segd/segd/internal/store"
)

// memTxn is an in-memory Txn that counts profile reads.
type memTxn struct {
	owners   map[[2]string]uint32
	profiles map[uint32]*store.Profile
	reads    int
	next     uint32
}

func newMemTxn() *memTxn {
	return &memTxn{owners: map[[2]string]uint32{}, profiles: map[uint32]*store.Profile{}}
}

func (t *memTxn) Profile(_ uint32, pid uint32) (*store.Profile, error) {
	t.reads++
	if p := t.profiles[pid]; p != nil {
		return p, nil
	}
	return nil, store.ErrNotFound
}
func (t *memTxn) MarkDirty(uint32, *store.Profile) {}
func (t *memTxn) NewProfile(uint32, time.Time) (*store.Profile, error) {
	t.next++
	p := &store.Profile{ID: t.next}
	t.profiles[p.ID] = p
	return p, nil
}
func (t *memTxn) LookupIdentifier(_ uint32, typ, value string) (uint32, error) {
	if pid, ok := t.owners[[2]string{typ, value}]; ok {
		return pid, nil
	}
	return 0, store.ErrNotFound
}
func (t *memTxn) SetIdentifier(_ uint32, typ, value string, pid uint32) error {
	t.owners[[2]string{typ, value}] = pid
	return nil
}
func (t *memTxn) MoveEvents(uint32, uint32, uint32) (int64, error)     { return 0, nil }
func (t *memTxn) ProfileRecords(uint32, uint32) ([][2]string, error)   { return nil, nil }
func (t *memTxn) Record(uint32, string, string) (*store.Record, error) { return nil, store.ErrNotFound }
func (t *memTxn) PutRecord(uint32, *store.Record) (*store.Record, error) {
	return nil, errors.New("unused")
}
func (t *memTxn) AppendMerge(uint32, *store.Merge) error          { return nil }
func (t *memTxn) Suppressed(uint32, string, string) (bool, error) { return false, nil }

// TestKnownIdentifiersReadNoProfile: a message whose identifiers all belong to one profile
// resolves to it without reading the profile (the write path's common case); a message that
// brings a new identifier reads it, attaches the identifier, and the next message with both is
// again resolved without a read.
func TestKnownIdentifiersReadNoProfile(t *testing.T) {
	tx := newMemTxn()
	r := &Resolver{Rules: DefaultRules()}
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	first, err := r.Resolve(tx, 1, &message.Message{Type: message.Track, UserID: "u1"}, now)
	if err != nil || !first.Created {
		t.Fatalf("first message: %+v, %v", first, err)
	}
	reads := tx.reads
	again, err := r.Resolve(tx, 1, &message.Message{Type: message.Track, UserID: "u1"}, now)
	if err != nil || again.Profile != first.Profile || again.Created {
		t.Fatalf("known user: %+v, %v", again, err)
	}
	if tx.reads != reads {
		t.Fatalf("a message of a known user read the profile %d times", tx.reads-reads)
	}
	withAnon, err := r.Resolve(tx, 1, &message.Message{Type: message.Track, UserID: "u1", AnonymousID: "a1"}, now)
	if err != nil || withAnon.Profile != first.Profile {
		t.Fatalf("new anonymousId: %+v, %v", withAnon, err)
	}
	if tx.reads == reads {
		t.Fatal("a new identifier was attached without reading the profile")
	}
	if tx.owners[[2]string{AnonymousID, "a1"}] != first.Profile {
		t.Fatal("the anonymousId was not attached")
	}
	reads = tx.reads
	if both, err := r.Resolve(tx, 1, &message.Message{Type: message.Track, UserID: "u1", AnonymousID: "a1"}, now); err != nil || both.Profile != first.Profile {
		t.Fatalf("both known: %+v, %v", both, err)
	}
	if tx.reads != reads {
		t.Fatal("a message whose identifiers are all known read the profile")
	}
}
