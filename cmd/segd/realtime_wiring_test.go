package main

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"
)

// cmd/segd hands live each event as the index converted it (live.Change.Indexed). The profiles
// here are in live's cache before the batch that decides their membership, so live applies
// that batch's events from the handed-over conversions: one batch of differing events for ten
// people must put each in the segments its own events qualify it for.
func TestRealtimeSegmentsReadIndexedEvents(t *testing.T) {
	ts := startServer(t, t.TempDir())
	for _, s := range [][2]string{
		{"seen", `did "Seen" in last 1 days`},
		{"bought-a", `count("Bought" where sku = "a" in last 1 days) >= 2`},
		{"viewed-only", `did "Viewed" in last 1 days and not did "Bought" where sku = "a" in last 1 days`},
	} {
		body, _ := json.Marshal(map[string]any{"name": s[0], "query": s[1], "mode": "realtime"})
		if code := ts.do("POST", "/api/v1/segments", testAdmin, body, nil, nil); code != 201 && code != 200 {
			t.Fatalf("create %s: %d", s[0], code)
		}
	}
	now := time.Now().UTC()
	batch := func(events []map[string]any) {
		t.Helper()
		body, _ := json.Marshal(map[string]any{"batch": events})
		if code := ts.do("POST", "/v1/batch", "basic:"+testWriteKey, body, nil, nil); code != 200 {
			t.Fatalf("batch: %d", code)
		}
	}
	track := func(user, event string, props map[string]any, i int) map[string]any {
		return map[string]any{"type": "track", "userId": user, "event": event, "properties": props,
			"timestamp": now.Add(time.Duration(i) * time.Second).Format(time.RFC3339Nano)}
	}
	var first, second []map[string]any
	for u := range 10 {
		user := fmt.Sprint("u", u)
		first = append(first, track(user, "Seen", nil, 0)) // creates the profile; live caches it
		sku := []string{"a", "b"}[u%2]
		second = append(second, track(user, "Bought", map[string]any{"sku": sku}, 1),
			track(user, "Viewed", map[string]any{"page": u}, 2), track(user, "Bought", map[string]any{"sku": sku}, 3))
	}
	batch(first)
	memberships := func(user string) string {
		var out struct {
			Segments []struct{ Name string } `json:"segments"`
		}
		ts.do("GET", "/v1/profiles/segments?userId="+user, "test-read-key", nil, nil, &out)
		var names []string
		for _, s := range out.Segments {
			names = append(names, s.Name)
		}
		sort.Strings(names)
		return strings.Join(names, ",")
	}
	// live has applied the first batch (and cached the profiles) once everyone is in "seen"
	deadline := time.Now().Add(10 * time.Second)
	for u := range 10 {
		for memberships(fmt.Sprint("u", u)) != "seen" {
			if time.Now().After(deadline) {
				t.Fatalf("u%d is in %q after the first batch, want seen", u, memberships(fmt.Sprint("u", u)))
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	batch(second)
	want := func(u int) string { return []string{"bought-a,seen", "seen,viewed-only"}[u%2] }
	for u := range 10 {
		user := fmt.Sprint("u", u)
		for memberships(user) != want(u) {
			if time.Now().After(deadline) {
				t.Fatalf("%s is in %q, want %q", user, memberships(user), want(u))
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
}
