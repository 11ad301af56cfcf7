package segment

import (
	"context"
	"testing"
	"time"
)

// TestDemoSegments defines every demo segment through the service (parse, check against the
// schema discovered from the demo data, cycle check) and requires a non-empty, non-total
// member set on the demo data.
func TestDemoSegments(t *testing.T) {
	end := time.Date(2025, 3, 5, 15, 0, 0, 0, time.UTC) // a Wednesday
	w := newWorld(t, end)
	w.loadDemo(t, end, 600)
	total := w.ix.Schema().Profiles
	ctx := context.Background()
	for _, d := range DemoSegments() {
		desc := d.Description
		seg, warns, err := w.svc.Create(ctx, w.ws, Input{Name: d.Name, Description: &desc, Query: d.Query, Mode: d.Mode, Tags: d.Tags})
		if err != nil {
			t.Fatalf("%s: %v", d.Name, err)
		}
		if len(warns) > 0 {
			t.Errorf("%s: warnings %v", d.Name, warns)
		}
		n, _, err := w.svc.Size(ctx, w.ws, seg)
		if err != nil {
			t.Fatalf("%s: %v", d.Name, err)
		}
		t.Logf("%-28s %5d / %d", d.Name, n, total)
		if n == 0 || int(n) >= total {
			t.Errorf("%s: %d members of %d profiles, want some but not all", d.Name, n, total)
		}
	}
}
