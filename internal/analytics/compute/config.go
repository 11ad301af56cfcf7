// Package compute turns segd's analytics models into computed traits: it reads a workspace's
// purchases from the in-memory index, fits and scores the models (RFM, BG/NBD, Gamma-Gamma,
// price sensitivity, cross-sell, clusters), evaluates the lifecycle and funnel stage rules
// (SegQL) with the engine, writes back only the traits that changed through a TraitWriter
// (the write pipeline), records stage changes in a log, and serves the analytics endpoints
// under /api/v1/analytics/. A Runner recomputes on a schedule and on demand.
//
// It reads the index and evaluates with the engine. It imports ingest only for the
// TraitUpdate type of TraitWriter (which *ingest.Pipeline implements); it must not import
// live, membership or cmd packages: writing, segment membership and size history come in
// through the interfaces declared here (TraitWriter, StageLog, Segments, SizeHistory), wired
// in cmd/segd.
package compute

import (
	"errors"
	"fmt"
	"time"

	"github.com/segd/segd/internal/analytics/cluster"
	"github.com/segd/segd/internal/analytics/gammagamma"
	"github.com/segd/segd/internal/analytics/pricesens"
	"github.com/segd/segd/internal/analytics/rfm"
)

// Purchases says which events are purchases and which properties carry their values. The
// defaults follow Segment's e-commerce spec.
type Purchases struct {
	// OrderEvent is the track event of a purchase (default "Order Completed").
	OrderEvent string `json:"order_event,omitempty"`
	// RefundEvent is the track event of a refund (default "Order Refunded"); its amount is
	// subtracted from the order with the same order id, else from the customer's spend.
	RefundEvent string `json:"refund_event,omitempty"`
	// Revenue lists the properties tried in order for an order's value (default revenue, total).
	Revenue []string `json:"revenue,omitempty"`
	// Discount, Coupon and OrderID name those properties (defaults discount, coupon, order_id).
	Discount string `json:"discount,omitempty"`
	Coupon   string `json:"coupon,omitempty"`
	OrderID  string `json:"order_id,omitempty"`
	// Products is the list property of line items (default products), whose objects carry
	// Category, Price, Quantity and ListPrice (an item priced below its list price is on sale).
	Products  string `json:"products,omitempty"`
	Category  string `json:"category,omitempty"`
	Price     string `json:"price,omitempty"`
	Quantity  string `json:"quantity,omitempty"`
	ListPrice string `json:"list_price,omitempty"`
}

func (p *Purchases) setDefaults() {
	def := func(s *string, v string) {
		if *s == "" {
			*s = v
		}
	}
	def(&p.OrderEvent, "Order Completed")
	def(&p.RefundEvent, "Order Refunded")
	if len(p.Revenue) == 0 {
		p.Revenue = []string{"revenue", "total"}
	}
	def(&p.Discount, "discount")
	def(&p.Coupon, "coupon")
	def(&p.OrderID, "order_id")
	def(&p.Products, "products")
	def(&p.Category, "category")
	def(&p.Price, "price")
	def(&p.Quantity, "quantity")
	def(&p.ListPrice, "list_price")
}

// StageRule assigns Stage to the profiles matching Condition (SegQL). Rules are tried in
// order and the first match wins; an empty Condition matches every remaining live profile.
type StageRule struct {
	Stage     string `json:"stage"`
	Condition string `json:"condition,omitempty"`
}

// DefaultLifecycle are the lifecycle rules for the given order event: new (first purchase in
// the last 30 days), reactivated (a purchase in the last 30 days after 90 days without one),
// active (a purchase in the last 90 days), at risk (in the last 180), churned (earlier).
func DefaultLifecycle(order string) []StageRule {
	o := fmt.Sprintf("%q", order)
	return []StageRule{
		{"new", "first_seen(" + o + ") in last 30 days"},
		{"reactivated", "did " + o + " in last 30 days and count(" + o + " between 120 days ago and 30 days ago) = 0"},
		{"active", "did " + o + " in last 90 days"},
		{"at risk", "did " + o + " in last 180 days"},
		{"churned", "did " + o},
	}
}

