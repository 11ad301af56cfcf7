// Package membership owns the state of segment membership: per workspace and segment the
// member bitmap, a durable enter/exit change log with one sequence number per workspace (so
// consumers read "everything after SEQ" as one range scan), per-segment and per-profile
// views of that log, and each segment's size history.
//
// It stores everything as store documents (kinds "mlog", "mseg", "mprof", "members",
// "msize", "mlast") and knows nothing of SegQL, evaluation or HTTP: it must not import
// engine, live, segment, ingest or httpapi. One writer (the live evaluator) stages changes and
// flushes them with one fsync per step; any number of readers read bitmaps and the log.
//
// Durability: the log is the truth. Bitmaps are snapshotted with the sequence number they are
// current to (periodically and at Close); Open loads the snapshots and replays the log after
// them.
package membership

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/RoaringBitmap/roaring/v2"

	"github.com/segd/segd/internal/store"
)

// Document kinds owned by this package.
const (
	kindLog     = "mlog"    // seq(8) → change record (codec.go)
	kindSegLog  = "mseg"    // segment 0x00 seq(8) → empty (the record is the log's)
	kindProfLog = "mprof"   // pid(4) seq(8) → empty (the record is the log's)
	kindMembers = "members" // segment → seq(8) roaring bitmap
	kindSize    = "msize"   // segment 0x00 resolution(1) unix seconds(8) → count(8)
)

// Kinds of change.
const (
	Enter = "enter"
	Exit  = "exit"
)

// Reason says what caused a change.
type Reason struct {
	// Cause is "event", "traits", "record", "timer", "backfill", "schedule", "merge", "erase",
	// "segment" (a segment it depends on changed) or "deleted" (the segment was removed).
	Cause     string    `json:"cause"`
	MessageID string    `json:"messageId,omitempty"`
	Event     string    `json:"event,omitempty"`
	Record    string    `json:"record,omitempty"`
	Traits    []string  `json:"traits,omitempty"`
	Due       time.Time `json:"due,omitzero"`
	Segment   string    `json:"segment,omitempty"`
	// Condition is the top-level condition (canonical text) whose value flipped, when one did.
	Condition string `json:"condition,omitempty"`
}

// Change is one enter or exit of a profile in a segment.
type Change struct {
	Seq       uint64    `json:"seq"`
	Segment   string    `json:"segment"` // segment id
	Profile   uint32    `json:"profile"`
	Kind      string    `json:"kind"`      // Enter or Exit
	EventTime time.Time `json:"eventTime"` // event time of the cause (the timer's due time, the evaluation time)
	Wall      time.Time `json:"wallTime"`
	Reason    Reason    `json:"reason"`
}

// Options configure Open.
type Options struct {
	Store *store.Store
	// Now is the wall clock.
	Now func() time.Time
	// SnapshotEvery is how many changes of a segment trigger a bitmap snapshot.
	SnapshotEvery int
	Logger        *slog.Logger
}

