package segment

// DemoSegments returns example segments over the data of internal/demodata, in an order in
// which each one's "in segment" references are defined before it. `segd demo` creates them;
// a test checks that each parses, checks against the demo schema and has some but not all
// profiles as members.
func DemoSegments() []Segment {
	d := func(name, desc, query string, tags ...string) Segment {
		return Segment{Name: name, Description: desc, Query: query, Mode: ModeRealtime, Tags: tags}
	}
	return []Segment{
		d("Pricing researchers", "Looked at the membership pricing page at least twice in the last 60 days",
			`count(page where path contains "/pricing" in last 60 days) >= 2`, "intent"),
		d("Abandoned cart (1 day)", "Added a product in the last 7 days and did not order within a day",
			`sequence("Product Added" then not "Order Completed" within 1 day in last 7 days)`, "cart", "recovery"),
		d("VIP spenders 90d", "Spent 300 or more in the last 90 days",
			`sum(revenue of "Order Completed" in last 90 days) >= 300`, "value"),
		d("Churn risk", "Has ordered, but the last order is more than 60 days old",
			`last_seen("Order Completed") before 60 days ago`, "retention"),
		d("Loyal VIPs", "VIP spenders who are not at churn risk (a segment of segments)",
			`in segment "VIP spenders 90d" and not in segment "Churn risk"`, "value"),
		d("New signups (7 days)", "Signed up in the last 7 days",
			`signup_at in last 7 days`, "lifecycle"),
		d("Discount hunters", "Two or more orders with a coupon in the last 90 days",
			`count("Order Completed" where coupon exists in last 90 days) >= 2`, "pricing"),
		d("Vietnam & Thailand 25+", "Customers in Vietnam or Thailand aged 25 or more",
			`country in ["VN", "TH"] and age >= 25`, "geo"),
		d("Near Ho Chi Minh City", "Home within 25 km of central Ho Chi Minh City",
			`home within 25 km of (10.7769, 106.7009)`, "geo"),
		d("Open high-priority tickets", "Has an open support ticket of high priority",
			`count(record "tickets" where status = "open" and priority = "high") >= 1`, "support"),
		d("Mobile app users", "Used the mobile app (screen views) at least 3 times in the last 30 days",
			`count(screen in last 30 days) >= 3`, "channel"),
		d("Repeat buyers", "Two or more orders ever",
			`count("Order Completed") >= 2`, "lifecycle"),
		d("Email engaged", "Opted in and opened or clicked an e-mail in the last 30 days",
			`email_opt_in = true and (did "Email Opened" in last 30 days or did "Email Clicked" in last 30 days)`, "email"),
		d("Birthday this week", "Birthday falls in the current calendar week",
			`birthday anniversary in this week`, "lifecycle"),
		d("Savings over 5000", "Has a savings account with a balance above 5,000",
			`has record "accounts" where type = "savings" and balance > 5000`, "finance"),
		d("Hold-out 10%", "A deterministic 10% of profiles, kept out of campaigns to measure lift",
			`sample(10%)`, "experiment"),
	}
}
