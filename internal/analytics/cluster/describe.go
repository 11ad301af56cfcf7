package cluster

import (
	"fmt"
	"math"
	"sort"
	"strings"
)

// Kind says how a feature is put into words.
type Kind int

const (
	// Level is an amount (orders, spend, days): "buys often" / "buys rarely".
	Level Kind = iota
	// Share is a fraction of a customer's activity in [0, 1] (a channel, a
	// category): "mostly on mobile" (cluster mean ≥ 0.5), "often on mobile",
	// "rarely on mobile".
	Share
	// Rate is how likely a customer is to do something, in [0, 1]:
	// "2.3x more likely to use coupons" / "2.0x less likely to use coupons".
	Rate
)

// Word is the vocabulary entry of one feature. For Level, High and Low are
// whole phrases; for Share and Rate, High is the activity ("on mobile",
// "use coupons") and Low is unused. A %s in High is replaced by the part of
// the feature name matched by a trailing "*" in the vocabulary key
// ("category_*" with High "buys %s" describes category_shoes as "buys shoes").
type Word struct {
	Kind Kind
	High string
	Low  string
}

// Vocabulary maps feature names (or "prefix*" patterns) to words.
type Vocabulary map[string]Word

// DefaultVocabulary covers the features segd clusters on by default: RFM,
// tenure, order value, channel and category mix, discount use.
var DefaultVocabulary = Vocabulary{
	"frequency":        {Level, "buys often", "buys rarely"},
	"rfm_frequency":    {Level, "buys often", "buys rarely"},
	"recency_days":     {Level, "has not bought for a while", "bought recently"},
	"rfm_recency_days": {Level, "has not bought for a while", "bought recently"},
	"monetary":         {Level, "spends a lot", "spends little"},
	"rfm_monetary":     {Level, "spends a lot", "spends little"},
	"avg_order_value":  {Level, "places large orders", "places small orders"},
	"tenure_days":      {Level, "long-standing customer", "recently joined"},
	"sessions":         {Level, "visits often", "visits rarely"},
	"returns":          {Level, "returns a lot", "rarely returns"},
	"channel_*":        {Share, "on %s", ""},
	"category_*":       {Share, "buys %s", ""},
	"discount_share":   {Rate, "use discounts", ""},
	"coupon_rate":      {Rate, "use coupons", ""},
	"coupon_use":       {Rate, "use coupons", ""},
	"churned":          {Rate, "have churned", ""},
	"newsletter":       {Rate, "read the newsletter", ""},
}

// Lookup finds the word for a feature name: an exact key first, then the
// longest "prefix*" key, else a generic Level word ("higher name" /
// "lower name").
func (v Vocabulary) Lookup(name string) Word {
	if w, ok := v[name]; ok {
		return w
	}
	best, bestLen := Word{}, -1
	for k, w := range v {
		if p, ok := strings.CutSuffix(k, "*"); ok && strings.HasPrefix(name, p) && len(p) > bestLen {
			rest := strings.ReplaceAll(strings.TrimPrefix(name, p), "_", " ")
			best, bestLen = w, len(p)
			best.High = strings.ReplaceAll(w.High, "%s", rest)
		}
	}
	if bestLen >= 0 {
		return best
	}
	plain := strings.ReplaceAll(name, "_", " ")
	return Word{Kind: Level, High: "higher " + plain, Low: "lower " + plain}
}

// DescribeOptions tune Describe; the zero value is usable.
type DescribeOptions struct {
	// Vocabulary (default DefaultVocabulary).
	Vocabulary Vocabulary
	// MaxPhrases caps the description (default 4).
	MaxPhrases int
	// MinEffect is the smallest |cluster mean − base mean| / base std for a
	// feature to be mentioned (default 0.5).
	MinEffect float64
}

func (o *DescribeOptions) defaults() {
	if o.Vocabulary == nil {
		o.Vocabulary = DefaultVocabulary
	}
	if o.MaxPhrases == 0 {
		o.MaxPhrases = 4
	}
	if o.MinEffect == 0 {
		o.MinEffect = 0.5
	}
}

// Describe puts a cluster into words against the whole base: each feature
// whose standardised difference (cluster mean − base mean)/base std is at
// least MinEffect in size becomes a phrase, strongest first, at most
// MaxPhrases of them. The slices are parallel to names, in raw (not
// standardised) units.
func Describe(names []string, clusterMean, baseMean, baseStd []float64, o DescribeOptions) []string {
	o.defaults()
	type cand struct {
		effect float64
		phrase string
	}
	var cs []cand
	for j, name := range names {
		if baseStd[j] <= 0 {
			continue
		}
		cm, bm := clusterMean[j], baseMean[j]
		z := (cm - bm) / baseStd[j]
		if math.Abs(z) < o.MinEffect {
			continue
		}
		w := o.Vocabulary.Lookup(name)
		var p string
		switch w.Kind {
		case Level:
			p = w.Low
			if z > 0 {
				p = w.High
			}
		case Share:
			switch {
			case z > 0 && cm >= 0.5:
				p = "mostly " + w.High
			case z > 0:
				p = "often " + w.High
			default:
				p = "rarely " + w.High
			}
		case Rate:
			switch {
			case bm <= 0 || cm <= 0:
				if z > 0 {
					p = "more likely to " + w.High
				} else {
					p = "never " + strings.TrimPrefix(w.High, "to ")
				}
			case cm >= bm:
				p = fmt.Sprintf("%.1fx more likely to %s", cm/bm, w.High)
			default:
				p = fmt.Sprintf("%.1fx less likely to %s", bm/cm, w.High)
			}
		}
		if p != "" {
			cs = append(cs, cand{math.Abs(z), p})
		}
	}
	sort.SliceStable(cs, func(a, b int) bool { return cs[a].effect > cs[b].effect })
	var out []string
	for _, c := range cs {
		if len(out) == o.MaxPhrases {
			break
		}
		out = append(out, c.phrase)
	}
	return out
}

// Means returns per-cluster feature means of raw rows under m's labels.
func Means(rows [][]float64, labels []int, k int) [][]float64 {
	if len(rows) == 0 {
		return nil
	}
	d := len(rows[0])
	sums := make([][]float64, k)
	counts := make([]int, k)
	for c := range sums {
		sums[c] = make([]float64, d)
	}
	for i, r := range rows {
		c := labels[i]
		counts[c]++
		for j, v := range r {
			sums[c][j] += v
		}
	}
	for c := range sums {
		if counts[c] > 0 {
			for j := range sums[c] {
				sums[c][j] /= float64(counts[c])
			}
		}
	}
	return sums
}
