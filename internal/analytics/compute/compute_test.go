package compute_test

import (
	"bufio"
	"context"
	"encoding/csv"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/segd/segd/internal/analytics/compute"
	"github.com/segd/segd/internal/index"
	"github.com/segd/segd/internal/ingest"
	"github.com/segd/segd/internal/message"
	"github.com/segd/segd/internal/store"
)

func sharedData(t testing.TB) string {
	t.Helper()
	if d := os.Getenv("SEGD_SHARED_DATA"); d != "" {
		return d
	}
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		cand := filepath.Join(dir, "shared", "data")
		if _, err := os.Stat(filepath.Join(cand, "README.md")); err == nil {
			return cand
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			break
		}
		dir = parent
	}
	if os.Getenv("CI") != "" {
		t.Fatal("shared/data not found beside the repository; set SEGD_SHARED_DATA")
	}
	t.Skip("shared/data not found beside the repository; set SEGD_SHARED_DATA to run reference tests")
	return ""
}

// world is a workspace with the real write pipeline feeding an in-memory index, as cmd/segd
// wires them.
type world struct {
	st *store.Store
	ws uint32
	p  *ingest.Pipeline
	ix *index.Index
}

func newWorld(t testing.TB) *world {
	t.Helper()
	st, err := store.Open(store.Options{Dir: "/d", FS: vfs.NewMem()})
	if err != nil {
		t.Fatal(err)
	}
	w, _, err := st.CreateWorkspace("w", store.Keys{})
	if err != nil {
		t.Fatal(err)
	}
	wd := &world{st: st, ws: w.ID, ix: index.New()}
	wd.p, err = ingest.NewPipeline(ingest.Options{Store: st, OnCommit: wd.apply})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { wd.p.Close(); st.Close() })
	return wd
}

func (w *world) apply(cs []ingest.Change) {
	for _, c := range cs {
		switch c.Kind {
		case ingest.ProfileCreated:
			w.ix.SetTraits(c.Profile, nil)
		case ingest.TraitsSet:
			w.ix.SetTraits(c.Profile, c.Traits)
		case ingest.Merged:
			w.ix.Merge(c.Merge.From, c.Merge.Into)
			if p, err := w.st.Profile(c.WS, c.Merge.Into); err == nil {
				w.ix.LoadProfile(index.Profile{ID: p.ID, Traits: p.TraitMap()})
			}
		case ingest.Erased:
			w.ix.Erase(c.Profile)
		case ingest.EventAdded:
			m := c.Event
			kind := index.Track
			props := m.Properties
			if m.Type == message.Identify {
				kind, props = index.Identify, m.Traits
			}
			p := map[string]any{}
			for k, v := range props {
				p[k] = v
			}
			for _, f := range m.Enriched {
				if _, ok := p[f.Key]; !ok {
					p[f.Key] = f.Value
				}
			}
			w.ix.AddEvent(index.Event{Profile: c.Profile, Kind: kind, Name: m.Event, Time: m.Timestamp, Props: p})
		}
	}
}

func (w *world) Index(uint32) *index.Index      { return w.ix }
func (w *world) Location(uint32) *time.Location { return time.UTC }
func (w *world) append(t testing.TB, msgs []message.Message) {
	t.Helper()
	for len(msgs) > 0 {
		n := min(len(msgs), 5000)
		if _, err := w.p.Append(context.Background(), w.ws, msgs[:n]); err != nil {
			t.Fatal(err)
		}
		msgs = msgs[n:]
	}
}

func order(user string, seq int, at time.Time, props map[string]any) message.Message {
	return message.Message{Type: message.Track, MessageID: fmt.Sprintf("%s-%d", user, seq), UserID: user,
		Event: "Order Completed", Timestamp: at, ReceivedAt: at, Properties: props}
}

func near(t *testing.T, what string, got, want, tol float64) {
	t.Helper()
	if math.IsNaN(got) || math.Abs(got-want) > tol {
		t.Errorf("%s = %.4f, want %.4f ± %g", what, got, want, tol)
	}
}

