package store

import (
	"testing"
	"time"

	"github.com/segd/segd/internal/message"
)

// TestDecodeEventFields checks the partial decoder against the full one.
func TestDecodeEventFields(t *testing.T) {
	ts := time.Date(2024, 5, 6, 7, 8, 9, 123456789, time.UTC)
	for _, m := range []*message.Message{
		{Type: message.Track, MessageID: "m1", UserID: "u", Event: "Order Completed", Timestamp: ts, SentAt: ts, ReceivedAt: ts,
			Properties: map[string]any{"revenue": 12.5, "coupon": "X"}, Context: map[string]any{"ip": "1.2.3.4"},
			Enriched: message.EnrichedFromMap(map[string]string{"browser": "Firefox"})},
		{Type: message.Page, AnonymousID: "a", Name: "Pricing", Timestamp: ts},
		{Type: message.Screen, Name: "Home", OriginalTimestamp: ts, Traits: map[string]any{"x": 1.0}, Extra: map[string]any{"y": "z"}},
		{Type: message.Identify, UserID: "u", Traits: map[string]any{"email": "a@b.c"}},
	} {
		b := AppendEventValue(nil, m)
		var full message.Message
		if err := DecodeEventValue(b, &full); err != nil {
			t.Fatal(err)
		}
		var f message.EventFields
		if err := DecodeEventFields(b, &f); err != nil {
			t.Fatal(err)
		}
		if typ, ok := StoredEventType(b); !ok || typ != full.Type || f.Type != full.Type {
			t.Errorf("type %v/%v, want %v", typ, f.Type, full.Type)
		}
		if string(f.Event) != full.Event || string(f.Name) != full.Name || !f.Timestamp.Equal(full.Timestamp) {
			t.Errorf("fields %q %q %v, want %q %q %v", f.Event, f.Name, f.Timestamp, full.Event, full.Name, full.Timestamp)
		}
		if (f.Properties == nil) != (full.Properties == nil) {
			t.Errorf("properties %q, want %v", f.Properties, full.Properties)
		}
		if len(f.Enriched) != 2*len(full.Enriched) {
			t.Fatalf("enriched %q, want %v", f.Enriched, full.Enriched)
		}
		for i := 0; i < len(f.Enriched); i += 2 {
			if full.Enriched.Get(string(f.Enriched[i])) != string(f.Enriched[i+1]) {
				t.Errorf("enriched %q=%q, want %q", f.Enriched[i], f.Enriched[i+1], full.Enriched.Get(string(f.Enriched[i])))
			}
		}
		for cut := 0; cut < len(b); cut++ {
			_ = DecodeEventFields(b[:cut], &f) // must not panic on truncated values
		}
	}
}
