package demodata

import (
	"context"
	"fmt"
	"sync"
)

// blockSize is the number of customers a worker generates at a time in parallel runs.
const blockSize = 256

// block buffers the output of up to blockSize consecutive customers. A worker fills it; the
// calling goroutine delivers it and reuses it.
type block struct {
	first, end uint32
	custs      []Customer
	rowsPer    []int
	recsPer    []int
	rows       []EventRow
	items      []LineItem
	recs       []Record
	err        error
	done       chan struct{}
}

func (b *block) fill(ctx context.Context, g *generator) {
	defer close(b.done)
	b.custs, b.rowsPer, b.recsPer = b.custs[:0], b.rowsPer[:0], b.recsPer[:0]
	b.rows, b.items, b.recs = b.rows[:0], b.items[:0], b.recs[:0]
	sink := Sink{
		Customer: func(c *Customer) error {
			b.custs = append(b.custs, *c)
			b.rowsPer = append(b.rowsPer, 0)
			b.recsPer = append(b.recsPer, 0)
			return nil
		},
		Event: func(r *EventRow) error {
			row := *r
			if len(r.Items) > 0 {
				start := len(b.items)
				b.items = append(b.items, r.Items...)
				row.Items = b.items[start:len(b.items):len(b.items)]
			}
			b.rows = append(b.rows, row)
			b.rowsPer[len(b.rowsPer)-1]++
			return nil
		},
		Record: func(r *Record) error {
			b.recs = append(b.recs, *r)
			b.recsPer[len(b.recsPer)-1]++
			return nil
		},
	}
	for idx := b.first; idx < b.end; idx++ {
		if err := ctx.Err(); err != nil {
			b.err = fmt.Errorf("demodata: generating customer %d: %w", idx, err)
			return
		}
		if err := g.customer(idx, sink); err != nil {
			b.err = err
			return
		}
	}
}

func (b *block) deliver(sink Sink) error {
	ri, ci := 0, 0
	for i := range b.custs {
		if sink.Customer != nil {
			if err := sink.Customer(&b.custs[i]); err != nil {
				return err
			}
		}
		for end := ri + b.rowsPer[i]; ri < end; ri++ {
			if sink.Event != nil {
				if err := sink.Event(&b.rows[ri]); err != nil {
					return err
				}
			}
		}
		for end := ci + b.recsPer[i]; ci < end; ci++ {
			if sink.Record != nil {
				if err := sink.Record(&b.recs[ci]); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// generateParallel runs opts.Workers generators on blocks of customers and delivers the
// blocks to sink in customer order on the calling goroutine, so the sink sees exactly what a
// sequential run gives. At most 2×Workers blocks are in flight.
func generateParallel(ctx context.Context, opts Options, sink Sink) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	inflight := 2 * opts.Workers
	jobs := make(chan *block, inflight)
	var wg sync.WaitGroup
	for range opts.Workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			g := newGenerator(opts)
			for b := range jobs {
				b.fill(ctx, g)
			}
		}()
	}
	defer wg.Wait()
	defer close(jobs)

	var free, queue []*block
	next := 0
	for next < opts.Customers || len(queue) > 0 {
		for len(queue) < inflight && next < opts.Customers {
			var b *block
			if n := len(free); n > 0 {
				b, free = free[n-1], free[:n-1]
			} else {
				b = &block{}
			}
			b.first, b.end = uint32(next), uint32(min(next+blockSize, opts.Customers))
			b.err, b.done = nil, make(chan struct{})
			next = int(b.end)
			jobs <- b // never blocks: at most inflight blocks are queued
			queue = append(queue, b)
		}
		b := queue[0]
		queue = queue[1:]
		<-b.done // fill returns promptly on cancellation
		if b.err != nil {
			return b.err
		}
		if err := b.deliver(sink); err != nil {
			return err
		}
		free = append(free, b)
	}
	return nil
}
