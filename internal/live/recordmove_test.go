package live

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2/vfs"

	"github.com/segd/segd/internal/ingest"
	"github.com/segd/segd/internal/message"
)

// A record upserted under another profile leaves its old owner's record segments even when
// live holds no copy of the old owner's data (evicted from the cache): the write path reports
// the move as a deletion from the old owner first. The differential test's seed 38 failed now
// and then on this (whether the old owner was cached depended on the prefetch's timing).
func TestRecordMoveFromUncachedProfile(t *testing.T) {
	defer func(n int) { envCacheProfiles = n }(envCacheProfiles)
	envCacheProfiles = 1 // every other profile's evaluation evicts the last one's data
	clk := &clock{t: time.Date(2025, 6, 15, 12, 0, 0, 0, time.UTC)}
	e := newEnv(t, vfs.NewMem(), clk, &catalog{}, true)
	defer e.close()
	e.addSegment("s", "open-ticket", `has record "tickets" where status = "open"`)
	upsert := func(user string) {
		t.Helper()
		_, err := e.pipe.UpsertRecords(context.Background(), e.ws, []ingest.RecordInput{{Type: "tickets", ID: "t1",
			Identity: map[string]string{"userId": user}, Attributes: map[string]any{"status": "open"}, Timestamp: clk.Now()}})
		if err != nil {
			t.Fatal(err)
		}
		e.sync()
	}
	members := func() []uint32 { return e.mem.Members(e.ws, "s").ToArray() }

	upsert("u1")
	if got := members(); !slices.Equal(got, []uint32{e.pid("u1")}) {
		t.Fatalf("after the ticket of u1: members %v", got)
	}
	clk.Add(time.Minute)
	e.send(message.Message{Type: message.Identify, UserID: "u3", Traits: map[string]any{"plan": "free"}, Timestamp: clk.Now()})
	e.sync()
	upsert("u2") // the same ticket, now of u2
	if got, want := members(), []uint32{e.pid("u2")}; !slices.Equal(got, want) {
		t.Fatalf("after the ticket moved to u2: members %v, want %v", got, want)
	}
	if want := e.batch(clk.Now())["s"].ToArray(); !slices.Equal(members(), want) {
		t.Fatalf("members %v, batch %v", members(), want)
	}
}
