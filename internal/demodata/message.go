package demodata

import (
	"context"
	"encoding/binary"
	"encoding/hex"
	"hash/fnv"
	"time"

	"github.com/segd/segd/internal/message"
)

// Stream runs the generator and turns every row into a Segment message, so the messages carry
// exactly the data Generate gives (the same rows). onMessage receives messages in per-customer
// time order, onRecord the related records; either may be nil. The callee owns each message.
func Stream(ctx context.Context, opts Options, onMessage func(*message.Message) error, onRecord func(*Record) error) error {
	opts = opts.WithDefaults()
	var cust *Customer
	sink := Sink{
		Customer: func(c *Customer) error { cust = c; return nil },
		Record:   onRecord,
	}
	if onMessage != nil {
		sink.Event = func(r *EventRow) error { return onMessage(r.Message(cust, opts.Seed)) }
	}
	return Generate(ctx, opts, sink)
}

// MessageID is the deterministic message id of row seq of customer c under seed.
func MessageID(seed int64, customer, seq uint32) string {
	var b [16]byte
	binary.BigEndian.PutUint64(b[:8], uint64(seed))
	binary.BigEndian.PutUint32(b[8:12], customer)
	binary.BigEndian.PutUint32(b[12:], seq)
	h := fnv.New128a()
	h.Write(b[:])
	return "demo-" + hex.EncodeToString(h.Sum(nil))
}

// Properties fills dst with the row's properties (the ones Has marks) and returns it; a nil
// dst is allocated. JSON-shaped values: float64 numbers, strings, []any of map[string]any.
func (r *EventRow) Properties(dst map[string]any) map[string]any {
	if r.Has == 0 {
		return dst
	}
	if dst == nil {
		dst = make(map[string]any, 8)
	}
	set := func(p Prop, k string, v any) {
		if r.Has&p != 0 {
			dst[k] = v
		}
	}
	set(PropPath, "path", r.Path)
	set(PropURL, "url", r.URL)
	set(PropReferrer, "referrer", r.Referrer)
	set(PropTitle, "title", r.Title)
	set(PropProductID, "product_id", r.ProductID)
	set(PropCategory, "category", r.Category)
	set(PropPrice, "price", r.Price)
	set(PropQuantity, "quantity", float64(r.Quantity))
	set(PropOrderID, "order_id", r.OrderID)
	set(PropRevenue, "revenue", r.Revenue)
	set(PropTotal, "total", r.Total)
	set(PropDiscount, "discount", r.Discount)
	set(PropCoupon, "coupon", r.Coupon)
	set(PropCurrency, "currency", r.Currency)
	set(PropCampaignID, "campaign_id", r.CampaignID)
	set(PropSubject, "subject", r.Subject)
	set(PropMethod, "method", r.Method)
	if r.Has&PropProducts != 0 {
		ps := make([]any, len(r.Items))
		for i, it := range r.Items {
			ps[i] = map[string]any{"product_id": it.ProductID, "category": it.Category, "price": it.Price, "quantity": float64(it.Quantity)}
		}
		dst["products"] = ps
	}
	return dst
}

// Message builds the Segment message of the row; c is the row's customer.
func (r *EventRow) Message(c *Customer, seed int64) *message.Message {
	ts := time.UnixMilli(r.Time).UTC()
	m := &message.Message{
		Type:        message.Type(r.Kind.String()),
		MessageID:   MessageID(seed, r.Customer, r.Seq),
		AnonymousID: c.AnonymousID,
		Timestamp:   ts,
		// Arrival lags event time by a deterministic 20-900 ms.
		ReceivedAt: ts.Add(time.Duration(20+(r.Seq*7919+r.Customer*104729)%880) * time.Millisecond),
	}
	if !r.Anonymous {
		m.UserID = c.UserID
	}
	switch r.Kind {
	case KindTrack:
		m.Event = r.Name
	case KindPage, KindScreen:
		m.Name = r.Name
	case KindIdentify:
		m.Traits = r.Traits
	}
	m.Properties = r.Properties(nil)
	ctx := map[string]any{"locale": c.Locale}
	if r.Agent != "" {
		ctx["userAgent"] = r.Agent
	} else {
		ctx["library"] = map[string]any{"name": "esp-webhook", "version": "1.0"}
	}
	if r.UTMSource != "" {
		ctx["campaign"] = map[string]any{"source": r.UTMSource, "medium": r.UTMMedium, "name": r.UTMCampaign}
	}
	if r.Kind == KindPage {
		page := map[string]any{"path": r.Path, "url": r.URL, "title": r.Title}
		if r.Referrer != "" {
			page["referrer"] = r.Referrer
		}
		ctx["page"] = page
	}
	if r.Kind == KindScreen {
		ctx["app"] = map[string]any{"name": "SegdShop", "version": "4.2.1"}
		ctx["device"] = map[string]any{"type": "mobile"}
	}
	m.Context = ctx
	return m
}
