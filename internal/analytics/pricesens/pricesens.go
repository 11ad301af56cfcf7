// Package pricesens owns price sensitivity per customer: the share of
// orders with a discount or coupon, the mean depth of those discounts, the
// share of items bought on sale, and a band (full-price, mixed,
// promo-driven) derived from them with documented thresholds.
//
// Pure arithmetic over plain structs: it must not import the store, the
// engine or anything that does I/O.
package pricesens

import (
	"errors"
	"fmt"
	"math"
)

// Order is what price sensitivity needs of one order.
type Order struct {
	// Revenue is what the customer paid (after discounts).
	Revenue float64
	// Discount is the amount taken off the order (0 when none).
	Discount float64
	// Coupon is the coupon code, empty when none.
	Coupon string
	// Items and ItemsOnSale count units in the order and those priced
	// below their list price.
	Items       int
	ItemsOnSale int
}

// Discounted reports whether the order had a discount or a coupon.
func (o Order) Discounted() bool { return o.Discount > 0 || o.Coupon != "" }

// Depth is the discount as a fraction of the undiscounted price,
// Discount / (Revenue + Discount), in [0, 1]; 0 without a discount amount.
func (o Order) Depth() float64 {
	if o.Discount <= 0 {
		return 0
	}
	gross := o.Revenue + o.Discount
	if gross <= 0 {
		return 1
	}
	return math.Min(1, o.Discount/gross)
}

// Band is a customer's price-sensitivity class.
type Band string

const (
	FullPrice   Band = "full-price"
	Mixed       Band = "mixed"
	PromoDriven Band = "promo-driven"
	// Unknown is the band of a customer without orders.
	Unknown Band = ""
)

// Thresholds decide the band.
type Thresholds struct {
	// FullPriceMax: a customer whose discount share and sale-item share are
	// both at most this is full-price (default 0.1).
	FullPriceMax float64
	// PromoMin: a customer whose discount share or sale-item share is at
	// least this is promo-driven (default 0.5).
	PromoMin float64
	// DeepDiscount and DeepShare: a customer whose average discount depth
	// is at least DeepDiscount (default 0.3, i.e. 30%) on at least
	// DeepShare of orders (default 0.3) is promo-driven too.
	DeepDiscount float64
	DeepShare    float64
}

// DefaultThresholds are the defaults documented on Thresholds.
var DefaultThresholds = Thresholds{FullPriceMax: 0.1, PromoMin: 0.5, DeepDiscount: 0.3, DeepShare: 0.3}

// Validate checks 0 ≤ FullPriceMax < PromoMin ≤ 1.
func (t Thresholds) Validate() error {
	if t.FullPriceMax < 0 || t.PromoMin > 1 || t.FullPriceMax >= t.PromoMin {
		return fmt.Errorf("pricesens: thresholds need 0 ≤ full-price max (%g) < promo min (%g) ≤ 1", t.FullPriceMax, t.PromoMin)
	}
	if t.DeepDiscount < 0 || t.DeepDiscount > 1 || t.DeepShare < 0 || t.DeepShare > 1 {
		return errors.New("pricesens: deep-discount thresholds must lie in [0, 1]")
	}
	return nil
}

// Profile is one customer's price sensitivity; the field names follow the
// traits discount_share, avg_discount_pct and price_sensitivity.
type Profile struct {
	Orders int
	// DiscountShare is the share of orders with a discount or coupon, 0..1.
	DiscountShare float64
	// AvgDiscountPct is the mean depth of the discounted orders that carry a
	// discount amount, in percent (0..100); 0 when there is none. Coupon-only
	// orders without an amount count in DiscountShare, not here.
	AvgDiscountPct float64
	// SaleItemShare is the share of items bought on sale, 0..1 (0 when no
	// item counts are known).
	SaleItemShare float64
	Band          Band
}

// Compute derives a customer's profile from his orders. Refunded orders
// should be removed by the caller.
func Compute(orders []Order, t Thresholds) (Profile, error) {
	if err := t.Validate(); err != nil {
		return Profile{}, err
	}
	p := Profile{Orders: len(orders)}
	if len(orders) == 0 {
		return p, nil
	}
	var discounted, withDepth, items, onSale int
	var depth float64
	for _, o := range orders {
		if o.Discounted() {
			discounted++
		}
		if o.Discount > 0 {
			withDepth++
			depth += o.Depth()
		}
		items += o.Items
		onSale += min(o.ItemsOnSale, o.Items)
	}
	p.DiscountShare = float64(discounted) / float64(len(orders))
	if withDepth > 0 {
		p.AvgDiscountPct = 100 * depth / float64(withDepth)
	}
	if items > 0 {
		p.SaleItemShare = float64(onSale) / float64(items)
	}
	p.Band = Classify(p.DiscountShare, p.AvgDiscountPct/100, p.SaleItemShare, t)
	return p, nil
}

// Classify applies the thresholds: promo-driven if discount share or sale
// share reaches PromoMin, or the average depth reaches DeepDiscount on at
// least DeepShare of orders; else full-price if both shares are at most
// FullPriceMax; else mixed. depth is a fraction (0.25 for 25%).
func Classify(discountShare, depth, saleShare float64, t Thresholds) Band {
	switch {
	case discountShare >= t.PromoMin || saleShare >= t.PromoMin:
		return PromoDriven
	case depth >= t.DeepDiscount && discountShare >= t.DeepShare:
		return PromoDriven
	case discountShare <= t.FullPriceMax && saleShare <= t.FullPriceMax:
		return FullPrice
	default:
		return Mixed
	}
}
