package store

import (
	"encoding/json"
	"reflect"
	"testing"
	"time"

	"github.com/segd/segd/internal/message"
)

func TestEventCodecRoundTrip(t *testing.T) {
	ts := time.Date(2025, 3, 4, 5, 6, 7, 890, time.UTC)
	cases := []message.Message{
		{Type: message.Track, MessageID: "m1", UserID: "u", Event: "Order Completed", Timestamp: ts, ReceivedAt: ts.Add(time.Second),
			Properties: map[string]any{"revenue": 12.5, "big": 1e22, "tiny": 1e-9, "neg": -3.0, "s": "quote\" back\\ nl\n tab\t ctl\x01 ü €\u2028", "n": nil, "b": true,
				"list": []any{1.0, "x", false, map[string]any{"deep": []any{}}}, "obj": map[string]any{}}},
		{Type: message.Alias, MessageID: "m2", UserID: "u", PreviousID: "p", Timestamp: ts, OriginalTimestamp: ts, SentAt: ts, ReceivedAt: ts,
			Context: map[string]any{"ip": "1.2.3.4"}, Integrations: map[string]any{"All": true}, Extra: map[string]any{"version": 2.0},
			Enriched: map[string]string{"browser": "Safari", "os": "iOS"}},
		{Type: message.Page, MessageID: "", AnonymousID: "a", Name: "Home", Category: "Docs", Timestamp: time.Unix(-5, 0).UTC(), ReceivedAt: ts},
		{Type: message.Identify, UserID: "u", Traits: map[string]any{"email": "x@y.z"}, Timestamp: ts, ReceivedAt: ts},
		{Type: message.Group, UserID: "u", GroupID: "g", Timestamp: ts, ReceivedAt: ts},
		{Type: message.Screen, UserID: "u", Name: "S", Timestamp: ts, ReceivedAt: ts},
	}
	for i, m := range cases {
		b := AppendEventValue(nil, &m)
		var got message.Message
		if err := DecodeEventValue(b, &got); err != nil {
			t.Fatalf("case %d: %v", i, err)
		}
		want, _ := json.Marshal(m)
		have, _ := json.Marshal(got)
		if string(want) != string(have) {
			t.Errorf("case %d:\n got %s\nwant %s", i, have, want)
		}
		if !got.Timestamp.Equal(m.Timestamp) || !reflect.DeepEqual(got.Enriched, m.Enriched) && len(m.Enriched) > 0 {
			t.Errorf("case %d: times or enrichment differ", i)
		}
	}
}

func FuzzDecodeEventValue(f *testing.F) {
	ts := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	f.Add(AppendEventValue(nil, &message.Message{Type: message.Track, MessageID: "m", UserID: "u", Event: "E", Timestamp: ts, ReceivedAt: ts,
		Properties: map[string]any{"a": 1.0, "b": []any{"x"}}, Enriched: map[string]string{"k": "v"}}))
	f.Add([]byte{1, 2})
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		var m message.Message
		if err := DecodeEventValue(b, &m); err != nil {
			return
		}
		// whatever decodes must re-encode and decode to the same message
		var again message.Message
		if err := DecodeEventValue(AppendEventValue(nil, &m), &again); err != nil {
			t.Fatalf("re-decode: %v", err)
		}
		x, _ := json.Marshal(m)
		y, _ := json.Marshal(again)
		if string(x) != string(y) {
			t.Fatalf("round trip changed the message:\n%s\n%s", x, y)
		}
	})
}
