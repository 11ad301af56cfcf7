package main

import "fmt"

// segmentDef is one benchmark segment as POST /api/v1/segments takes it.
type segmentDef struct {
	Name  string `json:"name"`
	Query string `json:"query"`
	Mode  string `json:"mode"`
}

// segments returns the 50 real-time segments, in an order in which each "in segment"
// reference is defined first. The mix: event counts with and without property filters in
// rolling and calendar windows, sums and averages, distinct counts, did / last_seen /
// first_seen, sequences (completed and "then not"), traits (comparison, sets, relative time,
// anniversaries, geographic distance), related records, segments of segments and a sample.
// Several segments react to every event name the load generator sends, so each event
// re-evaluates a realistic share of them.
func segments() []segmentDef {
	q := []string{
		// behaviour: counts
		`count(page where path contains "/pricing" in last 60 days) >= 2`,
		`count("Product Viewed" in last 1 day) >= 3`,
		`count("Product Viewed" in last 7 days) >= 10`,
		`count("Product Viewed" in last 30 days) >= 25`,
		`count("Product Added" in last 7 days) >= 2`,
		`count("Product Added" in last 1 day) >= 1 and count("Order Completed" in last 1 day) = 0`,
		`count("Order Completed") >= 2`,
		`count("Order Completed" in last 30 days) >= 1`,
		`count("Order Completed" where coupon exists in last 90 days) >= 2`,
		`count(screen in last 30 days) >= 3`,
		`count(page in this week) > 5`,
		`count(any event today) >= 5`,
		`count("Checkout Started" in last 7 days) >= 1`,
		`count("Email Opened" in last 14 days) >= 2`,
		// behaviour: property filters per category
		`count("Product Viewed" where category = "electronics" in last 30 days) >= 3`,
		`count("Product Viewed" where category = "fashion" in last 30 days) >= 3`,
		`count("Product Viewed" where category = "beauty" in last 30 days) >= 3`,
		`count("Product Added" where category in ["home", "sports"] in last 30 days) >= 1`,
		`count("Product Viewed" where price > 100 in last 14 days) >= 2`,
		// behaviour: aggregates
		`sum(revenue of "Order Completed" in last 90 days) >= 300`,
		`sum(revenue of "Order Completed" in last 30 days) >= 150`,
		`sum(revenue of "Order Completed") >= 1000`,
		`avg(price of "Product Viewed" in last 30 days) > 80`,
		`max(revenue of "Order Completed" in last 180 days) >= 250`,
		`distinct(category of "Product Viewed" in last 30 days) >= 3`,
		// behaviour: occurrence and sequences
		`did "Email Clicked" in last 30 days`,
		`last_seen("Order Completed") before 60 days ago`,
		`first_seen("Order Completed") in last 30 days`,
		`sequence("Product Added" then not "Order Completed" within 1 day in last 7 days)`,
		`sequence("Product Viewed" then "Product Added" within 1 hour in last 7 days)`,
		`sequence("Product Added" then "Order Completed" within 1 day in last 30 days)`,
		// traits
		`country in ["VN", "TH"] and age >= 25`,
		`country = "SG" and email_opt_in = true`,
		`signup_at in last 7 days`,
		`signup_at in last 90 days and count("Order Completed") = 0`,
		`home within 25 km of (10.7769, 106.7009)`,
		`birthday anniversary in this week`,
		`email exists and sms_opt_in = true`,
		`age < 25 and count("Product Viewed" in last 7 days) >= 1`,
		// related records
		`count(record "tickets" where status = "open" and priority = "high") >= 1`,
		`has record "accounts" where type = "savings" and balance > 5000`,
		`count(record "tickets") >= 2`,
		// engagement mixes
		`email_opt_in = true and (did "Email Opened" in last 30 days or did "Email Clicked" in last 30 days)`,
		`did "Product Viewed" in last 1 day and not did "Order Completed" in last 30 days`,
		`sample(10%)`,
	}
	out := make([]segmentDef, 0, 50)
	for i, s := range q {
		out = append(out, segmentDef{Name: fmt.Sprintf("rt%02d", i+1), Query: s, Mode: "realtime"})
	}
	// segments of segments (reference the ones above by name)
	for _, s := range []string{
		`in segment "rt20" and not in segment "rt27"`,
		`in segment "rt05" and not in segment "rt08"`,
		`in segment "rt07" or in segment "rt22"`,
		`in segment "rt02" and in segment "rt25"`,
		`in segment "rt43" and not in segment "rt45"`,
	} {
		out = append(out, segmentDef{Name: fmt.Sprintf("rt%02d", len(out)+1), Query: s, Mode: "realtime"})
	}
	return out
}
