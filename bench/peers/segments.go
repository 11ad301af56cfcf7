package main

import "strings"

// Segment is one canonical benchmark segment: its SegQL text and the SQL a data engineer
// would write for the same question on the peers' tables, returning the member profile ids in
// a column named id. $AT stands for the evaluation time as a TIMESTAMP literal; PG is the
// PostgreSQL text when it differs from the DuckDB text.
type Segment struct {
	Name   string
	Family string // the SegQL construct family it covers
	SegQL  string
	Duck   string
	PG     string
}

// SQL returns the query for engine ("duckdb" or "postgres") with $AT replaced.
func (s Segment) SQL(engine, at string) string {
	q := s.Duck
	if engine == "postgres" && s.PG != "" {
		q = s.PG
	}
	return strings.ReplaceAll(q, "$AT", at)
}

// The windows, written once: (at − d, at] and (−∞, at].
const (
	last30 = "ts > $AT - INTERVAL '30 days' AND ts <= $AT"
	upToAt = "ts <= $AT"
)

// haversine in metres with the engine's Earth radius (IUGG mean, 6371008.8 m).
const haversineHCMC = `2 * 6371008.8 * asin(least(1, sqrt(
	power(sin(radians(lat - 10.7769) / 2), 2) +
	cos(radians(10.7769)) * cos(radians(lat)) * power(sin(radians(lon - 106.7009) / 2), 2))))`

var bigSpenders = `SELECT profile AS id FROM events
WHERE name = 'Order Completed' AND ts > $AT - INTERVAL '90 days' AND ts <= $AT
GROUP BY profile HAVING sum(revenue) >= 500`

var abandonedCart = `SELECT DISTINCT a.profile AS id FROM events a
WHERE a.name = 'Product Added' AND a.ts > $AT - INTERVAL '7 days' AND a.ts <= $AT
  AND a.ts + INTERVAL '1 day' <= $AT
  AND NOT EXISTS (SELECT 1 FROM events b WHERE b.profile = a.profile AND b.name = 'Order Completed'
                  AND b.ts > a.ts AND b.ts <= a.ts + INTERVAL '1 day')`

