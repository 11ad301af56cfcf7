package pricesens_test

import (
	"math"
	"testing"

	"github.com/segd/segd/internal/analytics/pricesens"
)

func TestCompute(t *testing.T) {
	full := pricesens.Order{Revenue: 100, Items: 2}
	d20 := pricesens.Order{Revenue: 80, Discount: 20, Items: 2, ItemsOnSale: 1}
	d50 := pricesens.Order{Revenue: 50, Discount: 50, Items: 1, ItemsOnSale: 1}
	coupon := pricesens.Order{Revenue: 100, Coupon: "WELCOME", Items: 1}
	for _, c := range []struct {
		name       string
		orders     []pricesens.Order
		share, pct float64
		sale       float64
		band       pricesens.Band
	}{
		{"no orders", nil, 0, 0, 0, pricesens.Unknown},
		{"always full price", []pricesens.Order{full, full, full, full, full, full, full, full, full, full}, 0, 0, 0, pricesens.FullPrice},
		{"one small discount in ten", []pricesens.Order{full, full, full, full, full, full, full, full, full, d20}, 0.1, 20, 1.0 / 20, pricesens.FullPrice},
		{"a quarter discounted", []pricesens.Order{full, full, full, d20}, 0.25, 20, 1.0 / 8, pricesens.Mixed},
		{"coupon only counts in share", []pricesens.Order{full, coupon, full, full}, 0.25, 0, 0, pricesens.Mixed},
		{"half discounted", []pricesens.Order{full, d20}, 0.5, 20, 0.25, pricesens.PromoDriven},
		{"deep discounts a third of the time", []pricesens.Order{full, full, d50}, 1.0 / 3, 50, 0.2, pricesens.PromoDriven},
	} {
		p, err := pricesens.Compute(c.orders, pricesens.DefaultThresholds)
		if err != nil {
			t.Fatal(err)
		}
		if math.Abs(p.DiscountShare-c.share) > 1e-12 || math.Abs(p.AvgDiscountPct-c.pct) > 1e-9 || math.Abs(p.SaleItemShare-c.sale) > 1e-12 || p.Band != c.band {
			t.Errorf("%s: %+v, want share %g pct %g sale %g band %q", c.name, p, c.share, c.pct, c.sale, c.band)
		}
	}
}

func TestThresholdsValidate(t *testing.T) {
	if _, err := pricesens.Compute(nil, pricesens.Thresholds{FullPriceMax: 0.6, PromoMin: 0.5}); err == nil {
		t.Error("full-price max above promo min accepted")
	}
}
