package index

import (
	"fmt"
	"runtime"
	"testing"
	"time"
)

// TestBytesMatchesHeap builds an index of events, traits and records and compares Bytes with
// what the Go runtime says the index holds (live heap after a collection, before and after).
func TestBytesMatchesHeap(t *testing.T) {
	live := func() uint64 {
		runtime.GC()
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		return m.HeapAlloc
	}
	before := live()
	ix := New()
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	const profiles, events = 20000, 200000
	for p := uint32(1); p <= profiles; p++ {
		ix.SetTraits(p, map[string]any{"plan": []string{"free", "pro", "team"}[p%3], "ltv": float64(p) / 3,
			"email": fmt.Sprintf("user%d@example.com", p), "vip": p%7 == 0})
	}
	batch := make([]Event, 0, 1000)
	for i := 0; i < events; i++ {
		batch = append(batch, Event{Profile: uint32(i%profiles) + 1, Kind: Track, Name: []string{"Order Completed", "Product Viewed"}[i%2],
			Time:  base.Add(time.Duration(i) * time.Second),
			Props: map[string]any{"price": float64(i%500) / 7, "category": []string{"shoes", "hats", "bags"}[i%3], "gift": i%5 == 0}})
		if len(batch) == cap(batch) {
			ix.AddEvents(batch)
			batch = batch[:0]
		}
	}
	for i := 0; i < 5000; i++ {
		ix.UpsertRecord(Record{Type: "ticket", ID: fmt.Sprintf("t-%d", i), Profile: uint32(i%profiles) + 1, Time: base,
			Attrs: map[string]any{"status": "open", "priority": float64(i % 4)}})
	}
	ix.Acquire().Release() // sorts and pads, as a reader would
	after := live()
	got, heap := float64(ix.Bytes()), float64(after-before)
	t.Logf("Bytes %.1f MB, heap grew %.1f MB (%.2f)", got/1e6, heap/1e6, got/heap)
	if got < 0.8*heap || got > 1.25*heap {
		t.Fatalf("Bytes() = %.0f, but the heap grew by %.0f", got, heap)
	}
	runtime.KeepAlive(ix)
}
