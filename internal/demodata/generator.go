package demodata

import (
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"time"
)

const (
	msSecond = int64(1000)
	msMinute = 60 * msSecond
	msHour   = 60 * msMinute
	msDay    = 24 * msHour
)

// Per-persona behaviour. Rates are sessions per day while active; probabilities are per
// viewed product (add), per cart (checkout) and per checkout (order).
var personaShare = [numPersonas]float64{Loyal: 15, DiscountHunter: 15, OneTime: 22, Browser: 30, Churned: 18}

var personaRate = [numPersonas]float64{Loyal: 0.045, DiscountHunter: 0.022, OneTime: 0.009, Browser: 0.014, Churned: 0.035}

var personaViews = [numPersonas]float64{Loyal: 1.6, DiscountHunter: 2.2, OneTime: 1.0, Browser: 1.8, Churned: 1.4}

var personaAdd = [numPersonas]float64{Loyal: 0.38, DiscountHunter: 0.3, OneTime: 0.22, Browser: 0.08, Churned: 0.32}

var personaCheckout = [numPersonas]float64{Loyal: 0.78, DiscountHunter: 0.55, OneTime: 0.5, Browser: 0.3, Churned: 0.65}

var personaOrder = [numPersonas]float64{Loyal: 0.86, DiscountHunter: 0.6, OneTime: 0.7, Browser: 0, Churned: 0.8}

var personaOpen = [numPersonas]float64{Loyal: 0.35, DiscountHunter: 0.45, OneTime: 0.12, Browser: 0.2, Churned: 0.25}

// Relative session intensity by local hour: quiet nights, a lunch bump, an evening peak.
var hourWeight = [24]float64{0.15, 0.08, 0.05, 0.04, 0.05, 0.1, 0.25, 0.45, 0.6, 0.65, 0.7, 0.75,
	0.85, 0.8, 0.7, 0.7, 0.75, 0.8, 0.9, 1, 1, 0.95, 0.7, 0.35}

type generator struct {
	opts           Options
	pcg            *rand.PCG
	rng            *rand.Rand
	startMs, endMs int64
	firstDay       int64       // Unix day number of startMs
	dayFactor      [][]float64 // [hunter?1:0][day-firstDay] weekday and season factor
	saleDay        []bool      // November sale days
	maxFactor      [2]float64
	products       []product
	byCategory     [][]int
	countryCum     []float64
	personaCum     []float64

	campaigns map[int64][2]string // e-mail campaign id and subject by send day

	cust     Customer
	order    []int32
	sorted   []EventRow
	rows     []EventRow
	items    []LineItem
	recs     []Record
	orders   int
	bought   bool
	cart     []int
	emailDom []string
}

func newGenerator(o Options) *generator {
	g := &generator{opts: o, startMs: o.Start.UnixMilli(), endMs: o.End.UnixMilli(), campaigns: map[int64][2]string{}}
	g.pcg = rand.NewPCG(uint64(o.Seed), 0)
	g.rng = rand.New(g.pcg)
	g.emailDom = []string{"gmail.com", "yahoo.com", "outlook.com", "icloud.com", "hotmail.com", "proton.me"}

	// The catalog is the same for every seed so product ids mean the same thing across runs.
	cat := rand.New(rand.NewPCG(42, 7))
	g.byCategory = make([][]int, len(categories))
	for ci := range categories {
		for k := 0; k < 30; k++ {
			noun := productNouns[ci][k%len(productNouns[ci])]
			p := product{
				id:       "p-" + strconv.Itoa(1000+ci*100+k),
				slug:     noun + "-" + strconv.Itoa(k/len(productNouns[ci])+1),
				category: ci,
				price:    roundCents(categoryPrice[ci] * math.Exp(cat.NormFloat64()*0.55)),
			}
			p.path = "/products/" + p.slug
			p.url = siteURL + p.path
			g.byCategory[ci] = append(g.byCategory[ci], len(g.products))
			g.products = append(g.products, p)
		}
	}
	for _, c := range countries {
		g.countryCum = appendCum(g.countryCum, c.weight)
	}
	for _, w := range personaShare {
		g.personaCum = appendCum(g.personaCum, w)
	}

	g.firstDay = floorDiv(g.startMs, msDay)
	lastDay := floorDiv(g.endMs-1, msDay)
	n := int(lastDay - g.firstDay + 1)
	g.dayFactor = [][]float64{make([]float64, n), make([]float64, n)}
	g.saleDay = make([]bool, n)
	for d := 0; d < n; d++ {
		day := time.UnixMilli((g.firstDay + int64(d)) * msDay).UTC()
		f := 1.0
		switch day.Weekday() {
		case time.Saturday, time.Sunday:
			f = 1.45
		case time.Friday:
			f = 1.1
		case time.Tuesday, time.Wednesday:
			f = 0.85
		}
		season, hunter := 1.0, 1.0
		switch m, dd := day.Month(), day.Day(); {
		case m == time.November && dd >= 20:
			season, hunter = 2.2, 4.5
			g.saleDay[d] = true
		case m == time.December && dd <= 24:
			season, hunter = 1.35, 1.3
		case m == time.January || m == time.February:
			season, hunter = 0.85, 0.7
		case m == time.July || m == time.August:
			season, hunter = 0.9, 0.9
		}
		g.dayFactor[0][d] = f * season
		g.dayFactor[1][d] = f * hunter
		g.maxFactor[0] = max(g.maxFactor[0], g.dayFactor[0][d])
		g.maxFactor[1] = max(g.maxFactor[1], g.dayFactor[1][d])
	}
	return g
}