func (o *Options) setDefaults() {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.SnapshotEvery == 0 {
		o.SnapshotEvery = 50000
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
}

// Validate reports a configuration error.
func (o *Options) Validate() error {
	if o.Store == nil {
		return errors.New("membership: Options.Store is nil")
	}
	if o.SnapshotEvery < 0 {
		return errors.New("membership: SnapshotEvery must not be negative")
	}
	return nil
}

// Log is the membership state of every workspace. Stage and Flush must be called from one
// goroutine (the writer); every other method is safe for concurrent use.
type Log struct {
	opts Options
	st   *store.Store

	mu     sync.RWMutex
	ws     map[uint32]*wsState
	notify chan struct{} // closed and replaced after each flush that wrote changes

	pending []pendingChange // staged, not yet durable; writer only

	synced  chan struct{} // closed when the last flush's fsync has completed (under mu)
	syncErr error         // the first failed fsync of a flush (under mu)
}

type wsState struct {
	next     uint64                     // next sequence number to assign
	durable  uint64                     // last durable sequence number
	segs     map[string]*roaring.Bitmap // current members (staged changes applied)
	sinceSnp map[string]int             // changes since the last snapshot
}

type pendingChange struct {
	ws uint32
	c  Change
}

// Open loads every workspace's bitmaps (snapshot + log replay).
func Open(opts Options) (*Log, error) {
	opts.setDefaults()
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	l := &Log{opts: opts, st: opts.Store, ws: map[uint32]*wsState{}, notify: make(chan struct{})}
	all, err := l.st.Workspaces()
	if err != nil {
		return nil, fmt.Errorf("membership: list workspaces: %w", err)
	}
	for _, w := range all {
		if _, err := l.load(w.ID); err != nil {
			return nil, err
		}
	}
	return l, nil
}

func seqID(seq uint64) string { return string(binary.BigEndian.AppendUint64(nil, seq)) }

func segLogID(seg string, seq uint64) string {
	return seg + "\x00" + seqID(seq)
}

func profLogID(pid uint32, seq uint64) string {
	return string(binary.BigEndian.AppendUint64(binary.BigEndian.AppendUint32(nil, pid), seq))
}

// load reads ws's state from the store; the caller must not hold mu.
func (l *Log) load(ws uint32) (*wsState, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if s := l.ws[ws]; s != nil {
		return s, nil
	}
	s := &wsState{next: 1, segs: map[string]*roaring.Bitmap{}, sinceSnp: map[string]int{}}
	snapSeq := map[string]uint64{}
	err := l.st.Docs(ws, kindMembers, func(id string, v []byte) error {
		if len(v) < 8 {
			return fmt.Errorf("membership: snapshot of %s is truncated", id)
		}
		bm := roaring.New()
		if _, err := bm.FromBuffer(append([]byte(nil), v[8:]...)); err != nil {
			return fmt.Errorf("membership: decode snapshot of %s: %w", id, err)
		}
		s.segs[id] = bm
		snapSeq[id] = binary.BigEndian.Uint64(v)
		return nil
	})
	if err != nil {
		return nil, err
	}
	// The whole log is replayed (a segment without a snapshot needs all of it); entries a
	// segment's snapshot already holds are skipped.
	err = l.st.DocsRange(ws, kindLog, seqID(0), "", func(id string, v []byte) error {
		c, err := decodeChange(idSeq(id), v)
		if err != nil {
			return err
		}
		s.next = c.Seq + 1
		if sq, ok := snapSeq[c.Segment]; ok && c.Seq <= sq {
			return nil
		}
		bm := s.segs[c.Segment]
		if bm == nil {
			bm = roaring.New()
			s.segs[c.Segment] = bm
		}
		if c.Kind == Enter {
			bm.Add(c.Profile)
		} else {
			bm.Remove(c.Profile)
		}
		s.sinceSnp[c.Segment]++
		return nil
	})
	if err != nil {
		return nil, err
	}
	s.durable = s.next - 1
	l.ws[ws] = s
	return s, nil
}

func (l *Log) state(ws uint32) *wsState {
	l.mu.RLock()
	s := l.ws[ws]
	l.mu.RUnlock()
	if s != nil {
		return s
	}
	s, err := l.load(ws)
	if err != nil {
		// A workspace created after Open has no data yet; a read error here is an I/O
		// failure the next Flush will report.
		l.opts.Logger.Error("membership: load workspace", "ws", ws, "err", err)
		l.mu.Lock()
		defer l.mu.Unlock()
		if s = l.ws[ws]; s == nil {
			s = &wsState{next: 1, segs: map[string]*roaring.Bitmap{}, sinceSnp: map[string]int{}}
			l.ws[ws] = s
		}
	}
	return s
}

// Members returns a copy of the segment's current members (empty for an unknown segment).
func (l *Log) Members(ws uint32, seg string) *roaring.Bitmap {
	s := l.state(ws)
	l.mu.RLock()
	defer l.mu.RUnlock()
	if bm := s.segs[seg]; bm != nil {
		return bm.Clone()
	}
	return roaring.New()
}

// Contains reports whether pid is a current member of the segment. (The real-time evaluator
// asks on both processors for every evaluation: one read lock, not state's and a second.)
func (l *Log) Contains(ws uint32, seg string, pid uint32) bool {
	l.mu.RLock()
	s := l.ws[ws]
	if s == nil {
		l.mu.RUnlock()
		s = l.state(ws)
		l.mu.RLock()
	}
	bm := s.segs[seg]
	in := bm != nil && bm.Contains(pid)
	l.mu.RUnlock()
	return in
}

// ContainsEach sets in[i] to whether pid is a member of segs[i], under one lock: an
// evaluation reads a profile's membership of many segments at once.
func (l *Log) ContainsEach(ws uint32, segs []string, pid uint32, in []bool) {
	s := l.state(ws)
	l.mu.RLock()
	for i, seg := range segs {
		bm := s.segs[seg]
		in[i] = bm != nil && bm.Contains(pid)
	}
	l.mu.RUnlock()
}

// Count returns the number of current members.
func (l *Log) Count(ws uint32, seg string) uint64 {
	s := l.state(ws)
	l.mu.RLock()
	defer l.mu.RUnlock()
	if bm := s.segs[seg]; bm != nil {
		return bm.GetCardinality()
	}
	return 0
}

// Tracked lists the segments with state in ws.
func (l *Log) Tracked(ws uint32) []string {
	s := l.state(ws)
	l.mu.RLock()
	defer l.mu.RUnlock()
	out := make([]string, 0, len(s.segs))
	for id := range s.segs {
		out = append(out, id)
	}
	return out
}

// Stage records that pid enters (enter=true) or exits the segment, if that changes its state;
// it returns the staged change and whether there was one. The bitmap changes at once (readers
// see it); the change is durable and visible to Read after the next Flush.
func (l *Log) Stage(ws uint32, seg string, pid uint32, enter bool, eventTime time.Time, why Reason) (Change, bool) {
	s := l.state(ws)
	l.mu.Lock()
	defer l.mu.Unlock()
	bm := s.segs[seg]
	if bm == nil {
		bm = roaring.New()
		s.segs[seg] = bm
	}
	if bm.Contains(pid) == enter {
		return Change{}, false
	}
	kind := Exit
	if enter {
		bm.Add(pid)
		kind = Enter
	} else {
		bm.Remove(pid)
	}
	c := Change{Seq: s.next, Segment: seg, Profile: pid, Kind: kind, EventTime: eventTime.UTC(), Wall: l.opts.Now().UTC(), Reason: why}
	s.next++
	l.pending = append(l.pending, pendingChange{ws: ws, c: c})
	return c, true
}

// Pending is the number of staged changes.
func (l *Log) Pending() int { return len(l.pending) }

// Flush writes the staged changes, size points and due snapshots in one synced batch and wakes
// the waiters; it returns once they are durable. extra, if not nil, adds writes of the caller to
// the same batch.
func (l *Log) Flush(extra func(*store.DocBatch)) error {
	if err := l.FlushNoWait(extra, nil); err != nil {
		return err
	}
	return l.Synced()
}

// FlushNoWait is Flush without waiting for the fsync: it returns once the batch is applied to
// the store, and the changes become durable (LastSeq, Read, Wait and Notify see them) when the
// fsync completes, in the order of the flushes. So the writer goes on evaluating while a slow
// disk syncs. done, if not nil, is called after that fsync with its result, on another
// goroutine, in flush order; a flush without staged changes is not synced and does not call
// it. A failed fsync stops every later flush from becoming durable (the
// store refuses writes until segd restarts).
func (l *Log) FlushNoWait(extra func(*store.DocBatch), done func(error)) error {
	b := l.st.NewDocBatch()
	if extra != nil {
		extra(b)
	}
	if len(l.pending) == 0 {
		return b.Commit(false) // nothing to make durable or to wake anyone for
	}
	now := l.opts.Now()
	type segRef struct {
		ws  uint32
		seg string
	}
	touched := map[segRef]bool{}
	last := map[uint32]uint64{}
	var rec []byte
	for i := range l.pending {
		p := &l.pending[i]
		rec = encodeChange(rec[:0], &p.c)
		b.Put(p.ws, kindLog, seqID(p.c.Seq), rec)
		b.Put(p.ws, kindSegLog, segLogID(p.c.Segment, p.c.Seq), nil)
		b.Put(p.ws, kindProfLog, profLogID(p.c.Profile, p.c.Seq), nil)
		touched[segRef{p.ws, p.c.Segment}] = true
		last[p.ws] = p.c.Seq
	}
	l.mu.Lock()
	var snapped []segRef
	for r := range touched {
		s := l.ws[r.ws]
		bm := s.segs[r.seg]
		putSize(b, r.ws, r.seg, now, bm.GetCardinality())
		s.sinceSnp[r.seg]++
		if s.sinceSnp[r.seg] >= l.opts.SnapshotEvery {
			l.putSnapshot(b, r.ws, r.seg, s.next-1, bm)
			snapped = append(snapped, r)
		}
	}
	l.mu.Unlock()
	wait, err := b.CommitNoWait()
	if err != nil {
		return err
	}
	l.mu.Lock()
	for _, r := range snapped {
		l.ws[r.ws].sinceSnp[r.seg] = 0
	}
	l.mu.Unlock()
	l.pending = l.pending[:0]
	l.afterSync(wait, last, done)
	return nil
}

// afterSync waits, on its own goroutine and after every earlier flush's, for wait; then it
// makes the changes up to last (sequence number per workspace) durable, wakes the waiters and
// calls done. The writer calls it.
func (l *Log) afterSync(wait func() error, last map[uint32]uint64, done func(error)) {
	l.mu.Lock()
	prev := l.synced
	next := make(chan struct{})
	l.synced = next
	l.mu.Unlock()
	go func() {
		if prev != nil {
			<-prev
		}
		err := wait()
		l.mu.Lock()
		if err != nil && l.syncErr == nil {
			l.syncErr = err
			l.opts.Logger.Error("membership: a flush did not become durable; no later change will until segd restarts", "err", err)
		}
		if l.syncErr == nil && len(last) > 0 {
			for ws, seq := range last {
				l.ws[ws].durable = max(l.ws[ws].durable, seq)
			}
			close(l.notify)
			l.notify = make(chan struct{})
		}
		failed := l.syncErr
		l.mu.Unlock()
		if done != nil {
			done(failed)
		}
		close(next)
	}()
}

// AfterSynced calls fn, on another goroutine, once every flush so far is durable (or failed).
// The writer calls it.
func (l *Log) AfterSynced(fn func()) {
	l.afterSync(func() error { return nil }, nil, func(error) { fn() })
}

// Synced waits until every flush so far is durable, and returns the first failed fsync.
func (l *Log) Synced() error {
	l.mu.RLock()
	ch := l.synced
	l.mu.RUnlock()
	if ch != nil {
		<-ch
	}
	l.mu.RLock()
	defer l.mu.RUnlock()
	return l.syncErr
}

// putSnapshot adds the bitmap as current to seq; the caller holds mu. Pending changes of the
// segment after seq are impossible here: snapshots are taken at flush time, when every staged
// change is in the same batch.
func (l *Log) putSnapshot(b *store.DocBatch, ws uint32, seg string, seq uint64, bm *roaring.Bitmap) {
	bm.RunOptimize()
	buf, err := bm.ToBytes()
	if err != nil {
		panic("membership: serialise bitmap: " + err.Error())
	}
	b.Put(ws, kindMembers, seg, append(binary.BigEndian.AppendUint64(nil, seq), buf...))
}

// Snapshot writes every segment's bitmap (Close does it; call it after a large backfill).
// Writer only, with nothing staged.
func (l *Log) Snapshot() error {
	if len(l.pending) > 0 {
		if err := l.Flush(nil); err != nil {
			return err
		}
	}
	b := l.st.NewDocBatch()
	l.mu.Lock()
	for ws, s := range l.ws {
		for seg, bm := range s.segs {
			if s.sinceSnp[seg] == 0 {
				continue
			}
			l.putSnapshot(b, ws, seg, s.next-1, bm)
			s.sinceSnp[seg] = 0
		}
	}
	l.mu.Unlock()
	return b.Commit(true)
}

// Close flushes staged changes and snapshots the bitmaps.
func (l *Log) Close() error { return l.Snapshot() }

// Drop forgets a deleted segment's state: its bitmap snapshot goes; the log keeps its history.
// The caller stages exits for the members first if consumers should see them.
func (l *Log) Drop(ws uint32, seg string) error {
	s := l.state(ws)
	l.mu.Lock()
	delete(s.segs, seg)
	delete(s.sinceSnp, seg)
	l.mu.Unlock()
	return l.st.DeleteDoc(ws, kindMembers, seg)
}

// LastSeq is the last durable sequence number of ws (0 when the log is empty).
func (l *Log) LastSeq(ws uint32) uint64 {
	s := l.state(ws)
	l.mu.RLock()
	defer l.mu.RUnlock()
	return s.durable
}

// Notify returns a channel closed at the next flush that writes changes (of any workspace).
func (l *Log) Notify() <-chan struct{} {
	l.mu.RLock()
	defer l.mu.RUnlock()
	return l.notify
}

// Wait blocks until ws has a durable change after afterSeq or ctx is done.
func (l *Log) Wait(ctx context.Context, ws uint32, afterSeq uint64) error {
	for {
		ch := l.Notify()
		if l.LastSeq(ws) > afterSeq {
			return nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

var errEnough = errors.New("enough")

// idSeq is the sequence number at the end of a log or view entry's id.
func idSeq(id string) uint64 {
	if len(id) < 8 {
		return 0
	}
	var seq uint64
	for i := len(id) - 8; i < len(id); i++ {
		seq = seq<<8 | uint64(id[i])
	}
	return seq
}

// readRange reads changes from the log (kindLog) or one of its views, whose entries are
// empty and point at the log's record by their sequence number (views written by earlier
// versions hold a copy of the record).
func readRange(ctx context.Context, st *store.Store, ws uint32, kind, from, to string, limit int, keep func(*Change) bool) ([]Change, error) {
	var out []Change
	err := st.DocsRange(ws, kind, from, to, func(id string, v []byte) error {
		if err := ctx.Err(); err != nil {
			return err
		}
		seq := idSeq(id)
		if len(v) == 0 && kind != kindLog {
			rec, err := st.Doc(ws, kindLog, seqID(seq))
			if err != nil {
				return fmt.Errorf("membership: change %d of a %s view: %w", seq, kind, err)
			}
			v = rec
		}
		c, err := decodeChange(seq, v)
		if err != nil {
			return err
		}
		if keep != nil && !keep(&c) {
			return nil
		}
		out = append(out, c)
		if limit > 0 && len(out) >= limit {
			return errEnough
		}
		return nil
	})
	if errors.Is(err, errEnough) {
		err = nil
	}
	return out, err
}

// Read returns up to limit durable changes of ws with sequence numbers after afterSeq, in
// order (limit <= 0: all).
func (l *Log) Read(ctx context.Context, ws uint32, afterSeq uint64, limit int) ([]Change, error) {
	durable := l.LastSeq(ws)
	return readRange(ctx, l.st, ws, kindLog, seqID(afterSeq+1), seqID(durable+1), limit, nil)
}

// ReadSegment is Read restricted to one segment.
func (l *Log) ReadSegment(ctx context.Context, ws uint32, seg string, afterSeq uint64, limit int) ([]Change, error) {
	durable := l.LastSeq(ws)
	return readRange(ctx, l.st, ws, kindSegLog, segLogID(seg, afterSeq+1), segLogID(seg, durable+1), limit, nil)
}

// ReadProfile is Read restricted to one profile.
func (l *Log) ReadProfile(ctx context.Context, ws uint32, pid uint32, afterSeq uint64, limit int) ([]Change, error) {
	durable := l.LastSeq(ws)
	return readRange(ctx, l.st, ws, kindProfLog, profLogID(pid, afterSeq+1), profLogID(pid, durable+1), limit, nil)
}

// Membership is one current membership of a profile.
type Membership struct {
	Segment string    `json:"segment"`
	Entered time.Time `json:"enteredAt"` // wall time of the last enter
	Seq     uint64    `json:"seq"`
}

// ProfileSegments returns pid's current memberships among segs with the time of the enter
// that began each.
func (l *Log) ProfileSegments(ctx context.Context, ws uint32, pid uint32) ([]Membership, error) {
	hist, err := l.ReadProfile(ctx, ws, pid, 0, 0)
	if err != nil {
		return nil, err
	}
	lastEnter := map[string]Change{}
	for _, c := range hist {
		if c.Kind == Enter {
			lastEnter[c.Segment] = c
		}
	}
	var out []Membership
	for seg, c := range lastEnter {
		if l.Contains(ws, seg, pid) {
			out = append(out, Membership{Segment: seg, Entered: c.Wall, Seq: c.Seq})
		}
	}
	sortMemberships(out)
	return out, nil
}
