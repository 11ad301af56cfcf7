package main

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/segd/segd/internal/httpapi"
	"github.com/segd/segd/internal/index"
	"github.com/segd/segd/internal/ingest"
	"github.com/segd/segd/internal/message"
	"github.com/segd/segd/internal/store"
)

// views owns the in-memory indexes of every workspace: loaded from the store at start, then
// kept current by the write pipeline's commit feed.
type views struct {
	a  *app
	mu sync.RWMutex // guards ws; held for writing during load so commits wait for it
	ws map[uint32]*wsView

	loaded bool // guarded by mu: load ran; later commits keep the indexes current

	lastBytes atomic.Int64 // the last segd_index_bytes
}

type wsView struct {
	id  uint32
	ix  *index.Index
	loc *time.Location
}

func newViews(a *app) *views { return &views{a: a, ws: map[uint32]*wsView{}} }

func (v *views) close() {}

// bytes is the estimated memory of every workspace's index (the segd_index_bytes metric).
// While load holds the lock the gauge repeats its last answer rather than stall the scrape.
func (v *views) bytes() float64 {
	if !v.mu.TryRLock() {
		return float64(v.lastBytes.Load())
	}
	ws := make([]*wsView, 0, len(v.ws))
	for _, w := range v.ws {
		ws = append(ws, w)
	}
	v.mu.RUnlock()
	var n int64
	for _, w := range ws {
		n += w.ix.Bytes()
	}
	v.lastBytes.Store(n)
	return float64(n)
}

// get returns the workspace's view, creating an empty one if needed.
func (v *views) get(ws uint32) *wsView {
	v.mu.RLock()
	w := v.ws[ws]
	v.mu.RUnlock()
	if w != nil {
		return w
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	if w = v.ws[ws]; w == nil {
		w = v.newWS(ws)
		v.ws[ws] = w
	}
	return w
}

func (v *views) newWS(ws uint32) *wsView {
	loc := time.UTC
	if w, err := v.a.store.Workspace(ws); err == nil && w.TimeZone != "" {
		if l, err := time.LoadLocation(w.TimeZone); err == nil {
			loc = l
		}
	}
	return &wsView{id: ws, ix: index.New(), loc: loc}
}

// load rebuilds every workspace's index from the store. Commits wait until it is done, so no
// write is missed or counted twice.
func (v *views) load(ctx context.Context) error {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.loaded {
		return nil
	}
	all, err := v.a.store.Workspaces()
	if err != nil {
		return err
	}
	for _, w := range all {
		if err := ctx.Err(); err != nil {
			return err
		}
		wv := v.newWS(w.ID)
		if err := loadIndex(v.a.store, w.ID, wv.ix); err != nil {
			return fmt.Errorf("load workspace %s: %w", w.Name, err)
		}
		v.ws[w.ID] = wv
	}
	v.loaded = true
	return nil
}

// indexEvent is the one definition of an event as segments see it (shared with live).
func indexEvent(pid uint32, m *message.Message) (index.Event, bool) { return index.FromMessage(pid, m) }

func indexRecord(r *store.Record) index.Record {
	return index.Record{Type: r.Type, ID: r.ID, Profile: r.Profile, Time: r.Timestamp, Attrs: r.Attributes}
}

// apply is the pipeline's OnCommit: it runs in commit order on the pipeline's publisher
// goroutine, possibly before the commit's fsync completes (see ingest.Options.OnCommit).
func (v *views) apply(changes []ingest.Change) {
	v.mu.RLock()
	defer v.mu.RUnlock()
	pending := map[*wsView][]index.Event{}
	// each visible event as indexed, handed to live so that it does not convert it again (one
	// array per commit: a pointer to each event's own variable put every event on the heap)
	evs := make([]index.Event, len(changes))
	indexed := make([]*index.Event, len(changes))
	flush := func() {
		for w, es := range pending {
			w.ix.AddEvents(es)
			delete(pending, w)
		}
	}
	for i := range changes {
		c := &changes[i]
		if c.Kind != ingest.EventAdded {
			flush() // keep the order of events relative to merges, erasures and traits
		}
		w := v.ws[c.WS]
		if w == nil {
			// first write to a workspace created after start: index it from now on
			v.mu.RUnlock()
			w = v.get(c.WS)
			v.mu.RLock()
		}
		switch c.Kind {
		case ingest.ProfileCreated:
			w.ix.SetTraits(c.Profile, nil)
		case ingest.TraitsSet:
			w.ix.SetTraits(c.Profile, c.Traits)
		case ingest.EventAdded:
			// runs of events are added under one lock
			if e, ok := indexEvent(c.Profile, c.Event); ok {
				pending[w] = append(pending[w], e)
				evs[i] = e
				indexed[i] = &evs[i]
			}
			continue
		case ingest.Merged:
			w.ix.Merge(c.Merge.From, c.Merge.Into)
			if p, err := v.a.store.ProfileRecord(c.WS, c.Merge.Into); err == nil {
				w.ix.LoadProfile(index.Profile{ID: p.ID, Traits: p.TraitMap()})
			}
		case ingest.Erased:
			w.ix.Erase(c.Profile)
		case ingest.RecordUpserted:
			w.ix.UpsertRecord(indexRecord(c.Record))
		case ingest.RecordDeleted:
			w.ix.DeleteRecord(c.Record.Type, c.Record.ID)
		}
	}
	flush()
	if v.a.live != nil {
		v.a.live.Apply(liveChanges(changes, indexed))
	}
}

// routes are the management endpoints that read the indexes.
func (v *views) routes() []httpapi.Route {
	return []httpapi.Route{
		{Pattern: "GET /api/v1/schema", Scope: store.ScopeAdmin, Handler: v.handleSchema},
	}
}

// Index returns the workspace's in-memory index (segment.Indexes and friends).
func (v *views) Index(ws uint32) *index.Index { return v.get(ws).ix }

// Location returns the workspace's time zone for calendar windows.
func (v *views) Location(ws uint32) *time.Location { return v.get(ws).loc }
