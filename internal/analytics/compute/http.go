package compute

import (
	"context"
	"math"
	"net/http"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/RoaringBitmap/roaring/v2"
	"github.com/segd/segd/internal/analytics/affinity"
	"github.com/segd/segd/internal/analytics/lift"
	"github.com/segd/segd/internal/httpapi"
	"github.com/segd/segd/internal/index"
	"github.com/segd/segd/internal/store"
)

// SegmentRef names a segment.
type SegmentRef struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

// Segments is what the analytics endpoints need of the segment API (wired by the lead).
type Segments interface {
	// List returns the workspace's segments.
	List(ws uint32) ([]SegmentRef, error)
	// Members returns the current members of a segment.
	Members(ws uint32, id string) (*roaring.Bitmap, error)
	// Entered returns when each current member last entered the segment.
	Entered(ws uint32, id string) (map[uint32]time.Time, error)
	// Create saves a segment with a SegQL condition and returns its id.
	Create(ctx context.Context, ws uint32, name, description, condition string) (string, error)
}

// Point is a segment's size at a time.
type Point struct {
	At   time.Time `json:"at"`
	Size int       `json:"size"`
}

// SizeHistory gives a segment's size over time (from the membership package).
type SizeHistory interface {
	SizeHistory(ws uint32, segmentID string) ([]Point, error)
}

// Routes are the analytics endpoints (admin scope).
func (r *Runner) Routes() []httpapi.Route {
	a := store.ScopeAdmin
	return []httpapi.Route{
		{Pattern: "GET /api/v1/analytics/report", Scope: a, Handler: r.handleReport},
		{Pattern: "GET /api/v1/analytics/config", Scope: a, Handler: r.handleGetConfig},
		{Pattern: "PUT /api/v1/analytics/config", Scope: a, Handler: r.handlePutConfig},
		{Pattern: "POST /api/v1/analytics/recompute", Scope: a, Handler: r.handleRecompute},
		{Pattern: "GET /api/v1/analytics/rfm", Scope: a, Handler: r.handleRFM},
		{Pattern: "GET /api/v1/analytics/clv", Scope: a, Handler: r.handleCLV},
		{Pattern: "GET /api/v1/analytics/lifecycle", Scope: a, Handler: r.stageHandler(TraitLifecycle)},
		{Pattern: "GET /api/v1/analytics/funnel", Scope: a, Handler: r.stageHandler(TraitFunnel)},
		{Pattern: "GET /api/v1/analytics/price-sensitivity", Scope: a, Handler: r.handlePrice},
		{Pattern: "GET /api/v1/analytics/affinity", Scope: a, Handler: r.handleAffinity},
		{Pattern: "GET /api/v1/analytics/clusters", Scope: a, Handler: r.handleClusters},
		{Pattern: "POST /api/v1/analytics/clusters/{n}/segment", Scope: a, Handler: r.handleClusterSegment},
		{Pattern: "GET /api/v1/analytics/segments/{id}/drivers", Scope: a, Handler: r.handleDrivers},
		{Pattern: "GET /api/v1/analytics/segments/{id}/report", Scope: a, Handler: r.handleSegmentReport},
		{Pattern: "GET /api/v1/analytics/trends", Scope: a, Handler: r.handleTrends},
		{Pattern: "GET /api/v1/analytics/overlap", Scope: a, Handler: r.handleOverlap},
	}
}

// last returns the workspace's last result or writes 409.
func (r *Runner) lastOr409(w http.ResponseWriter, ws uint32) *Result {
	res := r.Last(ws)
	if res == nil {
		httpapi.WriteError(w, http.StatusConflict, "NotComputed", "analytics have not been computed yet; POST /api/v1/analytics/recompute", "")
	}
	return res
}

func (r *Runner) handleReport(w http.ResponseWriter, _ *http.Request, ws uint32) {
	out := map[string]any{"progress": r.Progress(ws)}
	if res := r.Last(ws); res != nil {
		out["last"] = res.Report
	}
	httpapi.WriteJSON(w, 200, out)
}

