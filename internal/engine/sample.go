package engine

import (
	"encoding/binary"
	"hash/fnv"

	"github.com/RoaringBitmap/roaring/v2"

	"github.com/segd/segd/internal/segql/ast"
)

// SampleHash is the stable hash behind sample(p%): FNV-1a (64 bit) of the segment name, a
// zero byte and the profile id as 4 little-endian bytes, finished with the SplitMix64 mixer so
// that consecutive ids spread evenly. It never changes: changing it would reshuffle every
// hold-out group.
func SampleHash(segment string, profile uint32) uint64 {
	h := fnv.New64a()
	h.Write([]byte(segment))
	var b [5]byte
	binary.LittleEndian.PutUint32(b[1:], profile)
	h.Write(b[:])
	x := h.Sum64()
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	x ^= x >> 31
	return x
}

// InSample reports whether profile is in the p percent sample of segment: the hash modulo
// one million is below p × 10 000 (so p has a resolution of 0.0001 percentage points).
func InSample(segment string, profile uint32, percent float64) bool {
	if !(percent > 0) {
		return false
	}
	if percent >= 100 {
		return true
	}
	return SampleHash(segment, profile)%1_000_000 < uint64(percent*10_000)
}

// evalSample keeps the profiles of cand in the sample. sample(10%) and sample(10) both mean
// ten percent.
func (ev *evaluator) evalSample(n *ast.Sample, cand *roaring.Bitmap) *roaring.Bitmap {
	pct := n.Percent.Value
	out := roaring.New()
	it := cand.Iterator()
	for it.HasNext() {
		p := it.Next()
		if InSample(ev.opts.Segment, p, pct) {
			out.Add(p)
		}
	}
	return out
}
