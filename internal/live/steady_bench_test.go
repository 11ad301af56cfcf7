package live

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2/vfs"

	"github.com/segd/segd/internal/demodata"
	"github.com/segd/segd/internal/message"
)

// BenchmarkSteadyIngest is the real-time path under steady ingestion: demo customers loaded,
// the mixed benchmark segments live and backfilled, the cache warm; each iteration sends a
// batch of 100 events of existing customers through the write pipeline and waits until live
// has applied them. Its allocations per event are exact; compare them (and a CPU profile)
// between changes to the live path. The pipeline's own work is included, so compare with
// the "no segments" sub-benchmark.
func BenchmarkSteadyIngest(b *testing.B) {
	for _, withSegs := range []bool{false, true} {
		name := "no segments"
		if withSegs {
			name = "segments"
		}
		b.Run(name, func(b *testing.B) {
			end := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
			clk := &clock{t: end}
			defer func(n int) { envCacheProfiles = n }(envCacheProfiles)
			envCacheProfiles = 4096 // every customer stays cached, as in a warm server
			e := newEnv(b, vfs.NewMem(), clk, &catalog{}, true)
			defer e.close()
			o := demodata.Small(end)
			o.Customers = 300
			var batch []message.Message
			var users []string
			seen := map[string]bool{}
			err := demodata.Stream(context.Background(), o, func(m *message.Message) error {
				if m.UserID != "" && !seen[m.UserID] {
					seen[m.UserID] = true
					users = append(users, m.UserID)
				}
				batch = append(batch, *m)
				if len(batch) == 500 {
					e.send(batch...)
					batch = batch[:0]
				}
				return nil
			}, nil)
			if err != nil {
				b.Fatal(err)
			}
			e.send(batch...)
			if withSegs {
				for i, q := range benchSegments {
					e.addSegment(fmt.Sprint("b", i), fmt.Sprint("b", i), q)
				}
			}
			e.sync()
			r := rand.New(rand.NewPCG(1, 2))
			names := []string{"Product Viewed", "Product Viewed", "Product Added", "Order Completed", "Email Opened"}
			const per = 100
			msgs := make([]message.Message, per)
			b.ResetTimer()
			for b.Loop() {
				clk.Add(time.Second)
				now := clk.Now()
				for i := range msgs {
					u := users[r.IntN(len(users))]
					if i%4 == 0 {
						msgs[i] = message.Message{Type: message.Page, UserID: u, Name: "Pricing", Timestamp: now,
							Properties: map[string]any{"path": "/pricing", "url": "https://shop.example/pricing"}}
						continue
					}
					msgs[i] = e.track(u, names[r.IntN(len(names))], now, map[string]any{
						"category": "electronics", "price": float64(r.IntN(300)), "revenue": float64(r.IntN(500)), "sku": fmt.Sprint("sku-", r.IntN(1000))})
				}
				e.send(msgs...)
				e.sync()
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*per), "ns/event")
		})
	}
}
