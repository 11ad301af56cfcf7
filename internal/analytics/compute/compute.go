package compute

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/segd/segd/internal/analytics/affinity"
	"github.com/segd/segd/internal/analytics/bgnbd"
	"github.com/segd/segd/internal/analytics/gammagamma"
	"github.com/segd/segd/internal/analytics/pricesens"
	"github.com/segd/segd/internal/analytics/rfm"
	"github.com/segd/segd/internal/index"
)

// Options say what to compute and as of when.
type Options struct {
	// At is the analysis time: orders after it are ignored (default now).
	At time.Time
	// Location decides calendar days (default UTC).
	Location *time.Location
	// CalibrationEnd is the last day of the BG/NBD calibration period (default the day of
	// At). Set it to reproduce a published fit.
	CalibrationEnd time.Time
	Config         Config
}

// Validate fills defaults.
func (o *Options) Validate() error {
	if o.At.IsZero() {
		o.At = time.Now()
	}
	if o.Location == nil {
		o.Location = time.UTC
	}
	if o.CalibrationEnd.IsZero() {
		o.CalibrationEnd = o.At
	}
	return o.Config.Validate()
}

// Result holds the computed traits of every customer (a profile with at least one order up to
// At) in parallel slices, and a report of the run. NaN marks a model value not available
// (the model could not be fitted).
type Result struct {
	At       time.Time `json:"at"`
	Profiles []uint32  `json:"-"`

	RecencyDays, Frequency, Monetary []float64 `json:"-"`
	R, F, M                          []int8    `json:"-"`
	Segment                          []string  `json:"-"`

	PAlive, ExpectedPurchases90d, ExpectedAOV, CLV12m []float64 `json:"-"`

	DiscountShare, AvgDiscountPct, SaleItemShare []float64 `json:"-"`
	PriceBand                                    []string  `json:"-"`
	NextBestCategory                             []string  `json:"-"`

	// Features used for clusters and drivers (per customer): tenure in days, average order
	// value, category share per category and channel share per channel.
	Tenure, AOV []float64   `json:"-"`
	CatShare    [][]float64 `json:"-"` // [category][customer]
	Categories  []string    `json:"-"`
	ChanShare   [][]float64 `json:"-"` // [channel][customer]
	Channels    []string    `json:"-"`
	Cluster     []int       `json:"-"` // −1 when not clustered

	Affinity *affinity.Model `json:"-"`
	RFM      rfm.Result      `json:"-"`
	Clusters *Clusters       `json:"-"`
	Report   Report          `json:"report"`
}

// Report describes a run: what was fitted and how well, and how long each phase took.
type Report struct {
	At           time.Time            `json:"at"`
	Customers    int                  `json:"customers"`
	Orders       int                  `json:"orders"`
	Refunded     int                  `json:"refunded_orders"`
	Unit         string               `json:"unit"`
	BGNBD        *FitReport           `json:"bgnbd,omitempty"`
	GammaGamma   *FitReport           `json:"gamma_gamma,omitempty"`
	Holdout      *HoldoutCheck        `json:"holdout,omitempty"`
	ModelError   string               `json:"model_error,omitempty"`
	RFMEdges     map[string][]float64 `json:"rfm_edges,omitempty"`
	Timings      map[string]string    `json:"timings"`
	Took         string               `json:"took"`
	Changed      int                  `json:"changed_profiles,omitempty"`
	StageChanges int                  `json:"stage_changes,omitempty"`
	Error        string               `json:"error,omitempty"`
}

// FitReport is one model fit.
type FitReport struct {
	Params     map[string]float64 `json:"params"`
	LogLik     float64            `json:"log_likelihood"`
	Customers  int                `json:"customers"`
	Iterations int                `json:"iterations"`
}

// HoldoutCheck fits the model on the data before At − HoldoutDays and compares its forecast
// of the holdout purchases with what happened.
type HoldoutCheck struct {
	Days           int                `json:"days"`
	CalibrationEnd time.Time          `json:"calibration_end"`
	Customers      int                `json:"customers"`
	Predicted      float64            `json:"predicted"`
	Actual         float64            `json:"actual"`
	Error          float64            `json:"error"` // (predicted − actual) / actual
	Params         map[string]float64 `json:"params"`
}

