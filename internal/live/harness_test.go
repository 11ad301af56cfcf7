package live

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/RoaringBitmap/roaring/v2"
	"github.com/cockroachdb/pebble/v2/vfs"

	"github.com/segd/segd/internal/engine"
	"github.com/segd/segd/internal/index"
	"github.com/segd/segd/internal/ingest"
	"github.com/segd/segd/internal/membership"
	"github.com/segd/segd/internal/message"
	"github.com/segd/segd/internal/segment"
	"github.com/segd/segd/internal/store"
)

// clock is a settable test clock.
type clock struct {
	mu   sync.Mutex
	t    time.Time
	real bool // follow the wall clock
}

func (c *clock) Now() time.Time {
	if c.real {
		return time.Now()
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}
func (c *clock) Set(t time.Time)     { c.mu.Lock(); c.t = t; c.mu.Unlock() }
func (c *clock) Add(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

// catalog is an in-memory segment catalog.
type catalog struct {
	mu   sync.Mutex
	segs []segment.Segment
}

func (c *catalog) List(uint32) ([]segment.Segment, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]segment.Segment(nil), c.segs...), nil
}

func (c *catalog) Members(context.Context, uint32, segment.Segment, time.Time) (*roaring.Bitmap, error) {
	return roaring.New(), nil
}

type indexes struct{ ix *index.Index }

func (x indexes) Index(uint32) *index.Index      { return x.ix }
func (x indexes) Location(uint32) *time.Location { return time.UTC }

// env is a store, the write pipeline, an index kept as cmd/segd keeps it, and Live.
type env struct {
	t    testing.TB
	fs   vfs.FS
	st   *store.Store
	ws   uint32
	ix   *index.Index
	cat  *catalog
	clk  *clock
	mem  *membership.Log
	live *Live
	pipe *ingest.Pipeline
	n    int
	// commits counts onCommit calls
	commits int
	// holding makes onCommit keep each commit's changes in held instead of applying them
	holding bool
	held    [][]Change
}

// envCacheProfiles is the cache size of newEnv's Live: small, so tests exercise eviction.
var envCacheProfiles = 64