func (r *Runner) handleGetConfig(w http.ResponseWriter, _ *http.Request, ws uint32) {
	c, err := r.Config(ws)
	if err != nil {
		httpapi.WriteError(w, 500, "BadConfig", err.Error(), "")
		return
	}
	httpapi.WriteJSON(w, 200, c)
}

func (r *Runner) handlePutConfig(w http.ResponseWriter, req *http.Request, ws uint32) {
	var c Config
	if !httpapi.DecodeJSON(w, req, &c) {
		return
	}
	if err := r.SetConfig(ws, c); err != nil {
		httpapi.WriteError(w, 400, "BadConfig", err.Error(), "")
		return
	}
	c.Validate()
	httpapi.WriteJSON(w, 200, c)
}

func (r *Runner) handleRecompute(w http.ResponseWriter, req *http.Request, ws uint32) {
	rep, err := r.Recompute(req.Context(), ws)
	if err != nil {
		httpapi.WriteError(w, 500, "RecomputeFailed", err.Error(), "")
		return
	}
	httpapi.WriteJSON(w, 200, rep)
}

// RFMCell is one cell of the recency × frequency grid.
type RFMCell struct {
	R         int     `json:"r"`
	F         int     `json:"f"`
	Customers int     `json:"customers"`
	Revenue   float64 `json:"revenue"`
}

// RFMGroup is one named group.
type RFMGroup struct {
	Name      string  `json:"name"`
	Customers int     `json:"customers"`
	Orders    float64 `json:"orders"`
	Revenue   float64 `json:"revenue"`
}

// RFMSummary is the grid and the named groups.
type RFMSummary struct {
	Customers int                  `json:"customers"`
	Grid      []RFMCell            `json:"grid"`
	Groups    []RFMGroup           `json:"groups"`
	Edges     map[string][]float64 `json:"edges"`
}

// RFM summarises a result's RFM scores.
func (res *Result) RFMSummary() RFMSummary {
	out := RFMSummary{Customers: len(res.Profiles), Edges: res.Report.RFMEdges}
	grid := map[[2]int]*RFMCell{}
	groups := map[string]*RFMGroup{}
	for i := range res.Profiles {
		if res.R[i] == 0 {
			continue
		}
		k := [2]int{int(res.R[i]), int(res.F[i])}
		c := grid[k]
		if c == nil {
			c = &RFMCell{R: k[0], F: k[1]}
			grid[k] = c
		}
		c.Customers++
		c.Revenue += res.Monetary[i]
		g := groups[res.Segment[i]]
		if g == nil {
			g = &RFMGroup{Name: res.Segment[i]}
			groups[res.Segment[i]] = g
		}
		g.Customers++
		g.Orders += res.Frequency[i]
		g.Revenue += res.Monetary[i]
	}
	for _, c := range grid {
		c.Revenue = round(c.Revenue, 2)
		out.Grid = append(out.Grid, *c)
	}
	sort.Slice(out.Grid, func(i, j int) bool {
		a, b := out.Grid[i], out.Grid[j]
		return a.R > b.R || a.R == b.R && a.F > b.F
	})
	for _, g := range groups {
		g.Revenue = round(g.Revenue, 2)
		out.Groups = append(out.Groups, *g)
	}
	sort.Slice(out.Groups, func(i, j int) bool {
		return out.Groups[i].Customers > out.Groups[j].Customers || out.Groups[i].Customers == out.Groups[j].Customers && out.Groups[i].Name < out.Groups[j].Name
	})
	return out
}

func (r *Runner) handleRFM(w http.ResponseWriter, _ *http.Request, ws uint32) {
	if res := r.lastOr409(w, ws); res != nil {
		httpapi.WriteJSON(w, 200, res.RFMSummary())
	}
}