// Computed trait names.
const (
	TraitRecencyDays       = "rfm_recency_days"
	TraitFrequency         = "rfm_frequency"
	TraitMonetary          = "rfm_monetary"
	TraitR                 = "rfm_r"
	TraitF                 = "rfm_f"
	TraitM                 = "rfm_m"
	TraitScore             = "rfm_score"
	TraitSegment           = "rfm_segment"
	TraitPAlive            = "p_alive"
	TraitChurn             = "churn_probability"
	TraitExpectedPurchases = "expected_purchases_90d"
	TraitExpectedAOV       = "expected_avg_order_value"
	TraitCLV               = "clv_12m"
	TraitDiscountShare     = "discount_share"
	TraitAvgDiscountPct    = "avg_discount_pct"
	TraitPriceSensitivity  = "price_sensitivity"
	TraitNextBestCategory  = "next_best_category"
	TraitCluster           = "customer_cluster"
	TraitLifecycle         = "lifecycle_stage"
	TraitFunnel            = "funnel_stage"
)

// ModelTraits are the traits Compute produces per customer (stages come from Stages).
var ModelTraits = []string{TraitRecencyDays, TraitFrequency, TraitMonetary, TraitR, TraitF, TraitM,
	TraitScore, TraitSegment, TraitPAlive, TraitChurn, TraitExpectedPurchases, TraitExpectedAOV,
	TraitCLV, TraitDiscountShare, TraitAvgDiscountPct, TraitPriceSensitivity, TraitNextBestCategory,
	TraitCluster}

// AllTraits are every computed trait, the stages included.
var AllTraits = append(slices.Clone(ModelTraits), TraitLifecycle, TraitFunnel)

func round(v float64, digits int) float64 {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return v
	}
	p := math.Pow10(digits)
	return math.Round(v*p) / p
}

// Traits returns customer i's model traits as written to the profile (rounded so that tiny
// numeric noise between runs does not count as a change). Unavailable values are omitted.
func (r *Result) Traits(i int) map[string]any {
	m := make(map[string]any, len(ModelTraits))
	m[TraitRecencyDays] = round(r.RecencyDays[i], 2)
	m[TraitFrequency] = r.Frequency[i]
	m[TraitMonetary] = round(r.Monetary[i], 2)
	if r.R[i] > 0 {
		m[TraitR] = float64(r.R[i])
		m[TraitF] = float64(r.F[i])
		m[TraitM] = float64(r.M[i])
		m[TraitScore] = fmt.Sprintf("%d%d%d", r.R[i], r.F[i], r.M[i])
		m[TraitSegment] = r.Segment[i]
	}
	if !math.IsNaN(r.PAlive[i]) {
		m[TraitPAlive] = round(r.PAlive[i], 4)
		m[TraitChurn] = round(1-r.PAlive[i], 4)
		m[TraitExpectedPurchases] = round(r.ExpectedPurchases90d[i], 4)
	}
	if !math.IsNaN(r.ExpectedAOV[i]) {
		m[TraitExpectedAOV] = round(r.ExpectedAOV[i], 2)
	}
	if !math.IsNaN(r.CLV12m[i]) {
		m[TraitCLV] = round(r.CLV12m[i], 2)
	}
	m[TraitDiscountShare] = round(r.DiscountShare[i], 4)
	m[TraitAvgDiscountPct] = round(r.AvgDiscountPct[i], 2)
	if r.PriceBand[i] != "" {
		m[TraitPriceSensitivity] = r.PriceBand[i]
	}
	if r.NextBestCategory[i] != "" {
		m[TraitNextBestCategory] = r.NextBestCategory[i]
	}
	if r.Cluster != nil && r.Cluster[i] >= 0 {
		m[TraitCluster] = strconv.Itoa(r.Cluster[i] + 1)
	}
	return m
}

// Find returns the customer index of profile pid, or −1.
func (r *Result) Find(pid uint32) int {
	i, ok := slices.BinarySearch(r.Profiles, pid)
	if !ok {
		return -1
	}
	return i
}

func since(t time.Time) string { return time.Since(t).Round(time.Millisecond).String() }

