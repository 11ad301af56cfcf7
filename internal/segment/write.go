package segment

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/RoaringBitmap/roaring/v2"

	"github.com/segd/segd/internal/segql/scanner"
	"github.com/segd/segd/internal/store"
)

// Create defines a new segment (version 1). A snapshot-mode segment is frozen at once. It
// returns the checker's warnings alongside the segment.
func (s *Service) Create(ctx context.Context, ws uint32, in Input) (Segment, scanner.ErrorList, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	segs, err := s.List(ws)
	if err != nil {
		return Segment{}, nil, err
	}
	if err := validName(in.Name); err != nil {
		return Segment{}, nil, err
	}
	if findName(segs, in.Name, "") != nil {
		return Segment{}, nil, fmt.Errorf("%w: %q", ErrNameTaken, in.Name)
	}
	seg := Segment{ID: newID(), Name: in.Name, Mode: in.Mode, Version: 1}
	if seg.Mode == "" {
		seg.Mode = ModeRealtime
	}
	if in.Description != nil {
		seg.Description = *in.Description
	}
	if in.Schedule != nil {
		seg.Schedule = *in.Schedule
	}
	if seg.Mode == ModeScheduled && seg.Schedule == "" {
		seg.Schedule = "1h"
	}
	if err := validMode(seg.Mode, seg.Schedule); err != nil {
		return Segment{}, nil, err
	}
	if seg.Tags, err = cleanTags(in.Tags); err != nil {
		return Segment{}, nil, err
	}
	c, err := s.compile(ws, in.Query, in.Tree, seg.Name, segs)
	if err != nil {
		return Segment{}, nil, err
	}
	seg.Query = c.Text
	now := s.opts.Now().UTC()
	seg.Created, seg.Updated = now, now
	if seg.Mode == ModeSnapshot {
		if err := s.freeze(ctx, ws, &seg, now, ""); err != nil {
			return Segment{}, nil, err
		}
	}
	if err := s.put(ws, &seg); err != nil {
		return Segment{}, nil, err
	}
	s.changed(ws, nil, &seg)
	return seg, c.Warnings, nil
}

// Update stores a new version of a segment. Fields left empty in in keep their values.
func (s *Service) Update(ctx context.Context, ws uint32, idOrName string, in Input) (Segment, scanner.ErrorList, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	old, err := s.Get(ws, idOrName)
	if err != nil {
		return Segment{}, nil, err
	}
	segs, err := s.List(ws)
	if err != nil {
		return Segment{}, nil, err
	}
	seg := old
	seg.Tags = slices.Clone(old.Tags)
	if in.Name != "" && in.Name != old.Name {
		if err := validName(in.Name); err != nil {
			return Segment{}, nil, err
		}
		if findName(segs, in.Name, old.ID) != nil {
			return Segment{}, nil, fmt.Errorf("%w: %q", ErrNameTaken, in.Name)
		}
		if users := dependents(segs, old.Name); len(users) > 0 {
			return Segment{}, nil, fmt.Errorf("%w: cannot rename %q, it is used by %q", ErrInUse, old.Name, users)
		}
		seg.Name = in.Name
	}
	if in.Description != nil {
		seg.Description = *in.Description
	}
	if in.Mode != "" {
		seg.Mode = in.Mode
	}
	if in.Schedule != nil {
		seg.Schedule = *in.Schedule
	} else if seg.Mode != ModeScheduled {
		seg.Schedule = ""
	}
	if seg.Mode == ModeScheduled && seg.Schedule == "" {
		seg.Schedule = "1h"
	}
	if err := validMode(seg.Mode, seg.Schedule); err != nil {
		return Segment{}, nil, err
	}
	if in.Tags != nil {
		if seg.Tags, err = cleanTags(in.Tags); err != nil {
			return Segment{}, nil, err
		}
	}
	query, treeJSON := in.Query, in.Tree
	if query == "" && len(treeJSON) == 0 {
		query = old.Query
	}
	c, err := s.compile(ws, query, treeJSON, seg.Name, others(segs, old.ID))
	if err != nil {
		return Segment{}, nil, err
	}
	seg.Query = c.Text
	now := s.opts.Now().UTC()
	seg.Version = old.Version + 1
	seg.Updated = now
	switch {
	case seg.Mode != ModeSnapshot:
		seg.Snapshot = nil
	case old.Mode != ModeSnapshot || seg.Query != old.Query:
		from := ""
		if old.Snapshot != nil {
			from = old.Snapshot.From
		}
		if err := s.freeze(ctx, ws, &seg, now, from); err != nil {
			return Segment{}, nil, err
		}
	}
	if err := s.put(ws, &seg); err != nil {
		return Segment{}, nil, err
	}
	if seg.Mode != ModeSnapshot && old.Mode == ModeSnapshot {
		if err := s.opts.Store.DeleteDoc(ws, kindMembers, seg.ID); err != nil {
			return Segment{}, nil, fmt.Errorf("drop frozen members of %s: %w", seg.ID, err)
		}
	}
	s.changed(ws, &old, &seg)
	return seg, c.Warnings, nil
}