func appendCum(cum []float64, w float64) []float64 {
	last := 0.0
	if len(cum) > 0 {
		last = cum[len(cum)-1]
	}
	return append(cum, last+w)
}

func (g *generator) pick(cum []float64) int {
	x := g.rng.Float64() * cum[len(cum)-1]
	for i, c := range cum {
		if x < c {
			return i
		}
	}
	return len(cum) - 1
}

func (g *generator) chance(p float64) bool { return g.rng.Float64() < p }

func (g *generator) poisson(mean float64) int {
	l, k, p := math.Exp(-mean), 0, 1.0
	for {
		p *= g.rng.Float64()
		if p < l {
			return k
		}
		k++
	}
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && (a < 0) != (b < 0) {
		q--
	}
	return q
}

func roundCents(x float64) float64 { return math.Round(x*100) / 100 }

// customer generates everything about customer idx and feeds it to sink.
func (g *generator) customer(idx uint32, sink Sink) error {
	g.pcg.Seed(uint64(g.opts.Seed)^0x6a09e667f3bcc908, uint64(idx)*0x9e3779b97f4a7c15+1)
	g.rows, g.items, g.recs, g.cart = g.rows[:0], g.items[:0], g.recs[:0], g.cart[:0]
	g.orders, g.bought = 0, false
	c := &g.cust
	g.makeCustomer(idx, c)
	g.makeEvents(c)
	// Sort by time, ties in generation order, through an index: rows are large.
	g.order = g.order[:0]
	for i := range g.rows {
		g.order = append(g.order, int32(i))
	}
	slices.SortFunc(g.order, func(a, b int32) int {
		ta, tb := g.rows[a].Time, g.rows[b].Time
		switch {
		case ta < tb:
			return -1
		case ta > tb:
			return 1
		}
		return int(a - b)
	})
	g.sorted = g.sorted[:0]
	for _, i := range g.order {
		g.sorted = append(g.sorted, g.rows[i])
	}
	g.rows, g.sorted = g.sorted, g.rows
	if sink.Customer != nil {
		if err := sink.Customer(c); err != nil {
			return err
		}
	}
	for i := range g.rows {
		g.rows[i].Seq = uint32(i)
		if sink.Event != nil {
			if err := sink.Event(&g.rows[i]); err != nil {
				return err
			}
		}
	}
	if sink.Record != nil {
		for i := range g.recs {
			if err := sink.Record(&g.recs[i]); err != nil {
				return err
			}
		}
	}
	return nil
}