// Compute computes the model traits of every customer of ix as of o.At.
func Compute(ctx context.Context, ix *index.Index, o Options) (*Result, error) {
	if err := o.Validate(); err != nil {
		return nil, err
	}
	start := time.Now()
	cfg := &o.Config
	atNs := o.At.UnixNano()
	res := &Result{At: o.At, Report: Report{At: o.At, Unit: cfg.Unit.String(), Timings: map[string]string{}}}

	snap := ix.Acquire()
	p := readPurchases(snap, &cfg.Purchases, atNs)
	chans, chanShare := channelMix(snap, p.profiles, atNs)
	snap.Release()
	res.Report.Timings["read"] = since(start)
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("compute: reading purchases: %w", err)
	}

	// customers: profiles with at least one order that was not refunded entirely
	n := 0
	for i := range p.profiles {
		for _, od := range p.of(i) {
			if od.refunded {
				res.Report.Refunded++
			} else {
				n++
				res.Report.Orders++
			}
		}
	}
	_ = n
	idx := make([]int, 0, len(p.profiles)) // customer → purchases index
	for i := range p.profiles {
		for _, od := range p.of(i) {
			if !od.refunded {
				idx = append(idx, i)
				break
			}
		}
	}
	c := len(idx)
	res.Report.Customers = c
	res.Profiles = make([]uint32, c)
	res.RecencyDays, res.Frequency, res.Monetary = make([]float64, c), make([]float64, c), make([]float64, c)
	res.DiscountShare, res.AvgDiscountPct, res.SaleItemShare = make([]float64, c), make([]float64, c), make([]float64, c)
	res.PriceBand, res.NextBestCategory = make([]string, c), make([]string, c)
	res.Tenure, res.AOV = make([]float64, c), make([]float64, c)
	res.Categories = p.catNames
	res.CatShare = make([][]float64, len(p.catNames))
	for k := range res.CatShare {
		res.CatShare[k] = make([]float64, c)
	}
	res.Channels = chans
	res.ChanShare = make([][]float64, len(chans))
	for k := range chans {
		res.ChanShare[k] = make([]float64, c)
	}

	// RFM, price sensitivity, baskets
	t0 := time.Now()
	rfmCs := make([]rfm.Customer, c)
	baskets := make([][]int32, c)
	psOrders := make([]pricesens.Order, 0, 64)
	mark := make([]bool, len(p.catNames))
	catCount := make([]float64, len(p.catNames))
	for ci, pi := range idx {
		res.Profiles[ci] = p.profiles[pi]
		var freq, money float64
		var first, last int64 = math.MaxInt64, 0
		psOrders = psOrders[:0]
		clear(catCount)
		items := 0.0
		for _, od := range p.of(pi) {
			if od.refunded {
				continue
			}
			freq++
			money += od.revenue
			first, last = min(first, od.time), max(last, od.time)
			psOrders = append(psOrders, pricesens.Order{Revenue: od.revenue, Discount: od.discount, Items: int(od.items), ItemsOnSale: int(od.onSale)})
			if od.coupon {
				psOrders[len(psOrders)-1].Coupon = "y"
			}
			for _, k := range p.cats[od.catLo:od.catHi] {
				catCount[k]++
				items++
				if !mark[k] {
					mark[k] = true
					baskets[ci] = append(baskets[ci], k)
				}
			}
		}
		for _, k := range baskets[ci] {
			mark[k] = false
		}
		money -= p.adjust[pi]
		rec := float64(atNs-last) / float64(24*time.Hour)
		rfmCs[ci] = rfm.Customer{ID: strconv.FormatUint(uint64(p.profiles[pi]), 10), RecencyDays: rec, Frequency: freq, Monetary: money, Last: time.Unix(0, last)}
		res.RecencyDays[ci], res.Frequency[ci], res.Monetary[ci] = rec, freq, money
		res.Tenure[ci] = float64(atNs-first) / float64(24*time.Hour)
		res.AOV[ci] = money / freq
		if items > 0 {
			for k, v := range catCount {
				res.CatShare[k][ci] = v / items
			}
		}
		for k := range chans {
			res.ChanShare[k][ci] = chanShare[k][pi]
		}
		if ps, err := pricesens.Compute(psOrders, *cfg.PriceThresholds); err == nil {
			res.DiscountShare[ci], res.AvgDiscountPct[ci], res.SaleItemShare[ci] = ps.DiscountShare, ps.AvgDiscountPct, ps.SaleItemShare
			res.PriceBand[ci] = string(ps.Band)
		}
	}
	res.R, res.F, res.M, res.Segment = make([]int8, c), make([]int8, c), make([]int8, c), make([]string, c)
	if c > 0 {
		sr, err := rfm.Score(rfmCs, rfm.Options{Segments: cfg.RFMSegments})
		if err != nil {
			return nil, fmt.Errorf("compute: rfm: %w", err)
		}
		res.RFM = sr
		for i, s := range sr.Scores {
			res.R[i], res.F[i], res.M[i] = int8(s.R), int8(s.F), int8(s.M)
			res.Segment[i] = sr.Segments[i]
		}
		res.Report.RFMEdges = map[string][]float64{"recency_days": sr.RecencyEdges, "frequency": sr.FrequencyEdges, "monetary": sr.MonetaryEdges}
	}
	res.Report.Timings["rfm_price"] = since(t0)

	// cross-sell: customer-level category baskets
	t0 = time.Now()
	res.Affinity = affinity.New()
	names := make([][]string, c)
	for ci, b := range baskets {
		names[ci] = make([]string, len(b))
		for j, k := range b {
			names[ci][j] = p.catNames[k]
		}
		res.Affinity.Add(names[ci])
	}
	res.Affinity.Freeze()
	memo := map[string]string{}
	for ci, b := range names {
		if len(b) == 0 {
			continue
		}
		sorted := slices.Clone(b)
		slices.Sort(sorted)
		key := strings.Join(sorted, "\x00")
		s, ok := memo[key]
		if !ok {
			if sug, err := res.Affinity.NextBest(b, affinity.NextOptions{FallbackPopular: true}); err == nil {
				s = sug.Item
			}
			memo[key] = s
		}
		res.NextBestCategory[ci] = s
	}
	res.Report.Timings["affinity"] = since(t0)
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("compute: after rfm: %w", err)
	}

	// BG/NBD and Gamma-Gamma
	t0 = time.Now()
	res.PAlive, res.ExpectedPurchases90d = nanSlice(c), nanSlice(c)
	res.ExpectedAOV, res.CLV12m = nanSlice(c), nanSlice(c)
	if err := fitModels(res, p, idx, &o); err != nil {
		res.Report.ModelError = err.Error()
	}
	res.Report.Timings["models"] = since(t0)
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("compute: after models: %w", err)
	}

	t0 = time.Now()
	if !cfg.NoClusters && c >= 20 {
		cl, err := clusterCustomers(res, cfg)
		if err != nil {
			res.Report.Error = "clusters: " + err.Error()
		} else {
			res.Clusters = cl
			res.Cluster = cl.Model.Labels
		}
	}
	res.Report.Timings["clusters"] = since(t0)
	res.Report.Took = since(start)
	return res, nil
}

