package importer

import (
	"context"
	"os"
	"testing"
)

func checkSums(t *testing.T, r Report) {
	t.Helper()
	if r.Lines != r.Imported+r.Skipped || int64(len(r.Errors)) != r.Skipped {
		t.Fatalf("report does not add up: %+v", r)
	}
	for i := 1; i < len(r.Errors); i++ {
		if r.Errors[i].Line <= r.Errors[i-1].Line {
			t.Fatalf("error lines not increasing: %v", r.Errors)
		}
	}
}

func FuzzEventsJSONL(f *testing.F) {
	seed, _ := os.ReadFile("testdata/events.jsonl")
	f.Add(seed)
	f.Add([]byte("\n\n{\"type\":\"track\"}\r\n{"))
	f.Fuzz(func(t *testing.T, data []byte) {
		sink := &dedupSink{}
		r, err := Events(context.Background(), bytesReader(data), sink, Options{BatchSize: 3, Workers: 2})
		if err != nil {
			t.Fatal(err)
		}
		checkSums(t, r)
		if len(sink.order) > int(r.Imported) {
			t.Fatalf("sink got %d messages, report says %d", len(sink.order), r.Imported)
		}
	})
}

func FuzzProfilesCSV(f *testing.F) {
	seed, _ := os.ReadFile("testdata/profiles.csv")
	f.Add(seed)
	f.Add([]byte("email,n\na@b,1\n,2\n\"x"))
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := Profiles(context.Background(), bytesReader(data), &dedupSink{}, Options{BatchSize: 2})
		if err != nil {
			return // header problems refuse the whole file
		}
		checkSums(t, r)
	})
}
