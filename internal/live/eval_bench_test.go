package live

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/segd/segd/internal/demodata"
	"github.com/segd/segd/internal/engine/reference"
	"github.com/segd/segd/internal/index"
	"github.com/segd/segd/internal/message"
	"github.com/segd/segd/internal/profeval"
	"github.com/segd/segd/internal/segment"
)

// benchSegments are mixed real-time constructs (the shapes bench/realtime defines).
var benchSegments = []string{
	`count(page where path contains "/pricing" in last 60 days) >= 2`,
	`count("Product Viewed" in last 1 day) >= 3`,
	`count("Product Viewed" in last 7 days) >= 10`,
	`count("Product Added" in last 1 day) >= 1 and count("Order Completed" in last 1 day) = 0`,
	`count("Order Completed") >= 2`,
	`count("Order Completed" where coupon exists in last 90 days) >= 2`,
	`count(page in this week) > 5`,
	`count(any event today) >= 5`,
	`count("Product Viewed" where category = "electronics" in last 30 days) >= 3`,
	`count("Product Added" where category in ["home", "sports"] in last 30 days) >= 1`,
	`count("Product Viewed" where price > 100 in last 14 days) >= 2`,
	`sum(revenue of "Order Completed" in last 90 days) >= 300`,
	`avg(price of "Product Viewed" in last 30 days) > 80`,
	`max(revenue of "Order Completed" in last 180 days) >= 250`,
	`distinct(category of "Product Viewed" in last 30 days) >= 3`,
	`did "Email Clicked" in last 30 days`,
	`last_seen("Order Completed") before 60 days ago`,
	`first_seen("Order Completed") in last 30 days`,
	`sequence("Product Added" then not "Order Completed" within 1 day in last 7 days)`,
	`sequence("Product Viewed" then "Product Added" within 1 hour in last 7 days)`,
	`country in ["VN", "TH"] and age >= 25`,
	`signup_at in last 90 days and count("Order Completed") = 0`,
	`home within 25 km of (10.7769, 106.7009)`,
	`birthday anniversary in this week`,
	`email_opt_in = true and (did "Email Opened" in last 30 days or did "Email Clicked" in last 30 days)`,
	`did "Product Viewed" in last 1 day and not did "Order Completed" in last 30 days`,
	`sample(10%)`,
}

// benchProfiles returns the decoded data of some generated customers (grouped by user id,
// anonymous events by anonymous id).
func benchProfiles(b *testing.B, n int) ([]*profileData, time.Time) {
	end := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	o := demodata.Small(end)
	o.Customers = n
	type acc struct {
		traits map[string]any
		events []profeval.Event
	}
	byID := map[string]*acc{}
	var ids []string
	err := demodata.Stream(context.Background(), o, func(m *message.Message) error {
		id := m.UserID
		if id == "" {
			id = m.AnonymousID
		}
		a := byID[id]
		if a == nil {
			a = &acc{traits: map[string]any{}}
			byID[id] = a
			ids = append(ids, id)
		}
		for k, v := range m.Traits {
			a.traits[k] = v
		}
		if e, ok := index.FromMessage(0, m); ok {
			a.events = append(a.events, (*needs)(nil).event(&e))
		}
		return nil
	}, nil)
	var order []*profileData
	for _, id := range ids {
		order = append(order, newProfileData(true, byID[id].traits, byID[id].events, nil))
	}
	if err != nil {
		b.Fatal(err)
	}
	return order, end.Add(-11 * 24 * time.Hour)
}

func BenchmarkEvaluateProfile(b *testing.B) {
	profiles, at := benchProfiles(b, 300)
	var cs []*compiled
	for i, q := range benchSegments {
		c, err := compile(segment.Segment{ID: fmt.Sprint(i), Name: fmt.Sprint("s", i), Query: q, Mode: segment.ModeRealtime})
		if err != nil {
			b.Fatal(err)
		}
		cs = append(cs, c)
	}
	events := 0
	for _, d := range profiles {
		events += d.events.Len()
	}
	b.Logf("%d profiles, %d events, %d segments", len(profiles), events, len(cs))
	b.Run("reference", func(b *testing.B) {
		for i := 0; b.Loop(); i++ {
			d := profiles[i%len(profiles)]
			for _, c := range cs {
				if _, err := evalOne(c, d, 7, at, time.UTC); err != nil {
					b.Fatal(err)
				}
			}
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(cs)), "ns/segment")
	})
	b.Run("profeval", func(b *testing.B) {
		for i := 0; b.Loop(); i++ {
			d := profiles[i%len(profiles)]
			ev := profeval.NewEvaluator(d.profile(), profeval.Options{At: at, Profile: 7,
				InSegment: func(string) (bool, error) { return false, nil }})
			for _, c := range cs {
				if _, err := ev.Eval(c.ptree, c.tree, c.seg.Name); err != nil {
					b.Fatal(err)
				}
			}
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(cs)), "ns/segment")
	})
	b.Run("nextChange", func(b *testing.B) {
		for i := 0; b.Loop(); i++ {
			d := profiles[i%len(profiles)]
			for _, c := range cs {
				nextChange(c, d, at, time.UTC, nil)
			}
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(cs)), "ns/segment")
	})
}

func evalOne(c *compiled, d *profileData, pid uint32, at time.Time, loc *time.Location) (bool, error) {
	p := d.profile()
	var evs []reference.Event
	for i := range p.Events() {
		evs = append(evs, p.Events()[i].Reference())
	}
	data := &reference.Data{Traits: map[uint32]map[string]any{pid: p.Traits}, Events: map[uint32][]reference.Event{pid: evs}}
	ms, err := reference.Members(data, c.tree, reference.Options{At: at, Location: loc, Segment: c.seg.Name,
		Segments: func(string) (map[uint32]bool, error) { return nil, nil }})
	return len(ms) == 1, err
}
