package destination

import (
	"encoding/json"
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
	e := newEnvOn(t, store.Options{Dir: "/d", FS: fs})
	rc := newReceiver(t, "")
	e.put(webhookConfig("d", rc.srv.URL, ""))
	e.feed.add(e.ws, 1, "s", "seg", KindEnter) // its cursor is synced: the first in a second
	waitFor(t, "first change", 5*time.Second, func() bool { return len(rc.received()) == 1 })
	e.feed.add(e.ws, 2, "s", "seg", KindEnter) // these are written lazily
	e.feed.add(e.ws, 3, "s", "seg", KindEnter)
	waitFor(t, "three changes", 5*time.Second, func() bool { return len(rc.received()) == 3 })
	time.Sleep(cursorSyncEvery + 500*time.Millisecond)

	crashed, ws := openStore(t, store.Options{Dir: "/d", FS: fs.CrashClone(vfs.CrashCloneCfg{})})
	defer crashed.Close()
	v, err := crashed.Doc(ws, CursorDocKind, "d")
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
