// Package calibration owns the step from raw purchases to the per-customer
// summaries that the repeat-buying models consume: for each customer the
// number of repeat purchase occasions x, the time of the last one t_x, the
// customer's age T at the end of the calibration period, the mean value of
// repeat purchases (zbar, for the Gamma-Gamma model) and, optionally, the
// repeat purchases in a holdout period that follows.
//
// It takes generic (customer, time, amount) transactions so that segd can
// feed it from imported events; it must not import the store, the engine or
// the models themselves.
package calibration

import (
	"errors"
	"fmt"
	"sort"
	"time"
)

// Transaction is one purchase. Amount is its value (net of refunds if the
// caller nets them); it only feeds the monetary fields.
type Transaction struct {
	Customer string
	Time     time.Time
	Amount   float64
}

// Options say where the calibration period ends and in which unit times are
// measured.
type Options struct {
	// CalibrationEnd is the last calendar day of the calibration period;
	// purchases on that day count, and T runs to the start of that day
	// (CDNOW: 1997-09-30 gives T = 38.86 weeks for a 1997-01-01 customer).
	CalibrationEnd time.Time
	// HoldoutEnd, if set, is the last calendar day of the holdout period
	// (CalibrationEnd, HoldoutEnd]. Zero means no holdout.
	HoldoutEnd time.Time
	// Unit is the time unit of t_x and T; default one week (the paper's).
	// Times are whole calendar days divided by the unit.
	Unit time.Duration
	// Location decides what a calendar day is; default UTC.
	Location *time.Location
}

// Validate fills defaults and rejects impossible settings.
func (o *Options) Validate() error {
	if o.CalibrationEnd.IsZero() {
		return errors.New("calibration: CalibrationEnd is required")
	}
	if o.Unit == 0 {
		o.Unit = 7 * 24 * time.Hour
	}
	if o.Unit < 0 {
		return fmt.Errorf("calibration: unit %s must be positive", o.Unit)
	}
	if o.Location == nil {
		o.Location = time.UTC
	}
	if !o.HoldoutEnd.IsZero() && !o.HoldoutEnd.After(o.CalibrationEnd) {
		return fmt.Errorf("calibration: holdout end %s must be after calibration end %s",
			o.HoldoutEnd.Format(time.DateOnly), o.CalibrationEnd.Format(time.DateOnly))
	}
	return nil
}

// Summary is one customer's calibration (and holdout) summary.
type Summary struct {
	Customer string
	// First is the calendar day (in Location) of the first purchase, as
	// midnight UTC of that date.
	First time.Time
	// X is the number of repeat purchase days in the calibration period:
	// purchases on the same calendar day count once, the first day is not a
	// repeat.
	X float64
	// Tx is the time from the first purchase day to the last purchase day,
	// T from the first purchase day to CalibrationEnd, both in Unit.
	Tx float64
	T  float64
	// Zbar is the mean value of the repeat purchase days (each day's amounts
	// summed); 0 when X = 0.
	Zbar float64
	// Days is the number of purchase days (X + 1) and Amount their total
	// value, both in the calibration period.
	Days   int
	Amount float64
	// HoldoutX is the number of purchase days in the holdout period.
	HoldoutX float64
	// HoldoutAmount is their total value.
	HoldoutAmount float64
}

// civilDay numbers calendar days in loc.
func civilDay(t time.Time, loc *time.Location) int64 {
	y, m, d := t.In(loc).Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC).Unix() / 86400
}

// Summarise builds one Summary per customer whose first purchase falls on or
// before CalibrationEnd, sorted by customer id. Customers who first buy
// later are not part of the calibration cohort and are left out; purchases
// after HoldoutEnd (or after CalibrationEnd when there is no holdout) are
// ignored. The input need not be sorted.
func Summarise(txs []Transaction, o Options) ([]Summary, error) {
	if err := o.Validate(); err != nil {
		return nil, err
	}
	calEnd := civilDay(o.CalibrationEnd, o.Location)
	holdEnd := calEnd
	if !o.HoldoutEnd.IsZero() {
		holdEnd = civilDay(o.HoldoutEnd, o.Location)
	}
	unitDays := o.Unit.Hours() / 24

	type key struct {
		customer string
		day      int64
	}
	perDay := make(map[key]float64)
	for _, tx := range txs {
		if tx.Time.IsZero() {
			return nil, fmt.Errorf("calibration: transaction of customer %q has no time", tx.Customer)
		}
		d := civilDay(tx.Time, o.Location)
		if d > holdEnd {
			continue
		}
		perDay[key{tx.Customer, d}] += tx.Amount
	}
	type dayAmount struct {
		day    int64
		amount float64
	}
	byCustomer := make(map[string][]dayAmount)
	for k, amt := range perDay {
		byCustomer[k.customer] = append(byCustomer[k.customer], dayAmount{k.day, amt})
	}
	out := make([]Summary, 0, len(byCustomer))
	for id, days := range byCustomer {
		sort.Slice(days, func(i, j int) bool { return days[i].day < days[j].day })
		first := days[0].day
		if first > calEnd {
			continue
		}
		s := Summary{
			Customer: id,
			First:    time.Unix(first*86400, 0).UTC(),
			T:        float64(calEnd-first) / unitDays,
		}
		var repeatAmount float64
		last := first
		for i, d := range days {
			if d.day > calEnd {
				s.HoldoutX++
				s.HoldoutAmount += d.amount
				continue
			}
			s.Days++
			s.Amount += d.amount
			if i > 0 {
				s.X++
				repeatAmount += d.amount
			}
			last = d.day
		}
		s.Tx = float64(last-first) / unitDays
		if s.X > 0 {
			s.Zbar = repeatAmount / s.X
		}
		out = append(out, s)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Customer < out[j].Customer })
	return out, nil
}