// TestCDNOWEndToEnd imports the raw CDNOW sample as "Order Completed" events through the write
// pipeline and fits both models from the index in weeks with calibration to 1997-09-30: the
// published parameters come out.
func TestCDNOWEndToEnd(t *testing.T) {
	f, err := os.Open(filepath.Join(sharedData(t), "cdnow", "CDNOW_sample.txt"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	w := newWorld(t)
	var msgs []message.Message
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fs := strings.Fields(sc.Text())
		if len(fs) != 5 {
			continue
		}
		day, err := time.Parse("20060102", fs[2])
		if err != nil {
			t.Fatal(err)
		}
		v, err := strconv.ParseFloat(fs[4], 64)
		if err != nil {
			t.Fatal(err)
		}
		msgs = append(msgs, order("c"+fs[1], len(msgs), day, map[string]any{"revenue": v}))
	}
	w.append(t, msgs)
	res, err := compute.Compute(context.Background(), w.ix, compute.Options{
		At:             time.Date(1998, 7, 1, 0, 0, 0, 0, time.UTC),
		CalibrationEnd: time.Date(1997, 9, 30, 0, 0, 0, 0, time.UTC),
		Config:         compute.Config{Unit: 7 * 24 * time.Hour, HoldoutDays: -1, NoClusters: true},
	})
	if err != nil {
		t.Fatal(err)
	}
	if res.Report.ModelError != "" {
		t.Fatal(res.Report.ModelError)
	}
	bg, gg := res.Report.BGNBD, res.Report.GammaGamma
	t.Logf("customers %d, bg/nbd %v LL %.2f (%d), gamma-gamma %v (%d)", res.Report.Customers, bg.Params, bg.LogLik, bg.Customers, gg.Params, gg.Customers)
	if bg.Customers != 2357 || gg.Customers != 946 {
		t.Errorf("fitted on %d and %d customers, want 2357 and 946", bg.Customers, gg.Customers)
	}
	near(t, "r", bg.Params["r"], 0.243, 0.005)
	near(t, "alpha", bg.Params["alpha"], 4.414, 0.005)
	near(t, "a", bg.Params["a"], 0.793, 0.005)
	near(t, "b", bg.Params["b"], 2.426, 0.005)
	near(t, "log-likelihood", bg.LogLik, -9582.4, 0.1)
	near(t, "p", gg.Params["p"], 6.25, 0.01)
	near(t, "q", gg.Params["q"], 3.74, 0.01)
	near(t, "gamma", gg.Params["gamma"], 15.44, 0.01)
}

// TestRFMReference imports the rfm package's sample orders as events: with analysis date
// 2006-12-31 the Champions are 158 customers with 1,234 orders and revenue 120,178.
func TestRFMReference(t *testing.T) {
	f, err := os.Open(filepath.Join(sharedData(t), "rfm", "rfm_data_orders.csv"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	recs, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	w := newWorld(t)
	var msgs []message.Message
	for _, r := range recs[1:] {
		d, err := time.Parse(time.DateOnly, r[1])
		if err != nil {
			t.Fatal(err)
		}
		v, err := strconv.ParseFloat(r[2], 64)
		if err != nil {
			t.Fatal(err)
		}
		msgs = append(msgs, order(r[0], len(msgs), d, map[string]any{"revenue": v}))
	}
	w.append(t, msgs)
	res, err := compute.Compute(context.Background(), w.ix, compute.Options{
		At:     time.Date(2006, 12, 31, 0, 0, 0, 0, time.UTC),
		Config: compute.Config{NoClusters: true, HoldoutDays: -1},
	})
	if err != nil {
		t.Fatal(err)
	}
	if res.Report.Customers != 995 || res.Report.Orders != 4906 {
		t.Fatalf("%d customers, %d orders; want 995 and 4906", res.Report.Customers, res.Report.Orders)
	}
	var champ compute.RFMGroup
	for _, g := range res.RFMSummary().Groups {
		if g.Name == "Champions" {
			champ = g
		}
	}
	if champ.Customers != 158 || champ.Orders != 1234 || math.Round(champ.Revenue) != 120178 {
		t.Errorf("Champions = %d customers, %v orders, revenue %v; want 158, 1234, 120178", champ.Customers, champ.Orders, champ.Revenue)
	}
}
