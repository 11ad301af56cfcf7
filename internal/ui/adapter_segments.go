package ui

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"sort"
	"time"

	"github.com/RoaringBitmap/roaring/v2"

	"github.com/segd/segd/internal/engine"
	"github.com/segd/segd/internal/segql/parser"
)

// segmentKind is the store document kind of the adapter's segment definitions. It is the
// adapter's own: the membership service keeps its segments elsewhere.
const segmentKind = "ui.segment"

type segmentDoc struct {
	Name        string           `json:"name"`
	Description string           `json:"description,omitempty"`
	Tags        []string         `json:"tags,omitempty"`
	Query       string           `json:"query"`
	Mode        string           `json:"mode"`
	Size        uint64           `json:"size"`
	Updated     time.Time        `json:"updated"`
	Versions    []SegmentVersion `json:"versions"`
	Members     []byte           `json:"members,omitempty"` // roaring bitmap, snapshots only
}

var segmentName = regexp.MustCompile(`^[\p{L}\p{N}_][\p{L}\p{N}_ .\-]{0,99}$`)

func (a *Adapter) definitions(ws uint32) (map[string]segmentDoc, error) {
	out := map[string]segmentDoc{}
	err := a.opts.Store.Docs(ws, segmentKind, func(id string, v []byte) error {
		var d segmentDoc
		if err := json.Unmarshal(v, &d); err != nil {
			return fmt.Errorf("segment %q: %w", id, err)
		}
		out[d.Name] = d
		return nil
	})
	return out, err
}

func (a *Adapter) members(ctx context.Context, ws uint32, name string, defs map[string]segmentDoc) (*roaring.Bitmap, error) {
	d, ok := defs[name]
	if !ok {
		return nil, ErrNotFound
	}
	if d.Mode == ModeSnapshot {
		bm := roaring.New()
		return bm, bm.UnmarshalBinary(d.Members)
	}
	x, err := parser.ParseExpr(d.Query)
	if err != nil {
		return nil, err
	}
	bm, _, err := engine.New(a.opts.Indexes.Index(ws)).Evaluate(ctx, x, a.engineOptions(ctx, ws, name, defs, false))
	return bm, err
}

// List returns every segment with its current size.
func (a *Adapter) List(ctx context.Context, ws uint32) ([]SegmentRow, error) {
	defs, err := a.definitions(ws)
	if err != nil {
		return nil, err
	}
	out := make([]SegmentRow, 0, len(defs))
	for _, d := range defs {
		row := d.row()
		if bm, err := a.members(ctx, ws, d.Name, defs); err == nil {
			row.Size = bm.GetCardinality()
		}
		out = append(out, row)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

func (d *segmentDoc) row() SegmentRow {
	return SegmentRow{Name: d.Name, Description: d.Description, Tags: d.Tags, Mode: d.Mode, Size: d.Size, Updated: d.Updated}
}

// Get returns one segment.
func (a *Adapter) Get(ctx context.Context, ws uint32, name string) (SegmentDetail, error) {
	defs, err := a.definitions(ws)
	if err != nil {
		return SegmentDetail{}, err
	}
	d, ok := defs[name]
	if !ok {
		return SegmentDetail{}, ErrNotFound
	}
	det := SegmentDetail{SegmentRow: d.row(), Query: d.Query, Versions: d.Versions}
	if bm, err := a.members(ctx, ws, name, defs); err == nil {
		det.Size = bm.GetCardinality()
	}
	return det, nil
}

// Save checks and stores a definition as a new version; a snapshot freezes its members now.
func (a *Adapter) Save(ctx context.Context, ws uint32, in SegmentInput) error {
	if !segmentName.MatchString(in.Name) {
		return errors.New("a segment name is 1-100 letters, digits, spaces, '_', '-' or '.'")
	}
	switch in.Mode {
	case ModeRealtime, ModeScheduled, ModeSnapshot:
	default:
		return fmt.Errorf("unknown mode %q: use realtime, scheduled or snapshot", in.Mode)
	}
	res, err := a.Check(ctx, ws, CheckInput{Text: in.Query, Segment: in.Name})
	if err != nil {
		return err
	}
	for _, e := range res.Errors {
		if !e.Warning {
			return fmt.Errorf("%d:%d: %s", e.Line, e.Col, e.Message)
		}
	}
	defs, err := a.definitions(ws)
	if err != nil {
		return err
	}
	d := defs[in.Name]
	now := a.opts.Now().UTC()
	d.Name, d.Description, d.Tags, d.Query, d.Mode, d.Updated = in.Name, in.Description, in.Tags, res.Canonical, in.Mode, now
	d.Versions = append(d.Versions, SegmentVersion{Version: len(d.Versions) + 1, Query: res.Canonical, Mode: in.Mode, Saved: now})
	d.Members = nil
	defs[in.Name] = d
	bm, err := a.members(ctx, ws, in.Name, map[string]segmentDoc{in.Name: {Name: in.Name, Query: d.Query, Mode: ModeRealtime}})
	if err != nil {
		// in segment references need the full set of definitions
		bm, err = a.evaluateWith(ctx, ws, d, defs)
		if err != nil {
			return err
		}
	}
	d.Size = bm.GetCardinality()
	if in.Mode == ModeSnapshot {
		bm.RunOptimize()
		if d.Members, err = bm.ToBytes(); err != nil {
			return err
		}
	}
	v, err := json.Marshal(d)
	if err != nil {
		return err
	}
	return a.opts.Store.PutDoc(ws, segmentKind, in.Name, v)
}

func (a *Adapter) evaluateWith(ctx context.Context, ws uint32, d segmentDoc, defs map[string]segmentDoc) (*roaring.Bitmap, error) {
	x, err := parser.ParseExpr(d.Query)
	if err != nil {
		return nil, err
	}
	bm, _, err := engine.New(a.opts.Indexes.Index(ws)).Evaluate(ctx, x, a.engineOptions(ctx, ws, d.Name, defs, false))
	return bm, err
}

// Members pages through the members in id order.
func (a *Adapter) Members(ctx context.Context, ws uint32, name string, after uint32, limit int) ([]uint32, uint64, error) {
	defs, err := a.definitions(ws)
	if err != nil {
		return nil, 0, err
	}
	bm, err := a.members(ctx, ws, name, defs)
	if err != nil {
		return nil, 0, err
	}
	var out []uint32
	it := bm.Iterator()
	if after > 0 {
		it.AdvanceIfNeeded(after + 1)
	}
	for it.HasNext() && (limit <= 0 || len(out) < limit) {
		out = append(out, it.Next())
	}
	return out, bm.GetCardinality(), nil
}

var _ Segments = (*Adapter)(nil)
var _ Backend = (*Adapter)(nil)
