package store

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2/vfs"
)

// TestExpireDedupeInChunks: expiring more messageIds than one batch holds forgets exactly
// those received before the cutoff (across several batches), keeps the later ones, and a
// second pass finds nothing left. (A single batch of a year's messageIds exceeded Pebble's
// 4 GB batch limit and crashed segd at a million customers.)
func TestExpireDedupeInChunks(t *testing.T) {
	st, err := Open(Options{Dir: "/d", FS: vfs.NewMem()})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	const ws, old, recent = 1, 2*expireChunk + 123, 500
	base := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	cutoff := base.Add(time.Duration(old) * time.Second)
	for i := 0; i < old+recent; i += 10_000 {
		tx := st.Begin()
		for j := i; j < min(i+10_000, old+recent); j++ {
			if err := tx.MarkSeen(ws, fmt.Sprintf("m-%d", j), base.Add(time.Duration(j)*time.Second)); err != nil {
				t.Fatal(err)
			}
		}
		if err := tx.Commit(); err != nil {
			t.Fatal(err)
		}
	}
	// a cancelled context stops after the first batch
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	n, err := st.ExpireDedupe(ctx, ws, cutoff)
	if !errors.Is(err, context.Canceled) || n != expireChunk {
		t.Fatalf("cancelled: expired %d (%v), want %d and the context's error", n, err, expireChunk)
	}
	n, err = st.ExpireDedupe(context.Background(), ws, cutoff)
	if err != nil || n != old-expireChunk {
		t.Fatalf("expired %d (%v), want %d", n, err, old-expireChunk)
	}
	for _, j := range []int{0, expireChunk - 1, expireChunk, 2 * expireChunk, old - 1, old, old + recent - 1} {
		has, err := st.HasMessage(ws, fmt.Sprintf("m-%d", j))
		if err != nil {
			t.Fatal(err)
		}
		if want := j >= old; has != want {
			t.Errorf("message %d: remembered %v, want %v", j, has, want)
		}
	}
	if n, err := st.ExpireDedupe(context.Background(), ws, cutoff); err != nil || n != 0 {
		t.Fatalf("second pass expired %d (%v)", n, err)
	}
}

// TestExpireDedupeDropsLegacyAgeKeys: a store written by an earlier version also has an `A`
// key per messageId; the first expiry pass removes all of them, and expiry goes by the
// receipt time each `D` key holds. A message no longer writes an `A` key.
func TestExpireDedupeDropsLegacyAgeKeys(t *testing.T) {
	st, err := Open(Options{Dir: "/d", FS: vfs.NewMem()})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	const ws = 1
	base := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	tx := st.Begin()
	for i := 0; i < 10; i++ {
		if err := tx.MarkSeen(ws, fmt.Sprintf("m-%d", i), base.Add(time.Duration(i)*time.Hour)); err != nil {
			t.Fatal(err)
		}
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	countAge := func() int {
		n := 0
		prefix := wsKey(prefixDedupeAge, ws, 0)
		if err := scan(st.db, prefix, func(k, v []byte) error { n++; return nil }); err != nil {
			t.Fatal(err)
		}
		return n
	}
	if n := countAge(); n != 0 {
		t.Fatalf("a message wrote %d age keys, want none", n)
	}
	for i := 0; i < 10; i++ { // as an earlier version left them
		if err := st.db.Set(dedupeAgeKey(ws, base.Add(time.Duration(i)*time.Hour), fmt.Sprintf("m-%d", i)), nil, nil); err != nil {
			t.Fatal(err)
		}
	}
	n, err := st.ExpireDedupe(context.Background(), ws, base.Add(4*time.Hour))
	if err != nil || n != 4 {
		t.Fatalf("expired %d (%v), want 4", n, err)
	}
	if n := countAge(); n != 0 {
		t.Errorf("%d legacy age keys left after expiry", n)
	}
	for i := 0; i < 10; i++ {
		has, err := st.HasMessage(ws, fmt.Sprintf("m-%d", i))
		if err != nil {
			t.Fatal(err)
		}
		if want := i >= 4; has != want {
			t.Errorf("message %d: remembered %v, want %v", i, has, want)
		}
	}
}
