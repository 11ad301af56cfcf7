package importer

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"testing"

	"github.com/segd/segd/internal/message"
)

func bytesReader(b []byte) io.Reader { return bytes.NewReader(b) }

type discardSink struct{ n int }

func (d *discardSink) Append(_ context.Context, msgs []message.Message) error {
	d.n += len(msgs)
	return nil
}

// BenchmarkEventsJSONL measures decoding throughput of a JSON Lines import into a sink that
// keeps nothing: the ceiling the store-backed import can reach.
func BenchmarkEventsJSONL(b *testing.B) {
	var buf bytes.Buffer
	const n = 20000
	for i := range n {
		fmt.Fprintf(&buf, `{"type":"track","userId":"user-%06d","event":"Order Completed","messageId":"m-%d","properties":{"order_id":"o-%d","revenue":%d.50,"currency":"EUR","discount":5,"products":[{"sku":"SKU-%d","qty":1}]},"context":{"ip":"203.0.113.7","locale":"en-US"},"timestamp":"2024-03-%02dT10:%02d:00Z"}`+"\n",
			i%3000, i, i, i%200, i%900, 1+i%28, i%60)
	}
	data := buf.Bytes()
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		sink := &discardSink{}
		r, err := Events(context.Background(), bytes.NewReader(data), sink, Options{})
		if err != nil || r.Imported != n {
			b.Fatal(err, r.Skipped)
		}
	}
	b.ReportMetric(float64(b.N)*n/b.Elapsed().Seconds(), "events/s")
}
