package engine

import (
	"sync/atomic"

	"github.com/RoaringBitmap/roaring/v2"
	"golang.org/x/sync/errgroup"
)

// chunkSize is the number of rows or profiles a worker takes at a time; the context is
// checked once per chunk.
const chunkSize = 1 << 16

// chunks runs fn over [0, n) in chunks of chunkSize on ev.workers goroutines. fn gets the
// worker number (0 ≤ w < workers) so that it can use per-worker accumulators without locks.
// It returns an error naming phase when the context is done.
func (ev *evaluator) chunks(n int, phase string, fn func(w, lo, hi int)) error {
	workers := ev.workers
	if nc := (n + chunkSize - 1) / chunkSize; nc < workers {
		workers = max(nc, 1)
	}
	var next atomic.Int64
	var g errgroup.Group
	for w := 0; w < workers; w++ {
		g.Go(func() error {
			for {
				if err := ev.canceled(phase); err != nil {
					return err
				}
				lo := int(next.Add(chunkSize)) - chunkSize
				if lo >= n {
					return nil
				}
				fn(w, lo, min(lo+chunkSize, n))
			}
		})
	}
	return g.Wait()
}

// scan returns the members of b for which keep holds, testing them in parallel chunks.
func (ev *evaluator) scan(b *roaring.Bitmap, phase string, keep func(p uint32) bool) (*roaring.Bitmap, error) {
	ids := b.ToArray()
	outs := make([][]uint32, ev.workers)
	err := ev.chunks(len(ids), phase, func(w, lo, hi int) {
		for _, p := range ids[lo:hi] {
			if keep(p) {
				outs[w] = append(outs[w], p)
			}
		}
	})
	if err != nil {
		return nil, err
	}
	out := roaring.New()
	for _, o := range outs {
		out.AddMany(o)
	}
	return out, nil
}

// denseSet is a plain bit array over profile ids for membership tests in row loops, where a
// roaring lookup per row would dominate.
type denseSet []uint64

func newDenseSet(b *roaring.Bitmap) denseSet {
	if b.IsEmpty() {
		return nil
	}
	d := make(denseSet, b.Maximum()/64+1)
	it := b.Iterator()
	for it.HasNext() {
		p := it.Next()
		d[p>>6] |= 1 << (p & 63)
	}
	return d
}

func (d denseSet) has(p uint32) bool {
	w := int(p >> 6)
	return w < len(d) && d[w]&(1<<(p&63)) != 0
}
