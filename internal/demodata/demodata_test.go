package demodata

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"reflect"
	"testing"
	"time"

	"github.com/segd/segd/internal/message"
)

var testEnd = time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)

// hashRun hashes everything a run produces: customers, rows and records.
func hashRun(t *testing.T, o Options) [32]byte {
	t.Helper()
	h := sha256.New()
	var b [8]byte
	num := func(v uint64) { binary.LittleEndian.PutUint64(b[:], v); h.Write(b[:]) }
	err := Generate(context.Background(), o, Sink{
		Customer: func(c *Customer) error {
			fmt.Fprintf(h, "%+v|", c.Traits())
			fmt.Fprintf(h, "%v|%v|%v|%v|", c.Persona, c.Mobile, c.App, c.ChurnAt.UnixMilli())
			return nil
		},
		Event: func(r *EventRow) error {
			num(uint64(r.Customer))
			num(uint64(r.Time))
			num(uint64(r.Kind))
			num(uint64(r.Has))
			num(math.Float64bits(r.Revenue + r.Price + r.Discount + r.Total))
			fmt.Fprintf(h, "%s|%s|%s|%s|%s|%s|%s|%v", r.Name, r.Path, r.ProductID, r.Category, r.OrderID, r.Coupon, r.Agent, r.Items)
			return nil
		},
		Record: func(r *Record) error {
			fmt.Fprintf(h, "%s|%s|%s|%d|%v", r.Type, r.ID, r.Identity, r.Timestamp.UnixMilli(), r.Attributes)
			return nil
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	var sum [32]byte
	copy(sum[:], h.Sum(nil))
	return sum
}

func TestDeterministic(t *testing.T) {
	o := Options{Seed: 7, Customers: 400, End: testEnd}
	a, b := hashRun(t, o), hashRun(t, o)
	if a != b {
		t.Fatalf("same options gave different data: %x vs %x", a, b)
	}
	o2 := o
	o2.Seed = 8
	if hashRun(t, o2) == a {
		t.Fatal("a different seed gave the same data")
	}
	// Parallel generation delivers exactly the sequential data, in the same order.
	for _, w := range []int{2, 3, 8} {
		op := o
		op.Workers = w
		if got := hashRun(t, op); got != a {
			t.Errorf("%d workers gave different data: %x vs %x", w, got, a)
		}
	}
	o3 := o
	o3.End = o.End.Add(-time.Hour)
	if hashRun(t, o3) == a {
		t.Fatal("a different end gave the same data")
	}
}

func TestPrefixStable(t *testing.T) {
	collect := func(n int) []EventRow {
		var rows []EventRow
		err := Generate(context.Background(), Options{Seed: 3, Customers: n, End: testEnd}, Sink{Event: func(r *EventRow) error {
			c := *r
			c.Items = append([]LineItem(nil), r.Items...)
			rows = append(rows, c)
			return nil
		}})
		if err != nil {
			t.Fatal(err)
		}
		return rows
	}
	short, long := collect(50), collect(120)
	if len(long) <= len(short) || !reflect.DeepEqual(short, long[:len(short)]) {
		t.Fatalf("the first 50 customers differ between runs of 50 and 120 customers")
	}
}

func TestOptionsValidate(t *testing.T) {
	good := Options{}.WithDefaults()
	f := func(name string, mutate func(*Options), wantErr bool) {
		t.Helper()
		o := good
		mutate(&o)
		err := o.Validate()
		if (err != nil) != wantErr {
			t.Errorf("%s: Validate() = %v, want error %v", name, err, wantErr)
		}
		if err != nil && !errors.Is(err, ErrInvalidOptions) {
			t.Errorf("%s: error %v does not wrap ErrInvalidOptions", name, err)
		}
	}
	f("defaults", func(o *Options) {}, false)
	f("negative customers", func(o *Options) { o.Customers = -1 }, true)
	f("start after end", func(o *Options) { o.Start = o.End.Add(time.Hour) }, true)
	f("start equals end", func(o *Options) { o.Start = o.End }, true)
	f("too long", func(o *Options) { o.Start = o.End.AddDate(-30, 0, 0) }, true)
	f("negative activity", func(o *Options) { o.Activity = -1 }, true)
	f("negative workers", func(o *Options) { o.Workers = -1 }, true)
	if err := Generate(context.Background(), Options{Customers: -5}, Sink{}); !errors.Is(err, ErrInvalidOptions) {
		t.Errorf("Generate with bad options: %v", err)
	}
}

func TestCancel(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	for _, w := range []int{1, 4} {
		o := Small(testEnd)
		o.Workers = w
		if err := Generate(ctx, o, Sink{}); !errors.Is(err, context.Canceled) {
			t.Fatalf("Generate with %d workers on a cancelled context = %v", w, err)
		}
	}
	// A sink error stops a parallel run and is returned as is.
	stop := errors.New("stop")
	o := Small(testEnd)
	o.Workers = 3
	n := 0
	err := Generate(context.Background(), o, Sink{Event: func(*EventRow) error {
		if n++; n == 5000 {
			return stop
		}
		return nil
	}})
	if !errors.Is(err, stop) || n != 5000 {
		t.Fatalf("Generate after a sink error = %v after %d rows", err, n)
	}
}

type shape struct {
	customers   []Customer
	byName      map[string]int
	rows        int
	anonAfterID int // anonymous rows after the customer's first identify
	beforeID    int // identified rows before the customer's first identify
	outOfOrder  int
	outOfRange  int
	afterChurn  int
	orders      int
	badOrders   []string
	coupons     int
	weekendDays map[int64]int
	pageMobile  int
	pages       int
	records     map[string]int
	badRecords  []string
}

func measure(t *testing.T, o Options) *shape {
	t.Helper()
	o = o.WithDefaults()
	s := &shape{byName: map[string]int{}, weekendDays: map[int64]int{}, records: map[string]int{}}
	var cur *Customer
	var last int64
	identified := false
	err := Generate(context.Background(), o, Sink{
		Customer: func(c *Customer) error {
			s.customers = append(s.customers, *c)
			cur, last, identified = c, math.MinInt64, false
			return nil
		},
		Event: func(r *EventRow) error {
			s.rows++
			if r.Customer != cur.Index {
				t.Fatalf("row of customer %d inside customer %d", r.Customer, cur.Index)
			}
			if r.Time < last {
				s.outOfOrder++
			}
			last = r.Time
			if r.Time < o.Start.UnixMilli() || r.Time >= o.End.UnixMilli() {
				s.outOfRange++
			}
			if !cur.ChurnAt.IsZero() && r.Time > cur.ChurnAt.UnixMilli() && r.Name != "Order Refunded" {
				s.afterChurn++
			}
			switch {
			case r.Kind == KindIdentify:
				identified = true
			case r.Anonymous && identified:
				s.anonAfterID++
			case !r.Anonymous && !identified:
				s.beforeID++
			}
			s.byName[r.Kind.String()+":"+r.Name]++
			if r.Kind == KindPage {
				s.pages++
				if bytes.Contains([]byte(r.Agent), []byte("Mobile")) {
					s.pageMobile++
				}
			}
			if r.Kind == KindPage || r.Kind == KindScreen {
				s.weekendDays[r.Time/msDay]++ // sessions; e-mail opens follow the Tuesday send
			}
			if r.Name == "Order Completed" {
				s.orders++
				switch {
				case r.Has&PropRevenue == 0 || r.Revenue <= 0:
					s.badOrders = append(s.badOrders, r.OrderID+": no revenue")
				case len(r.Items) == 0:
					s.badOrders = append(s.badOrders, r.OrderID+": no products")
				case math.Abs(r.Revenue+r.Discount-itemsTotal(r.Items)) > 0.011:
					s.badOrders = append(s.badOrders, fmt.Sprintf("%s: revenue %v + discount %v != items %v", r.OrderID, r.Revenue, r.Discount, itemsTotal(r.Items)))
				case r.Total < r.Revenue:
					s.badOrders = append(s.badOrders, r.OrderID+": total below revenue")
				case (r.Has&PropCoupon != 0) != (r.Discount > 0):
					s.badOrders = append(s.badOrders, r.OrderID+": coupon and discount disagree")
				}
				if r.Coupon != "" {
					s.coupons++
				}
			}
			return nil
		},
		Record: func(r *Record) error {
			s.records[r.Type]++
			a := r.Attributes
			ok := r.Identity == cur.UserID && r.ID != ""
			switch r.Type {
			case "tickets":
				ok = ok && oneOf(a["status"], "open", "pending", "closed") && oneOf(a["priority"], "low", "normal", "high") && a["channel"] != nil
			case "accounts":
				ok = ok && oneOf(a["type"], "credit_card", "savings", "checking") && a["balance"].(float64) > 0
			case "feedback":
				sc := a["score"].(float64)
				ok = ok && sc >= 1 && sc <= 5
			default:
				ok = false
			}
			if !ok {
				s.badRecords = append(s.badRecords, fmt.Sprintf("%s %s %v", r.Type, r.ID, a))
			}
			return nil
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func itemsTotal(items []LineItem) float64 {
	s := 0.0
	for _, it := range items {
		s += it.Price * float64(it.Quantity)
	}
	return math.Round(s*100) / 100
}

func oneOf(v any, set ...string) bool {
	for _, s := range set {
		if v == s {
			return true
		}
	}
	return false
}

func TestShape(t *testing.T) {
	o := Small(testEnd)
	o.Customers = 3000
	s := measure(t, o)
	n := float64(len(s.customers))
	if s.outOfOrder > 0 || s.outOfRange > 0 || s.afterChurn > 0 {
		t.Errorf("rows out of customer time order: %d, outside [start, end): %d, after churn: %d", s.outOfOrder, s.outOfRange, s.afterChurn)
	}
	perCustomer := float64(s.rows) / n
	if perCustomer < 35 || perCustomer > 70 {
		t.Errorf("%.1f events per customer, want about 50", perCustomer)
	}
	// Counts per event name relative to customers, and the funnel order.
	ranges := []struct {
		name     string
		min, max float64
	}{
		{"identify:", 1, 1.5},
		{"track:Product Viewed", 5, 30},
		{"track:Product Added", 1, 10},
		{"track:Checkout Started", 0.5, 5},
		{"track:Order Completed", 0.3, 4},
		{"track:Order Refunded", 0.005, 0.3},
		{"track:Email Opened", 2, 15},
		{"track:Email Clicked", 0.3, 5},
		{"track:Signed Up", 0.3, 0.8},
		{"page:Home", 1, 10},
		{"page:Pricing", 0.2, 3},
		{"page:Cart", 0.5, 6},
		{"page:Checkout", 0.3, 4},
		{"page:Product Detail", 3, 25},
		{"screen:Product Detail", 0.3, 10},
	}
	for _, r := range ranges {
		got := float64(s.byName[r.name]) / n
		if got < r.min || got > r.max {
			t.Errorf("%s: %.3f per customer, want in [%g, %g]", r.name, got, r.min, r.max)
		}
	}
	funnel := []string{"track:Product Viewed", "track:Product Added", "track:Checkout Started", "track:Order Completed", "track:Order Refunded"}
	for i := 1; i < len(funnel); i++ {
		if s.byName[funnel[i]] >= s.byName[funnel[i-1]] {
			t.Errorf("funnel: %s (%d) not below %s (%d)", funnel[i], s.byName[funnel[i]], funnel[i-1], s.byName[funnel[i-1]])
		}
	}
	if len(s.badOrders) > 0 {
		t.Errorf("%d bad orders, first: %s", len(s.badOrders), s.badOrders[0])
	}
	if share := float64(s.coupons) / float64(s.orders); share < 0.1 || share > 0.6 {
		t.Errorf("coupon share %.2f, want in [0.1, 0.6]", share)
	}
	// Identify precedes most events; anonymous calls only come before it.
	if s.anonAfterID > 0 {
		t.Errorf("%d anonymous rows after identify", s.anonAfterID)
	}
	if s.beforeID > 0 {
		t.Errorf("%d identified rows before the first identify", s.beforeID)
	}
	// Weekly rhythm: weekend days busier than midweek days; November sale busier than October.
	var weekend, midweek, wd, md float64
	var sale, oct, sd, od float64
	for day, cnt := range s.weekendDays {
		d := time.UnixMilli(day * msDay).UTC()
		switch d.Weekday() {
		case time.Saturday, time.Sunday:
			weekend, wd = weekend+float64(cnt), wd+1
		case time.Monday, time.Thursday: // no newsletter (Tuesday) traffic
			midweek, md = midweek+float64(cnt), md+1
		}
		switch {
		case d.Month() == time.November && d.Day() >= 20:
			sale, sd = sale+float64(cnt), sd+1
		case d.Month() == time.October:
			oct, od = oct+float64(cnt), od+1
		}
	}
	if weekend/wd < 1.15*midweek/md {
		t.Errorf("weekend days %.0f events/day, midweek %.0f: no weekend peak", weekend/wd, midweek/md)
	}
	if sale/sd < 1.5*oct/od {
		t.Errorf("sale days %.0f events/day, October %.0f: no November sale", sale/sd, oct/od)
	}
	// Customer mix.
	personas := map[Persona]int{}
	countries := map[string]int{}
	churned, noEmail, noPlan := 0, 0, 0
	for i := range s.customers {
		c := &s.customers[i]
		personas[c.Persona]++
		countries[c.Country]++
		if !c.ChurnAt.IsZero() {
			churned++
		}
		if c.Email == "" {
			noEmail++
		}
		if c.Plan == "" {
			noPlan++
		}
		if c.Age < 18 || c.Age > 80 || c.FirstName == "" || c.City == "" {
			t.Fatalf("customer %d has bad traits: %+v", i, c)
		}
		if d := haversineKm(c.Lat, c.Lon, cityOf(c).lat, cityOf(c).lon); d > 50 {
			t.Errorf("customer %d lives %.0f km from %s", i, d, c.City)
		}
	}
	if len(personas) != int(numPersonas) || len(countries) < 8 {
		t.Errorf("personas %v, countries %v", personas, countries)
	}
	if f := float64(churned) / n; f < 0.1 || f > 0.35 {
		t.Errorf("churned share %.2f", f)
	}
	if noEmail == 0 || noPlan == 0 {
		t.Errorf("every customer has an email (%d without) or a plan (%d without): existence tests need some missing", noEmail, noPlan)
	}
	if f := float64(s.pageMobile) / float64(s.pages); f < 0.25 || f > 0.75 {
		t.Errorf("mobile share of page calls %.2f", f)
	}
	for _, typ := range []string{"tickets", "accounts", "feedback"} {
		if s.records[typ] < len(s.customers)/50 {
			t.Errorf("only %d %s records", s.records[typ], typ)
		}
	}
	if len(s.badRecords) > 0 {
		t.Errorf("%d bad records, first: %s", len(s.badRecords), s.badRecords[0])
	}
}

func cityOf(c *Customer) city {
	for _, co := range countries {
		for _, ct := range co.cities {
			if co.code == c.Country && ct.name == c.City {
				return ct
			}
		}
	}
	return city{}
}

func haversineKm(lat1, lon1, lat2, lon2 float64) float64 {
	const r = 6371.0
	p1, p2 := lat1*math.Pi/180, lat2*math.Pi/180
	dp, dl := (lat2-lat1)*math.Pi/180, (lon2-lon1)*math.Pi/180
	a := math.Sin(dp/2)*math.Sin(dp/2) + math.Cos(p1)*math.Cos(p2)*math.Sin(dl/2)*math.Sin(dl/2)
	return 2 * r * math.Asin(math.Sqrt(a))
}

// TestDemoMessagesJSON encodes every message of the Demo preset to JSON and decodes it back.
func TestDemoMessagesJSON(t *testing.T) {
	o := Demo(testEnd)
	var rows int
	if err := Generate(context.Background(), o, Sink{Event: func(*EventRow) error { rows++; return nil }}); err != nil {
		t.Fatal(err)
	}
	var msgs, records int
	ids := map[string]bool{}
	byType := map[message.Type]int{}
	err := Stream(context.Background(), o, func(m *message.Message) error {
		msgs++
		byType[m.Type]++
		if ids[m.MessageID] {
			return fmt.Errorf("duplicate message id %s", m.MessageID)
		}
		ids[m.MessageID] = true
		if m.UserID == "" && m.AnonymousID == "" {
			return fmt.Errorf("message %s has no identity", m.MessageID)
		}
		switch m.Type {
		case message.Track:
			if m.Event == "" {
				return fmt.Errorf("track %s without event", m.MessageID)
			}
		case message.Identify:
			if m.UserID == "" || len(m.Traits) == 0 {
				return fmt.Errorf("identify %s without userId or traits", m.MessageID)
			}
		case message.Page:
			if m.Properties["path"] == nil || m.Context["page"] == nil {
				return fmt.Errorf("page %s without path", m.MessageID)
			}
		}
		if m.ReceivedAt.Before(m.Timestamp) || m.Context["locale"] == nil {
			return fmt.Errorf("message %s: receivedAt before timestamp or no locale", m.MessageID)
		}
		data, err := json.Marshal(m)
		if err != nil {
			return fmt.Errorf("encode %s: %w", m.MessageID, err)
		}
		var back message.Message
		if err := json.Unmarshal(data, &back); err != nil {
			return fmt.Errorf("decode %s: %w", m.MessageID, err)
		}
		if !reflect.DeepEqual(*m, back) {
			return fmt.Errorf("message %s changed in a JSON round trip:\n%+v\n%+v", m.MessageID, *m, back)
		}
		return nil
	}, func(*Record) error { records++; return nil })
	if err != nil {
		t.Fatal(err)
	}
	if msgs != rows || records == 0 {
		t.Fatalf("Stream gave %d messages and %d records; Generate gave %d rows", msgs, records, rows)
	}
	for _, typ := range []message.Type{message.Identify, message.Track, message.Page, message.Screen} {
		if byType[typ] == 0 {
			t.Errorf("no %s messages", typ)
		}
	}
	if msgs < 20_000 || msgs > 120_000 {
		t.Errorf("Demo gave %d messages, want tens of thousands", msgs)
	}
}

func BenchmarkGenerate(b *testing.B) {
	o := Options{Seed: 1, Customers: 2000, End: testEnd, Start: testEnd.AddDate(-1, 0, 0)}
	var rows int
	b.ReportAllocs()
	for b.Loop() {
		rows = 0
		if err := Generate(context.Background(), o, Sink{Event: func(*EventRow) error { rows++; return nil }}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(rows)*float64(b.N)/b.Elapsed().Seconds(), "events/s")
}
