package live

import (
	"bufio"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2/vfs"

	"github.com/segd/segd/internal/membership"
	"github.com/segd/segd/internal/message"
)

// A member of a 10-second window leaves within one second of the due time with no new event,
// on the real clock.
func TestTimerRealClock(t *testing.T) {
	clk := &clock{real: true}
	e := newEnv(t, vfs.NewMem(), clk, &catalog{}, true)
	defer e.close()
	e.addSegment("s", "recent", `count(page in last 10 seconds) >= 1`)
	sent := time.Now().Add(-8 * time.Second).Truncate(time.Millisecond)
	e.send(message.Message{Type: message.Page, UserID: "u", Name: "Home", Timestamp: sent})
	e.sync()
	pid := e.pid("u")
	if !e.mem.Contains(e.ws, "s", pid) {
		t.Fatal("not a member after the page view")
	}
	due := sent.Add(10 * time.Second)
	ctx, cancel := context.WithTimeout(context.Background(), 6*time.Second)
	defer cancel()
	after := e.mem.LastSeq(e.ws)
	if err := e.mem.Wait(ctx, e.ws, after); err != nil {
		t.Fatalf("no exit: %v", err)
	}
	left := time.Now()
	cs, _ := e.mem.Read(context.Background(), e.ws, after, 0)
	if len(cs) != 1 || cs[0].Kind != membership.Exit || cs[0].Reason.Cause != "timer" || !cs[0].EventTime.Equal(due) {
		t.Fatalf("changes after the enter: %+v (due %v)", cs, due)
	}
	if late := left.Sub(due); late < 0 || late > time.Second {
		t.Fatalf("left %v after the due time", late)
	}
}

// A timer that came due while segd was down fires at start, at its due time.
func TestDurableTimerFiresAtStart(t *testing.T) {
	fs := vfs.NewMem()
	clk := &clock{t: time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)}
	cat := &catalog{}
	e := newEnv(t, fs, clk, cat, true)
	e.addSegment("s", "recent", `count("A" in last 10 minutes) >= 1`)
	e.send(e.track("u", "A", clk.Now(), nil))
	e.sync()
	pid := e.pid("u")
	if !e.mem.Contains(e.ws, "s", pid) {
		t.Fatal("not a member")
	}
	due := clk.Now().Add(10 * time.Minute)
	e.close()

	clk.Add(time.Hour)
	e2 := newEnv(t, fs, clk, cat, false)
	defer e2.close()
	if e2.mem.Contains(e2.ws, "s", pid) {
		t.Fatal("still a member after restart")
	}
	cs, _ := e2.mem.ReadSegment(context.Background(), e2.ws, "s", 0, 0)
	last := cs[len(cs)-1]
	if last.Kind != membership.Exit || last.Reason.Cause != "timer" || !last.EventTime.Equal(due) {
		t.Fatalf("last change %+v, want a timer exit at %v", last, due)
	}
}

// Editing a segment emits changes only for the profiles whose membership differs.
func TestBackfillEmitsOnlyDifference(t *testing.T) {
	clk := &clock{t: time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)}
	e := newEnv(t, vfs.NewMem(), clk, &catalog{}, true)
	defer e.close()
	plans := map[string]string{"a": "pro", "b": "pro", "c": "free", "d": "team"}
	for u, p := range plans {
		e.send(message.Message{Type: message.Identify, UserID: u, Traits: map[string]any{"plan": p}, Timestamp: clk.Now()})
	}
	e.sync()
	e.addSegment("s", "paid", `plan = "pro"`)
	e.sync()
	if n := e.mem.Count(e.ws, "s"); n != 2 {
		t.Fatalf("backfill: %d members, want 2", n)
	}
	before := e.mem.LastSeq(e.ws)
	e.addSegment("s", "paid", `plan in ["pro", "team"] and plan != "free"`)
	e.sync()
	cs, _ := e.mem.Read(context.Background(), e.ws, before, 0)
	if len(cs) != 1 || cs[0].Kind != membership.Enter || cs[0].Profile != e.pid("d") || cs[0].Reason.Cause != "backfill" {
		t.Fatalf("edit emitted %+v, want only d entering", cs)
	}
	before = e.mem.LastSeq(e.ws)
	e.addSegment("s", "paid", `plan = "team"`)
	e.sync()
	cs, _ = e.mem.Read(context.Background(), e.ws, before, 0)
	if len(cs) != 2 || cs[0].Kind != membership.Exit || cs[1].Kind != membership.Exit {
		t.Fatalf("second edit emitted %+v, want a and b exiting", cs)
	}
}

// An event's change names its cause and the condition that flipped.
func TestReason(t *testing.T) {
	clk := &clock{t: time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)}
	e := newEnv(t, vfs.NewMem(), clk, &catalog{}, true)
	defer e.close()
	e.addSegment("s", "buyers", `did "Order Completed" in last 7 days and not did "Refund" in last 7 days`)
	e.sync()
	e.send(e.track("u", "Order Completed", clk.Now(), nil))
	e.sync()
	e.send(e.track("u", "Refund", clk.Now(), nil))
	e.sync()
	cs, _ := e.mem.Read(context.Background(), e.ws, 0, 0)
	if len(cs) != 2 {
		t.Fatalf("changes %+v", cs)
	}
	if r := cs[0].Reason; cs[0].Kind != membership.Enter || r.Cause != "event" || r.Event != "Order Completed" || r.MessageID == "" {
		t.Fatalf("enter reason %+v", r)
	}
	if r := cs[1].Reason; cs[1].Kind != membership.Exit || r.Event != "Refund" || !strings.Contains(r.Condition, "Refund") {
		t.Fatalf("exit reason %+v", r)
	}
}

