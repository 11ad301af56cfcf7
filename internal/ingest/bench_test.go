package ingest

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/segd/segd/internal/message"
	"github.com/segd/segd/internal/store"
)

// BenchmarkAppend measures the write path alone (identity, encoding, fsync) on a real disk,
// 500-message batches from 4 concurrent callers over 100k users.
func BenchmarkAppend(b *testing.B) {
	st, err := store.Open(store.Options{Dir: b.TempDir()})
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	w, _, _ := st.CreateWorkspace("w", store.Keys{})
	p, _ := NewPipeline(Options{Store: st})
	defer p.Close()
	now := time.Now()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		n := 0
		for pb.Next() {
			batch := make([]message.Message, 500)
			for i := range batch {
				n++
				batch[i] = message.Message{Type: message.Track, Event: "Product Viewed", MessageID: fmt.Sprintf("%p-%d", &batch, n),
					UserID: fmt.Sprintf("u%d", (n*7919)%100000), Timestamp: now, ReceivedAt: now,
					Properties: map[string]any{"product_id": "p-12", "category": "shoes", "price": 12.5},
					Context:    map[string]any{"ip": "203.0.113.1", "locale": "vi-VN"}, Enriched: message.EnrichedFromMap(map[string]string{"browser": "Safari", "os": "iOS"})}
			}
			if _, err := p.Append(context.Background(), w.ID, batch); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N*500)/b.Elapsed().Seconds(), "events/s")
}