// Bucket is one histogram bin [Low, High).
type Bucket struct {
	Low   float64 `json:"low"`
	High  float64 `json:"high"`
	Count int     `json:"count"`
}

// Histogram bins the non-NaN values between the given edges (the last bin is open; open
// ends are reported as ±math.MaxFloat64).
func Histogram(values []float64, edges []float64) []Bucket {
	out := make([]Bucket, len(edges))
	for i := range edges {
		out[i].Low = edges[i]
		out[i].High = math.Inf(1)
		if i+1 < len(edges) {
			out[i].High = edges[i+1]
		}
	}
	for _, v := range values {
		if math.IsNaN(v) {
			continue
		}
		i := sort.SearchFloat64s(edges, v)
		if i == len(edges) || edges[i] > v {
			i--
		}
		if i >= 0 {
			out[i].Count++
		}
	}
	for i := range out { // JSON has no infinities
		if math.IsInf(out[i].High, 1) {
			out[i].High = math.MaxFloat64
		}
		if math.IsInf(out[i].Low, -1) {
			out[i].Low = -math.MaxFloat64
		}
	}
	return out
}

// CLVSummary is the model report and the distributions of churn probability and CLV.
type CLVSummary struct {
	Report   Report   `json:"report"`
	Churn    []Bucket `json:"churn_probability"`
	CLV      []Bucket `json:"clv_12m"`
	TotalCLV float64  `json:"total_clv_12m"`
}

// CLVSummary summarises the churn and CLV traits.
func (res *Result) CLVSummary() CLVSummary {
	churn := make([]float64, len(res.PAlive))
	total := 0.0
	for i, p := range res.PAlive {
		churn[i] = 1 - p
		if !math.IsNaN(res.CLV12m[i]) {
			total += res.CLV12m[i]
		}
	}
	return CLVSummary{Report: res.Report, Churn: Histogram(churn, []float64{0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9}),
		CLV: Histogram(res.CLV12m, []float64{math.Inf(-1), 0, 10, 25, 50, 100, 250, 500, 1000, 2500}), TotalCLV: round(total, 2)}
}

func (r *Runner) handleCLV(w http.ResponseWriter, _ *http.Request, ws uint32) {
	if res := r.lastOr409(w, ws); res != nil {
		httpapi.WriteJSON(w, 200, res.CLVSummary())
	}
}

func (r *Runner) stageHandler(trait string) func(http.ResponseWriter, *http.Request, uint32) {
	return func(w http.ResponseWriter, req *http.Request, ws uint32) {
		ix := r.o.Indexes.Index(ws)
		counts := map[string]int{}
		if ix != nil {
			snap := ix.Acquire()
			if t := snap.Trait(trait); t != nil {
				for code, bm := range t.ByCode {
					if code > 0 && !bm.IsEmpty() {
						counts[t.Values[code]] = int(bm.GetCardinality())
					}
				}
			}
			snap.Release()
		}
		limit := 50
		if v, err := strconv.Atoi(req.URL.Query().Get("limit")); err == nil && v > 0 {
			limit = min(v, 1000)
		}
		var recent []StageChange
		err := r.o.Log.RecentLog(ws, StageLogName, 0, func(_ uint64, v []byte) (bool, error) {
			var c StageChange
			if err := jsonUnmarshal(v, &c); err != nil {
				return false, err
			}
			if c.Trait == trait {
				recent = append(recent, c)
			}
			return len(recent) < limit, nil
		})
		if err != nil {
			httpapi.WriteError(w, 500, "StoreError", err.Error(), "")
			return
		}
		httpapi.WriteJSON(w, 200, map[string]any{"stages": counts, "recent": recent})
	}
}

// PriceSummary counts customers per band with mean discount share and depth.
type PriceSummary struct {
	Band           string  `json:"band"`
	Customers      int     `json:"customers"`
	DiscountShare  float64 `json:"avg_discount_share"`
	AvgDiscountPct float64 `json:"avg_discount_pct"`
	Revenue        float64 `json:"revenue"`
}

