package engine

import (
	"context"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/RoaringBitmap/roaring/v2"

	"github.com/segd/segd/internal/demodata"
	"github.com/segd/segd/internal/index"
	"github.com/segd/segd/internal/segql/ast"
)

// canonicalSegments are the benchmark segments of bench/peers (docs/benchmarks.md), repeated
// here so that the engine can be profiled on them without the peers' module.
var canonicalSegments = []struct{ name, src string }{
	{"traits_in", `country in ["VN", "TH"] and age >= 25`},
	{"existence", `email exists and plan is missing`},
	{"text_match", `first_name starts with "Ng" or city matches "^Ho Chi"`},
	{"recent_signups", `signup_at in last 30 days`},
	{"birthday_week", `birthday anniversary in next 7 days`},
	{"near_hcmc", `home within 10 km of (10.7769, 106.7009)`},
	{"pricing_interest", `count(page where path contains "/pricing" in last 30 days) >= 2`},
	{"big_spenders", `sum(revenue of "Order Completed" in last 90 days) >= 500`},
	{"high_aov", `avg(total of "Order Completed") > 150`},
	{"category_explorers", `distinct(category of "Product Viewed" in last 30 days) >= 4`},
	{"active_this_week", `count(page in this week) >= 3`},
	{"sale_coupon_users", `count("Order Completed" where coupon exists between 2024-11-01 and 2024-12-01) >= 2`},
	{"lapsed_buyers", `last_seen("Order Completed") before 60 days ago`},
	{"new_buyers", `first_seen("Order Completed") in last 30 days`},
	{"quick_converters", `sequence("Product Added" then "Order Completed" within 1 hour in last 30 days)`},
	{"abandoned_cart", `sequence("Product Added" then not "Order Completed" within 1 day in last 7 days)`},
	{"open_high_tickets", `count(record "tickets" where status = "open" and priority = "high") >= 1`},
	{"card_holders", `has record "accounts" where type = "credit_card" and balance > 1000`},
	{"vip_not_abandoning", `in segment "big_spenders" and not in segment "abandoned_cart"`},
	{"sample_sg", `country = "SG" and sample(10%)`},
	{"electronics_no_order", `count("Product Viewed" where category = "electronics" in last 14 days) >= 2 and not did "Order Completed" in last 14 days`},
}

var canonicalAt = time.Date(2024, 12, 20, 12, 0, 0, 0, time.UTC)

var (
	canonicalOnce sync.Once
	canonicalIx   *index.Index
)

// canonicalIndex loads demodata's one-year retail data (SEGD_BENCH_CUSTOMERS customers,
// default 20,000; 200,000 is about 10M events) with the properties the peers load.
func canonicalIndex(b *testing.B) *index.Index {
	canonicalOnce.Do(func() {
		n := 20_000
		if s := os.Getenv("SEGD_BENCH_CUSTOMERS"); s != "" {
			n, _ = strconv.Atoi(s)
		}
		opts := demodata.OneM(demodata.DefaultEnd)
		opts.Customers = n
		opts.Workers = runtime.GOMAXPROCS(0)
		ix := index.New()
		const keep = demodata.PropPath | demodata.PropProductID | demodata.PropCategory | demodata.PropPrice |
			demodata.PropQuantity | demodata.PropOrderID | demodata.PropRevenue | demodata.PropTotal |
			demodata.PropDiscount | demodata.PropCoupon | demodata.PropCampaignID
		var evs []index.Event
		err := demodata.Generate(context.Background(), opts, demodata.Sink{
			Customer: func(c *demodata.Customer) error {
				ix.LoadProfile(index.Profile{ID: c.Index, Traits: c.Traits()})
				return nil
			},
			Event: func(r *demodata.EventRow) error {
				var kind index.EventKind
				switch r.Kind {
				case demodata.KindTrack:
					kind = index.Track
				case demodata.KindPage:
					kind = index.Page
				case demodata.KindScreen:
					kind = index.Screen
				default:
					return nil
				}
				p := make(map[string]any, 8)
				row := *r
				row.Has &= keep
				row.Properties(p)
				evs = append(evs, index.Event{Profile: r.Customer, Kind: kind, Name: r.Name, Time: time.UnixMilli(r.Time).UTC(), Props: p})
				if len(evs) == 8192 {
					ix.AddEvents(evs)
					evs = evs[:0]
				}
				return nil
			},
			Record: func(r *demodata.Record) error {
				ix.UpsertRecord(index.Record{Type: r.Type, ID: r.ID, Profile: r.Customer, Time: r.Timestamp, Attrs: r.Attributes})
				return nil
			},
		})
		if err != nil {
			panic(err)
		}
		ix.AddEvents(evs)
		ix.Optimize()
		ix.Acquire().Release()
		canonicalIx = ix
	})
	return canonicalIx
}

// BenchmarkCanonical times the 21 canonical benchmark segments on demodata.
func BenchmarkCanonical(b *testing.B) {
	ix := canonicalIndex(b)
	eng := New(ix)
	trees := map[string]ast.Expr{}
	for _, s := range canonicalSegments {
		trees[s.name] = mustParse(b, s.src)
	}
	var eval func(name string) (*roaring.Bitmap, error)
	eval = func(name string) (*roaring.Bitmap, error) {
		x, ok := trees[name]
		if !ok {
			return nil, fmt.Errorf("unknown segment %q", name)
		}
		bm, _, err := eng.Evaluate(context.Background(), x, Options{At: canonicalAt, Location: time.UTC, Segment: name,
			Segments: func(ref string) (*roaring.Bitmap, error) { return eval(ref) }})
		return bm, err
	}
	for _, s := range canonicalSegments {
		b.Run(s.name, func(b *testing.B) {
			b.ReportAllocs()
			var n uint64
			for i := 0; i < b.N; i++ {
				bm, err := eval(s.name)
				if err != nil {
					b.Fatal(err)
				}
				n = bm.GetCardinality()
			}
			b.ReportMetric(float64(n), "members")
		})
	}
}
