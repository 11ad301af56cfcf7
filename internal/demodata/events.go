package demodata

import (
	"math"
	"strconv"
	"time"
)

// source is where a session came from: an ad, an e-mail click or nowhere in particular.
type source struct {
	utmSource, utmMedium, utmCampaign, referrer string
}

// makeEvents generates the customer's calls (unsorted) and records.
func (g *generator) makeEvents(c *Customer) {
	r := g.rng
	from, to := max(g.startMs, c.SignupAt.UnixMilli()), g.activeEnd(c)
	traits := c.Traits()
	finalPlan := c.Plan
	upgradeAt := int64(0)
	if c.Persona == Loyal && finalPlan != "gold" && g.chance(0.3) && to-from > 2*msDay {
		// A loyal customer upgrades during the period: the first identify carries the old plan.
		upgradeAt = from + msDay + r.Int64N(to-from-msDay)
		if finalPlan == "" {
			delete(traits, "plan")
		} else {
			traits["plan"] = finalPlan
		}
		c.Plan = "gold"
	}

	signupMs := c.SignupAt.UnixMilli()
	if signupMs >= g.startMs {
		// New customer: anonymous browsing first, then the sign-up session identifies them.
		for n := g.poisson(1.2); n > 0; n-- {
			t := signupMs - msHour - r.Int64N(14*msDay)
			if t >= g.startMs {
				g.session(c, t, g.adSource(0.4), true, signupMs)
			}
		}
		t := signupMs - 2*msMinute - r.Int64N(10*msMinute)
		t = max(t, g.startMs)
		g.add(EventRow{Kind: KindPage, Anonymous: true, Name: "Home", Time: t, Has: PropPath | PropURL | PropTitle,
			Path: "/", URL: "https://shop.example.com/", Title: "Home", Agent: g.agentFor(c, false)})
		g.add(EventRow{Kind: KindPage, Anonymous: true, Name: "Sign Up", Time: t + 20*msSecond + r.Int64N(msMinute),
			Has: PropPath | PropURL | PropTitle, Path: "/signup", URL: "https://shop.example.com/signup", Title: "Sign Up", Agent: g.agentFor(c, false)})
		g.add(EventRow{Kind: KindIdentify, Time: signupMs, Traits: traits, Agent: g.agentFor(c, false)})
		method := "email"
		if g.chance(0.4) {
			method = "google"
		}
		g.add(EventRow{Kind: KindTrack, Name: "Signed Up", Time: signupMs + msSecond, Has: PropMethod, Method: method, Agent: g.agentFor(c, false)})
		from = signupMs + msMinute
	} else {
		// Existing customer: the first login of the period identifies them.
		from += r.Int64N(7 * msDay)
		if from >= to {
			from = max(to-msHour, g.startMs)
		}
		g.add(EventRow{Kind: KindIdentify, Time: from, Traits: traits, Agent: g.agentFor(c, false)})
		from += msSecond
	}
	if upgradeAt > 0 {
		g.add(EventRow{Kind: KindIdentify, Time: max(upgradeAt, from), Traits: map[string]any{"plan": "gold"}, Agent: g.agentFor(c, false)})
	}

	// Sessions: a Poisson process thinned by day (weekday, season) and local hour.
	hunter := 0
	if c.Persona == DiscountHunter {
		hunter = 1
	}
	rate := personaRate[c.Persona] * g.opts.Activity / float64(msDay)
	maxF := g.maxFactor[hunter]
	if rate > 0 {
		for t := from; ; {
			t += int64(r.ExpFloat64() / (rate * maxF))
			if t >= to {
				break
			}
			d := floorDiv(t, msDay) - g.firstDay
			hour := ((t/msHour+int64(c.utcHour))%24 + 24) % 24
			if r.Float64()*maxF > g.dayFactor[hunter][d]*hourWeight[hour] {
				continue
			}
			t = g.session(c, t, g.adSource(0.3), false, to)
		}
	}
	if c.EmailOptIn {
		g.emails(c, from, to)
	}
	g.records(c, from, to)
}

func (g *generator) adSource(p float64) source {
	if !g.chance(p) {
		return source{referrer: organicReferrers[g.rng.IntN(len(organicReferrers))]}
	}
	a := adCampaigns[g.rng.IntN(len(adCampaigns))]
	return source{a.source, a.medium, a.name, a.referrer}
}

func (g *generator) agentFor(c *Customer, app bool) string {
	if app {
		return appAgents[int(c.Index)%len(appAgents)]
	}
	return c.agent
}

