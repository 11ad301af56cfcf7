package store

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/segd/segd/internal/message"
)

// TestCommitSortsWithoutChangingMeaning: a Txn's writes reach the memtable in key order
// (sortedBatch), and its events and dedupe entries wait outside the batch (plain writes), which
// must not change what the Txn means: a key written twice keeps its last value, a deletion
// after a write wins, a write after one deletes it, a range deletion removes exactly the writes
// made before it, and a merge moves stored events and the Txn's own.
func TestCommitSortsWithoutChangingMeaning(t *testing.T) {
	st := openMem(t)
	const ws = 1
	r := rand.New(rand.NewPCG(1, 2))
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	want := map[uint32]int{} // events per profile after the Txn
	owner := map[string]uint32{}
	var tx *Txn
	event := func(pid uint32, i int) {
		m := &message.Message{Type: message.Track, MessageID: fmt.Sprintf("m-%d-%d", pid, i), UserID: fmt.Sprint(pid), Event: "E",
			Timestamp: base.Add(time.Duration(r.IntN(1000)) * time.Second), ReceivedAt: base}
		if _, err := tx.AppendEvent(ws, pid, m); err != nil {
			t.Fatal(err)
		}
		want[pid]++
	}
	// events already stored, which the Txn below erases or moves along with its own
	tx = st.Begin()
	for i := 0; i < 300; i++ {
		event(uint32(r.IntN(50)+1), -i)
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	tx = st.Begin()
	for i := 0; i < 2000; i++ {
		event(uint32(r.IntN(50)+1), i)
		id := fmt.Sprintf("u%d", r.IntN(300))
		pid := uint32(r.IntN(50) + 1)
		if err := tx.SetIdentifier(ws, "userId", id, pid); err != nil { // later writes overwrite earlier ones
			t.Fatal(err)
		}
		owner[id] = pid
		if i%7 == 0 {
			if err := tx.DeleteIdentifier(ws, "userId", id); err != nil {
				t.Fatal(err)
			}
			delete(owner, id)
		}
		if i == 1000 {
			// erase profile 7's events so far; the ones after still count
			if err := tx.DeleteEvents(ws, 7); err != nil {
				t.Fatal(err)
			}
			want[7] = 0
		}
		if i == 1500 {
			// merge profile 9 into 10: stored events and this Txn's own move
			n, err := tx.MoveEvents(ws, 9, 10)
			if err != nil {
				t.Fatal(err)
			}
			if n != int64(want[9]) {
				t.Fatalf("MoveEvents moved %d events, want %d", n, want[9])
			}
			want[10] += want[9]
			want[9] = 0
		}
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	for pid := uint32(1); pid <= 50; pid++ {
		n := 0
		if err := st.ProfileEventsRaw(ws, pid, func(uint64, time.Time, []byte) error { n++; return nil }); err != nil {
			t.Fatal(err)
		}
		if n != want[pid] {
			t.Errorf("profile %d: %d events stored, want %d", pid, n, want[pid])
		}
	}
	for i := 0; i < 300; i++ {
		id := fmt.Sprintf("u%d", i)
		got, err := st.Lookup(ws, "userId", id)
		if w, ok := owner[id]; ok != (err == nil) || got != w {
			t.Errorf("identifier %s: owner %d (%v), want %d (present %v)", id, got, err, w, ok)
		}
	}
}

// TestSeenSince: an answer of SeenBefore, completed by SeenSince with the commits made after
// it, equals reading the database at apply time — through the remembered commits and through
// the fallback when more were made than are remembered.
func TestSeenSince(t *testing.T) {
	st := openMem(t)
	const ws = 1
	mark := func(ids ...string) {
		tx := st.Begin()
		for _, id := range ids {
			if err := tx.MarkSeen(ws, id, time.Now()); err != nil {
				t.Fatal(err)
			}
		}
		if err := tx.Commit(); err != nil {
			t.Fatal(err)
		}
	}
	mark("old")
	for _, later := range []int{0, 1, 3, recentTxns - 1, recentTxns, recentTxns + 1, 3 * recentTxns} {
		c, err := st.SeenBefore(ws, []string{"old", "new", ""})
		if err != nil {
			t.Fatal(err)
		}
		if !c.Seen[0] || c.Seen[1] || c.Seen[2] {
			t.Fatalf("SeenBefore = %v, want [true false false]", c.Seen)
		}
		// `later` commits after the check; the first of them marks "new"
		for i := 0; i < later; i++ {
			if i == 0 {
				mark("new")
			} else {
				mark(fmt.Sprintf("other-%d-%d", later, i))
			}
		}
		tx := st.Begin()
		got, err := tx.SeenSince(ws, "new", c.Gen)
		tx.Discard()
		if err != nil {
			t.Fatal(err)
		}
		if got != (later > 0) {
			t.Errorf("%d commits after the check: SeenSince(new) = %v, want %v", later, got, later > 0)
		}
		// the Txn's own writes count too
		tx = st.Begin()
		if err := tx.MarkSeen(ws, "mine", time.Now()); err != nil {
			t.Fatal(err)
		}
		if mine, _ := tx.SeenSince(ws, "mine", c.Gen); !mine {
			t.Error("SeenSince misses the Txn's own messageId")
		}
		tx.Discard()
		// forget "new" for the next round
		dtx := st.Begin()
		if err := dtx.b.Delete(dedupeKey(ws, "new"), nil); err != nil {
			t.Fatal(err)
		}
		if err := dtx.Commit(); err != nil {
			t.Fatal(err)
		}
	}
}

// openMem opens a store on an in-memory file system, closed when the test ends.
func openMem(t testing.TB) *Store {
	t.Helper()
	st, err := Open(Options{Dir: "/d", FS: vfs.NewMem()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// The write cache keys identifiers by hash: equal identifiers share one, and identifiers that
// differ in workspace, type or value (also with type and value swapped) do not.
func TestIdentifierHash(t *testing.T) {
	refs := []idRef{{1, "userId", "u1"}, {2, "userId", "u1"}, {1, "email", "u1"}, {1, "userId", "u2"},
		{1, "u1", "userId"}, {1, "userId", ""}, {1, "", "userId"}, {0, "userId", "u1"}, {1, "userIdu", "1"}}
	seen := map[idHash]idRef{}
	for _, r := range refs {
		h := r.hash()
		if o, ok := seen[h]; ok {
			t.Errorf("%v and %v share a hash", r, o)
		}
		seen[h] = r
		if again := (idRef{r.ws, string([]byte(r.typ)), string([]byte(r.value))}).hash(); again != h {
			t.Errorf("%v: hash differs for an equal identifier", r)
		}
	}
	var c writeCache
	c.noteIdentifier(refs[0], 7)
	if pid, ok := c.identifier(idRef{1, "userId", "u1"}); !ok || pid != 7 {
		t.Errorf("cached identifier: %d %v", pid, ok)
	}
	if _, ok := c.identifier(refs[1]); ok {
		t.Error("another workspace's identifier found")
	}
}

// TestProfileIdentityMatchesTheRecord: ProfileIdentity, which decodes only identifiers and the
// chosen traits, answers what ProfileRecord's full decoding does, through a merge tombstone.
func TestProfileIdentityMatchesTheRecord(t *testing.T) {
	st := openMem(t)
	const ws = 1
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	tx := st.Begin()
	p, err := tx.NewProfile(ws, now)
	if err != nil {
		t.Fatal(err)
	}
	p.Identifiers = []Identifier{{Type: "userId", Value: "u1", Added: now}, {Type: "email", Value: "a@b.c", Added: now}, {Type: "email", Value: "d@e.f", Added: now}}
	p.Traits = map[string]TraitValue{"plan": {V: "pro", T: now}, "age": {V: 41.0, T: now}, "tags": {V: []any{"x", 1.0}, T: now}, "gone": {V: nil, T: now}}
	tx.MarkDirty(ws, p)
	old, err := tx.NewProfile(ws, now)
	if err != nil {
		t.Fatal(err)
	}
	old.MergedInto = p.ID
	tx.MarkDirty(ws, old)
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	keep := []string{"plan", "tags", "gone", "absent"}
	for _, asked := range []uint32{p.ID, old.ID} {
		pid, ids, traits, err := st.ProfileIdentity(ws, asked, func(n string) bool { return slices.Contains(keep, n) })
		if err != nil {
			t.Fatal(err)
		}
		rec, err := st.ProfileRecord(ws, asked)
		if err != nil {
			t.Fatal(err)
		}
		want := map[string]any{}
		for _, n := range keep {
			if v, ok := rec.Traits[n]; ok {
				want[n] = v.V
			}
		}
		if pid != rec.ID || !reflect.DeepEqual(ids, rec.Identifiers) || !reflect.DeepEqual(traits, want) {
			t.Errorf("profile %d: ProfileIdentity = %d %v %v, the record says %d %v %v", asked, pid, ids, traits, rec.ID, rec.Identifiers, want)
		}
	}
	if _, _, _, err := st.ProfileIdentity(ws, 999, nil); !errors.Is(err, ErrNotFound) {
		t.Errorf("absent profile: %v, want ErrNotFound", err)
	}
}