// DefaultFunnel are the funnel rules: repeat customer (two or more orders), customer (one),
// qualified (added to cart or started a checkout in the last 90 days), lead (has an e-mail),
// visitor (everyone else).
func DefaultFunnel(order string) []StageRule {
	o := fmt.Sprintf("%q", order)
	return []StageRule{
		{"repeat customer", "count(" + o + ") >= 2"},
		{"customer", "did " + o},
		{"qualified", `did "Product Added" in last 90 days or did "Checkout Started" in last 90 days`},
		{"lead", "email exists"},
		{"visitor", ""},
	}
}

// Config is a workspace's analytics configuration, stored as a document; the zero value means
// every default.
type Config struct {
	Purchases Purchases   `json:"purchases"`
	Lifecycle []StageRule `json:"lifecycle,omitempty"`
	Funnel    []StageRule `json:"funnel,omitempty"`
	// RFMSegments is the named-group table (default rfm.DefaultSegments).
	RFMSegments []rfm.Segment `json:"rfm_segments,omitempty"`
	// Unit is the BG/NBD time unit (default one day; the traits assume days).
	Unit time.Duration `json:"unit,omitempty"`
	// DiscountRate is the monthly CLV discount rate (default gammagamma.DefaultDiscountRate);
	// NoDiscount turns discounting off.
	DiscountRate float64 `json:"discount_rate,omitempty"`
	NoDiscount   bool    `json:"no_discount,omitempty"`
	// HoldoutDays is the holdout period of the calibration check (default 90; negative skips
	// the check).
	HoldoutDays int `json:"holdout_days,omitempty"`
	// PriceThresholds decide the price-sensitivity band (default pricesens.DefaultThresholds).
	PriceThresholds *pricesens.Thresholds `json:"price_thresholds,omitempty"`
	// Clusters tune the segment suggestions; defaults Seed 1, k in 2..6, k chosen on a sample
	// of 2,000 customers.
	Clusters cluster.Options `json:"-"`
	// NoClusters skips clustering (and the customer_cluster trait).
	NoClusters bool `json:"no_clusters,omitempty"`
}

// Validate fills defaults and rejects impossible settings.
func (c *Config) Validate() error {
	c.Purchases.setDefaults()
	if len(c.Lifecycle) == 0 {
		c.Lifecycle = DefaultLifecycle(c.Purchases.OrderEvent)
	}
	if len(c.Funnel) == 0 {
		c.Funnel = DefaultFunnel(c.Purchases.OrderEvent)
	}
	for _, rs := range [][]StageRule{c.Lifecycle, c.Funnel} {
		for i, r := range rs {
			if r.Stage == "" {
				return fmt.Errorf("compute: stage rule %d has no stage name", i+1)
			}
		}
	}
	if len(c.RFMSegments) == 0 {
		c.RFMSegments = rfm.DefaultSegments
	}
	if c.Unit == 0 {
		c.Unit = 24 * time.Hour
	}
	if c.Unit < 0 {
		return errors.New("compute: unit must be positive")
	}
	if c.DiscountRate == 0 && !c.NoDiscount {
		c.DiscountRate = gammagamma.DefaultDiscountRate
	}
	if c.NoDiscount {
		c.DiscountRate = 0
	}
	if c.DiscountRate < 0 {
		return errors.New("compute: discount_rate must not be negative")
	}
	if c.HoldoutDays == 0 {
		c.HoldoutDays = 90
	}
	if c.PriceThresholds == nil {
		t := pricesens.DefaultThresholds
		c.PriceThresholds = &t
	}
	if err := c.PriceThresholds.Validate(); err != nil {
		return fmt.Errorf("compute: %w", err)
	}
	if c.Clusters.KMeans.Seed == 0 {
		c.Clusters.KMeans.Seed = 1
	}
	if c.Clusters.KMax == 0 {
		c.Clusters.KMax = 6
	}
	if c.Clusters.SampleSize == 0 {
		// k is chosen by silhouette on the sample, which costs sample² distances per k
		c.Clusters.SampleSize = 2000
	}
	return c.Clusters.Validate()
}
