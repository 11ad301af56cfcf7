package engine

import (
	"github.com/RoaringBitmap/roaring/v2"

	"github.com/segd/segd/internal/segql/ast"
)

// SampleHash is the stable hash behind sample(p%): FNV-1a (64 bit) of the segment name, a
// zero byte and the profile id as 4 little-endian bytes, finished with the SplitMix64 mixer so
// that consecutive ids spread evenly. It never changes: changing it would reshuffle every
// hold-out group.
func SampleHash(segment string, profile uint32) uint64 {
	return sampleHashFrom(sampleSeed(segment), profile)
}

// FNV-1a 64-bit parameters (the same as hash/fnv's).
const (
	fnvOffset = 14695981039346656037
	fnvPrime  = 1099511628211
)

// sampleSeed is the FNV-1a state after the segment name and the zero byte, shared by every
// profile of one evaluation.
func sampleSeed(segment string) uint64 {
	h := uint64(fnvOffset)
	for i := 0; i < len(segment); i++ {
		h ^= uint64(segment[i])
		h *= fnvPrime
	}
	h ^= 0
	h *= fnvPrime
	return h
}

// sampleHashFrom finishes SampleHash from the seed: the profile id's 4 little-endian bytes,
// then the SplitMix64 mixer.
func sampleHashFrom(h uint64, profile uint32) uint64 {
	for i := 0; i < 4; i++ {
		h ^= uint64(byte(profile >> (8 * i)))
		h *= fnvPrime
	}
	x := h
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
	switch {
	case !(pct > 0):
		return roaring.New()
	case pct >= 100:
		return cand.Clone()
	}
	seed, limit := sampleSeed(ev.opts.Segment), uint64(pct*10_000)
	out := roaring.New()
	it := cand.ManyIterator()
	buf := make([]uint32, 4096)
	keep := make([]uint32, 0, 4096)
	for {
		k := it.NextMany(buf)
		if k == 0 {
			return out
		}
		keep = keep[:0]
		for _, p := range buf[:k] {
			if sampleHashFrom(seed, p)%1_000_000 < limit {
				keep = append(keep, p)
			}
		}
		out.AddMany(keep)
	}
}
