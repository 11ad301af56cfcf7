package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"time"

	"github.com/segd/segd/internal/demodata"
	"github.com/segd/segd/internal/ingest"
	"github.com/segd/segd/internal/message"
	"github.com/segd/segd/internal/store"
)

// Keys of the benchmark workspace (the generator creates it; segd serve reuses it).
const (
	writeKey   = "rt-write-key"
	readKey    = "rt-read-key"
	adminToken = "rt-admin-token"
)

// generate fills an empty data directory with the OneM preset (customers overridden)
// through the real write pipeline (identity resolution, dedupe, durable commits), with a few
// appenders in flight so commits group as they do under HTTP load.
func generate(ctx context.Context, dir string, customers int, end time.Time) error {
	st, err := store.Open(store.Options{Dir: dir})
	if err != nil {
		return err
	}
	defer st.Close()
	all, err := st.Workspaces()
	if err != nil {
		return err
	}
	if len(all) > 0 {
		return fmt.Errorf("generate: %s already holds data; pass an empty -data directory", dir)
	}
	w, _, err := st.CreateWorkspace("default", store.Keys{WriteKey: writeKey, ReadKey: readKey, AdminToken: adminToken})
	if err != nil {
		return err
	}
	p, err := ingest.NewPipeline(ingest.Options{Store: st, Logger: slog.New(slog.NewTextHandler(os.Stderr, nil))})
	if err != nil {
		return err
	}
	defer p.Close()

	type job struct {
		msgs []message.Message
		recs []ingest.RecordInput
	}
	jobs := make(chan job, 8)
	errc := make(chan error, 4)
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range jobs {
				if len(j.msgs) > 0 {
					if _, err := p.Append(ctx, w.ID, j.msgs); err != nil {
						errc <- err
						return
					}
				}
				if len(j.recs) > 0 {
					if _, err := p.UpsertRecords(ctx, w.ID, j.recs); err != nil {
						errc <- err
						return
					}
				}
			}
		}()
	}
	opts := demodata.OneM(end)
	opts.Customers = customers
	opts.Workers = 2
	start := time.Now()
	var events, records int
	batch := make([]message.Message, 0, 2000)
	var recs []ingest.RecordInput
	send := func() error {
		select {
		case err := <-errc:
			return err
		case jobs <- job{msgs: batch, recs: recs}:
		}
		events += len(batch)
		records += len(recs)
		batch, recs = make([]message.Message, 0, 2000), nil
		if events/2000%250 == 0 {
			fmt.Fprintf(os.Stderr, "generate: %d events, %d records, %s\n", events, records, time.Since(start).Round(time.Second))
		}
		return nil
	}
	err = demodata.Stream(ctx, opts, func(m *message.Message) error {
		batch = append(batch, *m)
		if len(batch) == cap(batch) {
			return send()
		}
		return nil
	}, func(r *demodata.Record) error {
		recs = append(recs, ingest.RecordInput{Type: r.Type, ID: r.ID, Identity: map[string]string{"userId": r.Identity},
			Attributes: r.Attributes, Timestamp: r.Timestamp})
		return nil
	})
	if err == nil {
		err = send()
	}
	close(jobs)
	wg.Wait()
	if err == nil {
		select {
		case err = <-errc:
		default:
		}
	}
	if err != nil {
		return fmt.Errorf("generate: %w", err)
	}
	fmt.Fprintf(os.Stderr, "generate: done: %d customers, %d events, %d records in %s\n", customers, events, records, time.Since(start).Round(time.Second))
	return nil
}
