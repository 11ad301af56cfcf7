package main

import (
	"context"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/segd/segd/internal/demodata"
	"github.com/segd/segd/internal/index"
	"github.com/segd/segd/internal/message"
	"github.com/segd/segd/internal/store"
)

// TestLoadIndexMatchesMessages checks that the parallel partial-decode loader builds the same
// event tables as decoding every stored message fully and converting it with FromMessage.
func TestLoadIndexMatchesMessages(t *testing.T) {
	st, err := store.Open(store.Options{Dir: filepath.Join(t.TempDir(), "data")})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	txn := st.Begin()
	ts := time.Date(2024, 3, 1, 0, 0, 0, 0, time.UTC)
	for i, m := range []*message.Message{
		{Type: message.Page, Name: "Pricing", Timestamp: ts, Properties: map[string]any{"path": "/pricing"}, Enriched: message.EnrichedFromMap(map[string]string{"browser": "Firefox", "path": "ignored"})},
		{Type: message.Page, Name: "Home", Timestamp: ts, Properties: map[string]any{"name": "kept"}},
		{Type: message.Screen, Name: "Cart", Timestamp: ts.Add(-time.Hour)},
		{Type: message.Track, Event: "Order Completed", Timestamp: ts, Properties: map[string]any{"revenue": 10.0, "name": "x", "tags": []any{"a"}}},
		{Type: message.Identify, Timestamp: ts, Traits: map[string]any{"email": "a@b.c"}},
	} {
		if _, err := txn.AppendEvent(1, uint32(9000+i%2), m); err != nil {
			t.Fatal(err)
		}
	}
	opts := demodata.Demo(demodata.DefaultEnd)
	opts.Customers = 150
	var cur *demodata.Customer
	err = demodata.Generate(context.Background(), opts, demodata.Sink{
		Customer: func(c *demodata.Customer) error { cur = c; return nil },
		Event: func(r *demodata.EventRow) error {
			_, err := txn.AppendEvent(1, r.Customer+1, r.Message(cur, opts.Seed))
			return err
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := txn.Commit(); err != nil {
		t.Fatal(err)
	}

	got := index.New()
	if err := loadIndex(st, 1, got); err != nil {
		t.Fatal(err)
	}
	want := index.New()
	if err := st.ScanEvents(1, func(pid uint32, _ uint64, m *message.Message) error {
		if e, ok := index.FromMessage(pid, m); ok {
			want.AddEvent(e)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	gs, ws := got.Acquire(), want.Acquire()
	defer gs.Release()
	defer ws.Release()
	if gs.Events() != ws.Events() || gs.Events() < 1000 {
		t.Fatalf("events %d, want %d (and many)", gs.Events(), ws.Events())
	}
	if len(gs.Tables()) != len(ws.Tables()) {
		t.Fatalf("%d tables, want %d", len(gs.Tables()), len(ws.Tables()))
	}
	for _, wt := range ws.Tables() {
		gt := gs.Table(wt.Key)
		if gt == nil {
			t.Fatalf("table %v missing", wt.Key)
		}
		if !reflect.DeepEqual(gt.Prof, wt.Prof) || !reflect.DeepEqual(gt.Time, wt.Time) {
			t.Fatalf("table %v: rows differ", wt.Key)
		}
		if len(gt.Columns) != len(wt.Columns) {
			t.Fatalf("table %v: %d columns, want %d", wt.Key, len(gt.Columns), len(wt.Columns))
		}
		for name, wc := range wt.Columns {
			gc := gt.Columns[name]
			if gc == nil {
				t.Fatalf("table %v: column %q missing", wt.Key, name)
			}
			for row := 0; row < wt.Len(); row++ {
				if g, w := gc.Get(row), wc.Get(row); !reflect.DeepEqual(g, w) {
					t.Fatalf("table %v column %q row %d: %+v, want %+v", wt.Key, name, row, g, w)
				}
			}
		}
	}
}
