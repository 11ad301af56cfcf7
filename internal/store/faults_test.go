package store

import (
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"

	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/cockroachdb/pebble/v2/vfs/errorfs"
)

// faultFS wraps a memory filesystem with a switchable error on every write-kind operation
// (create, write, sync, rename …); reads always work.
type faultFS struct {
	mem vfs.FS
	fs  *errorfs.FS
	err atomic.Pointer[error]
	hit atomic.Int64
}

func newFaultFS() *faultFS {
	f := &faultFS{mem: vfs.NewMem()}
	f.fs = errorfs.Wrap(f.mem, errorfs.InjectorFunc(func(op errorfs.Op) error {
		if p := f.err.Load(); p != nil && op.Kind.ReadOrWrite() == errorfs.OpIsWrite {
			f.hit.Add(1)
			return *p
		}
		return nil
	}))
	return f
}

func (f *faultFS) set(err error) { f.err.Store(&err) }
func (f *faultFS) clear()        { f.err.Store(nil) }

// TestStorageFaultFailsWritesUntilRestart: with writes failing (ENOSPC for a full disk, EIO
// for a broken device), a write returns ErrStorageFailed (it does not panic through the caller),
// later writes are refused at once, reads keep working, and after the fault clears a restart
// has every acknowledged write and nothing of the failed ones half-applied.
func TestStorageFaultFailsWritesUntilRestart(t *testing.T) {
	for _, fault := range []error{syscall.ENOSPC, syscall.EIO} {
		t.Run(fault.Error(), func(t *testing.T) {
			f := newFaultFS()
			st, err := Open(Options{Dir: "/d", FS: f.fs})
			if err != nil {
				t.Fatal(err)
			}
			put := func(id string) error {
				return st.Guard(func() error {
					b := st.NewDocBatch()
					b.Put(1, "k", id+"/1", []byte(id))
					b.Put(1, "k", id+"/2", []byte(id))
					return b.Commit(true)
				})
			}
			for i := 0; i < 10; i++ {
				if err := put(fmt.Sprint("ok", i)); err != nil {
					t.Fatal(err)
				}
			}
			f.set(fault)
			err = put("failed")
			if !errors.Is(err, ErrStorageFailed) || !strings.Contains(err.Error(), fault.Error()) || !strings.Contains(err.Error(), "restart") {
				t.Fatalf("write under %v: %v", fault, err)
			}
			if f.hit.Load() == 0 {
				t.Fatal("the fault was never injected")
			}
			if st.Failed() == nil {
				t.Fatal("store not marked failed")
			}
			f.clear()
			// Pebble's commit pipeline is broken: refused at once, same error, no panic
			if err := put("after"); !errors.Is(err, ErrStorageFailed) {
				t.Fatalf("write after the fault cleared, before restart: %v", err)
			}
			if v, err := st.Doc(1, "k", "ok3/1"); err != nil || string(v) != "ok3" {
				t.Fatalf("read after failure: %q %v", v, err)
			}
			st.Close() // reports the failure again; the lock is released
			st.Forget()

			st, err = Open(Options{Dir: "/d", FS: f.fs})
			if err != nil {
				t.Fatalf("restart after the fault cleared: %v", err)
			}
			defer st.Close()
			if st.Failed() != nil {
				t.Fatal("a reopened store starts failed")
			}
			for i := 0; i < 10; i++ {
				for _, part := range []string{"/1", "/2"} {
					if v, err := st.Doc(1, "k", fmt.Sprint("ok", i)+part); err != nil || string(v) != fmt.Sprint("ok", i) {
						t.Fatalf("acknowledged write ok%d%s lost: %q %v", i, part, v, err)
					}
				}
			}
			_, e1 := st.Doc(1, "k", "failed/1")
			_, e2 := st.Doc(1, "k", "failed/2")
			if (e1 == nil) != (e2 == nil) {
				t.Fatalf("the failed batch is half present: %v / %v", e1, e2)
			}
			if err := put("new"); err != nil {
				t.Fatalf("write after restart: %v", err)
			}
		})
	}
}

func TestRecoverFatalReraisesOtherPanics(t *testing.T) {
	st, err := Open(Options{Dir: "/d", FS: vfs.NewMem()})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	defer func() {
		if r := recover(); r != "not pebble" {
			t.Fatalf("recovered %v", r)
		}
		if st.Failed() != nil {
			t.Fatal("an unrelated panic marked the store failed")
		}
	}()
	st.Guard(func() error { panic("not pebble") })
}
