// Package demodata owns the deterministic generator of realistic retail data: customers with
// traits, anonymous sessions that later identify, page and screen calls, product views, carts,
// orders with discounts, refunds, marketing e-mails, support tickets, accounts and feedback,
// with weekly and seasonal rhythms and churn. `segd demo`, tests and the benchmarks use it.
//
// The same seed always gives the same data. Each customer's data depends only on the seed and
// the customer's index, so customers can be generated in any order or in parallel. The
// generator produces compact EventRow values; Stream turns those same rows into Segment
// messages, so the benchmark (rows) and the product (messages) see identical data.
//
// It must not import the store, index, engine or any server package: it only produces data.
// It imports internal/message for the message shape.
package demodata

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Options configure a generation run. Zero fields take the defaults documented on each field.
type Options struct {
	// Seed makes the run reproducible: same options, same data.
	Seed int64
	// Customers is the number of customers (profiles). Default 2,000.
	Customers int
	// Start and End bound event time: every event has Start <= time < End. End defaults to
	// 2025-01-01T00:00:00Z (tests pass it explicitly; `segd demo` passes "now"), Start to End
	// minus 182 days.
	Start, End time.Time
	// Activity scales how often customers come back (sessions per day). Default 1.
	Activity float64
	// Workers is the number of goroutines generating customers; 0 or 1 generates on the
	// calling goroutine. The data and the order of the callbacks do not depend on it: the
	// sink is always called from the calling goroutine, customers in index order.
	Workers int
}

// Demo is about 2,000 customers over the 6 months before end: what `segd demo` loads.
func Demo(end time.Time) Options {
	return Options{Seed: 1, Customers: 2000, Start: end.AddDate(0, -6, 0), End: end, Activity: 1}
}

// Small is about 5,000 customers over a year: CI smoke runs of the benchmark.
func Small(end time.Time) Options {
	return Options{Seed: 2, Customers: 5000, Start: end.AddDate(-1, 0, 0), End: end, Activity: 1}
}

// OneM is 1,000,000 customers over a year, about 50 million events: the benchmark size.
func OneM(end time.Time) Options {
	return Options{Seed: 3, Customers: 1_000_000, Start: end.AddDate(-1, 0, 0), End: end, Activity: 1}
}

// DefaultEnd is the End used when Options.End is zero.
var DefaultEnd = time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)

// ErrInvalidOptions is wrapped by every error Validate returns.
var ErrInvalidOptions = errors.New("invalid demodata options")

// WithDefaults returns o with zero fields replaced by their defaults.
func (o Options) WithDefaults() Options {
	if o.Customers == 0 {
		o.Customers = 2000
	}
	if o.End.IsZero() {
		o.End = DefaultEnd
	}
	if o.Start.IsZero() {
		o.Start = o.End.AddDate(0, 0, -182)
	}
	if o.Activity == 0 {
		o.Activity = 1
	}
	o.Start, o.End = o.Start.UTC(), o.End.UTC()
	return o
}

// Validate reports options that cannot be generated; call it after WithDefaults.
func (o Options) Validate() error {
	switch {
	case o.Customers < 0 || o.Customers > 1<<31:
		return fmt.Errorf("%w: customers %d outside [0, 2^31]", ErrInvalidOptions, o.Customers)
	case !o.Start.Before(o.End):
		return fmt.Errorf("%w: start %s is not before end %s", ErrInvalidOptions, o.Start.Format(time.RFC3339), o.End.Format(time.RFC3339))
	case o.End.Sub(o.Start) > 20*365*24*time.Hour:
		return fmt.Errorf("%w: range %s longer than 20 years", ErrInvalidOptions, o.End.Sub(o.Start))
	case o.Activity < 0 || o.Activity > 100:
		return fmt.Errorf("%w: activity %g outside (0, 100]", ErrInvalidOptions, o.Activity)
	case o.Workers < 0 || o.Workers > 256:
		return fmt.Errorf("%w: workers %d outside [0, 256]", ErrInvalidOptions, o.Workers)
	}
	return nil
}

// Kind is the Segment call type of an event row.
type Kind uint8

// The call types the generator produces.
const (
	KindIdentify Kind = iota + 1
	KindTrack
	KindPage
	KindScreen
)

func (k Kind) String() string {
	switch k {
	case KindIdentify:
		return "identify"
	case KindTrack:
		return "track"
	case KindPage:
		return "page"
	case KindScreen:
		return "screen"
	}
	return fmt.Sprintf("Kind(%d)", uint8(k))
}

// Prop is a set of event properties present on a row, one bit per property.
type Prop uint32

// The event properties. A row's Has says which are set; absent ones are zero in the row.
const (
	PropPath Prop = 1 << iota
	PropURL
	PropReferrer
	PropTitle
	PropProductID
	PropCategory
	PropPrice
	PropQuantity
	PropOrderID
	PropRevenue
	PropTotal
	PropDiscount
	PropCoupon
	PropCurrency
	PropProducts
	PropCampaignID
	PropSubject
	PropMethod
)

