package membership

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// The log's change records are binary: the log is written for every enter and exit (a new
// segment's backfill writes one per member), and Pebble's compactions rewrite every byte of it
// several times, so its size is CPU. A record is
//
//	0x01 (format) segment profile(uvarint) kind(1: 1 enter, 0 exit) eventTime wall
//	cause messageId event record traits(uvarint count, strings) due reasonSegment condition
//
// with strings as uvarint length + bytes and times as 0x00 (zero) or 0x01 + zig-zag varint Unix
// nanoseconds. The sequence number is the key's. Records written as JSON (a '{' first byte)
// by earlier versions are still read.
const changeFormat = 0x01

// encodeChange appends c's record to dst.
func encodeChange(dst []byte, c *Change) []byte {
	dst = append(dst, changeFormat)
	dst = appendString(dst, c.Segment)
	dst = binary.AppendUvarint(dst, uint64(c.Profile))
	kind := byte(0)
	if c.Kind == Enter {
		kind = 1
	}
	dst = append(dst, kind)
	dst = appendTime(dst, c.EventTime)
	dst = appendTime(dst, c.Wall)
	r := &c.Reason
	dst = appendString(dst, r.Cause)
	dst = appendString(dst, r.MessageID)
	dst = appendString(dst, r.Event)
	dst = appendString(dst, r.Record)
	dst = binary.AppendUvarint(dst, uint64(len(r.Traits)))
	for _, t := range r.Traits {
		dst = appendString(dst, t)
	}
	dst = appendTime(dst, r.Due)
	dst = appendString(dst, r.Segment)
	return appendString(dst, r.Condition)
}

// decodeChange decodes the record of the change numbered seq (binary or, from earlier
// versions, JSON).
func decodeChange(seq uint64, v []byte) (Change, error) {
	if len(v) > 0 && v[0] == '{' {
		var c Change
		if err := json.Unmarshal(v, &c); err != nil {
			return Change{}, fmt.Errorf("membership: decode change %d: %w", seq, err)
		}
		return c, nil
	}
	if len(v) == 0 || v[0] != changeFormat {
		return Change{}, fmt.Errorf("membership: decode change %d: unknown record format", seq)
	}
	d := decoder{b: v[1:]}
	c := Change{Seq: seq}
	c.Segment = d.string()
	c.Profile = uint32(d.uvarint())
	c.Kind = Exit
	if d.byte() == 1 {
		c.Kind = Enter
	}
	c.EventTime = d.time()
	c.Wall = d.time()
	r := &c.Reason
	r.Cause = d.string()
	r.MessageID = d.string()
	r.Event = d.string()
	r.Record = d.string()
	if n := d.uvarint(); n > 0 && d.err == nil {
		if n > uint64(len(d.b)) {
			d.err = errTruncated
		} else {
			r.Traits = make([]string, 0, n)
			for range n {
				r.Traits = append(r.Traits, d.string())
			}
		}
	}
	r.Due = d.time()
	r.Segment = d.string()
	r.Condition = d.string()
	if d.err == nil && len(d.b) > 0 {
		d.err = errors.New("trailing bytes")
	}
	if d.err != nil {
		return Change{}, fmt.Errorf("membership: decode change %d: %w", seq, d.err)
	}
	return c, nil
}

func appendString(dst []byte, s string) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(s)))
	return append(dst, s...)
}

func appendTime(dst []byte, t time.Time) []byte {
	if t.IsZero() {
		return append(dst, 0)
	}
	return binary.AppendVarint(append(dst, 1), t.UnixNano())
}

var errTruncated = errors.New("truncated record")

// decoder reads a record; the first error sticks and later reads return zero values.
type decoder struct {
	b   []byte
	err error
}

func (d *decoder) uvarint() uint64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.err = errTruncated
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) byte() byte {
	if d.err != nil {
		return 0
	}
	if len(d.b) == 0 {
		d.err = errTruncated
		return 0
	}
	c := d.b[0]
	d.b = d.b[1:]
	return c
}

func (d *decoder) string() string {
	n := d.uvarint()
	if d.err != nil {
		return ""
	}
	if n > uint64(len(d.b)) {
		d.err = errTruncated
		return ""
	}
	s := string(d.b[:n])
	d.b = d.b[n:]
	return s
}

func (d *decoder) time() time.Time {
	switch d.byte() {
	case 0:
		return time.Time{}
	case 1:
		if d.err != nil {
			return time.Time{}
		}
		v, n := binary.Varint(d.b)
		if n <= 0 {
			d.err = errTruncated
			return time.Time{}
		}
		d.b = d.b[n:]
		return time.Unix(0, v).UTC()
	default:
		if d.err == nil {
			d.err = errors.New("bad time marker")
		}
		return time.Time{}
	}
}
