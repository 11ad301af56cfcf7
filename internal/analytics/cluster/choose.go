package cluster

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
)

// Silhouette is the mean silhouette coefficient of the labelled points:
// for each point, (b − a)/max(a, b) with a its mean distance to the other
// members of its cluster and b the smallest mean distance to another
// cluster; points alone in their cluster score 0. When sample > 0 and there
// are more points, it is computed on a uniform sample of that many points
// (drawn with seed) against each other, as scikit-learn's sample_size does.
// O(s²·d) for s points scored.
func Silhouette(points [][]float64, labels []int, k, sample int, seed uint64) float64 {
	idx := make([]int, len(points))
	for i := range idx {
		idx[i] = i
	}
	if sample > 0 && len(idx) > sample {
		rng := rand.New(rand.NewPCG(seed, 0x511))
		// Partial Fisher-Yates: the first sample entries are a uniform sample.
		for i := 0; i < sample; i++ {
			j := i + rng.IntN(len(idx)-i)
			idx[i], idx[j] = idx[j], idx[i]
		}
		idx = idx[:sample]
	}
	sums := make([]float64, k)
	counts := make([]int, k)
	for _, i := range idx {
		counts[labels[i]]++
	}
	var total float64
	for _, i := range idx {
		clear(sums)
		for _, j := range idx {
			if i != j {
				sums[labels[j]] += math.Sqrt(sqDist(points[i], points[j]))
			}
		}
		own := labels[i]
		if counts[own] <= 1 {
			continue
		}
		a := sums[own] / float64(counts[own]-1)
		b := math.Inf(1)
		for c := range k {
			if c != own && counts[c] > 0 {
				b = math.Min(b, sums[c]/float64(counts[c]))
			}
		}
		if math.IsInf(b, 1) {
			continue
		}
		if m := math.Max(a, b); m > 0 {
			total += (b - a) / m
		}
	}
	return total / float64(len(idx))
}

// Options tune Choose; the zero value is usable.
type Options struct {
	// KMin and KMax bound the k tried (defaults 2 and 8).
	KMin, KMax int
	// KMeans tunes each k-means run (seed, iterations, restarts).
	KMeans KMeansOptions
	// SampleSize: candidate values of k are fitted and scored on a uniform
	// sample of at most this many points (default 5,000), then the chosen k
	// is refitted on all points from the sample's centroids. This keeps the
	// cost of choosing k independent of the base size.
	SampleSize int
}

// Validate fills defaults.
func (o *Options) Validate() error {
	if o.KMin == 0 {
		o.KMin = 2
	}
	if o.KMax == 0 {
		o.KMax = 8
	}
	if o.SampleSize == 0 {
		o.SampleSize = 5000
	}
	if o.KMin < 2 || o.KMax < o.KMin {
		return fmt.Errorf("cluster: k range %d..%d must have 2 ≤ KMin ≤ KMax", o.KMin, o.KMax)
	}
	if o.SampleSize < 0 {
		return errors.New("cluster: SampleSize must not be negative")
	}
	return o.KMeans.Validate()
}

// KScore is the silhouette and inertia of one candidate k on the sample.
type KScore struct {
	K          int
	Silhouette float64
	Inertia    float64
}

// Choose clusters points with the k in [KMin, KMax] that has the highest
// silhouette (ties go to the smaller k), and reports each candidate's score.
func Choose(points [][]float64, o Options) (Model, []KScore, error) {
	if err := o.Validate(); err != nil {
		return Model{}, nil, err
	}
	if err := checkPoints(points, o.KMin); err != nil {
		return Model{}, nil, err
	}
	sample := points
	if len(points) > o.SampleSize {
		rng := rand.New(rand.NewPCG(o.KMeans.Seed, 0xc400))
		perm := rng.Perm(len(points))[:o.SampleSize]
		sample = make([][]float64, o.SampleSize)
		for i, j := range perm {
			sample[i] = points[j]
		}
	}
	var scores []KScore
	var best Model
	bestS := math.Inf(-1)
	for k := o.KMin; k <= o.KMax && k <= len(sample); k++ {
		m, err := KMeans(sample, k, o.KMeans)
		if err != nil {
			return Model{}, nil, err
		}
		s := Silhouette(sample, m.Labels, k, 0, 0)
		scores = append(scores, KScore{K: k, Silhouette: s, Inertia: m.Inertia})
		if s > bestS {
			best, bestS = m, s
		}
	}
	if len(sample) == len(points) {
		return best, scores, nil
	}
	cents := make([][]float64, len(best.Centroids))
	for c, v := range best.Centroids {
		cents[c] = append([]float64(nil), v...)
	}
	return lloyd(points, cents, o.KMeans.MaxIterations), scores, nil
}

// AdjustedRand is the adjusted Rand index of two labellings of the same
// points: 1 for identical partitions (whatever the label names), about 0
// for independent ones.
func AdjustedRand(a, b []int) float64 {
	if len(a) != len(b) {
		panic("cluster: AdjustedRand of labellings of different lengths")
	}
	type pair struct{ x, y int }
	joint := map[pair]int{}
	ra := map[int]int{}
	rb := map[int]int{}
	for i := range a {
		joint[pair{a[i], b[i]}]++
		ra[a[i]]++
		rb[b[i]]++
	}
	c2 := func(n int) float64 { return float64(n) * float64(n-1) / 2 }
	var sumJ, sumA, sumB float64
	for _, n := range joint {
		sumJ += c2(n)
	}
	for _, n := range ra {
		sumA += c2(n)
	}
	for _, n := range rb {
		sumB += c2(n)
	}
	expected := sumA * sumB / c2(len(a))
	maxIdx := (sumA + sumB) / 2
	if maxIdx == expected {
		return 1
	}
	return (sumJ - expected) / (maxIdx - expected)
}
