package store

import (
	"fmt"
	"testing"
	"time"

	"github.com/segd/segd/internal/message"
)

// TestBulkLoadWritesNoWALAndIsDurableAfterClose writes through a store opened for bulk loading
// (no WAL) and finds everything after a reopen: Close must flush what the log would have held.
func TestBulkLoadWritesNoWALAndIsDurableAfterClose(t *testing.T) {
	dir := t.TempDir()
	write := func(bulk bool, round int) (walBytes uint64) {
		st, err := Open(Options{Dir: dir, BulkLoad: bulk})
		if err != nil {
			t.Fatal(err)
		}
		w, err := st.WorkspaceByName("w")
		if err != nil {
			if w, _, err = st.CreateWorkspace("w", Keys{}); err != nil {
				t.Fatal(err)
			}
		}
		at := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
		tx := st.Begin()
		for i := range 100 {
			id := fmt.Sprint("m", round, "-", i)
			m := message.Message{Type: message.Track, MessageID: id, UserID: "u", Event: "E", Timestamp: at.Add(time.Duration(i) * time.Second)}
			if _, err := tx.AppendEvent(w.ID, 1, &m); err != nil {
				t.Fatal(err)
			}
			if err := tx.MarkSeen(w.ID, id, at); err != nil {
				t.Fatal(err)
			}
		}
		if err := tx.Commit(); err != nil {
			t.Fatal(err)
		}
		walBytes = st.db.Metrics().WAL.BytesWritten
		if err := st.Close(); err != nil {
			t.Fatal(err)
		}
		return walBytes
	}
	if n := write(true, 0); n != 0 {
		t.Errorf("bulk load wrote %d bytes to the WAL, want none", n)
	}
	if n := write(false, 1); n == 0 {
		t.Error("a normal store wrote nothing to the WAL: the check above proves nothing")
	}

	st, err := Open(Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	w, err := st.WorkspaceByName("w")
	if err != nil {
		t.Fatalf("workspace created in bulk mode is gone: %v", err)
	}
	if n, err := st.CountEvents(w.ID); err != nil || n != 200 {
		t.Fatalf("events after reopening = %d (%v), want 200", n, err)
	}
	for _, id := range []string{"m0-0", "m0-99", "m1-50"} {
		if seen, err := st.HasMessage(w.ID, id); err != nil || !seen {
			t.Errorf("messageId %s not in the dedupe window after reopening (%v)", id, err)
		}
	}
}