// Delete removes a segment with all its versions. A segment that others use through
// "in segment" cannot be deleted (ErrInUse).
func (s *Service) Delete(ws uint32, idOrName string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	old, err := s.Get(ws, idOrName)
	if err != nil {
		return err
	}
	segs, err := s.List(ws)
	if err != nil {
		return err
	}
	if users := dependents(segs, old.Name); len(users) > 0 {
		return fmt.Errorf("%w: %q is used by %q", ErrInUse, old.Name, users)
	}
	st := s.opts.Store
	if err := st.DeleteDoc(ws, kindSegment, old.ID); err != nil {
		return fmt.Errorf("delete segment %s: %w", old.ID, err)
	}
	for v := 1; v <= old.Version; v++ {
		if err := st.DeleteDoc(ws, kindVersion, versionID(old.ID, v)); err != nil {
			return fmt.Errorf("delete segment %s version %d: %w", old.ID, v, err)
		}
	}
	if err := st.DeleteDoc(ws, kindMembers, old.ID); err != nil {
		return fmt.Errorf("delete frozen members of %s: %w", old.ID, err)
	}
	s.cacheMu.Lock()
	delete(s.sizes[ws], old.ID)
	s.cacheMu.Unlock()
	s.changed(ws, &old, nil)
	return nil
}

// Snapshot freezes the members of a segment at time at (zero: now) into a new snapshot-mode
// segment named name (empty: "<name> (snapshot <time>)"), whose members never change.
func (s *Service) Snapshot(ctx context.Context, ws uint32, idOrName, name string, at time.Time) (Segment, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	src, err := s.Get(ws, idOrName)
	if err != nil {
		return Segment{}, err
	}
	now := s.opts.Now().UTC()
	if at.IsZero() {
		at = now
	}
	at = at.UTC()
	if name == "" {
		name = fmt.Sprintf("%s (snapshot %s)", src.Name, at.Format("2006-01-02 15:04:05"))
	}
	if err := validName(name); err != nil {
		return Segment{}, err
	}
	segs, err := s.List(ws)
	if err != nil {
		return Segment{}, err
	}
	if findName(segs, name, "") != nil {
		return Segment{}, fmt.Errorf("%w: %q", ErrNameTaken, name)
	}
	seg := Segment{ID: newID(), Name: name, Description: src.Description, Query: src.Query, Mode: ModeSnapshot,
		Tags: slices.Clone(src.Tags), Version: 1, Created: now, Updated: now}
	if seg.Description == "" {
		seg.Description = fmt.Sprintf("Members of %q frozen at %s", src.Name, at.Format(time.RFC3339))
	}
	if err := s.freeze(ctx, ws, &seg, at, src.ID); err != nil {
		return Segment{}, err
	}
	if err := s.put(ws, &seg); err != nil {
		return Segment{}, err
	}
	s.changed(ws, nil, &seg)
	return seg, nil
}

// freeze evaluates seg's query at at and stores the members as its frozen list.
func (s *Service) freeze(ctx context.Context, ws uint32, seg *Segment, at time.Time, from string) error {
	x, err := parseStored(seg.Query)
	if err != nil {
		return err
	}
	bm, _, err := s.Evaluate(ctx, ws, x, at, seg.Name, false)
	if err != nil {
		return fmt.Errorf("freeze %q: %w", seg.Name, err)
	}
	bm.RunOptimize()
	b, err := bm.ToBytes()
	if err != nil {
		return fmt.Errorf("freeze %q: encode members: %w", seg.Name, err)
	}
	if err := s.opts.Store.PutDoc(ws, kindMembers, seg.ID, b); err != nil {
		return fmt.Errorf("freeze %q: store members: %w", seg.Name, err)
	}
	seg.Snapshot = &SnapshotInfo{At: at.UTC(), Members: int(bm.GetCardinality()), From: from}
	return nil
}

// frozen returns the stored members of a snapshot-mode segment.
func (s *Service) frozen(ws uint32, seg Segment) (*roaring.Bitmap, error) {
	b, err := s.opts.Store.Doc(ws, kindMembers, seg.ID)
	if errors.Is(err, store.ErrNotFound) {
		return roaring.New(), nil
	}
	if err != nil {
		return nil, fmt.Errorf("frozen members of %q: %w", seg.Name, err)
	}
	bm := roaring.New()
	if _, err := bm.FromUnsafeBytes(b); err != nil {
		return nil, fmt.Errorf("frozen members of %q: decode: %w", seg.Name, err)
	}
	return bm, nil
}

// put writes the version document first, then the current one, each durably: a crash in
// between leaves an unreferenced version, never a current definition without its version.
func (s *Service) put(ws uint32, seg *Segment) error {
	b, err := json.Marshal(seg)
	if err != nil {
		return fmt.Errorf("encode segment: %w", err)
	}
	if err := s.opts.Store.PutDoc(ws, kindVersion, versionID(seg.ID, seg.Version), b); err != nil {
		return fmt.Errorf("store segment %s version %d: %w", seg.ID, seg.Version, err)
	}
	if err := s.opts.Store.PutDoc(ws, kindSegment, seg.ID, b); err != nil {
		return fmt.Errorf("store segment %s: %w", seg.ID, err)
	}
	return nil
}

func (s *Service) changed(ws uint32, old, new *Segment) {
	if s.opts.OnChange != nil {
		s.opts.OnChange(ws, old, new)
	}
}

func versionID(id string, v int) string { return fmt.Sprintf("%s/%08d", id, v) }

func findName(segs []Segment, name, exceptID string) *Segment {
	for i := range segs {
		if segs[i].Name == name && segs[i].ID != exceptID {
			return &segs[i]
		}
	}
	return nil
}

func others(segs []Segment, exceptID string) []Segment {
	out := make([]Segment, 0, len(segs))
	for _, seg := range segs {
		if seg.ID != exceptID {
			out = append(out, seg)
		}
	}
	return out
}

// dependents lists the segments whose query refers to name.
func dependents(segs []Segment, name string) []string {
	var out []string
	for _, seg := range segs {
		if seg.Name != name && slices.Contains(dependsOn(seg.Query), name) {
			out = append(out, seg.Name)
		}
	}
	return out
}
