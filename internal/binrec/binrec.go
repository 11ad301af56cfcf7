// Package binrec writes and reads the small binary records segd stores where JSON would cost
// too much (stored events, membership changes): strings as a uvarint length and the bytes,
// times as a flag byte (0 zero time, 1 set) followed, when set, by a zig-zag varint of Unix
// nanoseconds. It knows nothing of what the records hold.
package binrec

import (
	"encoding/binary"
	"time"
)

// AppendString appends s as a uvarint length and its bytes.
func AppendString(dst []byte, s string) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(s)))
	return append(dst, s...)
}

// AppendTime appends t as 0 (the zero time) or 1 and its Unix nanoseconds.
func AppendTime(dst []byte, t time.Time) []byte {
	if t.IsZero() {
		return append(dst, 0)
	}
	return binary.AppendVarint(append(dst, 1), t.UnixNano())
}

// Reader reads a record. The first malformed field sets the error it was made with; every
// later read then returns a zero value, so a decoder checks Err once at the end.
type Reader struct {
	b       []byte
	err     error
	corrupt error
}

// NewReader reads b, reporting a malformed record as corrupt.
func NewReader(b []byte, corrupt error) Reader { return Reader{b: b, corrupt: corrupt} }

// Err is the error of the first malformed field, or nil.
func (r *Reader) Err() error { return r.err }

// Len is the number of bytes not read yet.
func (r *Reader) Len() int { return len(r.b) }

// Fail marks the record malformed (for checks of the caller's own).
func (r *Reader) Fail() {
	if r.err == nil {
		r.err = r.corrupt
	}
}

// Uvarint reads a uvarint.
func (r *Reader) Uvarint() uint64 {
	if r.err != nil {
		return 0
	}
	v, n := binary.Uvarint(r.b)
	if n <= 0 {
		r.Fail()
		return 0
	}
	r.b = r.b[n:]
	return v
}

// Byte reads one byte.
func (r *Reader) Byte() byte {
	if r.err != nil || len(r.b) == 0 {
		r.Fail()
		return 0
	}
	c := r.b[0]
	r.b = r.b[1:]
	return c
}

// Bytes reads a string's bytes without copying them (valid as long as the record is).
func (r *Reader) Bytes() []byte {
	n := r.Uvarint()
	if r.err != nil || n > uint64(len(r.b)) {
		r.Fail()
		return nil
	}
	out := r.b[:n]
	r.b = r.b[n:]
	return out
}

// String reads a string (a copy).
func (r *Reader) String() string { return string(r.Bytes()) }

// Time reads a time (UTC).
func (r *Reader) Time() time.Time {
	if !r.timeSet() {
		return time.Time{}
	}
	v, n := binary.Varint(r.b)
	if n <= 0 {
		r.Fail()
		return time.Time{}
	}
	r.b = r.b[n:]
	return time.Unix(0, v).UTC()
}

// SkipTime reads past a time.
func (r *Reader) SkipTime() {
	if !r.timeSet() {
		return
	}
	if _, n := binary.Varint(r.b); n <= 0 {
		r.Fail()
	} else {
		r.b = r.b[n:]
	}
}

// timeSet reads a time's flag byte: whether nanoseconds follow.
func (r *Reader) timeSet() bool {
	switch r.Byte() {
	case 0:
		return false
	case 1:
		return r.err == nil
	}
	r.Fail()
	return false
}
