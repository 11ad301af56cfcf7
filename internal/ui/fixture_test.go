package ui

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2/vfs"

	"github.com/segd/segd/internal/demodata"
	"github.com/segd/segd/internal/index"
	"github.com/segd/segd/internal/ingest"
	"github.com/segd/segd/internal/message"
	"github.com/segd/segd/internal/store"
)

// fixture is a workspace of demo data in an in-memory store, written through the real
// pipeline and indexed the way cmd/segd indexes it.
type fixture struct {
	st    *store.Store
	ws    uint32
	admin string
	ix    *index.Index
	ad    *Adapter
	ui    *UI
}

type testIndexes struct {
	mu sync.Mutex
	ix map[uint32]*index.Index
}

func (t *testIndexes) Index(ws uint32) *index.Index {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.ix[ws] == nil {
		t.ix[ws] = index.New()
	}
	return t.ix[ws]
}

func (t *testIndexes) Location(uint32) *time.Location { return time.UTC }

var trackKinds = map[message.Type]index.EventKind{message.Track: index.Track, message.Page: index.Page,
	message.Screen: index.Screen, message.Identify: index.Identify}

func newFixture(t testing.TB, customers int) *fixture {
	t.Helper()
	st, err := store.Open(store.Options{Dir: "/d", FS: vfs.NewMem()})
	if err != nil {
		t.Fatal(err)
	}
	w, keys, err := st.CreateWorkspace("w", store.Keys{})
	if err != nil {
		t.Fatal(err)
	}
	p, err := ingest.NewPipeline(ingest.Options{Store: st})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	opts := demodata.Demo(time.Now().UTC())
	opts.Customers = customers
	var batch []message.Message
	var recs []ingest.RecordInput
	flush := func() error {
		if len(batch) > 0 {
			if _, err := p.Append(ctx, w.ID, batch); err != nil {
				return err
			}
			batch = batch[:0]
		}
		if len(recs) > 0 {
			if _, err := p.UpsertRecords(ctx, w.ID, recs); err != nil {
				return err
			}
			recs = recs[:0]
		}
		return nil
	}
	err = demodata.Stream(ctx, opts, func(m *message.Message) error {
		batch = append(batch, *m)
		if len(batch) >= 2000 {
			return flush()
		}
		return nil
	}, func(r *demodata.Record) error {
		recs = append(recs, ingest.RecordInput{Type: r.Type, ID: r.ID, Identity: map[string]string{"userId": r.Identity},
			Attributes: r.Attributes, Timestamp: r.Timestamp})
		return nil
	})
	if err == nil {
		err = flush()
	}
	if err != nil {
		t.Fatal(err)
	}
	p.Close()

	idx := &testIndexes{ix: map[uint32]*index.Index{}}
	ix := idx.Index(w.ID)
	if err := st.ScanProfiles(w.ID, func(p *store.Profile) error {
		ix.LoadProfile(index.Profile{ID: p.ID, Traits: p.TraitMap()})
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if err := st.ScanEvents(w.ID, func(pid uint32, _ uint64, m *message.Message) error {
		k, ok := trackKinds[m.Type]
		if !ok {
			return nil
		}
		props := m.Properties
		if k == index.Identify {
			props = m.Traits
		}
		pr := map[string]any{}
		for key, v := range props {
			pr[key] = v
		}
		if m.Name != "" && pr["name"] == nil && (k == index.Page || k == index.Screen) {
			pr["name"] = m.Name
		}
		ix.AddEvent(index.Event{Profile: pid, Kind: k, Name: m.Event, Time: m.Timestamp, Props: pr})
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if err := st.ScanRecords(w.ID, func(r *store.Record) error {
		ix.UpsertRecord(index.Record{Type: r.Type, ID: r.ID, Profile: r.Profile, Time: r.Timestamp, Attrs: r.Attributes})
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	ix.Optimize()
	ad, err := NewAdapter(AdapterOptions{Store: st, Indexes: idx})
	if err != nil {
		t.Fatal(err)
	}
	u, err := New(Options{Backend: ad, Segments: ad})
	if err != nil {
		t.Fatal(err)
	}
	return &fixture{st: st, ws: w.ID, admin: keys.AdminToken, ix: ix, ad: ad, ui: u}
}
