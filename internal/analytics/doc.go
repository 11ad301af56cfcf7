// Package analytics is the parent of segd's statistical cores. Each
// subpackage owns one model and is pure math over plain slices and structs:
//
//   - calibration: purchases → per-customer (x, t_x, T, zbar) summaries
//   - bgnbd: BG/NBD repeat-buying model (p_alive, expected purchases)
//   - gammagamma: Gamma-Gamma spend model and discounted CLV
//   - rfm: recency/frequency/monetary quintile scores and named groups
//   - cluster: k-means++, silhouette, plain-language cluster descriptions
//   - affinity: category co-purchase support/confidence/lift, next best category
//   - pricesens: discount share and depth, price-sensitivity band
//   - lift: which features distinguish a segment from the base
//
// None of them may import the store, the index, the engine, the HTTP API or
// each other's callers; the wiring that feeds them from profiles and events
// and writes their results back as traits lives outside. See
// docs/analytics.md.
package analytics
