package affinity_test

import (
	"errors"
	"fmt"
	"math"
	"testing"

	"github.com/segd/segd/internal/analytics/affinity"
)

func near(a, b float64) bool { return math.Abs(a-b) < 1e-12 }

func TestRuleStatistics(t *testing.T) {
	m := affinity.Build([][]string{
		{"A", "B"}, {"A", "B", "C"}, {"A", "C"}, {"B", "C"}, {"A", "B", "A"}, {"D"},
	})
	if m.Baskets() != 6 || m.Count("A") != 4 || m.PairCount("A", "B") != 3 || m.PairCount("B", "A") != 3 {
		t.Fatalf("counts: baskets %d, A %d, AB %d", m.Baskets(), m.Count("A"), m.PairCount("A", "B"))
	}
	for _, c := range []struct {
		from, to               string
		count                  int
		support, conf, liftVal float64
	}{
		{"A", "B", 3, 0.5, 0.75, 0.75 / (4.0 / 6)},
		{"B", "A", 3, 0.5, 0.75, 0.75 / (4.0 / 6)},
		{"C", "A", 2, 2.0 / 6, 2.0 / 3, 1},
		{"A", "D", 0, 0, 0, 0},
		{"A", "nope", 0, 0, 0, 0},
	} {
		r := m.Rule(c.from, c.to)
		if r.Count != c.count || !near(r.Support, c.support) || !near(r.Confidence, c.conf) || !near(r.Lift, c.liftVal) {
			t.Errorf("rule %s→%s = %+v, want count %d support %g confidence %g lift %g", c.from, c.to, r, c.count, c.support, c.conf, c.liftVal)
		}
	}
	rules := m.Rules(affinity.RuleOptions{MinCount: 2})
	if len(rules) != 6 {
		t.Fatalf("%d rules, want 6 (three pairs, both directions)", len(rules))
	}
	if rules[0].Lift < rules[len(rules)-1].Lift {
		t.Error("rules not sorted by lift")
	}
	if got := m.Rules(affinity.RuleOptions{MinCount: 3}); len(got) != 2 {
		t.Errorf("MinCount 3 kept %d rules, want A→B and B→A", len(got))
	}
}

func TestNextBestScoring(t *testing.T) {
	var baskets [][]string
	add := func(n int, b ...string) {
		for range n {
			baskets = append(baskets, b)
		}
	}
	// conf(X→P) = 0.6; conf(X→Q) = conf(Y→Q) = 0.4.
	add(3, "X", "P")
	add(2, "X", "Q", "Y")
	add(3, "Y")
	m := affinity.Build(baskets)
	for _, c := range []struct {
		bought  []string
		scoring affinity.Scoring
		want    string
		score   float64
	}{
		{[]string{"X", "Y"}, affinity.Max, "P", 0.6},
		{[]string{"X", "Y"}, affinity.Sum, "Q", 0.8},
		{[]string{"X"}, affinity.Max, "P", 0.6},
		{[]string{"X", "P"}, affinity.Max, "Y", 0.4}, // ties Q at 0.4; Y is bought more
	} {
		s, err := m.NextBest(c.bought, affinity.NextOptions{Scoring: c.scoring, MinCount: 1})
		if err != nil || s.Item != c.want || !near(s.Score, c.score) {
			t.Errorf("NextBest(%v, %v) = %+v, %v; want %s (%g)", c.bought, c.scoring, s, err, c.want, c.score)
		}
	}
	// P is bought with X only 3 times: MinCount 4 leaves no rule.
	if _, err := m.NextBest([]string{"X"}, affinity.NextOptions{MinCount: 4}); !errors.Is(err, affinity.ErrNoSuggestion) {
		t.Errorf("err = %v, want ErrNoSuggestion", err)
	}
	s, err := m.NextBest([]string{"X"}, affinity.NextOptions{MinCount: 4, FallbackPopular: true})
	if err != nil || s.Item != "Y" || !s.Popular {
		t.Errorf("popular fallback = %+v, %v; want Y (bought in 5 baskets)", s, err)
	}
	if _, err := m.NextBest([]string{"X", "Y", "P", "Q"}, affinity.NextOptions{FallbackPopular: true}); err == nil {
		t.Error("suggested something to a customer who bought everything")
	}
}

func BenchmarkNextBest(b *testing.B) {
	m := affinity.New()
	cats := make([]string, 40)
	for i := range cats {
		cats[i] = fmt.Sprintf("cat%02d", i)
	}
	for i := range 200000 {
		m.Add([]string{cats[i%40], cats[(i*7)%40], cats[(i*13+5)%40]})
	}
	m.Freeze()
	bought := []string{"cat01", "cat07", "cat19"}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := m.NextBest(bought, affinity.NextOptions{}); err != nil {
			b.Fatal(err)
		}
	}
}
