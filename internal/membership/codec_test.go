package membership

import (
	"context"
	"encoding/json"
	"reflect"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2/vfs"

	"github.com/segd/segd/internal/store"
)

func TestChangeRecordRoundTrip(t *testing.T) {
	at := time.Date(2026, 3, 4, 5, 6, 7, 890, time.UTC)
	for _, c := range []Change{
		{Seq: 7, Segment: "seg_1", Profile: 42, Kind: Enter, EventTime: at, Wall: at.Add(time.Second),
			Reason: Reason{Cause: "event", MessageID: "m-1", Event: "Order Completed", Condition: `count("Order Completed") >= 2`}},
		{Seq: 1 << 40, Segment: "", Profile: 1<<32 - 1, Kind: Exit, EventTime: time.Unix(-5, 3).UTC(), Wall: at,
			Reason: Reason{Cause: "traits", Traits: []string{"age", "country", ""}, Due: at.Add(-time.Hour), Segment: "s2", Record: "tickets/9"}},
		{Seq: 2, Segment: "é", Kind: Exit, Reason: Reason{Cause: "timer"}}, // zero times
	} {
		rec := encodeChange(nil, &c)
		got, err := decodeChange(c.Seq, rec)
		if err != nil {
			t.Fatalf("decode %+v: %v", c, err)
		}
		if !reflect.DeepEqual(got, c) {
			t.Fatalf("round trip:\n got %+v\nwant %+v", got, c)
		}
		js, _ := json.Marshal(c)
		if len(rec) >= len(js)*2/3 {
			t.Errorf("record of %d bytes is not much smaller than its JSON (%d bytes)", len(rec), len(js))
		}
		for n := range len(rec) - 1 { // every truncation is an error, never a panic or a wrong change
			if _, err := decodeChange(c.Seq, rec[:n]); err == nil {
				t.Fatalf("truncated to %d of %d bytes: no error", n, len(rec))
			}
		}
		if _, err := decodeChange(c.Seq, append(rec, 0)); err == nil {
			t.Fatal("trailing byte: no error")
		}
	}
	if _, err := decodeChange(1, []byte{0x7f, 1, 2}); err == nil {
		t.Fatal("unknown format: no error")
	}
}

// A data directory written before the binary records (JSON records in the log and full copies
// in both views) reads and replays the same, and new changes go on from its sequence numbers.
func TestReadsJSONRecordsOfEarlierVersions(t *testing.T) {
	ctx := context.Background()
	st := openStore(t, vfs.NewMem())
	w, _, err := st.CreateWorkspace("w", store.Keys{})
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	old := []Change{
		{Seq: 1, Segment: "a", Profile: 3, Kind: Enter, EventTime: at, Wall: at, Reason: Reason{Cause: "backfill"}},
		{Seq: 2, Segment: "b", Profile: 3, Kind: Enter, EventTime: at, Wall: at, Reason: Reason{Cause: "event", MessageID: "x"}},
		{Seq: 3, Segment: "a", Profile: 3, Kind: Exit, EventTime: at, Wall: at, Reason: Reason{Cause: "timer", Due: at}},
	}
	b := st.NewDocBatch()
	for _, c := range old {
		v, _ := json.Marshal(c)
		b.Put(w.ID, kindLog, seqID(c.Seq), v)
		b.Put(w.ID, kindSegLog, segLogID(c.Segment, c.Seq), v)
		b.Put(w.ID, kindProfLog, profLogID(c.Profile, c.Seq), v)
	}
	if err := b.Commit(true); err != nil {
		t.Fatal(err)
	}
	l, err := Open(Options{Store: st, Now: func() time.Time { return at }})
	if err != nil {
		t.Fatal(err)
	}
	if !l.Contains(w.ID, "b", 3) || l.Contains(w.ID, "a", 3) {
		t.Fatalf("replayed members: a %v b %v", l.Members(w.ID, "a").ToArray(), l.Members(w.ID, "b").ToArray())
	}
	if _, ok := l.Stage(w.ID, "a", 4, true, at, Reason{Cause: "event"}); !ok {
		t.Fatal("stage")
	}
	if err := l.Flush(nil); err != nil {
		t.Fatal(err)
	}
	all, err := l.Read(ctx, w.ID, 0, 0)
	if err != nil || len(all) != 4 || all[3].Seq != 4 || all[3].Profile != 4 {
		t.Fatalf("read %+v, %v", all, err)
	}
	if !reflect.DeepEqual(all[:3], old) {
		t.Fatalf("old changes read back as\n%+v\nwant\n%+v", all[:3], old)
	}
	segA, err := l.ReadSegment(ctx, w.ID, "a", 0, 0)
	if err != nil || len(segA) != 3 || segA[0].Seq != 1 || segA[1].Seq != 3 || segA[2].Seq != 4 {
		t.Fatalf("segment a: %+v, %v", segA, err)
	}
	p3, err := l.ReadProfile(ctx, w.ID, 3, 0, 0)
	if err != nil || !reflect.DeepEqual(p3, old) {
		t.Fatalf("profile 3: %+v, %v", p3, err)
	}
	// the new change's views hold no copy of the record
	v, err := st.Doc(w.ID, kindSegLog, segLogID("a", 4))
	if err != nil || len(v) != 0 {
		t.Fatalf("view entry of a new change: %q, %v", v, err)
	}
}
