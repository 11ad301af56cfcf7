package message

import (
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

func seedCorpus(f *testing.F) [][]byte {
	var seeds [][]byte
	files, _ := filepath.Glob(filepath.Join(fixtureDir, "*.json"))
	more, _ := filepath.Glob("testdata/*.json")
	for _, p := range append(files, more...) {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		seeds = append(seeds, b)
	}
	seeds = append(seeds,
		[]byte(`{"batch":[{"type":"track","userId":1,"event":"e","originalTimestamp":"2024-05-01T10:00:00Z"}],"sentAt":"2024-05-01T10:00:05+02:00"}`),
		[]byte(`{"batch":[null,{},[],"x",{"type":"alias"}]}`),
		[]byte(`{"userId":"u","event":"e","context":{"userAgent":"curl/8"},"timestamp":"2015-2-02T00:30:08.276Z"}`),
	)
	return seeds
}

// checkRoundTrip re-encodes an accepted message in wire form and decodes it again: the result
// must be the same message.
func checkRoundTrip(t *testing.T, m Message) {
	t.Helper()
	wire, err := m.WireJSON()
	if err != nil {
		t.Fatalf("WireJSON: %v", err)
	}
	again, err := DecodeMessage(wire, m.ReceivedAt, Limits{MaxMessageBytes: 1 << 30, MaxBatchBytes: 1 << 30, MaxBatchMessages: 1})
	if err != nil {
		t.Fatalf("re-decoding %s: %v", wire, err)
	}
	a, b := m, again
	a.WriteKey = ""
	if !reflect.DeepEqual(a, b) {
		t.Fatalf("round trip changed the message:\n was %+v\n now %+v\nwire %s", a, b, wire)
	}
}

func FuzzDecodeBatch(f *testing.F) {
	for _, s := range seedCorpus(f) {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		b, err := DecodeBatch(body, recv, DefaultLimits())
		if err != nil {
			if _, ok := err.(*Error); !ok {
				t.Fatalf("error %T is not *Error", err)
			}
			return
		}
		for _, r := range b.Rejections {
			if r.Err == nil || r.Err.Code == "" {
				t.Fatalf("empty rejection %+v", r)
			}
		}
		for _, m := range b.Messages {
			if m.MessageID == "" || (m.UserID == "" && m.AnonymousID == "") {
				t.Fatalf("accepted an invalid message %+v", m)
			}
			checkRoundTrip(t, m)
		}
	})
}

func FuzzDecodeCall(f *testing.F) {
	for _, s := range seedCorpus(f) {
		f.Add(s, uint8(1))
	}
	types := []Type{Identify, Track, Page, Screen, Group, Alias}
	f.Fuzz(func(t *testing.T, body []byte, ti uint8) {
		typ := types[int(ti)%len(types)]
		m, err := DecodeCall(typ, body, recv, DefaultLimits())
		if err != nil {
			if _, ok := err.(*Error); !ok {
				t.Fatalf("error %T is not *Error", err)
			}
			return
		}
		if m.Type != typ {
			t.Fatalf("type %q, want %q", m.Type, typ)
		}
		checkRoundTrip(t, m)
	})
}