func (g *generator) makeCustomer(idx uint32, c *Customer) {
	r := g.rng
	co := &countries[g.pick(g.countryCum)]
	var cityCum [8]float64
	sum := 0.0
	for i, ct := range co.cities {
		sum += ct.weight
		cityCum[i] = sum
	}
	ci := len(co.cities) - 1
	for i, x := 0, r.Float64()*sum; i < len(co.cities); i++ {
		if x < cityCum[i] {
			ci = i
			break
		}
	}
	city := &co.cities[ci]
	*c = Customer{
		Index:     idx,
		UserID:    "u" + strconv.FormatUint(uint64(idx)+10_000_000, 10),
		FirstName: co.first[r.IntN(len(co.first))],
		LastName:  co.last[r.IntN(len(co.last))],
		Country:   co.code,
		City:      city.name,
		Locale:    co.locale,
		utcHour:   co.utcHour,
		Persona:   Persona(g.pick(g.personaCum)),
	}
	c.AnonymousID = anonID(r.Uint64(), r.Uint64())
	if !g.chance(0.04) {
		local := strings.ToLower(strings.ReplaceAll(c.FirstName, " ", "") + "." + strings.ReplaceAll(c.LastName, " ", ""))
		c.Email = local + strconv.Itoa(int(idx%9973)) + "@" + g.emailDom[r.IntN(len(g.emailDom))]
	}
	c.Phone = "+" + strconv.Itoa(100+r.IntN(900)) + strconv.Itoa(1_000_000+r.IntN(9_000_000))
	c.Age = int(math.Round(34 + r.NormFloat64()*11))
	c.Age = min(max(c.Age, 18), 80)
	switch x := r.Float64(); {
	case x < 0.52:
		c.Gender = "female"
	case x < 0.97:
		c.Gender = "male"
	default:
		c.Gender = "non_binary"
	}
	switch x := r.Float64(); {
	case c.Persona == Loyal && x < 0.35, x < 0.1:
		c.Plan = "gold"
	case x < 0.35:
		c.Plan = "silver"
	case x < 0.85:
		c.Plan = "free"
	}
	// Birthday: the age at End, a uniform day of that year.
	by := g.opts.End.Year() - c.Age
	c.Birthday = time.Date(by, 1, 1, 0, 0, 0, 0, time.UTC).AddDate(0, 0, r.IntN(365))
	c.Lat = math.Round((city.lat+r.NormFloat64()*0.06)*1e6) / 1e6
	c.Lon = math.Round((city.lon+r.NormFloat64()*0.06)*1e6) / 1e6
	c.EmailOptIn = c.Email != "" && g.chance(0.65)
	c.SMSOptIn = g.chance(0.35)
	c.Mobile = g.chance(0.6)
	c.App = c.Mobile && g.chance(0.4)
	if c.Mobile {
		c.agent = mobileAgents[r.IntN(len(mobileAgents))]
	} else {
		c.agent = desktopAgents[r.IntN(len(desktopAgents))]
	}
	c.prefCat = [2]int{r.IntN(len(categories)), r.IntN(len(categories))}

	span := g.endMs - g.startMs
	if g.chance(0.45) {
		// An existing customer: signed up during the three years before Start.
		c.SignupAt = time.UnixMilli(g.startMs - 1 - r.Int64N(3*365*msDay)).UTC()
	} else {
		c.SignupAt = time.UnixMilli(g.startMs + r.Int64N(max(span-msDay, 1))).UTC()
	}
	from := max(g.startMs, c.SignupAt.UnixMilli())
	if c.Persona == Churned || g.chance(0.04) {
		if left := g.endMs - from - 14*msDay; left > msDay {
			c.ChurnAt = time.UnixMilli(from + 14*msDay + r.Int64N(left)).UTC()
		}
	}
}

func anonID(a, b uint64) string {
	const hex = "0123456789abcdef"
	var buf [36]byte
	j := 0
	for i := 0; i < 32; i++ {
		if i == 8 || i == 12 || i == 16 || i == 20 {
			buf[j] = '-'
			j++
		}
		v := a
		if i >= 16 {
			v = b
		}
		buf[j] = hex[(v>>(uint(i%16)*4))&0xf]
		j++
	}
	buf[14] = '4' // version nibble, like a random UUID
	return string(buf[:])
}

// activeEnd is when the customer's activity stops: churn or End.
func (g *generator) activeEnd(c *Customer) int64 {
	if !c.ChurnAt.IsZero() {
		return c.ChurnAt.UnixMilli()
	}
	return g.endMs
}

func (g *generator) add(r EventRow) *EventRow {
	r.Customer = g.cust.Index
	g.rows = append(g.rows, r)
	return &g.rows[len(g.rows)-1]
}
