package membership

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/segd/segd/internal/binrec"
)

// The log's change records are binary: the log is written for every enter and exit (a new
// segment's backfill writes one per member), and Pebble's compactions rewrite every byte of it
// several times, so its size is CPU. A record is
//
//	0x01 (format) segment profile(uvarint) kind(1: 1 enter, 0 exit) eventTime wall
//	cause messageId event record traits(uvarint count, strings) due reasonSegment condition
//
// with strings and times as package binrec writes them (a uvarint length and the bytes; 0x00
// for the zero time, 0x01 and a zig-zag varint of Unix nanoseconds otherwise). The sequence
// number is the key's. Records written as JSON (a '{' first byte) by earlier versions are
// still read.
const changeFormat = 0x01

// encodeChange appends c's record to dst.
func encodeChange(dst []byte, c *Change) []byte {
	dst = append(dst, changeFormat)
	dst = binrec.AppendString(dst, c.Segment)
	dst = binary.AppendUvarint(dst, uint64(c.Profile))
	kind := byte(0)
	if c.Kind == Enter {
		kind = 1
	}
	dst = append(dst, kind)
	dst = binrec.AppendTime(dst, c.EventTime)
	dst = binrec.AppendTime(dst, c.Wall)
	r := &c.Reason
	dst = binrec.AppendString(dst, r.Cause)
	dst = binrec.AppendString(dst, r.MessageID)
	dst = binrec.AppendString(dst, r.Event)
	dst = binrec.AppendString(dst, r.Record)
	dst = binary.AppendUvarint(dst, uint64(len(r.Traits)))
	for _, t := range r.Traits {
		dst = binrec.AppendString(dst, t)
	}
	dst = binrec.AppendTime(dst, r.Due)
	dst = binrec.AppendString(dst, r.Segment)
	return binrec.AppendString(dst, r.Condition)
}

var errCorruptChange = errors.New("malformed record")

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
	d := binrec.NewReader(v[1:], errCorruptChange)
	c := Change{Seq: seq}
	c.Segment = d.String()
	c.Profile = uint32(d.Uvarint())
	c.Kind = Exit
	if d.Byte() == 1 {
		c.Kind = Enter
	}
	c.EventTime = d.Time()
	c.Wall = d.Time()
	r := &c.Reason
	r.Cause = d.String()
	r.MessageID = d.String()
	r.Event = d.String()
	r.Record = d.String()
	if n := d.Uvarint(); n > uint64(d.Len()) {
		d.Fail()
	} else if n > 0 {
		r.Traits = make([]string, 0, n)
		for range n {
			r.Traits = append(r.Traits, d.String())
		}
	}
	r.Due = d.Time()
	r.Segment = d.String()
	r.Condition = d.String()
	if d.Len() > 0 {
		d.Fail() // trailing bytes
	}
	if err := d.Err(); err != nil {
		return Change{}, fmt.Errorf("membership: decode change %d: %w", seq, err)
	}
	return c, nil
}
