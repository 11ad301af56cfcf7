package message

import (
	"fmt"
	"strings"
	"testing"
)

// benchBatch builds a batch of n browser-style track calls of about 700 bytes each, the shape
// analytics.js sends: a user agent, page context, campaign and a handful of properties.
func benchBatch(n int) []byte {
	var sb strings.Builder
	sb.WriteString(`{"batch":[`)
	for i := range n {
		if i > 0 {
			sb.WriteByte(',')
		}
		fmt.Fprintf(&sb, `{"type":"track","event":"Product Viewed","anonymousId":"anon-%08d","userId":"user-%06d","messageId":"msg-%08d",`+
			`"properties":{"product_id":"SKU-%05d","category":"Shoes","price":%d.99,"currency":"EUR","quantity":1,"on_sale":true},`+
			`"context":{"ip":"203.0.113.%d","locale":"de-DE","timezone":"Europe/Berlin",`+
			`"userAgent":"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36",`+
			`"page":{"path":"/p/%d","referrer":"https://www.google.com/","title":"Shoes","url":"https://shop.example/p/%d?utm_source=news&utm_medium=email&utm_campaign=spring"},`+
			`"library":{"name":"analytics.js","version":"next-1.55.0"}},`+
			`"originalTimestamp":"2024-05-01T09:59:%02d.123Z","sentAt":"2024-05-01T10:00:00.000Z"}`,
			i, i%5000, i, i%900, 10+i%90, i%255, i, i, i%60)
	}
	sb.WriteString(`],"sentAt":"2024-05-01T10:00:00.000Z"}`)
	return []byte(sb.String())
}

func BenchmarkDecodeBatch(b *testing.B) {
	body := benchBatch(500)
	if len(body) > DefaultLimits().MaxBatchBytes {
		b.Fatalf("bench batch is %d bytes", len(body))
	}
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		out, err := DecodeBatch(body, recv, DefaultLimits())
		if err != nil || len(out.Messages) != 500 {
			b.Fatal(err, len(out.Rejections))
		}
	}
	b.ReportMetric(float64(b.N)*500/b.Elapsed().Seconds(), "msgs/s")
}

func BenchmarkDecodeCall(b *testing.B) {
	body := []byte(`{"userId":"019mr8mf4r","event":"Item Purchased","properties":{"name":"Leap to Conclusions Mat","revenue":14.99},"context":{"ip":"24.5.68.47"},"timestamp":"2012-12-02T00:30:12.984Z"}`)
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := DecodeCall(Track, body, recv, DefaultLimits()); err != nil {
			b.Fatal(err)
		}
	}
}
