package segment

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2/vfs"

	"github.com/segd/segd/internal/demodata"
	"github.com/segd/segd/internal/index"
	"github.com/segd/segd/internal/ingest"
	"github.com/segd/segd/internal/message"
	"github.com/segd/segd/internal/store"
)

// world is a workspace in an in-memory store, written through the real ingest pipeline, with
// its index kept current from the commit feed as cmd/segd does.
type world struct {
	st  *store.Store
	ws  uint32
	ix  *index.Index
	p   *ingest.Pipeline
	svc *Service
	now time.Time
}

func (w *world) Index(uint32) *index.Index      { return w.ix }
func (w *world) Location(uint32) *time.Location { return time.UTC }

func newWorld(t testing.TB, now time.Time) *world {
	t.Helper()
	st, err := store.Open(store.Options{Dir: "/d", FS: vfs.NewMem()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	wsp, _, err := st.CreateWorkspace("w", store.Keys{})
	if err != nil {
		t.Fatal(err)
	}
	w := &world{st: st, ws: wsp.ID, ix: index.New(), now: now}
	w.p, err = ingest.NewPipeline(ingest.Options{Store: st, OnCommit: w.apply, Now: func() time.Time { return w.now }})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { w.p.Close() })
	w.svc, err = New(Options{Store: st, Indexes: w, Now: func() time.Time { return w.now }, SizeTTL: -1, SchemaTTL: -1})
	if err != nil {
		t.Fatal(err)
	}
	return w
}

var eventKinds = map[message.Type]index.EventKind{message.Track: index.Track, message.Page: index.Page, message.Screen: index.Screen}

func (w *world) apply(changes []ingest.Change) {
	for i := range changes {
		c := &changes[i]
		switch c.Kind {
		case ingest.ProfileCreated:
			w.ix.SetTraits(c.Profile, nil)
		case ingest.TraitsSet:
			w.ix.SetTraits(c.Profile, c.Traits)
		case ingest.EventAdded:
			m := c.Event
			k, ok := eventKinds[m.Type]
			if !ok {
				continue
			}
			props := map[string]any{}
			for key, v := range m.Properties {
				props[key] = v
			}
			if k != index.Track && m.Name != "" {
				props["name"] = m.Name
			}
			for _, f := range m.Enriched {
				if _, ok := props[f.Key]; !ok {
					props[f.Key] = f.Value
				}
			}
			w.ix.AddEvent(index.Event{Profile: c.Profile, Kind: k, Name: m.Event, Time: m.Timestamp, Props: props})
		case ingest.Merged:
			w.ix.Merge(c.Merge.From, c.Merge.Into)
			if p, err := w.st.Profile(c.WS, c.Merge.Into); err == nil {
				w.ix.LoadProfile(index.Profile{ID: p.ID, Traits: p.TraitMap()})
			}
		case ingest.Erased:
			w.ix.Erase(c.Profile)
		case ingest.RecordUpserted:
			r := c.Record
			w.ix.UpsertRecord(index.Record{Type: r.Type, ID: r.ID, Profile: r.Profile, Time: r.Timestamp, Attrs: r.Attributes})
		case ingest.RecordDeleted:
			w.ix.DeleteRecord(c.Record.Type, c.Record.ID)
		}
	}
}

func (w *world) send(t testing.TB, msgs ...message.Message) {
	t.Helper()
	for i := range msgs {
		if msgs[i].ReceivedAt.IsZero() {
			msgs[i].ReceivedAt = w.now
		}
	}
	if _, err := w.p.Append(context.Background(), w.ws, msgs); err != nil {
		t.Fatal(err)
	}
}

// loadDemo generates demodata.Demo(end) with the given number of customers into the world.
func (w *world) loadDemo(t testing.TB, end time.Time, customers int) {
	t.Helper()
	ctx := context.Background()
	opts := demodata.Demo(end)
	opts.Customers = customers
	batch := make([]message.Message, 0, 1000)
	var recs []ingest.RecordInput
	flush := func() error {
		if len(batch) > 0 {
			if _, err := w.p.Append(ctx, w.ws, batch); err != nil {
				return err
			}
			batch = batch[:0]
		}
		if len(recs) > 0 {
			if _, err := w.p.UpsertRecords(ctx, w.ws, recs); err != nil {
				return err
			}
			recs = recs[:0]
		}
		return nil
	}
	err := demodata.Stream(ctx, opts, func(m *message.Message) error {
		batch = append(batch, *m)
		if len(batch) == cap(batch) {
			return flush()
		}
		return nil
	}, func(r *demodata.Record) error {
		recs = append(recs, ingest.RecordInput{Type: r.Type, ID: r.ID, Identity: map[string]string{"userId": r.Identity},
			Attributes: r.Attributes, Timestamp: r.Timestamp})
		if len(recs) >= 500 {
			return flush()
		}
		return nil
	})
	if err == nil {
		err = flush()
	}
	if err != nil {
		t.Fatal(err)
	}
	w.ix.Optimize()
}

// server serves the service's routes for workspace w.ws without authentication (the real
// server authenticates and passes the workspace).
func (w *world) server(t testing.TB) *httptest.Server {
	mux := http.NewServeMux()
	for _, rt := range w.svc.Routes() {
		h := rt.Handler
		mux.HandleFunc(rt.Pattern, func(rw http.ResponseWriter, r *http.Request) { h(rw, r, w.ws) })
	}
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}
