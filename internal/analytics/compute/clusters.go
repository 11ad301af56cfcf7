package compute

import (
	"fmt"
	"slices"
	"strings"

	"github.com/segd/segd/internal/analytics/cluster"
	"github.com/segd/segd/internal/index"
)

// ChannelProperty is the event property whose values are the channels of the channel mix
// (set by enrichment from the user agent: desktop, mobile, tablet).
const ChannelProperty = "device_type"

// channelMix returns the channels seen and, per channel, the share of each profile's events
// (up to atNs) on it; shares are indexed like profiles.
func channelMix(snap *index.Snapshot, profiles []uint32, atNs int64) ([]string, [][]float64) {
	if len(profiles) == 0 {
		return nil, nil
	}
	maxID := profiles[len(profiles)-1]
	slot := make([]int32, int(maxID)+1)
	for i := range slot {
		slot[i] = -1
	}
	for i, p := range profiles {
		slot[p] = int32(i)
	}
	chIdx := map[string]int{}
	var chans []string
	var counts [][]float64
	total := make([]float64, len(profiles))
	for _, t := range snap.Tables() {
		col := t.Columns[ChannelProperty]
		if col == nil || col.Codes == nil {
			continue
		}
		n := t.Upper(atNs)
		for row := 0; row < n; row++ {
			pid := t.Prof[row]
			if int(pid) >= len(slot) || slot[pid] < 0 {
				continue
			}
			v := textAt(col, row)
			if v == "" || v == "bot" {
				continue
			}
			k, ok := chIdx[v]
			if !ok {
				k = len(chans)
				chIdx[v] = k
				chans = append(chans, v)
				counts = append(counts, make([]float64, len(profiles)))
			}
			counts[k][slot[pid]]++
			total[slot[pid]]++
		}
	}
	for _, c := range counts {
		for i := range c {
			if total[i] > 0 {
				c[i] /= total[i]
			}
		}
	}
	return chans, counts
}

// Clusters is the k-means partition of the customers with the words for each cluster.
type Clusters struct {
	Features []string
	Model    cluster.Model
	Scores   []cluster.KScore
	Summary  []ClusterSummary
}

// ClusterSummary describes one cluster against the whole base.
type ClusterSummary struct {
	ID          int                `json:"id"` // 1-based, the customer_cluster trait value
	Size        int                `json:"size"`
	Share       float64            `json:"share"`
	Description string             `json:"description"`
	Phrases     []string           `json:"phrases"`
	Means       map[string]float64 `json:"means"`
}

// clusterFeatures builds the raw feature rows: RFM, tenure, average order value, discount
// share, channel and category mix.
func clusterFeatures(r *Result) ([]string, [][]float64) {
	names := []string{"rfm_recency_days", "rfm_frequency", "rfm_monetary", "avg_order_value", "tenure_days", "discount_share"}
	for _, ch := range r.Channels {
		names = append(names, "channel_"+ch)
	}
	for _, c := range r.Categories {
		names = append(names, "category_"+strings.ReplaceAll(strings.ToLower(c), " ", "_"))
	}
	rows := make([][]float64, len(r.Profiles))
	for i := range rows {
		row := make([]float64, 0, len(names))
		row = append(row, r.RecencyDays[i], r.Frequency[i], r.Monetary[i], r.AOV[i], r.Tenure[i], r.DiscountShare[i])
		for k := range r.Channels {
			row = append(row, r.ChanShare[k][i])
		}
		for k := range r.Categories {
			row = append(row, r.CatShare[k][i])
		}
		rows[i] = row
	}
	return names, rows
}

func clusterCustomers(r *Result, cfg *Config) (*Clusters, error) {
	names, rows := clusterFeatures(r)
	z, mean, std := cluster.Standardise(rows)
	m, scores, err := cluster.Choose(z, cfg.Clusters)
	if err != nil {
		return nil, err
	}
	means := cluster.Means(rows, m.Labels, m.K)
	cl := &Clusters{Features: names, Model: m, Scores: scores}
	for k := 0; k < m.K; k++ {
		ph := cluster.Describe(names, means[k], mean, std, cluster.DescribeOptions{})
		desc := strings.Join(ph, ", ")
		if desc == "" {
			desc = "close to the average customer"
		}
		mm := make(map[string]float64, len(names))
		for j, n := range names {
			mm[n] = round(means[k][j], 3)
		}
		cl.Summary = append(cl.Summary, ClusterSummary{ID: k + 1, Size: m.Sizes[k],
			Share: round(float64(m.Sizes[k])/float64(len(rows)), 4), Description: desc, Phrases: ph, Means: mm})
	}
	return cl, nil
}

// String renders the clusters as a table.
func (c *Clusters) String() string {
	var b strings.Builder
	sums := slices.Clone(c.Summary)
	for _, s := range sums {
		fmt.Fprintf(&b, "%3d  %7d  %5.1f%%  %s\n", s.ID, s.Size, 100*s.Share, s.Description)
	}
	return b.String()
}