// PriceSummary summarises price sensitivity per band.
func (res *Result) PriceSummary() []PriceSummary {
	m := map[string]*PriceSummary{}
	for i, b := range res.PriceBand {
		if b == "" {
			continue
		}
		s := m[b]
		if s == nil {
			s = &PriceSummary{Band: b}
			m[b] = s
		}
		s.Customers++
		s.DiscountShare += res.DiscountShare[i]
		s.AvgDiscountPct += res.AvgDiscountPct[i]
		s.Revenue += res.Monetary[i]
	}
	var out []PriceSummary
	for _, s := range m {
		s.DiscountShare = round(s.DiscountShare/float64(s.Customers), 4)
		s.AvgDiscountPct = round(s.AvgDiscountPct/float64(s.Customers), 2)
		s.Revenue = round(s.Revenue, 2)
		out = append(out, *s)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Band < out[j].Band })
	return out
}

func (r *Runner) handlePrice(w http.ResponseWriter, _ *http.Request, ws uint32) {
	if res := r.lastOr409(w, ws); res != nil {
		httpapi.WriteJSON(w, 200, map[string]any{"bands": res.PriceSummary()})
	}
}

func (r *Runner) handleAffinity(w http.ResponseWriter, req *http.Request, ws uint32) {
	res := r.lastOr409(w, ws)
	if res == nil {
		return
	}
	limit := 20
	if v, err := strconv.Atoi(req.URL.Query().Get("limit")); err == nil && v > 0 {
		limit = v
	}
	rules := res.Affinity.Rules(affinity.RuleOptions{Limit: limit})
	httpapi.WriteJSON(w, 200, map[string]any{"baskets": res.Affinity.Baskets(), "rules": rules})
}

func (r *Runner) handleClusters(w http.ResponseWriter, _ *http.Request, ws uint32) {
	res := r.lastOr409(w, ws)
	if res == nil {
		return
	}
	if res.Clusters == nil {
		httpapi.WriteError(w, http.StatusConflict, "NoClusters", "too few customers to cluster", "")
		return
	}
	httpapi.WriteJSON(w, 200, map[string]any{"k": res.Clusters.Model.K, "features": res.Clusters.Features,
		"k_scores": res.Clusters.Scores, "clusters": res.Clusters.Summary})
}

func (r *Runner) handleClusterSegment(w http.ResponseWriter, req *http.Request, ws uint32) {
	res := r.lastOr409(w, ws)
	if res == nil {
		return
	}
	n, err := strconv.Atoi(req.PathValue("n"))
	if err != nil || res.Clusters == nil || n < 1 || n > res.Clusters.Model.K {
		httpapi.WriteError(w, 404, "NotFound", "no such cluster", "n")
		return
	}
	if r.o.Segments == nil {
		httpapi.WriteError(w, http.StatusNotImplemented, "NoSegments", "segments are not available", "")
		return
	}
	var body struct {
		Name string `json:"name"`
	}
	if req.ContentLength != 0 && !httpapi.DecodeJSON(w, req, &body) {
		return
	}
	s := res.Clusters.Summary[n-1]
	if body.Name == "" {
		body.Name = "Cluster " + strconv.Itoa(n) + ": " + s.Description
	}
	cond := TraitCluster + ` = "` + strconv.Itoa(n) + `"`
	id, err := r.o.Segments.Create(req.Context(), ws, body.Name, s.Description, cond)
	if err != nil {
		httpapi.WriteError(w, 400, "SegmentError", err.Error(), "")
		return
	}
	httpapi.WriteJSON(w, 201, map[string]any{"id": id, "name": body.Name, "condition": cond})
}

