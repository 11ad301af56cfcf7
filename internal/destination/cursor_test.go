package destination

import (
	"encoding/json"
	"log/slog"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2/vfs"

	"github.com/segd/segd/internal/store"
)

// TestCursorDurableWhenIdle: cursors of delivered batches are written without waiting for the
// disk, but one that nothing else makes durable is synced once the runner has been idle for
// cursorSyncEvery, so a crash after that sends nothing again.
func TestCursorDurableWhenIdle(t *testing.T) {
	fs := vfs.NewCrashableMem()
	st, err := store.Open(store.Options{Dir: "/d", FS: fs, CacheBytes: 8 << 20})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	w, _, err := st.CreateWorkspace("w", store.Keys{})
	if err != nil {
		t.Fatal(err)
	}
	feed := newMemFeed()
	m, err := New(Options{Store: st, Feed: feed, Profiles: fakeProfiles{}, Members: &fakeMembers{},
		AllowPrivate: func(uint32) bool { return true }, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Start(); err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	rc := newReceiver(t, "")
	if _, err := m.Put(w.ID, webhookConfig("d", rc.srv.URL, "")); err != nil {
		t.Fatal(err)
	}
	feed.add(w.ID, 1, "s", "seg", KindEnter) // its cursor is synced: the first in a second
	waitFor(t, "first change", 5*time.Second, func() bool { return len(rc.received()) == 1 })
	feed.add(w.ID, 2, "s", "seg", KindEnter) // these are written lazily
	feed.add(w.ID, 3, "s", "seg", KindEnter)
	waitFor(t, "three changes", 5*time.Second, func() bool { return len(rc.received()) == 3 })
	time.Sleep(cursorSyncEvery + 500*time.Millisecond)

	crashed, err := store.Open(store.Options{Dir: "/d", FS: fs.CrashClone(vfs.CrashCloneCfg{}), CacheBytes: 8 << 20})
	if err != nil {
		t.Fatal(err)
	}
	defer crashed.Close()
	v, err := crashed.Doc(w.ID, CursorDocKind, "d")
	if err != nil {
		t.Fatal(err)
	}
	var c cursorDoc
	if err := json.Unmarshal(v, &c); err != nil {
		t.Fatal(err)
	}
	if c.Seq != 3 || c.Delivered != 3 {
		t.Fatalf("durable cursor after a crash: %+v, want seq 3, 3 delivered", c)
	}
}
