package store

import (
	"bytes"
	"encoding/json"
	"errors"
	"log/slog"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/vfs"

	"github.com/segd/segd/internal/message"
)

const testUA = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1"

func webEvent(id string, ctx map[string]any) message.Message {
	ts := time.Date(2025, 3, 4, 5, 6, 7, 0, time.UTC)
	return message.Message{Type: message.Track, MessageID: id, UserID: "u", Event: "Viewed", Timestamp: ts, ReceivedAt: ts,
		Properties: map[string]any{"price": 12.5}, Context: ctx, Enriched: message.EnrichedFromMap(map[string]string{"browser": "Safari"})}
}

func sameJSON(t *testing.T, what string, got, want any) {
	t.Helper()
	g, _ := json.Marshal(got)
	w, _ := json.Marshal(want)
	if string(g) != string(w) {
		t.Errorf("%s:\n got %s\nwant %s", what, g, w)
	}
}

// Long device-describing context members are stored once per workspace and referred to by
// number; the event reads back as sent, and identifiers in the context stay in the event.
func TestSharedContextMembers(t *testing.T) {
	fs := vfs.NewMem()
	st, err := Open(Options{Dir: "/d", FS: fs})
	if err != nil {
		t.Fatal(err)
	}
	ws := uint32(7)
	device := map[string]any{"id": "device-0123456789abcdef", "advertisingId": "ad-0123456789abcdef", "model": "iPhone15,2"}
	msgs := []message.Message{
		webEvent("m1", map[string]any{"userAgent": testUA, "ip": "203.0.113.7", "locale": "vi-VN",
			"library": map[string]any{"name": "analytics.js", "version": "next-1.70.0"}, "device": device}),
		webEvent("m2", map[string]any{"userAgent": testUA, "library": map[string]any{"version": "next-1.70.0", "name": "analytics.js"},
			"screen": map[string]any{"width": 390.0, "height": 844.0, "density": 3.0}}),
		webEvent("m3", map[string]any{"userAgent": "curl/8.0"}), // too short to share
		webEvent("m4", map[string]any{"userAgent": testUA}),
		webEvent("m5", nil),
	}
	var values [][]byte
	for i := range msgs {
		v, err := st.AppendEvent(nil, ws, &msgs[i])
		if err != nil {
			t.Fatal(err)
		}
		values = append(values, v)
	}
	for i, v := range values {
		shares := msgs[i].Context["userAgent"] == testUA
		if got := v[0] == eventFormatShared; got != shares {
			t.Errorf("message %d: format %d", i, v[0])
		}
		if shares && bytes.Contains(v, []byte("iPhone OS")) {
			t.Errorf("message %d holds the user agent", i)
		}
		if i == 0 && !bytes.Contains(v, []byte("device-0123456789abcdef")) {
			t.Errorf("context.device must stay in the event")
		}
		var got message.Message
		if err := st.decodeEvent(ws, v, &got); err != nil {
			t.Fatalf("message %d: %v", i, err)
		}
		sameJSON(t, msgs[i].MessageID, got, msgs[i])
	}
	// one text each: the user agent, the library (both member orders), the screen
	if n := len(st.texts.byID[ws]); n != 3 {
		t.Errorf("dictionary has %d texts: %q", n, st.texts.byID[ws])
	}
	if s := st.Stats(); s.SharedTexts != 3 || s.FullTextDictionaries != 0 {
		t.Errorf("stats: %d shared texts, %d full dictionaries", s.SharedTexts, s.FullTextDictionaries)
	}
	// another workspace has its own dictionary: its ids do not resolve here
	if err := st.decodeEvent(ws+1, values[0], new(message.Message)); !errors.Is(err, errCorruptEvent) {
		t.Errorf("decoding with another workspace's dictionary: %v, want errCorruptEvent", err)
	}
	if err := DecodeEventValue(values[0], new(message.Message)); !errors.Is(err, errCorruptEvent) {
		t.Errorf("DecodeEventValue of a value with shared texts: %v, want errCorruptEvent", err)
	}
	// the partial decoder reads format 3 like format 2
	var f message.EventFields
	if err := DecodeEventFields(values[1], &f); err != nil || string(f.Event) != "Viewed" || len(f.Enriched) != 2 {
		t.Errorf("DecodeEventFields: %v %q %q", err, f.Event, f.Enriched)
	}
	// after a reopen the dictionary is read back; new texts continue its numbering
	st = reopen(t, st, fs)
	defer st.Close()
	for i, v := range values {
		var got message.Message
		if err := st.decodeEvent(ws, v, &got); err != nil {
			t.Fatalf("after reopen, message %d: %v", i, err)
		}
		sameJSON(t, "after reopen "+msgs[i].MessageID, got, msgs[i])
	}
	m := webEvent("m6", map[string]any{"userAgent": testUA + " extra"})
	if _, err := st.AppendEvent(nil, ws, &m); err != nil {
		t.Fatal(err)
	}
	if n := len(st.texts.byID[ws]); n != 4 {
		t.Errorf("dictionary has %d texts after a new one", n)
	}
}

