package gammagamma

import (
	"errors"
	"fmt"
	"math"

	"github.com/segd/segd/internal/analytics/bgnbd"
)

// History is what CLV needs to know of one customer: the BG/NBD summary
// (x, t_x, T in the BG/NBD model's time unit) and the mean value zbar of the
// repeat purchases.
type History struct {
	X    float64
	Tx   float64
	T    float64
	Zbar float64
}

// CLVOptions say over how many periods value is summed, how long a period
// is in the BG/NBD model's time unit, and the discount rate per period.
type CLVOptions struct {
	// Periods is the horizon in periods (default 12: a year of months).
	Periods int
	// PeriodLength is a period's length in the BG/NBD time unit (default 30,
	// a month when the model is fitted in days; use 4.345 for weeks).
	PeriodLength float64
	// DiscountRate is the rate per period; 0 means no discounting (callers
	// wanting lifetimes' default pass DefaultDiscountRate). Negative rates
	// are rejected.
	DiscountRate float64
}

// DefaultDiscountRate is lifetimes' default monthly rate, about 12.7% a year.
const DefaultDiscountRate = 0.01

// Validate fills defaults and rejects impossible settings.
func (o *CLVOptions) Validate() error {
	if o.Periods == 0 {
		o.Periods = 12
	}
	if o.PeriodLength == 0 {
		o.PeriodLength = 30
	}
	switch {
	case o.Periods < 0:
		return fmt.Errorf("gammagamma: periods = %d must be positive", o.Periods)
	case !(o.PeriodLength > 0):
		return fmt.Errorf("gammagamma: period length = %g must be positive", o.PeriodLength)
	case o.DiscountRate < 0 || math.IsNaN(o.DiscountRate):
		return errors.New("gammagamma: discount rate must not be negative")
	}
	return nil
}

// CLV is the discounted value of a customer's purchases over the next
// o.Periods periods, as the lifetimes library computes it:
//
//	CLV = Σ_{i=1..n} E[Z | x, zbar] · (E[Y(iL) | x,t_x,T] − E[Y((i−1)L) | x,t_x,T]) / (1+d)^i
//
// with L the period length, d the discount rate per period, E[Y] BG/NBD's
// conditional expected purchases and E[Z] the Gamma-Gamma conditional
// expected spend. Purchases are discounted to the end of the period in
// which they are expected.
func CLV(bg bgnbd.Params, gg Params, h History, o CLVOptions) (float64, error) {
	if err := bg.Validate(); err != nil {
		return 0, err
	}
	return clv(func(t float64) float64 { return bgnbd.ConditionalExpected(bg, t, h.X, h.Tx, h.T) }, gg, h, o)
}

// CLVScored is CLV with the purchase forecast taken from a bgnbd.Scorer,
// which memoises it across customers; use it to score a whole base.
func CLVScored(s *bgnbd.Scorer, gg Params, h History, o CLVOptions) (float64, error) {
	if err := s.Params().Validate(); err != nil {
		return 0, err
	}
	return clv(func(t float64) float64 { return s.ConditionalExpected(t, h.X, h.Tx, h.T) }, gg, h, o)
}

func clv(expected func(t float64) float64, gg Params, h History, o CLVOptions) (float64, error) {
	if err := o.Validate(); err != nil {
		return 0, err
	}
	if err := gg.Validate(); err != nil {
		return 0, err
	}
	spend := ConditionalExpectedSpend(gg, h.X, h.Zbar)
	var v, prev float64
	for i := 1; i <= o.Periods; i++ {
		cum := expected(float64(i) * o.PeriodLength)
		v += spend * (cum - prev) / math.Pow(1+o.DiscountRate, float64(i))
		prev = cum
	}
	return v, nil
}