func TestAPI(t *testing.T) {
	clk := &clock{t: time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)}
	e := newEnv(t, vfs.NewMem(), clk, &catalog{}, true)
	defer e.close()
	e.addSegment("seg_1", "buyers", `did "Order Completed"`)
	e.send(e.track("u1", "Order Completed", clk.Now(), nil), e.track("u2", "Order Completed", clk.Now(), nil),
		message.Message{Type: message.Identify, UserID: "u1", Traits: map[string]any{"email": "u1@x.io"}, Timestamp: clk.Now()})
	e.sync()
	mux := http.NewServeMux()
	for _, rt := range e.live.Routes() {
		h := rt.Handler
		mux.HandleFunc(rt.Pattern, func(w http.ResponseWriter, r *http.Request) { h(w, r, e.ws) })
	}
	srv := httptest.NewServer(mux)
	defer srv.Close()
	get := func(path string, want int, v any) {
		t.Helper()
		resp, err := http.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		if resp.StatusCode != want {
			t.Fatalf("GET %s: %d, want %d", path, resp.StatusCode, want)
		}
		if v != nil {
			if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
				t.Fatal(err)
			}
		}
	}
	var pg changesPage
	get("/api/v1/segments/seg_1/changes?after=0&limit=1", 200, &pg)
	if len(pg.Changes) != 1 || pg.Next != pg.Changes[0].Seq {
		t.Fatalf("page %+v", pg)
	}
	get("/api/v1/segments/buyers/changes?after="+itoa(pg.Next), 200, &pg)
	if len(pg.Changes) != 1 {
		t.Fatalf("second page %+v", pg)
	}
	get("/api/v1/segments/nope/changes", 404, nil)
	get("/api/v1/segments/seg_1/changes?limit=x", 400, nil)
	var hist struct {
		Current uint64             `json:"current"`
		Points  []membership.Point `json:"points"`
	}
	get("/api/v1/segments/seg_1/history", 200, &hist)
	if hist.Current != 2 || len(hist.Points) == 0 || hist.Points[len(hist.Points)-1].Count != 2 {
		t.Fatalf("history %+v", hist)
	}
	p1 := e.pid("u1")
	var ps struct {
		Segments []profileMembership `json:"segments"`
	}
	get("/api/v1/profiles/"+itoa(uint64(p1))+"/segments", 200, &ps)
	if len(ps.Segments) != 1 || ps.Segments[0].Name != "buyers" || ps.Segments[0].Entered.IsZero() {
		t.Fatalf("profile segments %+v", ps)
	}
	get("/api/v1/profiles/"+itoa(uint64(p1))+"/segment-history", 200, &pg)
	if len(pg.Changes) != 1 || pg.Changes[0].Profile != p1 {
		t.Fatalf("profile history %+v", pg)
	}
	get("/api/v1/profiles/99999/segments", 404, nil)
	var per struct {
		Segments []personalSegment `json:"segments"`
	}
	get("/v1/profiles/segments?email=u1@x.io", 200, &per)
	if len(per.Segments) != 1 || per.Segments[0].ID != "seg_1" {
		t.Fatalf("personalisation %+v", per)
	}
	get("/v1/profiles/segments?userId=nobody", 200, &per)
	if len(per.Segments) != 0 {
		t.Fatalf("unknown person has segments %+v", per)
	}
	get("/v1/profiles/segments", 400, nil)

	// The stream sends changes as they happen.
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", srv.URL+"/api/v1/segments/seg_1/stream", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); ct != "text/event-stream" {
		t.Fatalf("content type %q", ct)
	}
	e.send(e.track("u3", "Order Completed", clk.Now(), nil))
	sc := bufio.NewScanner(resp.Body)
	var ev, data string
	for sc.Scan() {
		line := sc.Text()
		if v, ok := strings.CutPrefix(line, "event: "); ok {
			ev = v
		}
		if v, ok := strings.CutPrefix(line, "data: "); ok {
			data = v
			break
		}
	}
	var c membership.Change
	if err := json.Unmarshal([]byte(data), &c); err != nil || ev != "enter" || c.Profile != e.pid("u3") {
		t.Fatalf("stream event %q %q (%v)", ev, data, err)
	}
}

func itoa(n uint64) string {
	b, _ := json.Marshal(n)
	return string(b)
}

// A calendar window changes at the period's end with no event: the segment is recomputed at
// the boundary (one batch evaluation, not a timer per profile).
func TestCalendarBoundaryRecomputes(t *testing.T) {
	clk := &clock{t: time.Date(2025, 6, 1, 23, 55, 0, 0, time.UTC)}
	e := newEnv(t, vfs.NewMem(), clk, &catalog{}, true)
	defer e.close()
	e.addSegment("s", "today", `count(page today) >= 1`)
	e.send(message.Message{Type: message.Page, UserID: "u", Name: "Home", Timestamp: clk.Now().Add(-5 * time.Minute)})
	e.sync()
	pid := e.pid("u")
	if !e.mem.Contains(e.ws, "s", pid) {
		t.Fatal("not a member after today's page view")
	}
	after := e.mem.LastSeq(e.ws)
	clk.Set(time.Date(2025, 6, 2, 0, 0, 5, 0, time.UTC))
	e.sync()
	if e.mem.Contains(e.ws, "s", pid) {
		t.Fatal("still a member the next day")
	}
	cs, _ := e.mem.Read(context.Background(), e.ws, after, 0)
	midnight := time.Date(2025, 6, 2, 0, 0, 0, 0, time.UTC)
	if len(cs) != 1 || cs[0].Kind != membership.Exit || cs[0].Reason.Cause != "timer" || !cs[0].EventTime.Equal(midnight) {
		t.Fatalf("changes after the enter: %+v", cs)
	}
}
