package bgnbd

import (
	"fmt"
)

// HoldoutReport compares the model with what happened after calibration:
// the paper's Figure 3 (cumulative repeat purchases, whole cohort) and
// conditional expectations summed over customers.
type HoldoutReport struct {
	Customers int
	// Holdout is the length of the holdout period in model time units.
	Holdout float64
	// CalibrationActual is Σx, the repeat purchases seen in calibration.
	CalibrationActual float64
	// HoldoutActual and HoldoutPredicted are Σ actual and Σ
	// ConditionalExpected(p, Holdout, x, t_x, T) over customers.
	HoldoutActual    float64
	HoldoutPredicted float64
	// CumulativeActual = CalibrationActual + HoldoutActual.
	// CumulativePredicted = Σ Expected(p, T + Holdout): each customer's
	// expected repeat purchases from the first purchase to the end of the
	// holdout, ignoring the calibration history (the paper's tracking plot).
	CumulativeActual    float64
	CumulativePredicted float64
}

// CumulativeError is (predicted − actual) / actual of the cumulative
// totals; the paper reports about −4% on CDNOW at week 78.
func (h HoldoutReport) CumulativeError() float64 {
	return (h.CumulativePredicted - h.CumulativeActual) / h.CumulativeActual
}

// HoldoutError is (predicted − actual) / actual of the holdout-period totals.
func (h HoldoutReport) HoldoutError() float64 {
	return (h.HoldoutPredicted - h.HoldoutActual) / h.HoldoutActual
}

func (h HoldoutReport) String() string {
	return fmt.Sprintf("customers=%d cumulative predicted=%.1f actual=%.0f (%+.1f%%) holdout predicted=%.1f actual=%.0f (%+.1f%%)",
		h.Customers, h.CumulativePredicted, h.CumulativeActual, 100*h.CumulativeError(),
		h.HoldoutPredicted, h.HoldoutActual, 100*h.HoldoutError())
}

// CheckHoldout builds a HoldoutReport. holdoutActual[i] is the number of
// repeat purchases customer i made in the holdout period of length holdout
// that follows the calibration period.
func CheckHoldout(p Params, cs []Customer, holdoutActual []float64, holdout float64) (HoldoutReport, error) {
	if err := p.Validate(); err != nil {
		return HoldoutReport{}, err
	}
	if len(cs) != len(holdoutActual) {
		return HoldoutReport{}, fmt.Errorf("bgnbd: %d customers but %d holdout counts", len(cs), len(holdoutActual))
	}
	if holdout <= 0 {
		return HoldoutReport{}, fmt.Errorf("bgnbd: holdout length %g must be positive", holdout)
	}
	h := HoldoutReport{Customers: len(cs), Holdout: holdout}
	// Many customers share T (same first-purchase day): cache E[X(T+h)].
	expected := make(map[float64]float64)
	for i, c := range cs {
		h.CalibrationActual += c.X
		h.HoldoutActual += holdoutActual[i]
		h.HoldoutPredicted += ConditionalExpected(p, holdout, c.X, c.Tx, c.T)
		e, ok := expected[c.T]
		if !ok {
			e = Expected(p, c.T+holdout)
			expected[c.T] = e
		}
		h.CumulativePredicted += e
	}
	h.CumulativeActual = h.CalibrationActual + h.HoldoutActual
	return h, nil
}