func nanSlice(n int) []float64 {
	s := make([]float64, n)
	for i := range s {
		s[i] = math.NaN()
	}
	return s
}

// summary is a customer's BG/NBD history in model units.
type summary struct {
	x, tx, T, zbar float64
	holdoutX       float64
	ok             bool // first purchase on or before the calibration end
}

func civilDay(ns int64, loc *time.Location) int64 {
	y, m, d := time.Unix(0, ns).In(loc).Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC).Unix() / 86400
}

// summarise is calibration.Summarise over one customer's time-ordered orders: purchases on the
// same calendar day are one occasion, X counts repeat days up to calEnd, holdoutX the days in
// (calEnd, holdEnd].
func summarise(orders []order, calEnd, holdEnd int64, unitDays float64, loc *time.Location) summary {
	var s summary
	first, last, cur := int64(-1), int64(0), int64(math.MinInt64)
	var curAmt, repeat float64
	flush := func() {
		if cur == math.MinInt64 {
			return
		}
		if cur > calEnd {
			s.holdoutX++
			return
		}
		if first < 0 {
			first = cur
		} else {
			s.x++
			repeat += curAmt
		}
		last = cur
	}
	for _, od := range orders {
		if od.refunded {
			continue
		}
		d := civilDay(od.time, loc)
		if d > holdEnd {
			break
		}
		if d != cur {
			flush()
			cur, curAmt = d, 0
		}
		curAmt += od.revenue
	}
	flush()
	if first < 0 {
		return s
	}
	s.ok = true
	s.T = float64(calEnd-first) / unitDays
	s.tx = float64(last-first) / unitDays
	if s.x > 0 {
		s.zbar = repeat / s.x
	}
	return s
}