func (r *Runner) members(w http.ResponseWriter, ws uint32, id string) *roaring.Bitmap {
	if r.o.Segments == nil {
		httpapi.WriteError(w, http.StatusNotImplemented, "NoSegments", "segments are not available", "")
		return nil
	}
	m, err := r.o.Segments.Members(ws, id)
	if err != nil {
		httpapi.WriteError(w, 404, "NotFound", err.Error(), "id")
		return nil
	}
	return m
}

func (r *Runner) handleDrivers(w http.ResponseWriter, req *http.Request, ws uint32) {
	m := r.members(w, ws, req.PathValue("id"))
	if m == nil {
		return
	}
	ix := r.o.Indexes.Index(ws)
	fs, err := Drivers(ix, m, r.o.Now(), lift.Options{Under: true, Limit: 15})
	if err != nil {
		httpapi.WriteError(w, 400, "DriversFailed", err.Error(), "")
		return
	}
	httpapi.WriteJSON(w, 200, map[string]any{"members": m.GetCardinality(), "drivers": fs})
}

// Drivers compares the members with all live profiles on the computed traits (categorical
// ones by value, numeric ones in bins), other text and boolean traits, and on which events
// each profile did in the last 30 days.
func Drivers(ix *index.Index, members *roaring.Bitmap, at time.Time, o lift.Options) ([]lift.Finding, error) {
	snap := ix.Acquire()
	defer snap.Release()
	live := snap.Live()
	ids := live.ToArray()
	pos := make(map[uint32]int, len(ids))
	for i, p := range ids {
		pos[p] = i
	}
	in := make([]bool, len(ids))
	it := members.Iterator()
	for it.HasNext() {
		if i, ok := pos[it.Next()]; ok {
			in[i] = true
		}
	}
	var feats []lift.Feature
	bins := map[string][]float64{
		TraitChurn: {0, 0.25, 0.5, 0.75}, TraitFrequency: {1, 2, 5, 10}, TraitMonetary: {0, 50, 200, 500, 1000},
		TraitRecencyDays: {0, 30, 90, 180}, TraitDiscountShare: {0, 0.1, 0.5}, TraitCLV: {0, 50, 200, 500},
	}
	for name, edges := range bins {
		t := snap.Trait(name)
		if t == nil {
			continue
		}
		vals := make([]float64, len(ids))
		for i, p := range ids {
			vals[i] = math.NaN()
			if t.NumPresent.Contains(p) {
				vals[i] = t.Num(p)
			}
		}
		feats = append(feats, lift.Bins(name, vals, append(edges, math.Inf(1)))...)
	}
	for _, ts := range ixSchemaTraits(ix) {
		t := snap.Trait(ts)
		if t == nil || len(t.Values) > 50 || len(t.Values) < 2 {
			continue
		}
		vals := make([]string, len(ids))
		for i, p := range ids {
			if c := t.TextCode(p); c != 0 && t.Present.Contains(p) {
				vals[i] = t.Values[c]
			}
		}
		feats = append(feats, lift.Categorical(ts, vals)...)
	}
	from := at.Add(-30 * 24 * time.Hour).UnixNano()
	for _, tb := range snap.Tables() {
		if tb.Key.Kind != index.Track {
			continue
		}
		lo, hi := tb.Lower(from), tb.Upper(at.UnixNano())
		has := make([]bool, len(ids))
		for row := lo; row < hi; row++ {
			if i, ok := pos[tb.Prof[row]]; ok {
				has[i] = true
			}
		}
		feats = append(feats, lift.Feature{Name: `did "` + tb.Key.Name + `" in last 30 days`, Has: has})
	}
	slices.SortFunc(feats, func(a, b lift.Feature) int { return strings.Compare(a.Name, b.Name) })
	return lift.Distinguish(in, feats, o)
}

// ixSchemaTraits lists text traits that are worth comparing (few distinct values).
func ixSchemaTraits(ix *index.Index) []string {
	var out []string
	for _, t := range ix.Schema().Traits {
		if len(t.Kinds) > 0 && t.Kinds[0].Kind == index.Text {
			out = append(out, t.Name)
		}
	}
	sort.Strings(out)
	return out
}

