package compute_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/RoaringBitmap/roaring/v2"
	"github.com/segd/segd/internal/analytics/compute"
)

type fakeSegments struct {
	sets    map[string]*roaring.Bitmap
	created []string
}

func (f *fakeSegments) List(uint32) ([]compute.SegmentRef, error) {
	return []compute.SegmentRef{{ID: "a", Name: "A"}, {ID: "b", Name: "B"}}, nil
}
func (f *fakeSegments) Members(_ uint32, id string) (*roaring.Bitmap, error) {
	if s, ok := f.sets[id]; ok {
		return s, nil
	}
	return nil, context.Canceled
}
func (f *fakeSegments) Entered(uint32, string) (map[uint32]time.Time, error) { return nil, nil }
func (f *fakeSegments) Create(_ context.Context, _ uint32, name, _, cond string) (string, error) {
	f.created = append(f.created, name+"|"+cond)
	return "s1", nil
}

type fakeHistory struct{ now time.Time }

func (h fakeHistory) SizeHistory(_ uint32, id string) ([]compute.Point, error) {
	if id == "a" { // grows 10 → 20 over the month
		return []compute.Point{{h.now.AddDate(0, 0, -40), 10}, {h.now.AddDate(0, 0, -2), 15}, {h.now, 20}}, nil
	}
	return []compute.Point{{h.now.AddDate(0, 0, -40), 50}, {h.now, 25}}, nil
}

func TestRoutes(t *testing.T) {
	w := demoWorld(t, 400)
	segs := &fakeSegments{sets: map[string]*roaring.Bitmap{"a": roaring.BitmapOf(1, 2, 3, 4), "b": roaring.BitmapOf(3, 4, 5)}}
	r, err := compute.NewRunner(compute.RunnerOptions{Indexes: w, Writer: w.p, Log: w.st, Configs: w.st, Every: -1,
		Now: func() time.Time { return demoEnd }, Segments: segs, SizeHistory: fakeHistory{demoEnd}})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	for _, rt := range r.Routes() {
		mux.HandleFunc(rt.Pattern, func(rw http.ResponseWriter, req *http.Request) { rt.Handler(rw, req, w.ws) })
	}
	do := func(method, path string) (int, map[string]any) {
		rec := httptest.NewRecorder()
		mux.ServeHTTP(rec, httptest.NewRequest(method, path, nil))
		var body map[string]any
		json.Unmarshal(rec.Body.Bytes(), &body)
		return rec.Code, body
	}
	if code, _ := do("GET", "/api/v1/analytics/rfm"); code != http.StatusConflict {
		t.Errorf("rfm before recompute: %d, want 409", code)
	}
	if code, body := do("POST", "/api/v1/analytics/recompute"); code != 200 || body["customers"].(float64) < 50 {
		t.Fatalf("recompute: %d %v", code, body)
	}
	cases := []struct {
		method, path string
		check        func(b map[string]any) bool
	}{
		{"GET", "/api/v1/analytics/rfm", func(b map[string]any) bool { return len(b["grid"].([]any)) > 5 && len(b["groups"].([]any)) > 3 }},
		{"GET", "/api/v1/analytics/clv", func(b map[string]any) bool {
			return len(b["churn_probability"].([]any)) == 10 && b["total_clv_12m"].(float64) > 0
		}},
		{"GET", "/api/v1/analytics/lifecycle", func(b map[string]any) bool {
			return len(b["stages"].(map[string]any)) >= 3 && len(b["recent"].([]any)) > 0
		}},
		{"GET", "/api/v1/analytics/funnel?limit=5", func(b map[string]any) bool {
			return b["stages"].(map[string]any)["visitor"] != nil && len(b["recent"].([]any)) == 5
		}},
		{"GET", "/api/v1/analytics/price-sensitivity", func(b map[string]any) bool { return len(b["bands"].([]any)) >= 2 }},
		{"GET", "/api/v1/analytics/affinity", func(b map[string]any) bool { return b["baskets"].(float64) > 50 }},
		{"GET", "/api/v1/analytics/clusters", func(b map[string]any) bool { return b["k"].(float64) >= 2 }},
		{"POST", "/api/v1/analytics/clusters/1/segment", func(b map[string]any) bool { return b["condition"] == `customer_cluster = "1"` }},
		{"GET", "/api/v1/analytics/overlap?segments=a,b", func(b map[string]any) bool {
			return b["counts"].([]any)[0].([]any)[1].(float64) == 2 && b["jaccard"].([]any)[0].([]any)[1].(float64) == 0.4
		}},
		{"GET", "/api/v1/analytics/trends", func(b map[string]any) bool {
			m := b["30d"].(map[string]any)
			return m["growing"].([]any)[0].(map[string]any)["growth"].(float64) == 1 && m["shrinking"].([]any)[0].(map[string]any)["growth"].(float64) == -0.5
		}},
		{"GET", "/api/v1/analytics/segments/a/report?days=365", func(b map[string]any) bool { return b["members"].(float64) == 4 }},
		{"GET", "/api/v1/analytics/segments/a/drivers", func(b map[string]any) bool { return b["members"].(float64) == 4 }},
		{"GET", "/api/v1/analytics/report", func(b map[string]any) bool { return b["last"] != nil }},
	}
	for _, c := range cases {
		code, body := do(c.method, c.path)
		ok := func() (ok bool) {
			defer func() {
				if recover() != nil {
					ok = false
				}
			}()
			return c.check(body)
		}()
		if code/100 != 2 || !ok {
			js, _ := json.Marshal(body)
			t.Errorf("%s %s: %d %s", c.method, c.path, code, strings.TrimSpace(string(js))[:min(len(js), 400)])
		}
	}
	if len(segs.created) != 1 {
		t.Errorf("created %v", segs.created)
	}
	if code, _ := do("GET", "/api/v1/analytics/overlap?segments=a"); code != 400 {
		t.Errorf("overlap of one segment: %d, want 400", code)
	}
}