func fitModels(res *Result, p *purchases, idx []int, o *Options) error {
	cfg := &o.Config
	unitDays := cfg.Unit.Hours() / 24
	calEnd := civilDay(o.CalibrationEnd.UnixNano(), o.Location)
	sums := make([]summary, len(idx))
	var bg []bgnbd.Customer
	var gg []gammagamma.Customer
	for ci, pi := range idx {
		s := summarise(p.of(pi), calEnd, calEnd, unitDays, o.Location)
		sums[ci] = s
		if s.ok {
			bg = append(bg, bgnbd.Customer{X: s.x, Tx: s.tx, T: s.T})
			if s.x > 0 && s.zbar > 0 {
				gg = append(gg, gammagamma.Customer{X: s.x, Zbar: s.zbar})
			}
		}
	}
	if len(bg) == 0 {
		return errors.New("no customers to fit the purchase model on")
	}
	bp, br, err := fitBG(bg)
	if err != nil {
		return fmt.Errorf("bg/nbd: %w", err)
	}
	res.Report.BGNBD = &FitReport{Params: map[string]float64{"r": bp.R, "alpha": bp.Alpha, "a": bp.A, "b": bp.B},
		LogLik: br.LogLik, Customers: br.N, Iterations: br.Iterations}
	sc := bgnbd.NewScorer(bp)
	horizon := 90 / unitDays
	for ci, s := range sums {
		if !s.ok {
			continue
		}
		res.PAlive[ci] = sc.PAlive(s.x, s.tx, s.T)
		res.ExpectedPurchases90d[ci] = sc.ConditionalExpected(horizon, s.x, s.tx, s.T)
	}
	if o.Config.HoldoutDays > 0 {
		res.Report.Holdout = holdoutCheck(p, idx, o)
	}
	if len(gg) < 3 {
		return errors.New("gamma-gamma: fewer than 3 repeat customers")
	}
	gp, gr, err := gammagamma.Fit(gg, gammagamma.Options{})
	if err != nil || gp.Q <= 1 {
		gp, gr, err = gammagamma.Fit(gg, gammagamma.Options{Penalizer: 0.001})
	}
	if err != nil {
		return fmt.Errorf("gamma-gamma: %w", err)
	}
	res.Report.GammaGamma = &FitReport{Params: map[string]float64{"p": gp.P, "q": gp.Q, "gamma": gp.Gamma},
		LogLik: gr.LogLik, Customers: gr.N, Iterations: gr.Iterations}
	clvOpts := gammagamma.CLVOptions{Periods: 12, PeriodLength: 30 / unitDays, DiscountRate: cfg.DiscountRate}
	for ci, s := range sums {
		if !s.ok {
			continue
		}
		res.ExpectedAOV[ci] = gammagamma.ConditionalExpectedSpend(gp, s.x, s.zbar)
		if v, err := gammagamma.CLVScored(sc, gp, gammagamma.History{X: s.x, Tx: s.tx, T: s.T, Zbar: s.zbar}, clvOpts); err == nil {
			res.CLV12m[ci] = v
		}
	}
	return nil
}

// fitBG fits BG/NBD, retrying with a small penalty when plain maximum likelihood runs off
// or to a boundary (small or degenerate workspaces).
func fitBG(cs []bgnbd.Customer) (bgnbd.Params, bgnbd.Result, error) {
	p, r, err := bgnbd.Fit(cs, bgnbd.Options{})
	if err == nil && p.Validate() == nil && p.A < 1e3 && p.B < 1e3 && p.Alpha < 1e6 && p.A > 1e-8 && p.B > 1e-8 {
		return p, r, nil
	}
	return bgnbd.Fit(cs, bgnbd.Options{Penalizer: 0.001})
}

func holdoutCheck(p *purchases, idx []int, o *Options) *HoldoutCheck {
	unitDays := o.Config.Unit.Hours() / 24
	end := civilDay(o.CalibrationEnd.UnixNano(), o.Location)
	calEnd := end - int64(o.Config.HoldoutDays)
	var cs []bgnbd.Customer
	var actual []float64
	for _, pi := range idx {
		s := summarise(p.of(pi), calEnd, end, unitDays, o.Location)
		if s.ok {
			cs = append(cs, bgnbd.Customer{X: s.x, Tx: s.tx, T: s.T})
			actual = append(actual, s.holdoutX)
		}
	}
	if len(cs) < 10 {
		return nil
	}
	bp, _, err := fitBG(cs)
	if err != nil {
		return nil
	}
	h, err := bgnbd.CheckHoldout(bp, cs, actual, float64(o.Config.HoldoutDays)/unitDays)
	if err != nil {
		return nil
	}
	return &HoldoutCheck{Days: o.Config.HoldoutDays, CalibrationEnd: time.Unix(calEnd*86400, 0).UTC(), Customers: len(cs),
		Predicted: h.HoldoutPredicted, Actual: h.HoldoutActual, Error: h.HoldoutError(),
		Params: map[string]float64{"r": bp.R, "alpha": bp.Alpha, "a": bp.A, "b": bp.B}}
}
