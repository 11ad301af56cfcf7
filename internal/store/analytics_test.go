package store_test

import (
	"fmt"
	"testing"

	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/segd/segd/internal/store"
)

func TestAppendLog(t *testing.T) {
	st, err := store.Open(store.Options{Dir: "/d", FS: vfs.NewMem()})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	w, _, err := st.CreateWorkspace("w", store.Keys{})
	if err != nil {
		t.Fatal(err)
	}
	var entries [][]byte
	for i := range 300 {
		entries = append(entries, []byte(fmt.Sprint(i)))
	}
	if first, err := st.AppendLog(w.ID, "stages", entries[:256]); err != nil || first != 1 {
		t.Fatalf("first append: %d, %v", first, err)
	}
	if first, err := st.AppendLog(w.ID, "stages", entries[256:]); err != nil || first != 257 {
		t.Fatalf("second append: %d, %v", first, err)
	}
	if _, err := st.AppendLog(w.ID, "other", entries[:1]); err != nil {
		t.Fatal(err)
	}
	var got []string
	if err := st.ReadLog(w.ID, "stages", 255, func(seq uint64, v []byte) (bool, error) {
		got = append(got, fmt.Sprintf("%d=%s", seq, v))
		return len(got) < 4, nil
	}); err != nil {
		t.Fatal(err)
	}
	if want := "[255=254 256=255 257=256 258=257]"; fmt.Sprint(got) != want {
		t.Errorf("ReadLog = %v, want %v", got, want)
	}
	got = nil
	if err := st.RecentLog(w.ID, "stages", 3, func(seq uint64, v []byte) (bool, error) {
		got = append(got, fmt.Sprintf("%d=%s", seq, v))
		return true, nil
	}); err != nil {
		t.Fatal(err)
	}
	if want := "[300=299 299=298 298=297]"; fmt.Sprint(got) != want {
		t.Errorf("RecentLog = %v, want %v", got, want)
	}
}
