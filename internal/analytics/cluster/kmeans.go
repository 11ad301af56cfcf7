// Package cluster owns data-driven segment suggestions: standardising
// customer feature vectors, k-means with k-means++ seeding (Arthur &
// Vassilvitskii 2007) under a fixed seed, the silhouette score (Rousseeuw
// 1987) on a sample, choosing k by silhouette, the adjusted Rand index
// (Hubert & Arabie 1985) for comparing partitions, and plain-language
// descriptions of clusters against the whole base.
//
// Pure math over [][]float64: it must not import the store, the engine or
// anything that does I/O. Written by hand because gonum has no k-means; the
// algorithms are short and their determinism under a seed matters here.
package cluster

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
)

// Standardise returns z-scores of rows (column-wise, population standard
// deviation) and the column means and standard deviations used. A constant
// column has std 0 and becomes all zeros.
func Standardise(rows [][]float64) (z [][]float64, mean, std []float64) {
	if len(rows) == 0 {
		return nil, nil, nil
	}
	d := len(rows[0])
	mean = make([]float64, d)
	std = make([]float64, d)
	for _, r := range rows {
		for j, v := range r {
			mean[j] += v
		}
	}
	n := float64(len(rows))
	for j := range mean {
		mean[j] /= n
	}
	for _, r := range rows {
		for j, v := range r {
			dv := v - mean[j]
			std[j] += dv * dv
		}
	}
	for j := range std {
		std[j] = math.Sqrt(std[j] / n)
	}
	flat := make([]float64, len(rows)*d)
	z = make([][]float64, len(rows))
	for i, r := range rows {
		z[i] = flat[i*d : (i+1)*d : (i+1)*d]
		for j, v := range r {
			if std[j] > 0 {
				z[i][j] = (v - mean[j]) / std[j]
			}
		}
	}
	return z, mean, std
}

// Model is a k-means partition.
type Model struct {
	K         int
	Centroids [][]float64
	// Labels[i] is the cluster (0..K−1) of point i.
	Labels []int
	// Sizes[c] counts the points of cluster c.
	Sizes []int
	// Inertia is the sum of squared distances to the assigned centroids.
	Inertia    float64
	Iterations int
}

// KMeansOptions tune KMeans; the zero value is usable.
type KMeansOptions struct {
	// Seed makes the run reproducible (default 1).
	Seed uint64
	// MaxIterations of Lloyd's algorithm per restart (default 100).
	MaxIterations int
	// Restarts is how many k-means++ seedings are tried; the lowest inertia
	// wins (default 4).
	Restarts int
}

// Validate fills defaults.
func (o *KMeansOptions) Validate() error {
	if o.Seed == 0 {
		o.Seed = 1
	}
	if o.MaxIterations == 0 {
		o.MaxIterations = 100
	}
	if o.Restarts == 0 {
		o.Restarts = 4
	}
	if o.MaxIterations < 0 || o.Restarts < 0 {
		return errors.New("cluster: MaxIterations and Restarts must be positive")
	}
	return nil
}

func sqDist(a, b []float64) float64 {
	var s float64
	for j := range a {
		d := a[j] - b[j]
		s += d * d
	}
	return s
}

func checkPoints(points [][]float64, k int) error {
	if k < 1 {
		return fmt.Errorf("cluster: k = %d must be at least 1", k)
	}
	if len(points) < k {
		return fmt.Errorf("cluster: %d points cannot make %d clusters", len(points), k)
	}
	d := len(points[0])
	for i, p := range points {
		if len(p) != d {
			return fmt.Errorf("cluster: point %d has %d features, want %d", i, len(p), d)
		}
		for _, v := range p {
			if math.IsNaN(v) || math.IsInf(v, 0) {
				return fmt.Errorf("cluster: point %d has a non-finite feature", i)
			}
		}
	}
	return nil
}

