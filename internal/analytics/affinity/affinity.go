// Package affinity owns cross-sell statistics: from baskets (an order's
// categories, or every category a customer ever bought) it counts items and
// co-occurring pairs and derives association rules A → B with support,
// confidence and lift (Agrawal, Imieliński & Swami 1993), and picks per
// customer the next best item not yet bought.
//
// Pure counting over strings: it must not import the store, the engine or
// anything that does I/O.
package affinity

import (
	"errors"
	"math"
	"sort"
)

// Model holds item and pair counts over baskets. Add baskets, then query.
// A Model is not safe for concurrent Add; queries after the last Add may run
// concurrently once Freeze has been called.
type Model struct {
	items  []string
	index  map[string]int32
	count  []int
	pairs  map[uint64]int
	n      int
	frozen [][]edge // per item, co-occurring items with counts; nil when stale
	seen   []int32  // scratch for de-duplicating a basket
}

type edge struct {
	to    int32
	count int
}

// New returns an empty model.
func New() *Model {
	return &Model{index: map[string]int32{}, pairs: map[uint64]int{}}
}

// Build counts all baskets.
func Build(baskets [][]string) *Model {
	m := New()
	for _, b := range baskets {
		m.Add(b)
	}
	return m
}

func pairKey(a, b int32) uint64 {
	if a > b {
		a, b = b, a
	}
	return uint64(a)<<32 | uint64(uint32(b))
}

func (m *Model) intern(s string) int32 {
	if i, ok := m.index[s]; ok {
		return i
	}
	i := int32(len(m.items))
	m.index[s] = i
	m.items = append(m.items, s)
	m.count = append(m.count, 0)
	return i
}

// Add counts one basket; repeated items in it count once. Empty baskets
// count towards the number of baskets (they lower every support).
func (m *Model) Add(basket []string) {
	m.frozen = nil
	m.n++
	ids := m.seen[:0]
	for _, s := range basket {
		id := m.intern(s)
		dup := false
		for _, j := range ids {
			if j == id {
				dup = true
				break
			}
		}
		if !dup {
			ids = append(ids, id)
		}
	}
	for i, a := range ids {
		m.count[a]++
		for _, b := range ids[i+1:] {
			m.pairs[pairKey(a, b)]++
		}
	}
	m.seen = ids
}

// Baskets is the number of baskets added.
func (m *Model) Baskets() int { return m.n }

// Items lists the distinct items seen, in first-seen order.
func (m *Model) Items() []string { return append([]string(nil), m.items...) }

// Count is the number of baskets containing item.
func (m *Model) Count(item string) int {
	if i, ok := m.index[item]; ok {
		return m.count[i]
	}
	return 0
}

// PairCount is the number of baskets containing both a and b.
func (m *Model) PairCount(a, b string) int {
	ia, okA := m.index[a]
	ib, okB := m.index[b]
	if !okA || !okB || ia == ib {
		return 0
	}
	return m.pairs[pairKey(ia, ib)]
}

// Rule is the association A → B ("who buys From also buys To").
type Rule struct {
	From, To string
	// Count is the number of baskets with both.
	Count int
	// Support = Count / baskets.
	Support float64
	// Confidence = P(To | From) = Count / count(From).
	Confidence float64
	// Lift = Confidence / P(To): above 1 the two go together more often
	// than chance.
	Lift float64
}

func (m *Model) rule(a, b int32, c int) Rule {
	n := float64(m.n)
	conf := float64(c) / float64(m.count[a])
	return Rule{
		From: m.items[a], To: m.items[b], Count: c,
		Support:    float64(c) / n,
		Confidence: conf,
		Lift:       conf / (float64(m.count[b]) / n),
	}
}

// Rule returns the statistics of from → to (zero counts when either item or
// the pair was never seen).
func (m *Model) Rule(from, to string) Rule {
	ia, okA := m.index[from]
	ib, okB := m.index[to]
	if !okA || !okB || ia == ib {
		return Rule{From: from, To: to}
	}
	return m.rule(ia, ib, m.pairs[pairKey(ia, ib)])
}

// Freeze builds the adjacency used by Rules and NextBest; it runs
// automatically on first use after an Add, and makes later queries safe to
// run concurrently.
func (m *Model) Freeze() {
	if m.frozen != nil {
		return
	}
	adj := make([][]edge, len(m.items))
	for k, c := range m.pairs {
		a, b := int32(k>>32), int32(uint32(k))
		adj[a] = append(adj[a], edge{b, c})
		adj[b] = append(adj[b], edge{a, c})
	}
	for _, es := range adj {
		sort.Slice(es, func(i, j int) bool { return es[i].to < es[j].to })
	}
	m.frozen = adj
}

