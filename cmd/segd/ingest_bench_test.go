package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"testing"
	"time"
)

// BenchmarkBatchIngest posts 500-message batches to an in-process server over loopback.
func BenchmarkBatchIngest(b *testing.B) {
	t := &testing.T{}
	_ = t
	ts := startServerB(b)
	msgs := make([]map[string]any, 500)
	client := &http.Client{}
	b.ResetTimer()
	for n := 0; n < b.N; n++ {
		for i := range msgs {
			msgs[i] = map[string]any{"type": "track", "messageId": fmt.Sprintf("%d-%d", n, i), "userId": fmt.Sprintf("u%d", (n*500+i)%50000),
				"event": "Product Viewed", "timestamp": time.Now().Format(time.RFC3339Nano),
				"properties": map[string]any{"product_id": "p-1", "category": "shoes", "price": 12.5},
				"context":    map[string]any{"userAgent": "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1"}}
		}
		body, _ := json.Marshal(map[string]any{"batch": msgs})
		req, _ := http.NewRequest("POST", ts+"/v1/batch", bytes.NewReader(body))
		req.SetBasicAuth(testWriteKey, "")
		resp, err := client.Do(req)
		if err != nil || resp.StatusCode != 200 {
			b.Fatal(err, resp.StatusCode)
		}
		resp.Body.Close()
	}
	b.ReportMetric(float64(b.N*500)/b.Elapsed().Seconds(), "events/s")
}
