package store

import (
	"testing"

	"github.com/cockroachdb/pebble/v2/vfs"
)

func TestSuppressionSurvivesReopen(t *testing.T) {
	fs := vfs.NewMem()
	s, err := Open(Options{Dir: "/d", FS: fs})
	if err != nil {
		t.Fatal(err)
	}
	tx := s.Begin()
	if err := tx.Suppress(1, "email", "gone@x.org"); err != nil {
		t.Fatal(err)
	}
	if ok, _ := tx.Suppressed(1, "email", "gone@x.org"); !ok {
		t.Fatal("not suppressed inside its own Txn")
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	after := s.Begin()
	if ok, _ := after.Suppressed(1, "email", "gone@x.org"); !ok {
		t.Fatal("not suppressed in a later Txn of the same process")
	}
	after.Discard()
	s.Close()
	s, err = Open(Options{Dir: "/d", FS: fs})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	tx = s.Begin()
	defer tx.Discard()
	for _, c := range []struct {
		ws         uint32
		typ, value string
		want       bool
	}{{1, "email", "gone@x.org", true}, {2, "email", "gone@x.org", false}, {1, "email", "other@x.org", false}} {
		if got, _ := tx.Suppressed(c.ws, c.typ, c.value); got != c.want {
			t.Errorf("Suppressed(%d, %s) = %v, want %v", c.ws, c.value, got, c.want)
		}
	}
}
