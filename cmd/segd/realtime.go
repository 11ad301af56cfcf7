package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"

	"github.com/segd/segd/internal/audit"
	"github.com/segd/segd/internal/destination"
	"github.com/segd/segd/internal/index"
	"github.com/segd/segd/internal/ingest"
	"github.com/segd/segd/internal/live"
	"github.com/segd/segd/internal/membership"
	"github.com/segd/segd/internal/segment"
	"github.com/segd/segd/internal/store"
)

// liveChanges maps the write path's commit feed to the live evaluator's input (the two
// packages do not import each other); indexed holds each event change's event as the index
// holds it (nil for the other changes).
func liveChanges(cs []ingest.Change, indexed []*index.Event) []live.Change {
	out := make([]live.Change, 0, len(cs))
	for i := range cs {
		c := &cs[i]
		lc := live.Change{WS: c.WS, Profile: c.Profile, Seq: c.Seq, Event: c.Event, Indexed: indexed[i], Traits: c.Traits, Record: c.Record}
		switch c.Kind {
		case ingest.EventAdded:
			lc.Kind = live.EventAdded
		case ingest.TraitsSet:
			lc.Kind = live.TraitsSet
		case ingest.Merged:
			lc.Kind, lc.Profile, lc.MergeFrom = live.Merged, c.Merge.Into, c.Merge.From
		case ingest.Erased:
			lc.Kind = live.Erased
		case ingest.RecordUpserted:
			lc.Kind = live.RecordUpserted
		case ingest.RecordDeleted:
			lc.Kind = live.RecordDeleted
		case ingest.ProfileCreated:
			lc.Kind = live.ProfileCreated
		default:
			panic(fmt.Sprintf("liveChanges: unmapped change kind %d: invariant broken", c.Kind))
		}
		out = append(out, lc)
	}
	return out
}

// destFeed adapts the membership log to the destinations' Feed.
type destFeed struct {
	mem      *membership.Log
	segments *segment.Service
}

func (f destFeed) Read(ctx context.Context, ws uint32, after uint64, limit int) ([]destination.Change, error) {
	cs, err := f.mem.Read(ctx, ws, after, limit)
	if err != nil {
		return nil, err
	}
	names := map[string]string{}
	out := make([]destination.Change, len(cs))
	for i, c := range cs {
		name, ok := names[c.Segment]
		if !ok {
			if s, err := f.segments.Get(ws, c.Segment); err == nil {
				name = s.Name
			}
			names[c.Segment] = name
		}
		reason, _ := json.Marshal(c.Reason)
		out[i] = destination.Change{Seq: c.Seq, SegmentID: c.Segment, Segment: name, Profile: c.Profile, Kind: c.Kind,
			EventTime: c.EventTime, At: c.Wall, Reason: reason}
	}
	return out, nil
}

func (f destFeed) Wait(ctx context.Context, ws uint32, after uint64) error {
	return f.mem.Wait(ctx, ws, after)
}

func (f destFeed) Head(ws uint32) (uint64, error) { return f.mem.LastSeq(ws), nil }

// destProfiles describes profiles for delivery.
type destProfiles struct{ st *store.Store }

func (p destProfiles) Describe(ws, pid uint32, traits []string) (map[string][]string, map[string]any, error) {
	// only the identifiers and the chosen traits are decoded: decoding the whole record was
	// most of a delivery's cost
	_, idents, tv, err := p.st.ProfileIdentity(ws, pid, func(name string) bool { return slices.Contains(traits, name) })
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil, fmt.Errorf("profile %d: %w", pid, destination.ErrNoProfile)
	}
	if err != nil {
		return nil, nil, err
	}
	ids := map[string][]string{}
	for _, id := range idents {
		ids[id.Type] = append(ids[id.Type], id.Value)
	}
	return ids, tv, nil
}

// destMembers answers suppression checks from live membership (segment id or name).
type destMembers struct {
	mem      *membership.Log
	segments *segment.Service
}

func (m destMembers) IsMember(ws uint32, seg string, pid uint32) bool {
	if s, err := m.segments.Get(ws, seg); err == nil {
		seg = s.ID
	}
	return m.mem.Contains(ws, seg, pid)
}

// consent answers whether a profile agreed to be contacted on a channel, from its consent
// traits (audit.Consent: consent_<channel>, <channel>_opt_in, …; unsubscribed wins).
func consent(st *store.Store) func(ws, pid uint32, channel string) bool {
	return func(ws, pid uint32, channel string) bool {
		p, err := st.ProfileRecord(ws, pid)
		if err != nil {
			return false
		}
		return audit.Consent(p.TraitMap(), audit.Channel(channel))
	}
}