func newEnv(t testing.TB, fs vfs.FS, clk *clock, cat *catalog, fresh bool) *env {
	t.Helper()
	st, err := store.Open(store.Options{Dir: "/d", FS: fs})
	if err != nil {
		t.Fatal(err)
	}
	e := &env{t: t, fs: fs, st: st, ix: index.New(), cat: cat, clk: clk}
	if fresh {
		w, _, err := st.CreateWorkspace("w", store.Keys{})
		if err != nil {
			t.Fatal(err)
		}
		e.ws = w.ID
	} else {
		w, err := st.WorkspaceByName("w")
		if err != nil {
			t.Fatal(err)
		}
		e.ws = w.ID
		e.loadIndex()
	}
	e.mem, err = membership.Open(membership.Options{Store: st, Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	e.live, err = New(Options{Store: st, Membership: e.mem, Segments: cat, Indexes: indexes{e.ix}, Now: clk.Now, CacheProfiles: envCacheProfiles})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.live.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	e.pipe, err = ingest.NewPipeline(ingest.Options{Store: st, Now: clk.Now, OnCommit: e.onCommit})
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func (e *env) close() {
	e.pipe.Close()
	e.live.Close()
	e.mem.Close()
	e.st.Close()
}

func (e *env) loadIndex() {
	_ = e.st.ScanProfiles(e.ws, func(p *store.Profile) error {
		e.ix.LoadProfile(index.Profile{ID: p.ID, Traits: p.TraitMap()})
		return nil
	})
	_ = e.st.ScanEvents(e.ws, func(pid uint32, _ uint64, m *message.Message) error {
		if ev, ok := indexEvent(pid, m); ok {
			e.ix.AddEvent(ev)
		}
		return nil
	})
	_ = e.st.ScanRecords(e.ws, func(r *store.Record) error {
		e.ix.UpsertRecord(index.Record{Type: r.Type, ID: r.ID, Profile: r.Profile, Time: r.Timestamp, Attrs: r.Attributes})
		return nil
	})
}

// indexEvent mirrors cmd/segd's conversion for the visible kinds.
func indexEvent(pid uint32, m *message.Message) (index.Event, bool) {
	return index.FromMessage(pid, m)
}

// onCommit is what cmd/segd does: index first, then live. Every other commit hands live the
// indexed events as cmd/segd does, the rest leave live to convert them: both ways are
// compared with the batch engine.
func (e *env) onCommit(cs []ingest.Change) {
	e.commits++
	out := make([]Change, 0, len(cs))
	for _, c := range cs {
		lc := Change{WS: c.WS, Profile: c.Profile, Seq: c.Seq, Event: c.Event, Traits: c.Traits, Record: c.Record}
		switch c.Kind {
		case ingest.ProfileCreated:
			e.ix.SetTraits(c.Profile, nil)
			lc.Kind = ProfileCreated
		case ingest.TraitsSet:
			e.ix.SetTraits(c.Profile, c.Traits)
			lc.Kind = TraitsSet
		case ingest.EventAdded:
			if ev, ok := indexEvent(c.Profile, c.Event); ok {
				e.ix.AddEvent(ev)
				if e.commits%2 == 0 {
					lc.Indexed = &ev
				}
			}
			lc.Kind = EventAdded
		case ingest.Merged:
			e.ix.Merge(c.Merge.From, c.Merge.Into)
			if p, err := e.st.Profile(c.WS, c.Merge.Into); err == nil {
				e.ix.LoadProfile(index.Profile{ID: p.ID, Traits: p.TraitMap()})
			}
			lc.Kind, lc.Profile, lc.MergeFrom = Merged, c.Merge.Into, c.Merge.From
		case ingest.Erased:
			e.ix.Erase(c.Profile)
			lc.Kind = Erased
		case ingest.RecordUpserted:
			e.ix.UpsertRecord(index.Record{Type: c.Record.Type, ID: c.Record.ID, Profile: c.Record.Profile, Time: c.Record.Timestamp, Attrs: c.Record.Attributes})
			lc.Kind = RecordUpserted
		case ingest.RecordDeleted:
			e.ix.DeleteRecord(c.Record.Type, c.Record.ID)
			lc.Kind = RecordDeleted
		}
		out = append(out, lc)
	}
	if e.holding {
		e.held = append(e.held, out)
		return
	}
	e.live.Apply(out)
}

func (e *env) send(ms ...message.Message) {
	e.t.Helper()
	for i := range ms {
		e.n++
		ms[i].MessageID = fmt.Sprintf("m%d", e.n)
		ms[i].ReceivedAt = e.clk.Now()
	}
	if _, err := e.pipe.Append(context.Background(), e.ws, ms); err != nil {
		e.t.Fatal(err)
	}
}

func (e *env) track(user, name string, at time.Time, props map[string]any) message.Message {
	return message.Message{Type: message.Track, UserID: user, Event: name, Timestamp: at, Properties: props}
}

func (e *env) sync() {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := e.live.Sync(ctx); err != nil {
		e.t.Fatal(err)
	}
}

func (e *env) addSegment(id, name, query string) {
	seg := segment.Segment{ID: id, Name: name, Query: query, Mode: segment.ModeRealtime, Version: 1}
	e.cat.mu.Lock()
	var old *segment.Segment
	for i := range e.cat.segs {
		if e.cat.segs[i].ID == id {
			o := e.cat.segs[i]
			old = &o
			seg.Version = o.Version + 1
			e.cat.segs[i] = seg
		}
	}
	if old == nil {
		e.cat.segs = append(e.cat.segs, seg)
	}
	e.cat.mu.Unlock()
	e.live.SegmentChanged(e.ws, old, &seg)
}

func (e *env) pid(user string) uint32 {
	e.t.Helper()
	p, err := e.st.Lookup(e.ws, "userId", user)
	if err != nil {
		e.t.Fatalf("lookup %s: %v", user, err)
	}
	return p
}

// batch evaluates every catalog segment with the engine at at ("in segment" resolved by
// batch evaluation too).
func (e *env) batch(at time.Time) map[string]*roaring.Bitmap {
	e.t.Helper()
	segs, _ := e.cat.List(e.ws)
	out := map[string]*roaring.Bitmap{}
	byName := map[string]segment.Segment{}
	for _, s := range segs {
		byName[s.Name] = s
	}
	var eval func(s segment.Segment) *roaring.Bitmap
	eval = func(s segment.Segment) *roaring.Bitmap {
		if bm, ok := out[s.ID]; ok {
			return bm
		}
		c, err := compile(s)
		if err != nil {
			e.t.Fatal(err)
		}
		bm, _, err := engine.New(e.ix).Evaluate(context.Background(), c.tree, engine.Options{At: at, Segment: s.Name,
			Segments: func(name string) (*roaring.Bitmap, error) { return eval(byName[name]), nil }})
		if err != nil {
			e.t.Fatalf("batch %s: %v", s.ID, err)
		}
		out[s.ID] = bm
		return bm
	}
	for _, s := range segs {
		eval(s)
	}
	return out
}
