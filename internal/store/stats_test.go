package store

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2"

	"github.com/segd/segd/internal/message"
)

// Stats follow the engine: memtables take memory, a flush moves the writes to disk and reads
// of flushed data fill the block cache.
func TestStatsFollowTheEngine(t *testing.T) {
	st, err := Open(Options{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	before := st.Stats()
	w, _, err := st.CreateWorkspace("w", Keys{})
	if err != nil {
		t.Fatal(err)
	}
	tx := st.Begin()
	at := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := range 2000 {
		m := message.Message{Type: message.Track, MessageID: fmt.Sprint("m", i), UserID: fmt.Sprint("u", i%50), Event: "E",
			Timestamp: at.Add(time.Duration(i) * time.Second), Properties: map[string]any{"pad": fmt.Sprintf("%0200d", i)}}
		if _, err := tx.AppendEvent(w.ID, uint32(i%50+1), &m); err != nil {
			t.Fatal(err)
		}
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	written := st.Stats()
	if written.MemtableBytes <= 0 { // the arenas allocated, not their contents
		t.Fatalf("memtables take %d bytes", written.MemtableBytes)
	}
	if err := st.db.Flush(); err != nil {
		t.Fatal(err)
	}
	flushed := st.Stats()
	if flushed.DiskBytes <= before.DiskBytes+2000*10 {
		t.Fatalf("disk usage %d after the flush, %d before", flushed.DiskBytes, before.DiskBytes)
	}
	if flushed.WrittenBytes < before.WrittenBytes+2000*200 || flushed.FlushedBytes <= before.FlushedBytes {
		t.Fatalf("written %d → %d bytes, flushed %d → %d: the 2000 events of 200+ bytes are missing",
			before.WrittenBytes, flushed.WrittenBytes, before.FlushedBytes, flushed.FlushedBytes)
	}
	n := 0
	if err := st.ScanEvents(w.ID, func(uint32, uint64, *message.Message) error { n++; return nil }); err != nil || n != 2000 {
		t.Fatalf("scan: %d events, %v", n, err)
	}
	if got := st.Stats().BlockCacheBytes; got <= flushed.BlockCacheBytes {
		t.Fatalf("block cache %d bytes after reading the flushed events, %d before", got, flushed.BlockCacheBytes)
	}
}

// A write stall is counted, timed and logged with its reason.
func TestWriteStallsAreCountedAndLogged(t *testing.T) {
	var buf bytes.Buffer
	w := &writeStalls{log: slog.New(slog.NewTextHandler(&buf, nil))}
	w.begin(pebble.WriteStallBeginInfo{Reason: "memtable count limit reached"})
	time.Sleep(5 * time.Millisecond)
	w.end()
	if w.count.Load() != 1 || time.Duration(w.nanos.Load()) < 5*time.Millisecond {
		t.Fatalf("stalls %d, stalled %s; want 1 and at least 5ms", w.count.Load(), time.Duration(w.nanos.Load()))
	}
	if out := buf.String(); !strings.Contains(out, "level=WARN") || !strings.Contains(out, "memtable count limit reached") || !strings.Contains(out, "writes resumed") {
		t.Fatalf("log: %s", out)
	}
}

// CompactAll leaves nothing in the memtables or L0: every table is in the bottom level and
// the data reads back unchanged.
func TestCompactAllMovesEverythingToTheBottom(t *testing.T) {
	st, err := Open(Options{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	w, _, err := st.CreateWorkspace("w", Keys{})
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	for round := range 3 { // three flushes: three overlapping L0 tables
		tx := st.Begin()
		for i := range 500 {
			m := message.Message{Type: message.Track, MessageID: fmt.Sprint("m", round, "-", i), UserID: fmt.Sprint("u", i%50), Event: "E",
				Timestamp: at.Add(time.Duration(round*500+i) * time.Second), Properties: map[string]any{"pad": fmt.Sprintf("%0100d", i)}}
			if _, err := tx.AppendEvent(w.ID, uint32(i%50+1), &m); err != nil {
				t.Fatal(err)
			}
		}
		if err := tx.Commit(); err != nil {
			t.Fatal(err)
		}
		if err := st.db.Flush(); err != nil {
			t.Fatal(err)
		}
	}
	tx := st.Begin() // and some left in the memtable
	m := message.Message{Type: message.Track, MessageID: "last", UserID: "u0", Event: "E", Timestamp: at}
	if _, err := tx.AppendEvent(w.ID, 1, &m); err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	above := func() (n int64) {
		mt := st.db.Metrics()
		for l := range len(mt.Levels) - 1 {
			n += mt.Levels[l].TablesCount
		}
		return n
	}
	if n := above(); n == 0 {
		t.Fatal("no table above the bottom level before compacting")
	}
	if err := st.CompactAll(context.Background()); err != nil {
		t.Fatal(err)
	}
	if n := above(); n != 0 {
		t.Errorf("%d tables above the bottom level after CompactAll", n)
	}
	if mt := st.db.Metrics(); mt.Levels[len(mt.Levels)-1].TablesCount == 0 || mt.MemTable.Count > 1 {
		t.Error("the bottom level is empty or the memtable was not flushed after CompactAll")
	}
	n := 0
	if err := st.ScanEvents(w.ID, func(uint32, uint64, *message.Message) error { n++; return nil }); err != nil || n != 1501 {
		t.Fatalf("scan after compacting: %d events, %v", n, err)
	}
}

// At debug level the store logs the engine's flushes (and compactions); above it, nothing.
func TestDebugLogsFlushes(t *testing.T) {
	for _, level := range []slog.Level{slog.LevelDebug, slog.LevelInfo} {
		var buf bytes.Buffer
		st, err := Open(Options{Dir: t.TempDir(), Logger: slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: level}))})
		if err != nil {
			t.Fatal(err)
		}
		if _, _, err := st.CreateWorkspace("w", Keys{}); err != nil {
			t.Fatal(err)
		}
		if err := st.CompactAll(context.Background()); err != nil {
			t.Fatal(err)
		}
		st.Close()
		if got := strings.Contains(buf.String(), "store: flush"); got != (level == slog.LevelDebug) {
			t.Errorf("level %s: flush logged %v:\n%s", level, got, buf.String())
		}
	}
}

// Every synced commit waits for a WAL sync, and the sync histogram counts each: cumulative
// counts at ascending bounds in seconds, in the range a disk sync takes. A bulk-loading store
// has no WAL and counts none.
func TestStatsCountWALSyncs(t *testing.T) {
	st, err := Open(Options{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	before := st.Stats().WALSyncs.Count
	w, _, err := st.CreateWorkspace("w", Keys{})
	if err != nil {
		t.Fatal(err)
	}
	const commits = 20
	for i := range commits {
		tx := st.Begin()
		m := message.Message{Type: message.Track, MessageID: fmt.Sprint("m", i), UserID: "u", Event: "E", Timestamp: time.Unix(int64(i), 0)}
		if _, err := tx.AppendEvent(w.ID, 1, &m); err != nil {
			t.Fatal(err)
		}
		if err := tx.Commit(); err != nil {
			t.Fatal(err)
		}
	}
	h := st.Stats().WALSyncs
	if h.Count < before+commits {
		t.Fatalf("%d WAL syncs counted after %d synced commits (%d before)", h.Count, commits, before)
	}
	if len(h.Bounds) < 10 || len(h.Bounds) != len(h.Counts) || h.Bounds[0] != 0.0001 || h.Bounds[len(h.Bounds)-1] < 1 {
		t.Fatalf("bounds %v, counts %v", h.Bounds, h.Counts)
	}
	for i := 1; i < len(h.Bounds); i++ {
		if h.Bounds[i] <= h.Bounds[i-1] || h.Counts[i] < h.Counts[i-1] {
			t.Fatalf("not ascending and cumulative at %d: bounds %v, counts %v", i, h.Bounds, h.Counts)
		}
	}
	if last := h.Counts[len(h.Counts)-1]; last > h.Count || h.Sum <= 0 || h.Sum/float64(h.Count) > 1 {
		t.Fatalf("count %d, at the last bound %d, sum %gs", h.Count, last, h.Sum)
	}

	bulk, err := Open(Options{Dir: t.TempDir(), BulkLoad: true})
	if err != nil {
		t.Fatal(err)
	}
	defer bulk.Close()
	if n := bulk.Stats().WALSyncs.Count; n != 0 {
		t.Fatalf("a store without a WAL counted %d syncs", n)
	}
}