// Segments are the canonical benchmark segments, at least one per SegQL construct family.
var Segments = []Segment{
	{Name: "traits_in", Family: "trait compare / in",
		SegQL: `country in ["VN", "TH"] and age >= 25`,
		Duck:  `SELECT id FROM profiles WHERE country IN ('VN', 'TH') AND age >= 25`},
	{Name: "existence", Family: "trait exists / missing",
		SegQL: `email exists and plan is missing`,
		Duck:  `SELECT id FROM profiles WHERE email IS NOT NULL AND plan IS NULL`},
	{Name: "text_match", Family: "text match",
		SegQL: "first_name starts with \"Ng\" or city matches \"^Ho Chi\"",
		Duck:  `SELECT id FROM profiles WHERE first_name LIKE 'Ng%' OR regexp_matches(city, '^Ho Chi')`,
		PG:    `SELECT id FROM profiles WHERE first_name LIKE 'Ng%' OR city ~ '^Ho Chi'`},
	{Name: "recent_signups", Family: "relative time trait",
		SegQL: `signup_at in last 30 days`,
		Duck:  `SELECT id FROM profiles WHERE signup_at > $AT - INTERVAL '30 days' AND signup_at <= $AT`},
	{Name: "birthday_week", Family: "anniversary",
		SegQL: `birthday anniversary in next 7 days`,
		// The window [at, at + 7 days) touches the month-days from at's to at+7d's; at is
		// chosen so the range does not wrap around the year end.
		Duck: `SELECT id FROM profiles WHERE strftime(birthday, '%m-%d') BETWEEN strftime($AT, '%m-%d') AND strftime($AT + INTERVAL '7 days', '%m-%d')`,
		PG:   `SELECT id FROM profiles WHERE to_char(birthday, 'MM-DD') BETWEEN to_char($AT, 'MM-DD') AND to_char($AT + INTERVAL '7 days', 'MM-DD')`},
	{Name: "near_hcmc", Family: "geo distance",
		SegQL: `home within 10 km of (10.7769, 106.7009)`,
		Duck:  `SELECT id FROM profiles WHERE lat IS NOT NULL AND ` + haversineHCMC + ` <= 10000`},
	{Name: "pricing_interest", Family: "count with where, rolling window",
		SegQL: `count(page where path contains "/pricing" in last 30 days) >= 2`,
		Duck:  `SELECT profile AS id FROM events WHERE kind = 'page' AND path LIKE '%/pricing%' AND ` + last30 + ` GROUP BY profile HAVING count(*) >= 2`},
	{Name: "big_spenders", Family: "sum",
		SegQL: `sum(revenue of "Order Completed" in last 90 days) >= 500`,
		Duck:  bigSpenders},
	{Name: "high_aov", Family: "avg",
		SegQL: `avg(total of "Order Completed") > 150`,
		Duck:  `SELECT profile AS id FROM events WHERE name = 'Order Completed' AND ` + upToAt + ` GROUP BY profile HAVING avg(total) > 150`},
	{Name: "category_explorers", Family: "distinct",
		SegQL: `distinct(category of "Product Viewed" in last 30 days) >= 4`,
		Duck:  `SELECT profile AS id FROM events WHERE name = 'Product Viewed' AND ` + last30 + ` GROUP BY profile HAVING count(DISTINCT category) >= 4`},
	{Name: "active_this_week", Family: "calendar window",
		SegQL: `count(page in this week) >= 3`,
		Duck:  `SELECT profile AS id FROM events WHERE kind = 'page' AND ts >= date_trunc('week', $AT) AND ts <= $AT GROUP BY profile HAVING count(*) >= 3`},
	{Name: "sale_coupon_users", Family: "count with where, absolute window",
		SegQL: `count("Order Completed" where coupon exists between 2024-11-01 and 2024-12-01) >= 2`,
		Duck:  `SELECT profile AS id FROM events WHERE name = 'Order Completed' AND coupon IS NOT NULL AND ts >= TIMESTAMP '2024-11-01 00:00:00' AND ts < TIMESTAMP '2024-12-01 00:00:00' AND ` + upToAt + ` GROUP BY profile HAVING count(*) >= 2`},
	{Name: "lapsed_buyers", Family: "last seen",
		SegQL: `last_seen("Order Completed") before 60 days ago`,
		Duck:  `SELECT profile AS id FROM events WHERE name = 'Order Completed' AND ` + upToAt + ` GROUP BY profile HAVING max(ts) < $AT - INTERVAL '60 days'`},
	{Name: "new_buyers", Family: "first seen",
		SegQL: `first_seen("Order Completed") in last 30 days`,
		Duck:  `SELECT profile AS id FROM events WHERE name = 'Order Completed' AND ` + upToAt + ` GROUP BY profile HAVING min(ts) > $AT - INTERVAL '30 days'`},
	{Name: "quick_converters", Family: "sequence then",
		SegQL: `sequence("Product Added" then "Order Completed" within 1 hour in last 30 days)`,
		Duck: `SELECT DISTINCT a.profile AS id FROM events a JOIN events b ON b.profile = a.profile
WHERE a.name = 'Product Added' AND a.ts > $AT - INTERVAL '30 days' AND a.ts <= $AT
  AND b.name = 'Order Completed' AND b.ts > a.ts AND b.ts <= a.ts + INTERVAL '1 hour' AND b.ts <= $AT`},
	{Name: "abandoned_cart", Family: "sequence then not",
		SegQL: `sequence("Product Added" then not "Order Completed" within 1 day in last 7 days)`,
		Duck:  abandonedCart},
	{Name: "open_high_tickets", Family: "record count",
		SegQL: `count(record "tickets" where status = "open" and priority = "high") >= 1`,
		Duck:  `SELECT DISTINCT profile AS id FROM records WHERE rtype = 'tickets' AND status = 'open' AND priority = 'high'`},
	{Name: "card_holders", Family: "has record",
		SegQL: `has record "accounts" where type = "credit_card" and balance > 1000`,
		Duck:  `SELECT DISTINCT profile AS id FROM records WHERE rtype = 'accounts' AND type = 'credit_card' AND balance > 1000`},
	{Name: "vip_not_abandoning", Family: "in segment / not in segment",
		SegQL: `in segment "big_spenders" and not in segment "abandoned_cart"`,
		Duck:  "(" + bigSpenders + ")\nEXCEPT\n(" + abandonedCart + ")"},
	{Name: "sample_sg", Family: "sample",
		SegQL: `country = "SG" and sample(10%)`,
		// bucket is segd's sample hash of ("sample_sg", id) modulo 1,000,000, computed at load:
		// no SQL engine has that hash built in.
		Duck: `SELECT id FROM profiles WHERE country = 'SG' AND bucket < 100000`},
	{Name: "electronics_no_order", Family: "and / not over behaviour",
		SegQL: `count("Product Viewed" where category = "electronics" in last 14 days) >= 2 and not did "Order Completed" in last 14 days`,
		Duck: `(SELECT profile AS id FROM events WHERE name = 'Product Viewed' AND category = 'electronics' AND ts > $AT - INTERVAL '14 days' AND ts <= $AT GROUP BY profile HAVING count(*) >= 2)
EXCEPT
(SELECT profile AS id FROM events WHERE name = 'Order Completed' AND ts > $AT - INTERVAL '14 days' AND ts <= $AT)`},
}

// segmentByName returns the canonical segment called name.
func segmentByName(name string) (Segment, bool) {
	for _, s := range Segments {
		if s.Name == name {
			return s, true
		}
	}
	return Segment{}, false
}
