package main

import (
	"encoding/json"
	"fmt"
	"testing"
	"time"
)

// TestComputedTraitsDriveRealtimeSegments: computed traits written by an analytics recompute
// move profiles in and out of a real-time segment through the live path.
func TestComputedTraitsDriveRealtimeSegments(t *testing.T) {
	ts := startServer(t, t.TempDir())
	base := time.Now().UTC().Add(-30 * 24 * time.Hour)
	var batch []map[string]any
	orders := map[string]int{"alice": 3, "bob": 1, "carol": 2}
	n := 0
	for user, k := range orders {
		batch = append(batch, map[string]any{"type": "identify", "userId": user, "traits": map[string]any{"email": user + "@example.org"}, "timestamp": base})
		for i := 0; i < k; i++ {
			n++
			batch = append(batch, map[string]any{"type": "track", "userId": user, "event": "Order Completed",
				"properties": map[string]any{"order_id": fmt.Sprintf("o%d", n), "revenue": 40 + 10*i},
				"timestamp":  base.Add(time.Duration(i*7*24) * time.Hour)})
		}
	}
	if code := ts.do("POST", "/v1/batch", "basic:"+testWriteKey, mustJSON(map[string]any{"batch": batch}), nil, nil); code != 200 {
		t.Fatalf("batch: %d", code)
	}
	var seg struct {
		ID string `json:"id"`
	}
	if code := ts.do("POST", "/api/v1/segments", testAdmin, mustJSON(map[string]any{"name": "repeat (computed)",
		"query": `rfm_frequency >= 2`, "mode": "realtime"}), nil, &seg); code/100 != 2 {
		t.Fatalf("create segment on a computed trait: %d", code)
	}
	if code := ts.do("POST", "/api/v1/analytics/recompute", testAdmin, nil, nil, nil); code != 200 {
		t.Fatalf("recompute: %d", code)
	}
	want := map[string]bool{"alice": true, "carol": true}
	deadline := time.Now().Add(5 * time.Second)
	for {
		var page struct {
			Changes []struct {
				Profile uint32 `json:"profile"`
				Kind    string `json:"kind"`
				Reason  struct {
					Cause  string   `json:"cause"`
					Traits []string `json:"traits"`
				} `json:"reason"`
			} `json:"changes"`
		}
		ts.do("GET", "/api/v1/segments/"+seg.ID+"/changes?limit=100", testAdmin, nil, nil, &page)
		got := map[string]bool{}
		for _, c := range page.Changes {
			for user := range orders {
				p, _ := ts.profile("userId=" + user)
				if p.ID == c.Profile && c.Kind == "enter" {
					got[user] = true
					if c.Reason.Cause != "traits" {
						t.Errorf("%s entered because of %q, want the computed traits", user, c.Reason.Cause)
					}
				}
			}
		}
		if len(got) == len(want) && got["alice"] && got["carol"] {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("members entered: %v, want %v (changes %+v)", got, want, page.Changes)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}
