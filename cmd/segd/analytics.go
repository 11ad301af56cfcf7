package main

import (
	"context"
	"time"

	"github.com/RoaringBitmap/roaring/v2"
	"github.com/segd/segd/internal/analytics/compute"
	"github.com/segd/segd/internal/segment"
)

// newAnalytics builds the computed-traits runner over the index, the write pipeline (traits
// are written back like any other write) and the segment and membership services.
func (a *app) newAnalytics() (*compute.Runner, error) {
	return compute.NewRunner(compute.RunnerOptions{
		Indexes: a.views,
		Writer:  a.pipeline,
		Log:     a.store,
		Configs: a.store,
		Workspaces: func() []uint32 {
			all, _ := a.store.Workspaces()
			ids := make([]uint32, len(all))
			for i, w := range all {
				ids[i] = w.ID
			}
			return ids
		},
		Every:       a.opts.AnalyticsEvery,
		Segments:    analyticsSegments{a},
		SizeHistory: analyticsSegments{a},
		Logger:      a.opts.Logger,
	})
}

// analyticsSegments gives the analytics endpoints segments, members and size histories.
type analyticsSegments struct{ a *app }

func (s analyticsSegments) List(ws uint32) ([]compute.SegmentRef, error) {
	all, err := s.a.segments.List(ws)
	if err != nil {
		return nil, err
	}
	out := make([]compute.SegmentRef, len(all))
	for i, x := range all {
		out[i] = compute.SegmentRef{ID: x.ID, Name: x.Name}
	}
	return out, nil
}

func (s analyticsSegments) Members(ws uint32, id string) (*roaring.Bitmap, error) {
	seg, err := s.a.segments.Get(ws, id)
	if err != nil {
		return nil, err
	}
	if seg.Mode == segment.ModeRealtime && s.a.started.Load() {
		return s.a.mem.Members(ws, seg.ID), nil
	}
	return s.a.segments.Members(context.Background(), ws, seg, time.Now())
}

// Entered returns, for each current member, when it last entered (from the change log; members
// that entered before the log began count from the segment's creation).
func (s analyticsSegments) Entered(ws uint32, id string) (map[uint32]time.Time, error) {
	seg, err := s.a.segments.Get(ws, id)
	if err != nil {
		return nil, err
	}
	members, err := s.Members(ws, seg.ID)
	if err != nil {
		return nil, err
	}
	out := make(map[uint32]time.Time, members.GetCardinality())
	it := members.Iterator()
	for it.HasNext() {
		out[it.Next()] = seg.Created
	}
	var after uint64
	for {
		cs, err := s.a.mem.ReadSegment(context.Background(), ws, seg.ID, after, 10000)
		if err != nil {
			return nil, err
		}
		if len(cs) == 0 {
			break
		}
		for _, c := range cs {
			after = c.Seq
			if c.Kind == "enter" && members.Contains(c.Profile) {
				out[c.Profile] = c.EventTime
			}
		}
	}
	return out, nil
}

func (s analyticsSegments) Create(ctx context.Context, ws uint32, name, description, condition string) (string, error) {
	seg, _, err := s.a.segments.Create(ctx, ws, segment.Input{Name: name, Description: &description, Query: condition, Mode: segment.ModeRealtime})
	return seg.ID, err
}

func (s analyticsSegments) SizeHistory(ws uint32, id string) ([]compute.Point, error) {
	seg, err := s.a.segments.Get(ws, id)
	if err != nil {
		return nil, err
	}
	hist, err := s.a.mem.History(ws, seg.ID)
	if err != nil {
		return nil, err
	}
	out := make([]compute.Point, len(hist))
	for i, p := range hist {
		out[i] = compute.Point{At: p.Time, Size: int(p.Count)}
	}
	return out, nil
}
