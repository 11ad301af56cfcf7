package membership

import (
	"encoding/binary"
	"errors"
	"sort"
	"time"

	"github.com/segd/segd/internal/store"
)

// Size history resolutions. Every flush that changes a segment writes its size at the minute,
// the hour and the day it happened (the latest value wins in each); reads take minutes for
// the last day, hours for the last 30 days and days before that (downsampled on write).
const (
	resMinute = 'm'
	resHour   = 'h'
	resDay    = 'd'
)

// Point is a segment's size at a time.
type Point struct {
	Time  time.Time `json:"t"`
	Count uint64    `json:"count"`
}

func sizeID(seg string, res byte, t time.Time) string {
	b := append([]byte(seg), 0, res)
	return string(binary.BigEndian.AppendUint64(b, uint64(t.Unix())))
}

func putSize(b *store.DocBatch, ws uint32, seg string, now time.Time, n uint64) {
	now = now.UTC()
	v := binary.BigEndian.AppendUint64(nil, n)
	b.Put(ws, kindSize, sizeID(seg, resMinute, now.Truncate(time.Minute)), v)
	b.Put(ws, kindSize, sizeID(seg, resHour, now.Truncate(time.Hour)), v)
	b.Put(ws, kindSize, sizeID(seg, resDay, now.Truncate(24*time.Hour)), v)
}

// RecordSize writes the segment's current size at now (a backfill or an idle segment's
// daily point); writer only.
func (l *Log) RecordSize(ws uint32, seg string) error {
	b := l.st.NewDocBatch()
	putSize(b, ws, seg, l.opts.Now(), l.Count(ws, seg))
	return b.Commit(true)
}

// History returns the segment's size series up to now: daily points older than 30 days,
// hourly points for the last 30 days (before the last day), minute points for the last day.
func (l *Log) History(ws uint32, seg string) ([]Point, error) {
	now := l.opts.Now().UTC()
	dayAgo, monthAgo := now.Add(-24*time.Hour), now.Add(-30*24*time.Hour)
	var out []Point
	read := func(res byte, from, to time.Time) error {
		return l.st.DocsRange(ws, kindSize, sizeID(seg, res, from), sizeID(seg, res, to), func(id string, v []byte) error {
			if len(v) != 8 || len(id) < 8 {
				return errors.New("membership: bad size point")
			}
			t := time.Unix(int64(binary.BigEndian.Uint64([]byte(id[len(id)-8:]))), 0).UTC()
			out = append(out, Point{Time: t, Count: binary.BigEndian.Uint64(v)})
			return nil
		})
	}
	if err := read(resDay, time.Unix(0, 0), monthAgo.Truncate(24*time.Hour)); err != nil {
		return nil, err
	}
	if err := read(resHour, monthAgo.Truncate(24*time.Hour), dayAgo.Truncate(time.Hour)); err != nil {
		return nil, err
	}
	if err := read(resMinute, dayAgo.Truncate(time.Hour), now.Add(time.Minute)); err != nil {
		return nil, err
	}
	return out, nil
}

// Prune deletes minute points older than a day and hour points older than 30 days.
func (l *Log) Prune(ws uint32, seg string) error {
	now := l.opts.Now().UTC()
	b := l.st.NewDocBatch()
	del := func(res byte, before time.Time) error {
		return l.st.DocsRange(ws, kindSize, sizeID(seg, res, time.Unix(0, 0)), sizeID(seg, res, before), func(id string, _ []byte) error {
			b.Delete(ws, kindSize, id)
			return nil
		})
	}
	if err := del(resMinute, now.Add(-25*time.Hour)); err != nil {
		b.Close()
		return err
	}
	if err := del(resHour, now.Add(-31*24*time.Hour)); err != nil {
		b.Close()
		return err
	}
	return b.Commit(false)
}

func sortMemberships(ms []Membership) {
	sort.Slice(ms, func(i, j int) bool { return ms[i].Seq < ms[j].Seq })
}
