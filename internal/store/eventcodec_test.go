package store

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/segd/segd/internal/binrec"
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
			Enriched: message.EnrichedFromMap(map[string]string{"browser": "Safari", "os": "iOS"})},
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
		Properties: map[string]any{"a": 1.0, "b": []any{"x"}}, Enriched: message.EnrichedFromMap(map[string]string{"k": "v"})}))
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

// TestEnrichedKeysCoded checks that every enriched field segd derives has a code, that coded
// and uncoded names both come back, and that codes make the value shorter than full names.
func TestEnrichedKeysCoded(t *testing.T) {
	for _, k := range []string{message.EnrichDeviceType, message.EnrichBrowser, message.EnrichBrowserVersion,
		message.EnrichOS, message.EnrichOSVersion, message.EnrichAcquisitionSource, message.EnrichAcquisitionMedium,
		message.EnrichAcquisitionCampaign, message.EnrichAcquisitionTerm, message.EnrichAcquisitionContent,
		message.EnrichPageURL, message.EnrichPagePath, message.EnrichReferrer, message.EnrichReferrerDomain,
		message.EnrichLocale, message.EnrichTimezone, message.EnrichIP} {
		if enrichedCode(k) == 0 {
			t.Errorf("enriched field %q has no code", k)
		}
	}
	ts := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	m := message.Message{Type: message.Page, AnonymousID: "a", Timestamp: ts, ReceivedAt: ts,
		Enriched: message.EnrichedFromMap(map[string]string{"acquisition_campaign": "spring", "referrer_domain": "example.org", "not_coded": "x"})}
	b := AppendEventValue(nil, &m)
	var got message.Message
	if err := DecodeEventValue(b, &got); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got.Enriched, m.Enriched) {
		t.Errorf("enriched %v, want %v", got.Enriched, m.Enriched)
	}
	if n := len(b); n >= len(eventValueFormat1(&m)) {
		t.Errorf("coded value is %d bytes, no shorter than format 1's %d", n, len(eventValueFormat1(&m)))
	}
}

// eventValueFormat1 encodes m as format 1 did: every enriched name in full.
func eventValueFormat1(m *message.Message) []byte {
	plain := *m
	plain.Enriched = nil
	b := AppendEventValue(nil, &plain)
	b = b[:len(b)-1] // the enriched count, 0
	b[0] = eventFormat1
	b = binary.AppendUvarint(b, uint64(len(m.Enriched)))
	for _, f := range m.Enriched {
		b = binrec.AppendString(binrec.AppendString(b, f.Key), f.Value)
	}
	return b
}

// TestReadsEventFormat1 checks that values written before enriched names were coded still
// decode, fully and partially.
func TestReadsEventFormat1(t *testing.T) {
	ts := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	m := message.Message{Type: message.Track, MessageID: "m", UserID: "u", Event: "E", Timestamp: ts, ReceivedAt: ts,
		Properties: map[string]any{"a": 1.0}, Context: map[string]any{"ip": "1.2.3.4"},
		Enriched: message.EnrichedFromMap(map[string]string{"browser": "Safari", "ip": "1.2.3.4"})}
	old := eventValueFormat1(&m)
	var got message.Message
	if err := DecodeEventValue(old, &got); err != nil {
		t.Fatal(err)
	}
	want, _ := json.Marshal(m)
	have, _ := json.Marshal(got)
	if string(want) != string(have) {
		t.Errorf("format 1:\n got %s\nwant %s", have, want)
	}
	var f message.EventFields
	if err := DecodeEventFields(old, &f); err != nil {
		t.Fatal(err)
	}
	if len(f.Enriched) != 4 || m.Enriched.Get(string(f.Enriched[0])) != string(f.Enriched[1]) || m.Enriched.Get(string(f.Enriched[2])) != string(f.Enriched[3]) {
		t.Errorf("format 1 fields: enriched %q", f.Enriched)
	}
	if typ, ok := StoredEventType(old); !ok || typ != message.Track {
		t.Errorf("format 1 type %v %v", typ, ok)
	}
}

// TestFormatVersionUpgrade checks that version 1 and 2 directories are upgraded in place and
// that an unknown version is refused.
func TestFormatVersionUpgrade(t *testing.T) {
	fs := vfs.NewMem()
	setVersion := func(v uint32) {
		t.Helper()
		st, err := Open(Options{Dir: "/d", FS: fs})
		if err != nil {
			t.Fatal(err)
		}
		if err := st.db.Set(keyFormatVersion, binary.BigEndian.AppendUint32(nil, v), nil); err != nil {
			t.Fatal(err)
		}
		if err := st.Close(); err != nil {
			t.Fatal(err)
		}
	}
	for _, old := range []uint32{1, 2} {
		setVersion(old)
		st, err := Open(Options{Dir: "/d", FS: fs})
		if err != nil {
			t.Fatalf("version %d must open: %v", old, err)
		}
		v, closer, err := st.db.Get(keyFormatVersion)
		if err != nil || binary.BigEndian.Uint32(v) != FormatVersion {
			t.Fatalf("version after upgrade from %d: %x %v", old, v, err)
		}
		closer.Close()
		st.Close()
	}
	setVersion(FormatVersion + 1)
	if _, err := Open(Options{Dir: "/d", FS: fs}); !errors.Is(err, ErrFormat) {
		t.Fatalf("a newer version must be refused with ErrFormat, got %v", err)
	}
}

// TestUnknownEnrichedCodeIsCorrupt: a code past the table is refused, not read as some name.
func TestUnknownEnrichedCodeIsCorrupt(t *testing.T) {
	ts := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	b := AppendEventValue(nil, &message.Message{Type: message.Track, Event: "E", Timestamp: ts, ReceivedAt: ts,
		Enriched: message.EnrichedFromMap(map[string]string{"os": "iOS"})})
	code := len(b) - 5 // ... 1 (count), code, 3 "iOS"
	if b[code] != byte(enrichedCode("os")) {
		t.Fatalf("layout changed: byte %d is %d", code, b[code])
	}
	b[code] = byte(len(enrichedKeys) + 1)
	var m message.Message
	if err := DecodeEventValue(b, &m); !errors.Is(err, errCorruptEvent) {
		t.Errorf("DecodeEventValue: %v, want errCorruptEvent", err)
	}
	var f message.EventFields
	if err := DecodeEventFields(b, &f); !errors.Is(err, errCorruptEvent) {
		t.Errorf("DecodeEventFields: %v, want errCorruptEvent", err)
	}
}
