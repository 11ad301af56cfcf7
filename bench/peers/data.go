package main

import (
	"time"

	"github.com/segd/segd/internal/demodata"
	"github.com/segd/segd/internal/engine"
)

// The flattened shape every peer table is loaded with, built once per row so that all
// engines get exactly the same values.

const ddlProfiles = `CREATE TABLE profiles (
	id INTEGER PRIMARY KEY, email VARCHAR, first_name VARCHAR, last_name VARCHAR, phone VARCHAR,
	country VARCHAR, city VARCHAR, age INTEGER, gender VARCHAR, plan VARCHAR,
	signup_at TIMESTAMP, birthday DATE, lat DOUBLE PRECISION, lon DOUBLE PRECISION,
	email_opt_in BOOLEAN, sms_opt_in BOOLEAN, bucket INTEGER)`

const ddlEvents = `CREATE TABLE events (
	profile INTEGER, kind VARCHAR, name VARCHAR, ts TIMESTAMP, path VARCHAR,
	product_id VARCHAR, category VARCHAR, price DOUBLE PRECISION, quantity INTEGER,
	order_id VARCHAR, revenue DOUBLE PRECISION, total DOUBLE PRECISION, discount DOUBLE PRECISION,
	coupon VARCHAR, campaign_id VARCHAR)`

const ddlRecords = `CREATE TABLE records (
	rtype VARCHAR, id VARCHAR, profile INTEGER, ts TIMESTAMP, status VARCHAR, priority VARCHAR,
	channel VARCHAR, topic VARCHAR, type VARCHAR, balance DOUBLE PRECISION, score DOUBLE PRECISION)`

var (
	profileCols = []string{"id", "email", "first_name", "last_name", "phone", "country", "city", "age", "gender", "plan",
		"signup_at", "birthday", "lat", "lon", "email_opt_in", "sms_opt_in", "bucket"}
	eventCols = []string{"profile", "kind", "name", "ts", "path", "product_id", "category", "price", "quantity",
		"order_id", "revenue", "total", "discount", "coupon", "campaign_id"}
	recordCols = []string{"rtype", "id", "profile", "ts", "status", "priority", "channel", "topic", "type", "balance", "score"}
)

// sampleSegment is the segment whose sample hash the profiles' bucket column holds.
const sampleSegment = "sample_sg"

// benchProps are the event properties loaded into every engine (segd included).
const benchProps = demodata.PropPath | demodata.PropProductID | demodata.PropCategory | demodata.PropPrice |
	demodata.PropQuantity | demodata.PropOrderID | demodata.PropRevenue | demodata.PropTotal |
	demodata.PropDiscount | demodata.PropCoupon | demodata.PropCampaignID

func nullStr(s string) any {
	if s == "" {
		return nil
	}
	return s
}

func profileRow(c *demodata.Customer, dst []any) []any {
	bucket := int32(engine.SampleHash(sampleSegment, c.Index) % 1_000_000)
	return append(dst[:0], int32(c.Index), nullStr(c.Email), c.FirstName, c.LastName, c.Phone, c.Country, c.City,
		int32(c.Age), c.Gender, nullStr(c.Plan), c.SignupAt, c.Birthday, c.Lat, c.Lon, c.EmailOptIn, c.SMSOptIn, bucket)
}

// eventRow flattens r; ok is false for rows the benchmark does not load (identify calls).
func eventRow(r *demodata.EventRow, dst []any) ([]any, bool) {
	if r.Kind == demodata.KindIdentify {
		return dst, false
	}
	opt := func(p demodata.Prop, v any) any {
		if r.Has&p == 0 {
			return nil
		}
		return v
	}
	return append(dst[:0], int32(r.Customer), r.Kind.String(), r.Name, time.UnixMilli(r.Time).UTC(),
		opt(demodata.PropPath, r.Path), opt(demodata.PropProductID, r.ProductID), opt(demodata.PropCategory, r.Category),
		opt(demodata.PropPrice, r.Price), opt(demodata.PropQuantity, int32(r.Quantity)), opt(demodata.PropOrderID, r.OrderID),
		opt(demodata.PropRevenue, r.Revenue), opt(demodata.PropTotal, r.Total), opt(demodata.PropDiscount, r.Discount),
		opt(demodata.PropCoupon, r.Coupon), opt(demodata.PropCampaignID, r.CampaignID)), true
}

func recordRow(r *demodata.Record, dst []any) []any {
	a := r.Attributes
	str := func(k string) any {
		if s, ok := a[k].(string); ok {
			return s
		}
		return nil
	}
	num := func(k string) any {
		if f, ok := a[k].(float64); ok {
			return f
		}
		return nil
	}
	return append(dst[:0], r.Type, r.ID, int32(r.Customer), r.Timestamp, str("status"), str("priority"),
		str("channel"), str("topic"), str("type"), num("balance"), num("score"))
}
