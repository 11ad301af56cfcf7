package binrec

import (
	"errors"
	"testing"
	"time"
)

var errBad = errors.New("bad record")

func TestRoundTripAndMalformed(t *testing.T) {
	at := time.Date(2026, 1, 2, 3, 4, 5, 6, time.UTC)
	rec := AppendString(nil, "héllo")
	rec = AppendTime(rec, at)
	rec = AppendTime(rec, time.Time{})
	rec = AppendTime(rec, time.Unix(-7, 1).UTC())
	rec = AppendString(rec, "")
	rec = append(rec, 9)

	r := NewReader(rec, errBad)
	if s := r.String(); s != "héllo" {
		t.Fatalf("string %q", s)
	}
	if got := r.Time(); !got.Equal(at) || got.Location() != time.UTC {
		t.Fatalf("time %v", got)
	}
	if got := r.Time(); !got.IsZero() {
		t.Fatalf("zero time read as %v", got)
	}
	r.SkipTime()
	if s := r.Bytes(); len(s) != 0 {
		t.Fatalf("empty string read as %q", s)
	}
	if b := r.Byte(); b != 9 || r.Len() != 0 || r.Err() != nil {
		t.Fatalf("byte %d, %d left, err %v", b, r.Len(), r.Err())
	}

	// every truncation is the reader's error, and it sticks
	for n := range len(rec) - 1 {
		r := NewReader(rec[:n], errBad)
		_ = r.String()
		r.Time()
		r.Time()
		r.SkipTime()
		r.Bytes()
		r.Byte()
		if !errors.Is(r.Err(), errBad) {
			t.Fatalf("truncated to %d of %d bytes: err %v", n, len(rec), r.Err())
		}
		if r.Uvarint() != 0 || r.String() != "" || !r.Time().IsZero() {
			t.Fatal("reads after an error return zero values")
		}
	}
	// a time flag other than 0 or 1 is malformed
	r = NewReader([]byte{2, 0}, errBad)
	if r.Time(); !errors.Is(r.Err(), errBad) {
		t.Fatalf("time flag 2: err %v", r.Err())
	}
}