// Persona describes the customer behaviour type. It drives how often and how they buy.
type Persona uint8

// The customer types.
const (
	Loyal          Persona = iota // frequent buyers, rarely churn
	DiscountHunter                // buy mostly with coupons and in the November sale
	OneTime                       // buy once, then browse rarely
	Browser                       // look around, never buy
	Churned                       // active buyers who stop at some point
	numPersonas
)

func (s Persona) String() string {
	return [...]string{"loyal", "discount_hunter", "one_time", "browser", "churned"}[s]
}

// Customer is one generated person and the traits their identify calls carry (final values).
type Customer struct {
	Index       uint32 // dense 0-based id, the profile id in benchmarks
	UserID      string
	AnonymousID string
	Email       string // empty for the few customers without one
	FirstName   string
	LastName    string
	Phone       string
	Country     string
	City        string
	Locale      string
	Age         int
	Gender      string
	Plan        string // empty for customers with no plan (trait absent)
	SignupAt    time.Time
	Birthday    time.Time // date at midnight UTC
	Lat, Lon    float64   // home, near the city
	EmailOptIn  bool
	SMSOptIn    bool
	Persona     Persona
	Mobile      bool      // main device is a phone
	App         bool      // uses the mobile app (screen calls)
	ChurnAt     time.Time // zero if the customer stays active until End

	utcHour int
	prefCat [2]int
	agent   string
}

// Traits returns the customer's final traits as an identify call carries them.
func (c *Customer) Traits() map[string]any {
	t := map[string]any{
		"first_name":   c.FirstName,
		"last_name":    c.LastName,
		"phone":        c.Phone,
		"country":      c.Country,
		"city":         c.City,
		"age":          float64(c.Age),
		"gender":       c.Gender,
		"signup_at":    c.SignupAt.Format(time.RFC3339),
		"birthday":     c.Birthday.Format("2006-01-02"),
		"home":         map[string]any{"lat": c.Lat, "lon": c.Lon},
		"email_opt_in": c.EmailOptIn,
		"sms_opt_in":   c.SMSOptIn,
	}
	if c.Email != "" {
		t["email"] = c.Email
	}
	if c.Plan != "" {
		t["plan"] = c.Plan
	}
	return t
}

// LineItem is one product of an order.
type LineItem struct {
	ProductID string
	Category  string
	Price     float64
	Quantity  int
}

// EventRow is the compact form of one generated call. Strings point into shared tables or
// were allocated once; Items is owned by the generator and reused after the callback returns,
// so a consumer that keeps the row must copy Items.
type EventRow struct {
	Customer   uint32
	Seq        uint32 // position in the customer's stream; with Customer it makes the message id
	Kind       Kind
	Anonymous  bool   // sent before the customer identified: only the anonymous id is known
	Name       string // track event name, page or screen name; empty for identify
	Time       int64  // event time, Unix milliseconds UTC
	Has        Prop
	Path       string
	URL        string
	Referrer   string
	Title      string
	ProductID  string
	Category   string
	Price      float64
	Quantity   int
	OrderID    string
	Revenue    float64
	Total      float64
	Discount   float64
	Coupon     string
	Currency   string
	CampaignID string // e-mail campaign id for e-mail events
	Subject    string
	Method     string // Signed Up method
	Items      []LineItem
	// Context of the session the call belongs to.
	Agent       string // user agent; empty for server-side calls (e-mail events)
	UTMSource   string
	UTMMedium   string
	UTMCampaign string
	// Traits are the traits an identify row sets (partial for plan updates); nil otherwise.
	Traits map[string]any
}

// Record is related data of a customer: a support ticket, an account or a feedback entry.
type Record struct {
	Type       string // "tickets", "accounts", "feedback"
	ID         string
	Identity   string // userId of the customer
	Customer   uint32
	Attributes map[string]any
	Timestamp  time.Time
}

// Sink receives generated data. Any nil function is skipped. Within a customer, Customer is
// called first, then Event for each row in time order, then Record for each record; customers
// come in index order. Returning an error stops the run with that error.
type Sink struct {
	Customer func(*Customer) error
	Event    func(*EventRow) error
	Record   func(*Record) error
}

// Generate runs the generator and feeds sink. It checks ctx between customers.
func Generate(ctx context.Context, opts Options, sink Sink) error {
	opts = opts.WithDefaults()
	if err := opts.Validate(); err != nil {
		return err
	}
	if opts.Workers > 1 {
		return generateParallel(ctx, opts, sink)
	}
	g := newGenerator(opts)
	for i := 0; i < opts.Customers; i++ {
		if i%1024 == 0 {
			if err := ctx.Err(); err != nil {
				return fmt.Errorf("demodata: generating customer %d: %w", i, err)
			}
		}
		if err := g.customer(uint32(i), sink); err != nil {
			return err
		}
	}
	return nil
}
