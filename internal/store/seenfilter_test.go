package store

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2/vfs"
)

// waitFilter waits until st's dedupe and identifier filters have loaded the stored keys.
func waitFilter(t *testing.T, st *Store) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !st.filter.ready.Load() || !st.ids.ready.Load() {
		if time.Now().After(deadline) {
			t.Fatal("the filters did not load within 10 s")
		}
		time.Sleep(time.Millisecond)
	}
}

// reopen closes st and opens the store in /d of fs again.
func reopen(t *testing.T, st *Store, fs vfs.FS) *Store {
	t.Helper()
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	st, err := Open(Options{Dir: "/d", FS: fs})
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// A generation never forgets a key it took and, filled to capacity, admits few others.
func TestBloomGenFalsePositives(t *testing.T) {
	f := newSeenFilter()
	g := newBloomGen(minGenKeys)
	for i := range minGenKeys {
		g.add(f.hash(fmt.Sprint("in-", i)))
	}
	for i := range minGenKeys {
		if !g.has(f.hash(fmt.Sprint("in-", i))) {
			t.Fatalf("key %d added but not found", i)
		}
	}
	fp := 0
	const probes = 200_000
	for i := range probes {
		if g.has(f.hash(fmt.Sprint("out-", i))) {
			fp++
		}
	}
	if rate := float64(fp) / probes; rate > 0.03 {
		t.Fatalf("false positive rate %.2f%% at capacity, want under 3%%", 100*rate)
	}
}

// The filter holds the keys stored before Open (loaded in the background) and those marked
// since; the checks it answers "absent" are of messageIds the store does not hold.
func TestFilterAnswersForStoredAndNewKeys(t *testing.T) {
	fs := vfs.NewMem()
	st, err := Open(Options{Dir: "/d", FS: fs})
	if err != nil {
		t.Fatal(err)
	}
	base := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	mark := func(st *Store, ws uint32, prefix string, n int) {
		tx := st.Begin()
		for i := range n {
			if err := tx.MarkSeen(ws, fmt.Sprint(prefix, i), base); err != nil {
				t.Fatal(err)
			}
		}
		if err := tx.Commit(); err != nil {
			t.Fatal(err)
		}
	}
	mark(st, 1, "old-", 3000)
	mark(st, 2, "other-", 10)
	st = reopen(t, st, fs)
	defer st.Close()
	waitFilter(t, st)
	mark(st, 1, "new-", 500)
	ids := func(prefix string, n int) []string {
		out := make([]string, n)
		for i := range out {
			out[i] = fmt.Sprint(prefix, i)
		}
		return out
	}
	for _, c := range []struct {
		ws     uint32
		prefix string
		n      int
		seen   bool
	}{{1, "old-", 3000, true}, {1, "new-", 500, true}, {2, "other-", 10, true}, {1, "absent-", 3000, false}, {2, "old-", 3000, false}, {3, "old-", 100, false}} {
		skipped := st.filter.skipped.Load()
		got, err := st.SeenBefore(c.ws, ids(c.prefix, c.n))
		if err != nil {
			t.Fatal(err)
		}
		for i, s := range got.Seen {
			if s != c.seen {
				t.Fatalf("workspace %d, %s%d: seen %v, want %v", c.ws, c.prefix, i, s, c.seen)
			}
		}
		saved := st.filter.skipped.Load() - skipped
		if c.seen && saved != 0 {
			t.Fatalf("workspace %d, %s: the filter answered %d stored keys as absent", c.ws, c.prefix, saved)
		}
		if !c.seen && saved < int64(c.n)*9/10 {
			t.Fatalf("workspace %d, %s: the filter answered %d of %d absent keys, want at least 90%%", c.ws, c.prefix, saved, c.n)
		}
	}
	// the writer's own check and HasMessage use it too
	tx := st.Begin()
	if seen, err := tx.Seen(1, "old-7"); err != nil || !seen {
		t.Fatalf("Txn.Seen(old-7) = %v, %v", seen, err)
	}
	tx.Discard()
	if has, err := st.HasMessage(1, "absent-1"); err != nil || has {
		t.Fatalf("HasMessage(absent-1) = %v, %v", has, err)
	}
}

// Expiry drops a generation only once it is full and every key in it was received before the
// cutoff (and deleted): the keys of later generations are still found.
func TestFilterExpiryKeepsGenerationsWithLiveKeys(t *testing.T) {
	st, err := Open(Options{Dir: "/d", FS: vfs.NewMem()})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	waitFilter(t, st)
	base := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	const n = minGenKeys + 5000 // two generations
	tx := st.Begin()
	for i := range n {
		if err := tx.MarkSeen(1, fmt.Sprint("m-", i), base.Add(time.Duration(i)*time.Second)); err != nil {
			t.Fatal(err)
		}
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	gens := func() int { return len(*(*st.filter.fil.Load())[1].gens.Load()) }
	if gens() != 2 {
		t.Fatalf("%d generations after %d keys, want 2", gens(), n)
	}
	// a cutoff inside the first generation's receipt times leaves it
	if _, err := st.ExpireDedupe(context.Background(), 1, base.Add(1000*time.Second)); err != nil {
		t.Fatal(err)
	}
	if gens() != 2 {
		t.Fatalf("%d generations after expiring part of the first, want 2", gens())
	}
	// past all of the first: dropped; the second (still taking keys) stays whatever its times
	if _, err := st.ExpireDedupe(context.Background(), 1, base.Add(time.Duration(n)*time.Second)); err != nil {
		t.Fatal(err)
	}
	if gens() != 1 {
		t.Fatalf("%d generations after expiring everything, want 1", gens())
	}
	for _, i := range []int{0, minGenKeys - 1, minGenKeys, n - 1} {
		if has, err := st.HasMessage(1, fmt.Sprint("m-", i)); err != nil || has {
			t.Fatalf("m-%d after expiry: %v, %v", i, has, err)
		}
	}
	tx = st.Begin()
	if err := tx.MarkSeen(1, "later", base.Add(time.Duration(n)*time.Second)); err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	if has, err := st.HasMessage(1, "later"); err != nil || !has {
		t.Fatalf("a key marked after expiry: %v, %v", has, err)
	}
}

// The identifier filter holds the identifiers stored before Open and those set since: a lookup
// it answers "absent" is of an identifier no profile has, and every stored one is still found.
func TestIdentifierFilterNeverHidesAnIdentifier(t *testing.T) {
	fs := vfs.NewMem()
	st, err := Open(Options{Dir: "/d", FS: fs})
	if err != nil {
		t.Fatal(err)
	}
	set := func(st *Store, ws uint32, prefix string, n int) {
		tx := st.Begin()
		for i := range n {
			if err := tx.SetIdentifier(ws, "anonymousId", fmt.Sprint(prefix, i), uint32(i+1)); err != nil {
				t.Fatal(err)
			}
		}
		if err := tx.Commit(); err != nil {
			t.Fatal(err)
		}
	}
	set(st, 1, "before-", 3000)
	st = reopen(t, st, fs)
	defer st.Close()
	waitFilter(t, st)
	set(st, 1, "after-", 3000)
	set(st, 2, "other-", 10)
	tx := st.Begin()
	defer tx.Discard()
	for _, prefix := range []string{"before-", "after-"} {
		for i := range 3000 {
			v := fmt.Sprint(prefix, i)
			if st.ids.absentKey(1, identifierKey(1, "anonymousId", v)) {
				t.Fatalf("%s is stored but the filter says absent", v)
			}
			if pid, err := st.Lookup(1, "anonymousId", v); err != nil || pid != uint32(i+1) {
				t.Fatalf("Lookup %s = %d, %v", v, pid, err)
			}
		}
	}
	absent := 0
	for i := range 3000 {
		v := fmt.Sprint("never-", i)
		if st.ids.absentKey(1, identifierKey(1, "anonymousId", v)) {
			absent++
		}
		if _, err := tx.LookupIdentifier(1, "anonymousId", v); !errors.Is(err, ErrNotFound) {
			t.Fatalf("LookupIdentifier %s: %v, want ErrNotFound", v, err)
		}
	}
	if absent < 2900 {
		t.Errorf("the filter answered %d of 3000 absent identifiers, want nearly all", absent)
	}
	if !st.ids.absentKey(3, identifierKey(3, "anonymousId", "before-1")) || st.ids.absentKey(2, identifierKey(2, "anonymousId", "other-1")) {
		t.Error("identifiers are per workspace")
	}
}
