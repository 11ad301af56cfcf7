package compute

import (
	"github.com/segd/segd/internal/index"
)

// order is one purchase after refunds. Categories of its items are cats[catLo:catHi] of the
// owning purchases value (category codes).
type order struct {
	time         int64 // Unix nanoseconds UTC
	revenue      float64
	discount     float64
	coupon       bool
	items        int32
	onSale       int32
	catLo, catHi int32
	refunded     bool // net revenue ≤ 0 after refunds: not counted as an order
}

// purchases are all orders of a workspace grouped by profile: the orders of profiles[i] are
// orders[start[i]:start[i+1]], in time order.
type purchases struct {
	profiles []uint32
	start    []int32
	orders   []order
	cats     []int32  // category codes of line items, in order
	catNames []string // code → category
	// adjust is spend subtracted by refunds that matched no order, per profile index.
	adjust map[int]float64
}

func (p *purchases) of(i int) []order { return p.orders[p.start[i]:p.start[i+1]] }

// numAt returns the first numeric property among names at row, and whether one was found.
func numAt(t *index.Table, names []string, row int) (float64, bool) {
	for _, n := range names {
		if c := t.Columns[n]; c != nil && c.HasNum(row) {
			return c.Nums[row], true
		}
	}
	return 0, false
}

func textAt(c *index.Column, row int) string {
	if c == nil || c.Codes == nil || row >= len(c.Codes) {
		return ""
	}
	return c.Values[c.Codes[row]]
}

// readPurchases collects the orders and refunds up to atNs from the snapshot.
func readPurchases(snap *index.Snapshot, cfg *Purchases, atNs int64) *purchases {
	p := &purchases{adjust: map[int]float64{}}
	t := snap.Table(index.TableKey{Kind: index.Track, Name: cfg.OrderEvent})
	if t == nil {
		p.start = []int32{0}
		return p
	}
	n := t.Upper(atNs)
	// group rows by profile with a counting sort; rows are in time order, so each profile's
	// orders stay in time order
	maxID := uint32(0)
	for _, pid := range t.Prof[:n] {
		maxID = max(maxID, pid)
	}
	counts := make([]int32, int(maxID)+2)
	for _, pid := range t.Prof[:n] {
		counts[pid+1]++
	}
	slot := make([]int32, int(maxID)+1) // profile → index in p.profiles, −1 none
	for id := range slot {
		slot[id] = -1
		if counts[id+1] > 0 {
			slot[id] = int32(len(p.profiles))
			p.profiles = append(p.profiles, uint32(id))
		}
	}
	p.start = make([]int32, len(p.profiles)+1)
	for i, pid := range p.profiles {
		p.start[i+1] = p.start[i] + counts[pid+1]
	}
	fill := append([]int32(nil), p.start[:len(p.profiles)]...)
	p.orders = make([]order, n)
	rowOf := make([]int32, n) // order index → table row
	disc, coup := t.Columns[cfg.Discount], t.Columns[cfg.Coupon]
	prods := t.Columns[cfg.Products]
	catCode := map[string]int32{}
	for row := 0; row < n; row++ {
		s := slot[t.Prof[row]]
		k := fill[s]
		fill[s]++
		rowOf[k] = int32(row)
		o := &p.orders[k]
		o.time = t.Time[row]
		o.revenue, _ = numAt(t, cfg.Revenue, row)
		if disc != nil && disc.HasNum(row) {
			o.discount = disc.Nums[row]
		}
		o.coupon = textAt(coup, row) != ""
		o.catLo = int32(len(p.cats))
		if prods != nil {
			if v := prods.Get(row); v.Kind == index.List {
				items, _ := v.Raw.([]any)
				for _, it := range items {
					m, ok := it.(map[string]any)
					if !ok {
						continue
					}
					q := 1.0
					if f, ok := m[cfg.Quantity].(float64); ok && f > 0 {
						q = f
					}
					o.items += int32(q)
					price, okP := m[cfg.Price].(float64)
					list, okL := m[cfg.ListPrice].(float64)
					if okP && okL && price < list {
						o.onSale += int32(q)
					}
					if c, ok := m[cfg.Category].(string); ok && c != "" {
						code, ok := catCode[c]
						if !ok {
							code = int32(len(p.catNames))
							catCode[c] = code
							p.catNames = append(p.catNames, c)
						}
						p.cats = append(p.cats, code)
					}
				}
			}
		}
		o.catHi = int32(len(p.cats))
	}
	p.applyRefunds(snap, cfg, atNs, t, slot, rowOf)
	return p
}

// applyRefunds subtracts refunds (up to atNs) from their orders by order id, else from the
// profile's spend.
func (p *purchases) applyRefunds(snap *index.Snapshot, cfg *Purchases, atNs int64, ot *index.Table, slot []int32, rowOf []int32) {
	rt := snap.Table(index.TableKey{Kind: index.Track, Name: cfg.RefundEvent})
	if rt == nil {
		return
	}
	oid := ot.Columns[cfg.OrderID]
	var byCode []int32 // order-id code in the order table → order index + 1
	if oid != nil && oid.Codes != nil {
		byCode = make([]int32, len(oid.Values))
		for k, row := range rowOf {
			if c := oid.Codes[row]; c != 0 {
				byCode[c] = int32(k) + 1
			}
		}
	}
	rid := rt.Columns[cfg.OrderID]
	n := rt.Upper(atNs)
	for row := 0; row < n; row++ {
		amt, ok := numAt(rt, cfg.Revenue, row)
		if !ok || amt <= 0 {
			continue
		}
		pid := rt.Prof[row]
		if int(pid) >= len(slot) || slot[pid] < 0 {
			continue // a refund without an order of this profile
		}
		s := int(slot[pid])
		if id := textAt(rid, row); id != "" && oid != nil && byCode != nil {
			if c := oid.Code(id); c != 0 && byCode[c] != 0 {
				k := byCode[c] - 1
				if int(k) >= int(p.start[s]) && int(k) < int(p.start[s+1]) {
					o := &p.orders[k]
					o.revenue -= amt
					if o.revenue <= 1e-9 {
						o.refunded = true
					}
					continue
				}
			}
		}
		p.adjust[s] += amt
	}
}
