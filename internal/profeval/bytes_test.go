package profeval

import (
	"fmt"
	"runtime"
	"testing"
	"time"
)

// Bytes is what the live cache bounds its memory by: it must follow the heap the events
// really take, spare capacity of the grown slices included (without it, 0.81×), within 10-15%. The profiles
// here live like the cache's: events arrive one by one and old ones are dropped now and then.
func TestBytesMatchesHeap(t *testing.T) {
	names := make([]string, 8)
	for i := range names {
		names[i] = fmt.Sprint("prop", i) // shared, as the cache interns them
	}
	at := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	ps := make([]*Profile, 3000)
	est := 0
	for i := range ps {
		p := NewProfile(nil, nil, nil)
		for j := range 40 + i%90 {
			ev := Event{Kind: "track", Name: "E", Time: at.Add(time.Duration(j) * time.Second),
				Props: []Prop{{names[j%8], fmt.Sprintf("value-%d", j)}, {names[(j+1)%8], float64(j)}}}
			p.Add(ev)
			if j%64 == 63 {
				p.DropBefore(at.Add(time.Duration(j-30) * time.Second))
			}
		}
		ps[i] = p
		est += p.Bytes()
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	heap := int(after.HeapAlloc) - int(before.HeapAlloc)
	runtime.KeepAlive(ps)
	ratio := float64(est) / float64(heap)
	t.Logf("estimate %d bytes, heap grew %d bytes: %.2f", est, heap, ratio)
	if ratio < 0.9 || ratio > 1.15 {
		t.Fatalf("estimate %d bytes is %.2f× the heap's growth (%d bytes)", est, ratio, heap)
	}
}
