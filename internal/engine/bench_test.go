package engine

import (
	"context"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/segd/segd/internal/index"
)

// BenchmarkEvaluate times representative segments over 5M events and 200k profiles.
func BenchmarkEvaluate(b *testing.B) {
	r := rand.New(rand.NewPCG(7, 8))
	ix := index.New()
	const profiles, events = 200_000, 5_000_000
	for p := uint32(0); p < profiles; p++ {
		ix.SetTraits(p, map[string]any{"country": []string{"VN", "TH", "US"}[r.IntN(3)], "age": float64(18 + r.IntN(60))})
	}
	names := []string{"Page Viewed", "Product Added", "Order Completed"}
	batch := make([]index.Event, 0, 10_000)
	for i := 0; i < events; i++ {
		batch = append(batch, index.Event{Profile: uint32(r.IntN(profiles)), Name: names[r.IntN(3)],
			Time: at.Add(-time.Duration(r.Int64N(int64(90 * day)))), Props: map[string]any{"revenue": float64(r.IntN(500)), "path": []string{"/pricing", "/home"}[r.IntN(2)]}})
		if len(batch) == cap(batch) {
			ix.AddEvents(batch)
			batch = batch[:0]
		}
	}
	ix.Optimize()
	eng := New(ix)
	for _, src := range []string{
		`country in ["VN", "TH"] and age >= 25`,
		`count("Page Viewed" where path contains "/pricing" in last 7 days) > 3`,
		`sum(revenue of "Order Completed" in last 90 days) >= 1000`,
		`sequence("Product Added" then not "Order Completed" within 1 day)`,
	} {
		x := mustParse(b, src)
		b.Run(src, func(b *testing.B) {
			b.ReportAllocs()
			for i := 0; i < b.N; i++ {
				if _, _, err := eng.Evaluate(context.Background(), x, Options{At: at}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