// emails adds opens and clicks of the weekly newsletter (Tuesdays 02:00 UTC) and of the sale
// announcement; a click usually starts a session.
func (g *generator) emails(c *Customer, from, to int64) {
	r := g.rng
	// 1970-01-01 was a Thursday; Tuesday is day 5 mod 7.
	first := floorDiv(from, msDay)
	first += ((5-first)%7 + 7) % 7
	for day := first; ; day += 7 {
		sent := day*msDay + 2*msHour + int64(c.Index%600)*msSecond
		if sent >= to {
			break
		}
		if sent < from {
			continue
		}
		cs, ok := g.campaigns[day]
		if !ok {
			d := time.UnixMilli(day * msDay).UTC()
			yy, ww := d.ISOWeek()
			cs = [2]string{"nl-" + strconv.Itoa(yy) + "-w" + strconv.Itoa(ww), emailSubjects[ww%len(emailSubjects)]}
			if d.Month() == time.November && d.Day() >= 18 {
				cs = [2]string{"sale-" + strconv.Itoa(yy) + "-black-friday", "Black Friday: 25% off everything"}
			}
			g.campaigns[day] = cs
		}
		campaign, subject := cs[0], cs[1]
		p := personaOpen[c.Persona]
		if campaign[0] == 's' {
			p *= 1.6
		}
		if !g.chance(p) {
			continue
		}
		open := sent + int64(r.ExpFloat64()*6*float64(msHour))
		if open >= to {
			continue
		}
		g.add(EventRow{Kind: KindTrack, Name: "Email Opened", Time: open, Has: PropCampaignID | PropSubject, CampaignID: campaign, Subject: subject})
		if !g.chance(0.25) {
			continue
		}
		click := open + msMinute + r.Int64N(10*msMinute)
		if click >= to {
			continue
		}
		g.add(EventRow{Kind: KindTrack, Name: "Email Clicked", Time: click, Has: PropCampaignID | PropURL, CampaignID: campaign,
			URL: "https://shop.example.com/?utm_source=newsletter&utm_campaign=" + campaign})
		if g.chance(0.85) {
			g.session(c, click+5*msSecond, source{"newsletter", "email", campaign, ""}, false, to)
		}
	}
}

// session adds one visit starting at t and returns its end. anon marks visits before sign-up;
// they stay before limit.
func (g *generator) session(c *Customer, t int64, src source, anon bool, limit int64) int64 {
	r := g.rng
	p := c.Persona
	app := c.App && !anon && g.chance(0.7)
	agent := g.agentFor(c, app)
	step := func() { t += 5*msSecond + int64(r.ExpFloat64()*40*float64(msSecond)) }
	view := func(name, path, url, title string) {
		if t >= limit {
			return
		}
		if app {
			g.add(EventRow{Kind: KindScreen, Anonymous: anon, Name: name, Time: t, Agent: agent})
		} else {
			row := EventRow{Kind: KindPage, Anonymous: anon, Name: name, Time: t, Has: PropPath | PropURL | PropTitle,
				Path: path, URL: url, Title: title, Agent: agent,
				UTMSource: src.utmSource, UTMMedium: src.utmMedium, UTMCampaign: src.utmCampaign}
			if src.referrer != "" {
				row.Has |= PropReferrer
				row.Referrer = src.referrer
			}
			g.add(row)
		}
		step()
	}
	track := func(row EventRow) {
		if t >= limit {
			return
		}
		row.Kind, row.Anonymous, row.Time, row.Agent = KindTrack, anon, t, agent
		row.UTMSource, row.UTMMedium, row.UTMCampaign = src.utmSource, src.utmMedium, src.utmCampaign
		g.add(row)
		step()
	}
	d := floorDiv(t, msDay) - g.firstDay
	sale := d >= 0 && int(d) < len(g.saleDay) && g.saleDay[d]

	if g.chance(0.6) || app {
		view("Home", "/", siteURL+"/", "Home")
	}
	pricing := 0.1
	if p == Loyal {
		pricing = 0.2
	}
	for g.chance(pricing) {
		view("Pricing", "/pricing", siteURL+"/pricing", "Membership pricing")
		pricing *= 0.6
	}
	g.cart = g.cart[:0]
	views := 1 + g.poisson(personaViews[p])
	for i := 0; i < views; i++ {
		cat := g.rng.IntN(len(categories))
		if g.chance(0.7) {
			cat = c.prefCat[r.IntN(2)]
		}
		pi := g.byCategory[cat][r.IntN(len(g.byCategory[cat]))]
		pr := &g.products[pi]
		view("Product Detail", pr.path, pr.url, pr.slug)
		track(EventRow{Name: "Product Viewed", Has: PropProductID | PropCategory | PropPrice, ProductID: pr.id,
			Category: categories[pr.category], Price: pr.price})
		add := personaAdd[p]
		if sale {
			add *= 1.4
		}
		if g.chance(add) {
			q := 1
			if g.chance(0.12) {
				q = 2
			}
			track(EventRow{Name: "Product Added", Has: PropProductID | PropCategory | PropPrice | PropQuantity, ProductID: pr.id,
				Category: categories[pr.category], Price: pr.price, Quantity: q})
			g.cart = append(g.cart, pi, q)
		}
	}
	if len(g.cart) == 0 || anon {
		return t
	}
	view("Cart", "/cart", siteURL+"/cart", "Cart")
	checkout := personaCheckout[p]
	if sale && p == DiscountHunter {
		checkout = 0.85
	}
	if !g.chance(checkout) {
		return t
	}
	sub := 0.0
	start := len(g.items)
	for i := 0; i < len(g.cart); i += 2 {
		pr := &g.products[g.cart[i]]
		g.items = append(g.items, LineItem{ProductID: pr.id, Category: categories[pr.category], Price: pr.price, Quantity: g.cart[i+1]})
		sub += pr.price * float64(g.cart[i+1])
	}
	items := g.items[start:len(g.items):len(g.items)]
	sub = roundCents(sub)
	g.orders++
	orderID := "o-" + strconv.FormatUint(uint64(c.Index), 36) + "-" + strconv.Itoa(g.orders)
	view("Checkout", "/checkout", siteURL+"/checkout", "Checkout")
	track(EventRow{Name: "Checkout Started", Has: PropOrderID | PropRevenue | PropCurrency | PropProducts, OrderID: orderID,
		Revenue: sub, Currency: "USD", Items: items})
	order := personaOrder[p]
	if p == OneTime && g.bought {
		order = 0
	}
	if !g.chance(order) || t >= limit {
		return t
	}
	row := EventRow{Name: "Order Completed", Has: PropOrderID | PropRevenue | PropTotal | PropDiscount | PropCurrency | PropProducts,
		OrderID: orderID, Currency: "USD", Items: items}
	couponP := 0.1
	switch {
	case p == DiscountHunter && sale:
		couponP = 0.95
	case p == DiscountHunter:
		couponP = 0.7
	case sale:
		couponP = 0.4
	}
	if g.chance(couponP) {
		row.Has |= PropCoupon
		pct := 0.0
		if sale {
			row.Coupon, pct = saleCoupon, salePct
		} else {
			cp := coupons[r.IntN(len(coupons))]
			row.Coupon, pct = cp.code, cp.pct
		}
		row.Discount = roundCents(sub * pct)
	}
	row.Revenue = roundCents(sub - row.Discount)
	ship := 0.0
	if row.Revenue < 50 {
		ship = 3.5
	}
	row.Total = roundCents(row.Revenue + ship)
	orderAt := t
	track(row)
	g.bought = true

	if g.chance(0.04) {
		at := orderAt + 2*msDay + r.Int64N(12*msDay)
		if at < g.endMs {
			g.add(EventRow{Kind: KindTrack, Name: "Order Refunded", Time: at, Has: PropOrderID | PropTotal | PropCurrency,
				OrderID: orderID, Total: row.Total, Currency: "USD"})
		}
	}
	if g.chance(0.15) {
		at := orderAt + 3*msDay + r.Int64N(7*msDay)
		if at < g.endMs {
			score := 5 - int(math.Abs(r.NormFloat64())*1.3)
			score = max(score, 1)
			it := items[r.IntN(len(items))]
			g.recs = append(g.recs, Record{Type: "feedback", ID: "f-" + orderID[2:], Identity: c.UserID, Customer: c.Index,
				Timestamp: time.UnixMilli(at).UTC(), Attributes: map[string]any{
					"score": float64(score), "order_id": orderID, "product_id": it.ProductID, "category": it.Category,
					"channel": []string{"email", "app", "web"}[r.IntN(3)]}})
		}
	}
	return t
}