// SegmentReport is revenue, orders and conversion of a segment's members.
type SegmentReport struct {
	Members    int     `json:"members"`
	Days       int     `json:"days"`
	Revenue    float64 `json:"revenue"`
	Orders     int     `json:"orders"`
	AOV        float64 `json:"avg_order_value"`
	Converted  int     `json:"converted"`
	Conversion float64 `json:"conversion"`
}

// ReportSegment sums the members' orders in the last days days (net of refunds is not
// applied here: the order event's revenue) and the share of members who ordered within days
// of entering (entered may be nil: then conversion is not computed).
func ReportSegment(ix *index.Index, p Purchases, members *roaring.Bitmap, entered map[uint32]time.Time, at time.Time, days int) SegmentReport {
	p.setDefaults()
	out := SegmentReport{Members: int(members.GetCardinality()), Days: days}
	snap := ix.Acquire()
	defer snap.Release()
	t := snap.Table(index.TableKey{Kind: index.Track, Name: p.OrderEvent})
	if t == nil {
		return out
	}
	win := time.Duration(days) * 24 * time.Hour
	lo, hi := t.Lower(at.Add(-win).UnixNano()+1), t.Upper(at.UnixNano())
	for row := lo; row < hi; row++ {
		if members.Contains(t.Prof[row]) {
			out.Orders++
			v, _ := numAt(t, p.Revenue, row)
			out.Revenue += v
		}
	}
	if out.Orders > 0 {
		out.AOV = round(out.Revenue/float64(out.Orders), 2)
	}
	out.Revenue = round(out.Revenue, 2)
	if entered != nil {
		conv := map[uint32]bool{}
		for row := 0; row < t.Upper(at.UnixNano()); row++ {
			pid := t.Prof[row]
			e, ok := entered[pid]
			if !ok || conv[pid] {
				continue
			}
			if ts := t.Time[row]; ts >= e.UnixNano() && ts < e.Add(win).UnixNano() {
				conv[pid] = true
			}
		}
		out.Converted = len(conv)
		if out.Members > 0 {
			out.Conversion = round(float64(out.Converted)/float64(out.Members), 4)
		}
	}
	return out
}

func (r *Runner) handleSegmentReport(w http.ResponseWriter, req *http.Request, ws uint32) {
	id := req.PathValue("id")
	m := r.members(w, ws, id)
	if m == nil {
		return
	}
	days := 30
	if v, err := strconv.Atoi(req.URL.Query().Get("days")); err == nil && v > 0 {
		days = v
	}
	entered, err := r.o.Segments.Entered(ws, id)
	if err != nil {
		entered = nil
	}
	cfg, err := r.Config(ws)
	if err != nil {
		httpapi.WriteError(w, 500, "BadConfig", err.Error(), "")
		return
	}
	httpapi.WriteJSON(w, 200, ReportSegment(r.o.Indexes.Index(ws), cfg.Purchases, m, entered, r.o.Now(), days))
}

// Trend is a segment's size change over a period.
type Trend struct {
	Segment SegmentRef `json:"segment"`
	Days    int        `json:"days"`
	From    int        `json:"from"`
	To      int        `json:"to"`
	Change  int        `json:"change"`
	Growth  float64    `json:"growth"` // relative change; +Inf from 0 is reported as 1e9
}

