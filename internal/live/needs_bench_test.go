package live

import (
	"testing"
	"time"

	"github.com/segd/segd/internal/index"
)

func BenchmarkNeedsEvent(b *testing.B) {
	n := newNeeds()
	for _, p := range []string{"path", "category", "price", "revenue", "coupon", "name", "plan", "channel"} {
		n.prop(p)
	}
	e := index.Event{Kind: index.Track, Name: "Product Viewed", Time: time.Now(), Props: map[string]any{
		"category": "electronics", "price": 120.0, "sku": "sku-1", "currency": "USD", "url": "https://x/y", "title": "T", "brand": "b"}}
	for b.Loop() {
		_ = n.event(&e)
	}
}
