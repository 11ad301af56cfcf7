package main

import (
	"context"
	"fmt"
	"time"

	"github.com/RoaringBitmap/roaring/v2"
	"github.com/segd/segd/internal/analytics/compute"
	"github.com/segd/segd/internal/segment"
	"github.com/segd/segd/internal/ui"
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

// uiAnalytics feeds the UI's analytics page from the last computed result.
type uiAnalytics struct{ a *app }

func (u uiAnalytics) RFM(ctx context.Context, ws uint32) (ui.RFMGrid, error) {
	var g ui.RFMGrid
	res := u.a.runner.Last(ws)
	if res == nil {
		return g, u.notComputed(ws)
	}
	for i := range res.Profiles {
		r, f := int(res.R[i]), int(res.F[i])
		if r < 1 || r > 5 || f < 1 || f > 5 {
			continue
		}
		c := &g.Cells[r-1][f-1] // row = R score, column = F score, as the page labels them
		c.Profiles++
		c.Revenue += res.Monetary[i]
	}
	for ri := 0; ri < 5; ri++ {
		for fi := 0; fi < 5; fi++ {
			g.Cells[ri][fi].Query = fmt.Sprintf("rfm_r = %d and rfm_f = %d", ri+1, fi+1)
		}
	}
	return g, nil
}

// notComputed says why there is no result yet: a computation running (and its phase) or none
// started.
func (u uiAnalytics) notComputed(ws uint32) error {
	if p := u.a.runner.Progress(ws); p.Running {
		return fmt.Errorf("%w: computing since %s (%s)", ui.ErrNotComputed, p.Started.Format(time.TimeOnly), p.Phase)
	}
	return fmt.Errorf("%w: start it with POST /api/v1/analytics/recompute", ui.ErrNotComputed)
}

func (u uiAnalytics) Distributions(ctx context.Context, ws uint32) ([]ui.Distribution, error) {
	res := u.a.runner.Last(ws)
	if res == nil {
		return nil, u.notComputed(ws)
	}
	churn := ui.Distribution{Name: "Churn probability"}
	for i := 0; i < 10; i++ {
		churn.Buckets = append(churn.Buckets, ui.Bucket{Label: fmt.Sprintf("%d–%d%%", i*10, i*10+10)})
	}
	for _, p := range res.PAlive {
		b := int((1 - p) * 10)
		churn.Buckets[min(max(b, 0), 9)].Count++
	}
	edges := []float64{0, 25, 50, 100, 250, 500, 1000, 2500}
	clv := ui.Distribution{Name: "CLV (12 months)"}
	for i, e := range edges {
		label := fmt.Sprintf("%.0f+", e)
		if i+1 < len(edges) {
			label = fmt.Sprintf("%.0f–%.0f", e, edges[i+1])
		}
		clv.Buckets = append(clv.Buckets, ui.Bucket{Label: label})
	}
	for _, v := range res.CLV12m {
		k := 0
		for k+1 < len(edges) && v >= edges[k+1] {
			k++
		}
		clv.Buckets[k].Count++
	}
	return []ui.Distribution{churn, clv}, nil
}