// Trends computes each segment's change over days from its size history: the size at the
// last point at or before now − days against the latest size.
func Trends(segs []SegmentRef, hist func(id string) ([]Point, error), now time.Time, days int) ([]Trend, error) {
	var out []Trend
	cut := now.Add(-time.Duration(days) * 24 * time.Hour)
	for _, s := range segs {
		pts, err := hist(s.ID)
		if err != nil {
			return nil, err
		}
		if len(pts) == 0 {
			continue
		}
		slices.SortFunc(pts, func(a, b Point) int { return a.At.Compare(b.At) })
		from := pts[0].Size
		for _, p := range pts {
			if p.At.After(cut) {
				break
			}
			from = p.Size
		}
		to := pts[len(pts)-1].Size
		t := Trend{Segment: s, Days: days, From: from, To: to, Change: to - from}
		switch {
		case from > 0:
			t.Growth = round(float64(to-from)/float64(from), 4)
		case to > 0:
			t.Growth = 1e9
		}
		out = append(out, t)
	}
	slices.SortFunc(out, func(a, b Trend) int {
		if a.Growth != b.Growth {
			if a.Growth > b.Growth {
				return -1
			}
			return 1
		}
		return strings.Compare(a.Segment.ID, b.Segment.ID)
	})
	return out, nil
}

func (r *Runner) handleTrends(w http.ResponseWriter, req *http.Request, ws uint32) {
	if r.o.Segments == nil || r.o.SizeHistory == nil {
		httpapi.WriteError(w, http.StatusNotImplemented, "NoHistory", "segment size history is not available", "")
		return
	}
	segs, err := r.o.Segments.List(ws)
	if err != nil {
		httpapi.WriteError(w, 500, "SegmentError", err.Error(), "")
		return
	}
	out := map[string]any{}
	for _, d := range []int{1, 7, 30} {
		ts, err := Trends(segs, func(id string) ([]Point, error) { return r.o.SizeHistory.SizeHistory(ws, id) }, r.o.Now(), d)
		if err != nil {
			httpapi.WriteError(w, 500, "HistoryError", err.Error(), "")
			return
		}
		n := min(5, len(ts))
		growing := ts[:n]
		shrinking := slices.Clone(ts[len(ts)-n:])
		slices.Reverse(shrinking)
		out[strconv.Itoa(d)+"d"] = map[string]any{"growing": growing, "shrinking": shrinking}
	}
	httpapi.WriteJSON(w, 200, out)
}

// Overlap is the pairwise intersection of segments.
type Overlap struct {
	Segments []string    `json:"segments"`
	Sizes    []int       `json:"sizes"`
	Counts   [][]int     `json:"counts"`  // Counts[i][j] = |Si ∩ Sj|
	Jaccard  [][]float64 `json:"jaccard"` // |Si ∩ Sj| / |Si ∪ Sj|
}

// ComputeOverlap builds the overlap matrix of member sets.
func ComputeOverlap(ids []string, sets []*roaring.Bitmap) Overlap {
	n := len(sets)
	o := Overlap{Segments: ids, Sizes: make([]int, n), Counts: make([][]int, n), Jaccard: make([][]float64, n)}
	for i := range sets {
		o.Sizes[i] = int(sets[i].GetCardinality())
		o.Counts[i], o.Jaccard[i] = make([]int, n), make([]float64, n)
	}
	for i := range sets {
		for j := range sets {
			inter := int(roaring.And(sets[i], sets[j]).GetCardinality())
			o.Counts[i][j] = inter
			if union := o.Sizes[i] + o.Sizes[j] - inter; union > 0 {
				o.Jaccard[i][j] = round(float64(inter)/float64(union), 4)
			}
		}
	}
	return o
}

func (r *Runner) handleOverlap(w http.ResponseWriter, req *http.Request, ws uint32) {
	ids := strings.Split(req.URL.Query().Get("segments"), ",")
	if len(ids) < 2 || len(ids) > 20 || slices.Contains(ids, "") {
		httpapi.WriteError(w, 400, "BadRequest", "give 2 to 20 segment ids: ?segments=a,b,c", "segments")
		return
	}
	sets := make([]*roaring.Bitmap, len(ids))
	for i, id := range ids {
		if sets[i] = r.members(w, ws, id); sets[i] == nil {
			return
		}
	}
	httpapi.WriteJSON(w, 200, ComputeOverlap(ids, sets))
}
