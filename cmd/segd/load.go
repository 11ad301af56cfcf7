package main

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/segd/segd/internal/index"
	"github.com/segd/segd/internal/message"
	"github.com/segd/segd/internal/store"
)

// loadIndex fills ix from the store.
func loadIndex(st *store.Store, ws uint32, ix *index.Index) error {
	if err := st.ScanProfiles(ws, func(p *store.Profile) error {
		ix.LoadProfile(index.Profile{ID: p.ID, Traits: p.TraitMap()})
		return nil
	}); err != nil {
		return err
	}
	if err := loadEvents(st, ws, ix); err != nil {
		return err
	}
	if err := st.ScanRecords(ws, func(r *store.Record) error {
		ix.UpsertRecord(indexRecord(r))
		return nil
	}); err != nil {
		return err
	}
	ix.Optimize()
	return nil
}

// loadBatch is a run of consecutive stored event values (track, page and screen calls only)
// on their way from the scan to the index. res carries the decoded events back.
type loadBatch struct {
	pids []uint32
	ends []int // value i is buf[ends[i-1]:ends[i]]
	buf  []byte
	res  chan loadResult
}

type loadResult struct {
	events []index.Event
	err    error
}

const loadBatchSize = 4096

// loadEvents rebuilds the event tables: the store scan runs on one goroutine and copies the
// values into batches, GOMAXPROCS goroutines decode them (only the fields events need; the
// context, traits and other objects are skipped unparsed), and this goroutine inserts the
// batches in scan order, so the index sees the same sequence as a sequential load.
func loadEvents(st *store.Store, ws uint32, ix *index.Index) error {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	g, ctx := errgroup.WithContext(ctx)
	workers := runtime.GOMAXPROCS(0)
	jobs := make(chan *loadBatch, workers)
	order := make(chan *loadBatch, 4*workers)
	g.Go(func() error {
		defer close(order)
		defer close(jobs)
		b := newLoadBatch()
		send := func() error {
			for _, ch := range []chan *loadBatch{order, jobs} {
				select {
				case ch <- b:
				case <-ctx.Done():
					return ctx.Err()
				}
			}
			b = newLoadBatch()
			return nil
		}
		err := st.ScanEventsRaw(ws, func(pid uint32, _ uint64, _ time.Time, v []byte) error {
			typ, ok := store.StoredEventType(v)
			if !ok {
				return fmt.Errorf("store: decode event of profile %d: corrupt event value", pid)
			}
			if typ != message.Track && typ != message.Page && typ != message.Screen {
				return nil
			}
			b.pids = append(b.pids, pid)
			b.buf = append(b.buf, v...)
			b.ends = append(b.ends, len(b.buf))
			if len(b.pids) == loadBatchSize {
				return send()
			}
			return nil
		})
		if err == nil && len(b.pids) > 0 {
			err = send()
		}
		return err
	})
	for w := 0; w < workers; w++ {
		g.Go(func() error {
			d := newEventDecoder()
			for b := range jobs {
				evs, err := d.decode(b)
				b.res <- loadResult{evs, err}
				if err != nil {
					return err
				}
			}
			return nil
		})
	}
	var insertErr error
	for b := range order {
		select {
		case r := <-b.res:
			if r.err != nil {
				insertErr = r.err
			} else {
				ix.AddEvents(r.events)
			}
		case <-ctx.Done():
		}
		if insertErr != nil || ctx.Err() != nil {
			break
		}
	}
	cancel()
	if err := g.Wait(); err != nil && !errors.Is(err, context.Canceled) {
		return err
	}
	return insertErr
}

func newLoadBatch() *loadBatch {
	return &loadBatch{pids: make([]uint32, 0, loadBatchSize), ends: make([]int, 0, loadBatchSize),
		buf: make([]byte, 0, loadBatchSize*384), res: make(chan loadResult, 1)}
}

// eventDecoder turns stored values into index events exactly as index.FromMessage does for
// the fully decoded message, interning the event names and enrichment strings it meets.
type eventDecoder struct {
	f      message.EventFields
	intern map[string]string
}

func newEventDecoder() *eventDecoder { return &eventDecoder{intern: map[string]string{}} }

func (d *eventDecoder) str(b []byte) string {
	if s, ok := d.intern[string(b)]; ok {
		return s
	}
	if len(d.intern) > 1<<16 {
		return string(b) // high-cardinality values: do not let the table grow without bound
	}
	s := string(b)
	d.intern[s] = s
	return s
}

func (d *eventDecoder) decode(b *loadBatch) ([]index.Event, error) {
	out := make([]index.Event, 0, len(b.pids))
	start := 0
	for i, pid := range b.pids {
		v := b.buf[start:b.ends[i]]
		start = b.ends[i]
		f := &d.f
		if err := store.DecodeEventFields(v, f); err != nil {
			return nil, fmt.Errorf("store: decode event of profile %d: %w", pid, err)
		}
		e, ok, err := index.FromFields(pid, f, nil, d.str)
		if err != nil {
			return nil, fmt.Errorf("store: decode event of profile %d: %w", pid, err)
		}
		if ok {
			out = append(out, e)
		}
	}
	return out, nil
}