// A full dictionary stores new members in their events.
func TestSharedTextsFull(t *testing.T) {
	defer func(n int) { maxSharedTexts = n }(maxSharedTexts)
	maxSharedTexts = 1
	var log bytes.Buffer
	st, err := Open(Options{Dir: "/d", FS: vfs.NewMem(), Logger: slog.New(slog.NewTextHandler(&log, nil))})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	for i, ua := range []string{testUA, testUA + " other", testUA + " third"} {
		m := webEvent("m", map[string]any{"userAgent": ua})
		v, err := st.AppendEvent(nil, 1, &m)
		if err != nil {
			t.Fatal(err)
		}
		if shared := v[0] == eventFormatShared; shared != (i == 0) {
			t.Errorf("user agent %d: format %d", i, v[0])
		}
		var got message.Message
		if err := st.decodeEvent(1, v, &got); err != nil {
			t.Fatal(err)
		}
		sameJSON(t, "full dictionary", got, m)
	}
	if s := st.Stats(); s.SharedTexts != 1 || s.FullTextDictionaries != 1 {
		t.Errorf("stats: %d shared texts, %d full dictionaries", s.SharedTexts, s.FullTextDictionaries)
	}
	if n := strings.Count(log.String(), "dictionary of shared context members is full"); n != 1 {
		t.Errorf("the full dictionary was logged %d times, want once:\n%s", n, log.String())
	}
}

// A dictionary text is written before the event that refers to it: once that event is
// durable, so is the text, even if the text's own write was not synced.
func TestSharedTextDurableWithItsEvent(t *testing.T) {
	fs := vfs.NewCrashableMem()
	st, err := Open(Options{Dir: "/d", FS: fs})
	if err != nil {
		t.Fatal(err)
	}
	m := webEvent("m1", map[string]any{"userAgent": testUA})
	v, err := st.AppendEvent(nil, 1, &m)
	if err != nil {
		t.Fatal(err)
	}
	if err := st.db.Set([]byte("Ztest-event"), v, pebble.Sync); err != nil {
		t.Fatal(err)
	}
	crashed, err := Open(Options{Dir: "/d", FS: fs.CrashClone(vfs.CrashCloneCfg{})})
	if err != nil {
		t.Fatal(err)
	}
	defer crashed.Close()
	st.Close()
	stored, closer, err := crashed.db.Get([]byte("Ztest-event"))
	if err != nil {
		t.Fatal(err)
	}
	defer closer.Close()
	var got message.Message
	if err := crashed.decodeEvent(1, stored, &got); err != nil {
		t.Fatalf("after a crash: %v", err)
	}
	sameJSON(t, "after a crash", got, m)
}

// A page call's context.page that repeats its properties is rebuilt from them; one that
// differs in any member, has another member, or a non-scalar value is stored as it is.
func TestContextPageCopiesProperties(t *testing.T) {
	st, err := Open(Options{Dir: "/d", FS: vfs.NewMem()})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ts := time.Date(2025, 3, 4, 5, 6, 7, 0, time.UTC)
	page := func(props, ctxPage map[string]any) message.Message {
		return message.Message{Type: message.Page, MessageID: "p", AnonymousID: "a", Name: "Home", Timestamp: ts, ReceivedAt: ts,
			Properties: props, Context: map[string]any{"locale": "en-US", "page": ctxPage}}
	}
	props := func() map[string]any {
		return map[string]any{"path": "/shoes", "url": "https://shop.example.com/shoes?c=red", "title": "Shoes",
			"referrer": "https://www.google.com/", "search": "?c=red", "extra": 3.0}
	}
	copied := props()
	delete(copied, "extra")
	cases := []struct {
		name   string
		m      message.Message
		copies bool
	}{
		{"copy", page(props(), copied), true},
		{"subset", page(props(), map[string]any{"path": "/shoes", "title": "Shoes"}), true},
		{"differs", page(props(), map[string]any{"path": "/shoes", "title": "Other"}), false},
		{"other member", page(props(), map[string]any{"path": "/shoes", "hash": "#top"}), false},
		{"property absent", page(map[string]any{"path": "/shoes"}, map[string]any{"path": "/shoes", "title": nil}), false},
		{"null both", page(map[string]any{"title": nil}, map[string]any{"title": nil}), true},
		{"zero signs", page(map[string]any{"search": 0.0}, map[string]any{"search": math.Copysign(0, -1)}), false},
		{"object", page(map[string]any{"search": map[string]any{}}, map[string]any{"search": map[string]any{}}), false},
		{"empty page", page(props(), map[string]any{}), false},
	}
	for _, c := range cases {
		v, err := st.AppendEvent(nil, 1, &c.m)
		if err != nil {
			t.Fatal(err)
		}
		if got := v[0] == eventFormatShared && v[len(v)-1] != 0; got != c.copies {
			t.Errorf("%s: page left out %v, want %v", c.name, got, c.copies)
		}
		if c.copies && bytes.Contains(v, []byte(`"page"`)) {
			t.Errorf("%s: the value still holds context.page", c.name)
		}
		var got message.Message
		if err := st.decodeEvent(1, v, &got); err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		sameJSON(t, c.name, got, c.m)
		if z, ok := got.Context["page"].(map[string]any)["search"].(float64); ok && c.name == "zero signs" && !math.Signbit(z) {
			t.Errorf("zero signs: context.page.search lost its sign")
		}
	}
}