// RuleOptions filter Rules.
type RuleOptions struct {
	// MinCount is the fewest baskets with both items (default 5): rules
	// from a handful of baskets have unstable lift.
	MinCount int
	// MinSupport, MinConfidence and MinLift filter further (default 0).
	MinSupport, MinConfidence, MinLift float64
	// Limit caps the result (0 = all).
	Limit int
}

// Rules lists rules in both directions, strongest lift first (then
// confidence, count, names).
func (m *Model) Rules(o RuleOptions) []Rule {
	if o.MinCount == 0 {
		o.MinCount = 5
	}
	m.Freeze()
	var out []Rule
	for a, es := range m.frozen {
		for _, e := range es {
			if e.count < o.MinCount {
				continue
			}
			r := m.rule(int32(a), e.to, e.count)
			if r.Support < o.MinSupport || r.Confidence < o.MinConfidence || r.Lift < o.MinLift {
				continue
			}
			out = append(out, r)
		}
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if a.Lift != b.Lift {
			return a.Lift > b.Lift
		}
		if a.Confidence != b.Confidence {
			return a.Confidence > b.Confidence
		}
		if a.Count != b.Count {
			return a.Count > b.Count
		}
		if a.From != b.From {
			return a.From < b.From
		}
		return a.To < b.To
	})
	if o.Limit > 0 && len(out) > o.Limit {
		out = out[:o.Limit]
	}
	return out
}

// Scoring says how the rules from a customer's several bought items combine.
type Scoring int

const (
	// Max scores candidate c by max over bought b of confidence(b → c): the
	// single strongest reason. The default.
	Max Scoring = iota
	// Sum adds confidence(b → c) over bought b: candidates backed by many
	// of the customer's items win. Not a probability.
	Sum
)

// NextOptions tune NextBest.
type NextOptions struct {
	Scoring Scoring
	// MinCount is the fewest co-purchasing baskets for a rule to count
	// (default 3).
	MinCount int
	// FallbackPopular makes NextBest return the most bought item not yet
	// bought when no rule applies (its score is its support).
	FallbackPopular bool
}

// Suggestion is a next best item with its score and whether it came from
// popularity rather than rules.
type Suggestion struct {
	Item    string
	Score   float64
	Popular bool
}

// ErrNoSuggestion is returned when every item is bought or nothing applies.
var ErrNoSuggestion = errors.New("affinity: no item to suggest")

// NextBest returns the item not in bought with the highest score (ties: the
// more bought item, then the name). Unknown bought items are ignored.
func (m *Model) NextBest(bought []string, o NextOptions) (Suggestion, error) {
	if o.MinCount == 0 {
		o.MinCount = 3
	}
	m.Freeze()
	has := make(map[int32]bool, len(bought))
	for _, s := range bought {
		if i, ok := m.index[s]; ok {
			has[i] = true
		}
	}
	score := map[int32]float64{}
	for b := range has {
		for _, e := range m.frozen[b] {
			if has[e.to] || e.count < o.MinCount {
				continue
			}
			conf := float64(e.count) / float64(m.count[b])
			if o.Scoring == Sum {
				score[e.to] += conf
			} else {
				score[e.to] = math.Max(score[e.to], conf)
			}
		}
	}
	best, bestS := int32(-1), 0.0
	better := func(c int32, s float64) bool {
		if best < 0 || s > bestS {
			return true
		}
		if s < bestS {
			return false
		}
		if m.count[c] != m.count[best] {
			return m.count[c] > m.count[best]
		}
		return m.items[c] < m.items[best]
	}
	for c, s := range score {
		if better(c, s) {
			best, bestS = c, s
		}
	}
	if best >= 0 {
		return Suggestion{Item: m.items[best], Score: bestS}, nil
	}
	if !o.FallbackPopular {
		return Suggestion{}, ErrNoSuggestion
	}
	for c := range m.items {
		id := int32(c)
		if !has[id] && m.count[id] > 0 && better(id, float64(m.count[id])/float64(m.n)) {
			best, bestS = id, float64(m.count[id])/float64(m.n)
		}
	}
	if best < 0 {
		return Suggestion{}, ErrNoSuggestion
	}
	return Suggestion{Item: m.items[best], Score: bestS, Popular: true}, nil
}
