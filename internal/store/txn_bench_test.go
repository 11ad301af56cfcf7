package store

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/segd/segd/internal/message"
)

// BenchmarkSortedBatch measures ordering one commit group's writes for the memtable: the
// events, dedupe entries and identifiers of 4,000 track calls of 100,000 users, the shape of
// eight 500-message requests committed together.
func BenchmarkSortedBatch(b *testing.B) {
	st := openMem(b)
	const ws = 1
	r := rand.New(rand.NewPCG(1, 2))
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	tx := st.Begin()
	defer tx.Discard()
	for i := range 4000 {
		pid := uint32(r.IntN(100000) + 1)
		m := &message.Message{Type: message.Track, MessageID: fmt.Sprintf("c%d-%d-%d", i%8, i/500, i%500), UserID: fmt.Sprint("user-", pid),
			Event: "Product Viewed", Timestamp: now.Add(time.Duration(i) * time.Millisecond), ReceivedAt: now,
			Properties: map[string]any{"product_id": "p-12", "category": "shoes", "price": 12.5}}
		if _, err := tx.AppendEvent(ws, pid, m); err != nil {
			b.Fatal(err)
		}
		if err := tx.MarkSeen(ws, m.MessageID, now); err != nil {
			b.Fatal(err)
		}
		if i%10 == 0 {
			if err := tx.SetIdentifier(ws, "userId", m.UserID, pid); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.ResetTimer()
	for range b.N {
		out, err := tx.sortedBatch()
		if err != nil {
			b.Fatal(err)
		}
		out.Close()
	}
}