// records adds support tickets and accounts of the customer.
func (g *generator) records(c *Customer, from, to int64) {
	r := g.rng
	if to <= from {
		to = from + 1
	}
	tickets := g.poisson(0.25 + 0.08*float64(g.orders))
	for i := 1; i <= tickets; i++ {
		at := from + r.Int64N(to-from)
		age := g.endMs - at
		status := "closed"
		switch x := r.Float64(); {
		case age < 3*msDay && x < 0.7, x < 0.06:
			status = "open"
		case age < 10*msDay && x < 0.5, x < 0.1:
			status = "pending"
		}
		priority := "normal"
		switch x := r.Float64(); {
		case x < 0.15:
			priority = "high"
		case x < 0.55:
			priority = "low"
		}
		g.recs = append(g.recs, Record{Type: "tickets", ID: "t-" + strconv.FormatUint(uint64(c.Index), 36) + "-" + strconv.Itoa(i),
			Identity: c.UserID, Customer: c.Index, Timestamp: time.UnixMilli(at).UTC(), Attributes: map[string]any{
				"status": status, "priority": priority, "channel": ticketChannels[r.IntN(len(ticketChannels))],
				"topic": ticketTopics[r.IntN(len(ticketTopics))]}})
	}
	if g.chance(0.45) {
		n := 1 + g.poisson(0.4)
		for i := 1; i <= n; i++ {
			typ := accountTypes[r.IntN(len(accountTypes))]
			scale := 600.0 // credit card: amount owed
			switch typ {
			case "savings":
				scale = 4000
			case "checking":
				scale = 1500
			}
			bal := roundCents(scale * math.Exp(r.NormFloat64()*0.9))
			opened := c.SignupAt.UnixMilli() + r.Int64N(max(to-c.SignupAt.UnixMilli(), 1))
			g.recs = append(g.recs, Record{Type: "accounts", ID: "a-" + strconv.FormatUint(uint64(c.Index), 36) + "-" + strconv.Itoa(i),
				Identity: c.UserID, Customer: c.Index, Timestamp: time.UnixMilli(opened).UTC(), Attributes: map[string]any{
					"type": typ, "balance": bal, "currency": "USD", "status": "active"}})
		}
	}
}
