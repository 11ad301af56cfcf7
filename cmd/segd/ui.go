package main

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"sync"
	"time"

	"github.com/RoaringBitmap/roaring/v2"
	"github.com/segd/segd/internal/engine"
	"github.com/segd/segd/internal/segql/ast"
	"github.com/segd/segd/internal/segql/check"

	"github.com/segd/segd/internal/destination"
	"github.com/segd/segd/internal/membership"
	"github.com/segd/segd/internal/segment"
	"github.com/segd/segd/internal/ui"
)

// newUI builds the web UI over the real services.
func (a *app) newUI() (*ui.UI, error) {
	ad, err := ui.NewAdapter(ui.AdapterOptions{Store: a.store, Indexes: a.views, Catalog: &uiCatalog{a: a}})
	if err != nil {
		return nil, err
	}
	a.uiData = ad
	segs := &uiSegments{a: a}
	return ui.New(ui.Options{Backend: ad, Segments: segs, SizeHistory: segs, LiveFeed: segs,
		Destinations: uiDestinations{a.dests}, Analytics: uiAnalytics{a}, Logger: a.opts.Logger})
}

// uiSegments serves the UI's segment pages from the segment service and live membership.
type uiSegments struct{ a *app }

func (u *uiSegments) size(ctx context.Context, ws uint32, s segment.Segment) uint64 {
	if s.Mode == segment.ModeRealtime && u.a.started.Load() {
		return u.a.mem.Count(ws, s.ID)
	}
	n, _, err := u.a.segments.Size(ctx, ws, s)
	if err != nil {
		return 0
	}
	return n
}

func (u *uiSegments) row(ctx context.Context, ws uint32, s segment.Segment) ui.SegmentRow {
	r := ui.SegmentRow{Name: s.Name, Description: s.Description, Tags: s.Tags, Mode: s.Mode,
		Size: u.size(ctx, ws, s), Updated: s.Updated}
	if hist, err := u.a.mem.History(ws, s.ID); err == nil && len(hist) > 0 {
		r.Spark = dailySizes(hist, 7, time.Now())
		if len(r.Spark) > 0 {
			d := int64(r.Size) - int64(r.Spark[0])
			r.Change7d = &d
		}
	}
	if cfgs, err := u.a.dests.List(ws); err == nil {
		for _, c := range cfgs {
			for _, sid := range c.Segments {
				if sid == s.ID || sid == s.Name {
					r.Destinations = append(r.Destinations, c.Name)
				}
			}
		}
	}
	return r
}

// dailySizes returns the size at the end of each of the last n days, oldest first.
func dailySizes(hist []membership.Point, n int, now time.Time) []uint64 {
	out := make([]uint64, 0, n)
	for d := n - 1; d >= 0; d-- {
		end := now.Add(-time.Duration(d) * 24 * time.Hour)
		var v uint64
		for _, p := range hist {
			if !p.Time.After(end) {
				v = p.Count
			}
		}
		out = append(out, v)
	}
	return out
}

func (u *uiSegments) List(ctx context.Context, ws uint32) ([]ui.SegmentRow, error) {
	all, err := u.a.segments.List(ws)
	if err != nil {
		return nil, err
	}
	out := make([]ui.SegmentRow, len(all))
	for i, s := range all {
		out[i] = u.row(ctx, ws, s)
	}
	return out, nil
}

func (u *uiSegments) Get(ctx context.Context, ws uint32, name string) (ui.SegmentDetail, error) {
	s, err := u.a.segments.Get(ws, name)
	if err != nil {
		return ui.SegmentDetail{}, err
	}
	d := ui.SegmentDetail{SegmentRow: u.row(ctx, ws, s), Query: s.Query}
	vs, _ := u.a.segments.Versions(ws, s.ID)
	for _, v := range vs {
		d.Versions = append(d.Versions, ui.SegmentVersion{Version: v.Version, Query: v.Query, Mode: v.Mode, Saved: v.Updated})
	}
	sort.Slice(d.Versions, func(i, j int) bool { return d.Versions[i].Version > d.Versions[j].Version })
	return d, nil
}

func (u *uiSegments) Save(ctx context.Context, ws uint32, in ui.SegmentInput) error {
	desc := in.Description
	si := segment.Input{Name: in.Name, Description: &desc, Query: in.Query, Mode: in.Mode, Tags: in.Tags}
	if _, err := u.a.segments.Get(ws, in.Name); err == nil {
		_, _, err := u.a.segments.Update(ctx, ws, in.Name, si)
		return err
	} else if !errors.Is(err, segment.ErrNotFound) {
		return err
	}
	_, _, err := u.a.segments.Create(ctx, ws, si)
	return err
}

