package main

import (
	"context"
	"fmt"
	"testing"
	"time"
)

// TestTimersSurviveKillNine: a member of a 5-second window segment is SIGKILLed out of segd
// before its timer is due; after the restart the exit is there, caused by the timer at its due
// time (not merely repaired by the start-up recomputation).
func TestTimersSurviveKillNine(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the segd binary")
	}
	bin := segdBinary(t)
	dir := t.TempDir()
	p := startProc(t, bin, dir)
	ctx := context.Background()
	var seg struct {
		ID string `json:"id"`
	}
	if code := send(ctx, "POST", p.url+"/api/v1/segments", testAdmin, false,
		map[string]any{"name": "active-5s", "query": `count(page in last 5 seconds) >= 1`, "mode": "realtime"}, &seg); code/100 != 2 {
		t.Fatalf("create segment: %d", code)
	}
	// the page view's time is sent, so the timer's due time is known here: the enter itself may
	// come from the segment's backfill, recorded at its evaluation time, when the backfill
	// runs after the page view is stored
	pageTime := time.Now().UTC()
	if code := send(ctx, "POST", p.url+"/v1/page", testWriteKey, true, map[string]any{"userId": "visitor", "name": "Home",
		"timestamp": pageTime.Format(time.RFC3339Nano)}, nil); code != 200 {
		t.Fatalf("page: %d", code)
	}
	type change struct {
		Kind      string    `json:"kind"`
		EventTime time.Time `json:"eventTime"`
		Reason    struct {
			Cause string    `json:"cause"`
			Due   time.Time `json:"due"`
		} `json:"reason"`
	}
	changes := func(url string) []change {
		var page struct {
			Changes []change `json:"changes"`
		}
		send(ctx, "GET", fmt.Sprintf("%s/api/v1/segments/%s/changes?limit=100", url, seg.ID), testAdmin, false, nil, &page)
		return page.Changes
	}
	deadline := time.Now().Add(3 * time.Second)
	for len(changes(p.url)) == 0 {
		if time.Now().After(deadline) {
			t.Fatal("the page view never made the visitor enter")
		}
		time.Sleep(20 * time.Millisecond)
	}
	if enter := changes(p.url)[0]; enter.Kind != "enter" {
		t.Fatalf("first change %+v, want an enter", enter)
	}
	p.kill() // the timer is due 5 s after the page view; segd is down then
	time.Sleep(time.Until(pageTime.Add(6 * time.Second)))
	p = startProc(t, bin, dir)
	defer p.kill()
	deadline = time.Now().Add(5 * time.Second)
	for {
		cs := changes(p.url)
		if len(cs) >= 2 {
			exit := cs[1]
			if exit.Kind != "exit" || exit.Reason.Cause != "timer" {
				t.Fatalf("after the restart: %+v, want an exit caused by the timer", exit)
			}
			if d := exit.Reason.Due.Sub(pageTime); d < 5*time.Second || d > 5*time.Second+time.Millisecond {
				t.Fatalf("timer due %v after the page view, want 5s", d)
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("no exit after the restart: %+v", cs)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