// KMeans partitions points into k clusters: k-means++ seeding, then Lloyd
// iterations until no label changes, repeated o.Restarts times from
// different seedings drawn from one generator seeded with o.Seed.
func KMeans(points [][]float64, k int, o KMeansOptions) (Model, error) {
	if err := o.Validate(); err != nil {
		return Model{}, err
	}
	if err := checkPoints(points, k); err != nil {
		return Model{}, err
	}
	rng := rand.New(rand.NewPCG(o.Seed, 0x5e9d))
	var best Model
	for r := 0; r < o.Restarts; r++ {
		m := lloyd(points, seedPlusPlus(points, k, rng), o.MaxIterations)
		if r == 0 || m.Inertia < best.Inertia {
			best = m
		}
	}
	return best, nil
}

// seedPlusPlus picks k initial centroids: the first uniformly, each next one
// with probability proportional to its squared distance to the nearest
// centroid already chosen.
func seedPlusPlus(points [][]float64, k int, rng *rand.Rand) [][]float64 {
	n := len(points)
	cents := make([][]float64, 0, k)
	cents = append(cents, append([]float64(nil), points[rng.IntN(n)]...))
	d2 := make([]float64, n)
	for i, p := range points {
		d2[i] = sqDist(p, cents[0])
	}
	for len(cents) < k {
		var total float64
		for _, v := range d2 {
			total += v
		}
		next := rng.IntN(n)
		if total > 0 {
			u := rng.Float64() * total
			var acc float64
			for i, v := range d2 {
				acc += v
				if acc >= u && v > 0 {
					next = i
					break
				}
			}
		}
		c := append([]float64(nil), points[next]...)
		cents = append(cents, c)
		for i, p := range points {
			if v := sqDist(p, c); v < d2[i] {
				d2[i] = v
			}
		}
	}
	return cents
}

// lloyd runs assignment/update steps from the given centroids. An emptied
// cluster takes the point farthest from its centroid, so k stays k.
func lloyd(points [][]float64, cents [][]float64, maxIter int) Model {
	n, k, d := len(points), len(cents), len(points[0])
	labels := make([]int, n)
	for i := range labels {
		labels[i] = -1
	}
	sizes := make([]int, k)
	sums := make([][]float64, k)
	for c := range sums {
		sums[c] = make([]float64, d)
	}
	iter := 0
	for iter < maxIter {
		iter++
		changed := false
		for i, p := range points {
			bc, bd := 0, math.Inf(1)
			for c, cent := range cents {
				if v := sqDist(p, cent); v < bd {
					bc, bd = c, v
				}
			}
			if labels[i] != bc {
				labels[i] = bc
				changed = true
			}
		}
		if !changed && iter > 1 {
			break
		}
		for c := range sums {
			sizes[c] = 0
			clear(sums[c])
		}
		for i, p := range points {
			c := labels[i]
			sizes[c]++
			for j, v := range p {
				sums[c][j] += v
			}
		}
		for c := range cents {
			if sizes[c] == 0 {
				far, fd := 0, -1.0
				for i, p := range points {
					if v := sqDist(p, cents[labels[i]]); v > fd && sizes[labels[i]] > 1 {
						far, fd = i, v
					}
				}
				sizes[labels[far]]--
				labels[far] = c
				sizes[c] = 1
				copy(cents[c], points[far])
				continue
			}
			for j := range cents[c] {
				cents[c][j] = sums[c][j] / float64(sizes[c])
			}
		}
	}
	m := Model{K: k, Centroids: cents, Labels: labels, Sizes: make([]int, k), Iterations: iter}
	for i, p := range points {
		m.Sizes[labels[i]]++
		m.Inertia += sqDist(p, cents[labels[i]])
	}
	return m
}

// Assign returns the index of the centroid nearest to p.
func (m Model) Assign(p []float64) int {
	bc, bd := 0, math.Inf(1)
	for c, cent := range m.Centroids {
		if v := sqDist(p, cent); v < bd {
			bc, bd = c, v
		}
	}
	return bc
}
