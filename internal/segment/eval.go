package segment

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/RoaringBitmap/roaring/v2"

	"github.com/segd/segd/internal/engine"
	"github.com/segd/segd/internal/index"
	"github.com/segd/segd/internal/segql/ast"
	"github.com/segd/segd/internal/segql/parser"
)

// ErrCycle is returned when segments refer to each other in a loop at evaluation time (the
// checker rejects such definitions; this guards against data written around it).
var ErrCycle = errors.New("segment cycle")

// Evaluate returns the members of x at time at (zero: now) in workspace ws, with the plan
// when explain is set. segmentName seeds sample(p%) and is the segment x defines, if any.
// "in segment" conditions evaluate the named segment's definition at the same at (membership
// at t is a pure function of the data and t), recursively, except snapshot segments, whose
// frozen members are used.
func (s *Service) Evaluate(ctx context.Context, ws uint32, x ast.Expr, at time.Time, segmentName string, explain bool) (*roaring.Bitmap, *engine.Plan, error) {
	if at.IsZero() {
		at = s.opts.Now()
	}
	r := &resolver{s: s, ctx: ctx, ws: ws, at: at, memo: map[string]*roaring.Bitmap{}, active: map[string]bool{}}
	if segmentName != "" {
		r.active[segmentName] = true
	}
	return r.eval(x, segmentName, explain)
}

// resolver evaluates one top-level query with its segment references.
type resolver struct {
	s      *Service
	ctx    context.Context
	ws     uint32
	at     time.Time
	segs   map[string]Segment // loaded on first "in segment"
	memo   map[string]*roaring.Bitmap
	active map[string]bool // segments being evaluated: the cycle guard
}

func (r *resolver) eval(x ast.Expr, name string, explain bool) (*roaring.Bitmap, *engine.Plan, error) {
	ix := r.s.opts.Indexes.Index(r.ws)
	if ix == nil {
		ix = index.New()
	}
	loc := r.s.opts.Indexes.Location(r.ws)
	if loc == nil {
		loc = time.UTC
	}
	return engine.New(ix).Evaluate(r.ctx, x, engine.Options{At: r.at, Location: loc, Segment: name, Segments: r.segment, Explain: explain})
}

func (r *resolver) segment(name string) (*roaring.Bitmap, error) {
	if bm, ok := r.memo[name]; ok {
		return bm, nil
	}
	if r.active[name] {
		return nil, fmt.Errorf("%w through %q", ErrCycle, name)
	}
	if r.segs == nil {
		all, err := r.s.List(r.ws)
		if err != nil {
			return nil, err
		}
		r.segs = make(map[string]Segment, len(all))
		for _, seg := range all {
			r.segs[seg.Name] = seg
		}
	}
	seg, ok := r.segs[name]
	if !ok {
		return nil, fmt.Errorf("%w: %q", ErrNotFound, name)
	}
	var bm *roaring.Bitmap
	if seg.Mode == ModeSnapshot {
		var err error
		if bm, err = r.s.frozen(r.ws, seg); err != nil {
			return nil, err
		}
	} else {
		x, err := parseStored(seg.Query)
		if err != nil {
			return nil, err
		}
		r.active[name] = true
		bm, _, err = r.eval(x, name, false)
		delete(r.active, name)
		if err != nil {
			return nil, err
		}
	}
	r.memo[name] = bm
	return bm, nil
}

func parseStored(query string) (ast.Expr, error) {
	x, err := parser.ParseExpr(query)
	if err != nil {
		return nil, fmt.Errorf("stored query %q does not parse: %w", query, err)
	}
	return x, nil
}

// Members returns the members of seg at time at (zero: now): the frozen list for a snapshot
// segment, the evaluation of its query otherwise.
func (s *Service) Members(ctx context.Context, ws uint32, seg Segment, at time.Time) (*roaring.Bitmap, error) {
	if seg.Mode == ModeSnapshot {
		return s.frozen(ws, seg)
	}
	x, err := parseStored(seg.Query)
	if err != nil {
		return nil, err
	}
	bm, _, err := s.Evaluate(ctx, ws, x, at, seg.Name, false)
	return bm, err
}

// Size returns the current number of members of seg, cached for Options.SizeTTL per segment
// version, and the time it was computed.
func (s *Service) Size(ctx context.Context, ws uint32, seg Segment) (uint64, time.Time, error) {
	now := s.opts.Now()
	s.cacheMu.Lock()
	e, ok := s.sizes[ws][seg.ID]
	s.cacheMu.Unlock()
	if ok && e.version == seg.Version && s.opts.SizeTTL > 0 && now.Sub(e.computed) < s.opts.SizeTTL {
		return e.n, e.computed, nil
	}
	bm, err := s.Members(ctx, ws, seg, now)
	if err != nil {
		return 0, time.Time{}, err
	}
	e = sizeEntry{version: seg.Version, n: bm.GetCardinality(), computed: now}
	s.cacheMu.Lock()
	if s.sizes[ws] == nil {
		s.sizes[ws] = map[string]sizeEntry{}
	}
	s.sizes[ws][seg.ID] = e
	s.cacheMu.Unlock()
	return e.n, e.computed, nil
}