func (u *uiSegments) Members(ctx context.Context, ws uint32, name string, after uint32, limit int) ([]uint32, uint64, error) {
	s, err := u.a.segments.Get(ws, name)
	if err != nil {
		return nil, 0, err
	}
	var ids []uint32
	var total uint64
	if s.Mode == segment.ModeRealtime && u.a.started.Load() {
		bm := u.a.mem.Members(ws, s.ID)
		total = bm.GetCardinality()
		it := bm.Iterator()
		it.AdvanceIfNeeded(after + 1)
		for it.HasNext() && len(ids) < limit {
			ids = append(ids, it.Next())
		}
		return ids, total, nil
	}
	bm, err := u.a.segments.Members(ctx, ws, s, time.Now())
	if err != nil {
		return nil, 0, err
	}
	it := bm.Iterator()
	it.AdvanceIfNeeded(after + 1)
	for it.HasNext() && len(ids) < limit {
		ids = append(ids, it.Next())
	}
	return ids, bm.GetCardinality(), nil
}

func (u *uiSegments) SizeHistory(ctx context.Context, ws uint32, name string, since time.Time) ([]ui.SizePoint, error) {
	s, err := u.a.segments.Get(ws, name)
	if err != nil {
		return nil, err
	}
	hist, err := u.a.mem.History(ws, s.ID)
	if err != nil {
		return nil, err
	}
	var out []ui.SizePoint
	for _, p := range hist {
		if !p.Time.Before(since) {
			out = append(out, ui.SizePoint{Time: p.Time, Size: p.Count})
		}
	}
	return out, nil
}

// Subscribe streams a segment's enter/exit changes from now on.
func (u *uiSegments) Subscribe(ctx context.Context, ws uint32, name string) (<-chan ui.FeedEntry, error) {
	s, err := u.a.segments.Get(ws, name)
	if err != nil {
		return nil, err
	}
	ch := make(chan ui.FeedEntry, 64)
	after := u.a.mem.LastSeq(ws)
	go func() {
		defer close(ch)
		for {
			if err := u.a.mem.Wait(ctx, ws, after); err != nil {
				return
			}
			cs, err := u.a.mem.Read(ctx, ws, after, 500)
			if err != nil {
				return
			}
			for _, c := range cs {
				after = c.Seq
				if c.Segment != s.ID {
					continue
				}
				select {
				case ch <- ui.FeedEntry{Time: c.Wall, Profile: c.Profile, Enter: c.Kind == "enter", Reason: describeReason(c.Reason)}:
				case <-ctx.Done():
					return
				}
			}
		}
	}()
	return ch, nil
}

func describeReason(r membership.Reason) string {
	switch {
	case r.Event != "":
		return fmt.Sprintf("%s %q", r.Cause, r.Event)
	case r.Condition != "":
		return r.Cause + ": " + r.Condition
	}
	return r.Cause
}

// uiDestinations lists destinations with their status.
type uiDestinations struct{ m *destination.Manager }

func (d uiDestinations) Destinations(ctx context.Context, ws uint32) ([]ui.DestinationRow, error) {
	cfgs, err := d.m.List(ws)
	if err != nil {
		return nil, err
	}
	out := make([]ui.DestinationRow, 0, len(cfgs))
	for _, c := range cfgs {
		row := ui.DestinationRow{ID: c.ID, Name: c.Name, Kind: c.Kind}
		if st, err := d.m.Status(ctx, ws, c.ID); err == nil {
			row.Status = st.State
			row.Lag = time.Duration(st.LagSeconds * float64(time.Second))
			row.Failures = int(st.Failures)
			row.DeadLetters = st.DeadLetters
		}
		out = append(out, row)
	}
	return out, nil
}

func (d uiDestinations) Replay(ctx context.Context, ws uint32, id string) error {
	_, err := d.m.Replay(ctx, ws, id)
	return err
}

// uiCatalog lets the UI's editor and builder check and evaluate with the segment service.
type uiCatalog struct {
	a  *app
	mu sync.Mutex
	// the checker schema is rebuilt at most every two seconds per workspace
	cache map[uint32]cachedSchema
}

type cachedSchema struct {
	at     time.Time
	schema *check.Schema
}

func (c *uiCatalog) CheckSchema(ws uint32) (*check.Schema, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.cache[ws]; ok && time.Since(e.at) < 2*time.Second {
		return e.schema, nil
	}
	segs, err := c.a.segments.List(ws)
	if err != nil {
		return nil, err
	}
	cs := segment.CheckSchema(c.a.views.Index(ws).Schema(), segs)
	if c.cache == nil {
		c.cache = map[uint32]cachedSchema{}
	}
	c.cache[ws] = cachedSchema{time.Now(), cs}
	return cs, nil
}

func (c *uiCatalog) Evaluate(ctx context.Context, ws uint32, x ast.Expr, at time.Time, seg string, explain bool) (*roaring.Bitmap, *engine.Plan, error) {
	return c.a.segments.Evaluate(ctx, ws, x, at, seg, explain)
}

func (c *uiCatalog) ProfileSegments(ctx context.Context, ws, pid uint32) ([]string, error) {
	segs, err := c.a.segments.List(ws)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, s := range segs {
		if s.Mode == segment.ModeRealtime && c.a.started.Load() {
			if c.a.mem.Contains(ws, s.ID, pid) {
				out = append(out, s.Name)
			}
			continue
		}
		bm, err := c.a.segments.Members(ctx, ws, s, time.Now())
		if err == nil && bm.Contains(pid) {
			out = append(out, s.Name)
		}
	}
	sort.Strings(out)
	return out, nil
}
