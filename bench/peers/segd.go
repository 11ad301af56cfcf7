package main

import (
	"context"
	"fmt"
	"runtime"
	"time"

	"github.com/RoaringBitmap/roaring/v2"

	"github.com/segd/segd/internal/demodata"
	"github.com/segd/segd/internal/engine"
	"github.com/segd/segd/internal/index"
	"github.com/segd/segd/internal/segql/parser"
)

// segdEngine is segd's in-process index and batch engine, fed the same rows as the peers.
type segdEngine struct {
	ix  *index.Index
	eng *engine.Engine
	at  time.Time

	// Build figures: events indexed, time spent inside the index (not generating), and the
	// Go heap the index holds after a collection.
	events      int
	buildTime   time.Duration // AddEvents plus the first Acquire (sorting): the event rebuild
	profileTime time.Duration // LoadProfile of every customer
	recordTime  time.Duration // UpsertRecord of every record
	heapBytes   uint64
}

func newSegd(at time.Time) *segdEngine {
	ix := index.New()
	return &segdEngine{ix: ix, eng: engine.New(ix), at: at}
}

func (s *segdEngine) Name() string { return "segd" }

func (s *segdEngine) Close() error { return nil }

func heapInUse() uint64 {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

// Load feeds profiles, events (in batches, through AddEvents as the rebuild path does) and
// records to the index. Only the time inside index calls counts as build time; the first
// Acquire, which sorts the tables, is part of it.
func (s *segdEngine) Load(ctx context.Context, opts demodata.Options) (time.Duration, error) {
	// Generate on this goroutine: generator workers would compete with the index for the
	// cores while its build time is measured.
	opts.Workers = 1
	start := time.Now()
	before := heapInUse()
	const batch = 8192
	evs := make([]index.Event, 0, batch)
	props := make([]map[string]any, batch)
	for i := range props {
		props[i] = make(map[string]any, 8)
	}
	flush := func() {
		t := time.Now()
		s.ix.AddEvents(evs)
		s.buildTime += time.Since(t)
		s.events += len(evs)
		evs = evs[:0]
	}
	err := demodata.Generate(ctx, opts, demodata.Sink{
		Customer: func(c *demodata.Customer) error {
			tr := c.Traits()
			t := time.Now()
			s.ix.LoadProfile(index.Profile{ID: c.Index, Traits: tr})
			s.profileTime += time.Since(t)
			return nil
		},
		Event: func(r *demodata.EventRow) error {
			var kind index.EventKind
			switch r.Kind {
			case demodata.KindTrack:
				kind = index.Track
			case demodata.KindPage:
				kind = index.Page
			case demodata.KindScreen:
				kind = index.Screen
			default:
				return nil // identify calls set traits; profiles are loaded whole
			}
			p := props[len(evs)]
			clear(p)
			row := *r
			row.Has &= benchProps
			row.Properties(p)
			evs = append(evs, index.Event{Profile: r.Customer, Kind: kind, Name: r.Name, Time: time.UnixMilli(r.Time).UTC(), Props: p})
			if len(evs) == batch {
				flush()
			}
			return nil
		},
		Record: func(r *demodata.Record) error {
			t := time.Now()
			s.ix.UpsertRecord(index.Record{Type: r.Type, ID: r.ID, Profile: r.Customer, Time: r.Timestamp, Attrs: r.Attributes})
			s.recordTime += time.Since(t)
			return nil
		},
	})
	if err != nil {
		return 0, err
	}
	flush()
	t := time.Now()
	s.ix.Optimize()
	s.ix.Acquire().Release()
	s.buildTime += time.Since(t)
	evs, props = nil, nil
	if after := heapInUse(); after > before {
		s.heapBytes = after - before
	}
	return time.Since(start), nil
}

// Run parses and evaluates the segment; "in segment" evaluates the referenced segments too,
// so the timing includes them as the peers' SQL does.
func (s *segdEngine) Run(ctx context.Context, seg Segment, _ string) (*roaring.Bitmap, error) {
	return s.evaluate(ctx, seg, 0)
}

func (s *segdEngine) evaluate(ctx context.Context, seg Segment, depth int) (*roaring.Bitmap, error) {
	if depth > 8 {
		return nil, fmt.Errorf("segment %s: in segment nested too deep", seg.Name)
	}
	tree, err := parser.ParseExpr(seg.SegQL)
	if err != nil {
		return nil, fmt.Errorf("parse %s: %w", seg.Name, err)
	}
	bm, _, err := s.eng.Evaluate(ctx, tree, engine.Options{
		At:       s.at,
		Location: time.UTC,
		Segment:  seg.Name,
		Segments: func(name string) (*roaring.Bitmap, error) {
			ref, ok := segmentByName(name)
			if !ok {
				return nil, fmt.Errorf("unknown segment %q", name)
			}
			return s.evaluate(ctx, ref, depth+1)
		},
	})
	return bm, err
}
