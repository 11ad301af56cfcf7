package store

import (
	"testing"

	"github.com/cockroachdb/pebble/v2/vfs"
)

// TestPutDocLazyDurableWithNextSyncedWrite pins PutDocLazy's contract: readable at once, and
// durable once any synced write follows (a crash then keeps it).
func TestPutDocLazyDurableWithNextSyncedWrite(t *testing.T) {
	fs := vfs.NewCrashableMem()
	st, err := Open(Options{Dir: "/d", FS: fs})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if err := st.PutDocLazy(1, "cursor", "x", []byte(`{"seq":7}`)); err != nil {
		t.Fatal(err)
	}
	if v, err := st.Doc(1, "cursor", "x"); err != nil || string(v) != `{"seq":7}` {
		t.Fatalf("lazy document not readable: %q %v", v, err)
	}
	if err := st.PutDoc(1, "other", "y", []byte(`{}`)); err != nil { // a synced write
		t.Fatal(err)
	}
	crashed, err := Open(Options{Dir: "/d", FS: fs.CrashClone(vfs.CrashCloneCfg{})})
	if err != nil {
		t.Fatal(err)
	}
	defer crashed.Close()
	if v, err := crashed.Doc(1, "cursor", "x"); err != nil || string(v) != `{"seq":7}` {
		t.Fatalf("after a crash following a synced write: %q %v", v, err)
	}
}
