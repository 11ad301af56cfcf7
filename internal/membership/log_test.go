package membership

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2/vfs"

	"github.com/segd/segd/internal/store"
	"github.com/segd/segd/internal/store/storetest"
)

func openStore(t *testing.T, fs vfs.FS) *store.Store {
	t.Helper()
	st, err := store.Open(store.Options{Dir: "/d", FS: fs})
	if err != nil {
		t.Fatal(err)
	}
	return st
}

func TestStageFlushReadReopen(t *testing.T) {
	ctx := context.Background()
	fs := vfs.NewMem()
	st := openStore(t, fs)
	w, _, err := st.CreateWorkspace("w", store.Keys{})
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)
	l, err := Open(Options{Store: st, Now: func() time.Time { return now }, SnapshotEvery: 3})
	if err != nil {
		t.Fatal(err)
	}
	ws := w.ID
	ops := []struct {
		seg   string
		pid   uint32
		enter bool
		want  bool // a change is staged
	}{
		{"a", 1, true, true},
		{"a", 1, true, false}, // already a member
		{"a", 2, true, true},
		{"b", 1, true, true},
		{"a", 1, false, true},
		{"b", 3, false, false}, // not a member
		{"a", 5, true, true},
	}
	for i, op := range ops {
		if _, ok := l.Stage(ws, op.seg, op.pid, op.enter, now, Reason{Cause: "event"}); ok != op.want {
			t.Fatalf("op %d: staged %v, want %v", i, ok, op.want)
		}
		if i == 3 {
			if l.LastSeq(ws) != 0 {
				t.Fatal("staged changes visible before flush")
			}
			if err := l.Flush(nil); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := l.Flush(nil); err != nil {
		t.Fatal(err)
	}
	all, err := l.Read(ctx, ws, 0, 0)
	if err != nil || len(all) != 5 {
		t.Fatalf("read %d changes, %v; want 5", len(all), err)
	}
	for i, c := range all {
		if c.Seq != uint64(i+1) {
			t.Fatalf("change %d has seq %d", i, c.Seq)
		}
	}
	after, _ := l.Read(ctx, ws, 3, 1)
	if len(after) != 1 || after[0].Seq != 4 {
		t.Fatalf("read after 3 limit 1: %+v", after)
	}
	segA, _ := l.ReadSegment(ctx, ws, "a", 0, 0)
	if len(segA) != 4 {
		t.Fatalf("segment a has %d changes, want 4", len(segA))
	}
	p1, _ := l.ReadProfile(ctx, ws, 1, 0, 0)
	if len(p1) != 3 {
		t.Fatalf("profile 1 has %d changes, want 3", len(p1))
	}
	ms, _ := l.ProfileSegments(ctx, ws, 1)
	if len(ms) != 1 || ms[0].Segment != "b" {
		t.Fatalf("profile 1 segments %+v, want [b]", ms)
	}
	if got := l.Members(ws, "a").ToArray(); len(got) != 2 || got[0] != 2 || got[1] != 5 {
		t.Fatalf("members of a: %v", got)
	}
	// a profile's membership of several segments at once (one never staged among them)
	segs := []string{"a", "b", "none", "a"}
	for _, pid := range []uint32{1, 2, 3, 5} {
		in := make([]bool, len(segs))
		l.ContainsEach(ws, segs, pid, in)
		for i, seg := range segs {
			if in[i] != l.Contains(ws, seg, pid) {
				t.Fatalf("ContainsEach(%d)[%s] = %v, Contains says %v", pid, seg, in[i], !in[i])
			}
		}
		if pid == 2 && (!in[0] || in[1] || in[2] || !in[3]) {
			t.Fatalf("ContainsEach(2) = %v, want a, not b", in)
		}
	}
	hist, _ := l.History(ws, "a")
	if len(hist) == 0 || hist[len(hist)-1].Count != 2 {
		t.Fatalf("history of a: %+v", hist)
	}

	// Reopen without Close: the bitmaps come back from snapshots plus the log.
	l2, err := Open(Options{Store: st, Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	for _, seg := range []string{"a", "b"} {
		if !l2.Members(ws, seg).Equals(l.Members(ws, seg)) {
			t.Fatalf("reopened %s: %v, want %v", seg, l2.Members(ws, seg).ToArray(), l.Members(ws, seg).ToArray())
		}
	}
	if c, ok := l2.Stage(ws, "a", 9, true, now, Reason{Cause: "event"}); !ok || c.Seq != 6 {
		t.Fatalf("after reopen next seq is %d, want 6", c.Seq)
	}
	if err := l2.Close(); err != nil {
		t.Fatal(err)
	}
	l3, _ := Open(Options{Store: st, Now: func() time.Time { return now }})
	if !l3.Contains(ws, "a", 9) || l3.Contains(ws, "a", 1) {
		t.Fatalf("after close and reopen: %v", l3.Members(ws, "a").ToArray())
	}
}

func TestWait(t *testing.T) {
	st := openStore(t, vfs.NewMem())
	w, _, _ := st.CreateWorkspace("w", store.Keys{})
	l, _ := Open(Options{Store: st})
	done := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		done <- l.Wait(ctx, w.ID, 0)
	}()
	time.Sleep(10 * time.Millisecond)
	l.Stage(w.ID, "s", 1, true, time.Now(), Reason{Cause: "event"})
	if err := l.Flush(nil); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatalf("wait: %v", err)
	}
}

// TestFlushNoWaitDurableAfterFsync: with the WAL's fsync hanging, FlushNoWait returns (the
// writer goes on) but readers see none of the changes and nobody is woken; when the fsync
// completes the changes are readable, Wait returns, and done is called in flush order.
func TestFlushNoWaitDurableAfterFsync(t *testing.T) {
	ctx := context.Background()
	gate := storetest.NewSyncGate()
	st := openStore(t, gate.FS)
	defer st.Close()
	w, _, err := st.CreateWorkspace("w", store.Keys{})
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)
	l, err := Open(Options{Store: st, Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	defer gate.Release() // before the deferred Close of the store
	gate.Hold()
	notify := l.Notify()
	var order []int
	var mu sync.Mutex
	dones := make(chan struct{}, 3)
	for i := 1; i <= 3; i++ {
		l.Stage(w.ID, "s", uint32(i), true, now, Reason{Cause: "event"})
		returned := make(chan error, 1)
		go func() {
			returned <- l.FlushNoWait(nil, func(err error) {
				if err != nil {
					t.Error(err)
				}
				mu.Lock()
				order = append(order, i)
				mu.Unlock()
				dones <- struct{}{}
			})
		}()
		select {
		case err := <-returned:
			if err != nil {
				t.Fatal(err)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("flush %d waited for the hanging fsync", i)
		}
	}
	for deadline := time.Now().Add(5 * time.Second); gate.Held() == 0; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("no fsync was held")
		}
	}
	time.Sleep(50 * time.Millisecond)
	if got := l.LastSeq(w.ID); got != 0 {
		t.Fatalf("LastSeq %d before the fsync completed", got)
	}
	if cs, _ := l.ReadSegment(ctx, w.ID, "s", 0, 0); len(cs) != 0 {
		t.Fatalf("%d changes readable before the fsync completed", len(cs))
	}
	select {
	case <-notify:
		t.Fatal("waiters woken before the fsync completed")
	default:
	}
	gate.Release()
	wctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := l.Wait(wctx, w.ID, 2); err != nil {
		t.Fatalf("wait for the third change: %v", err)
	}
	if err := l.Synced(); err != nil {
		t.Fatal(err)
	}
	if cs, _ := l.ReadSegment(ctx, w.ID, "s", 0, 0); len(cs) != 3 {
		t.Fatalf("%d changes readable after the fsync, want 3", len(cs))
	}
	for range 3 {
		<-dones
	}
	if !slices.Equal(order, []int{1, 2, 3}) {
		t.Fatalf("done called in order %v", order)
	}
}
