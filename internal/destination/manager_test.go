package destination

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/segd/segd/internal/store"
)

func TestDeadLettersAndReplay(t *testing.T) {
	e := newEnv(t)
	rc := newReceiver(t, "")
	var broken atomic.Bool
	broken.Store(true)
	rc.setFail(func(b *Batch) int {
		if broken.Load() {
			return 500
		}
		return 0
	})
	c := webhookConfig("d", rc.srv.URL, "")
	c.MaxAttempts = 3
	c.BatchSize = 5
	e.put(c)
	for i := 0; i < 12; i++ {
		e.feed.add(e.ws, uint32(i%3+1), "s", "seg", KindEnter)
	}
	waitFor(t, "cursor past the failing batches", 10*time.Second, func() bool {
		st, _ := e.m.Status(t.Context(), e.ws, "d")
		return st.Cursor == 12
	})
	dls, err := e.m.DeadLetters(e.ws, "d")
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, d := range dls {
		if d.Attempts != 3 || !strings.Contains(d.Error, "500") {
			t.Errorf("dead letter %+v: want 3 attempts and the 500 error", d)
		}
		n += len(d.Changes)
	}
	if n != 12 || len(rc.received()) != 0 {
		t.Fatalf("%d changes dead-lettered, %d received; want 12, 0", n, len(rc.received()))
	}
	// Delivery goes on after the dead letters.
	broken.Store(false)
	e.feed.add(e.ws, 1, "s", "seg", KindExit)
	waitFor(t, "the next change", 5*time.Second, func() bool { return ids(rc.received())[ChangeID(e.ws, 13)] == 1 })
	// The dead letters survive a restart and replay delivers them.
	e.restart()
	res, err := e.m.Replay(t.Context(), e.ws, "d")
	if err != nil || res.Changes != 12 || res.Remaining != 0 || res.Error != "" {
		t.Fatalf("replay = %+v, %v; want 12 changes and none remaining", res, err)
	}
	got := ids(rc.received())
	for seq := uint64(1); seq <= 13; seq++ {
		if got[ChangeID(e.ws, seq)] != 1 {
			t.Errorf("change %d received %d times, want once", seq, got[ChangeID(e.ws, seq)])
		}
	}
	if dls, _ := e.m.DeadLetters(e.ws, "d"); len(dls) != 0 {
		t.Errorf("%d dead letters left after replay", len(dls))
	}
}

func TestPermanentFailureDeadLettersAtOnce(t *testing.T) {
	e := newEnv(t)
	rc := newReceiver(t, "")
	rc.setFail(func(b *Batch) int {
		if b.Changes[0].Profile.ID == 7 {
			return 400
		}
		return 0
	})
	c := webhookConfig("d", rc.srv.URL, "")
	c.BatchSize = 1
	e.put(c)
	e.feed.add(e.ws, 7, "s", "seg", KindEnter)
	e.feed.add(e.ws, 8, "s", "seg", KindEnter)
	waitFor(t, "profile 8 delivered", 5*time.Second, func() bool { return len(rc.received()) == 1 })
	dls, _ := e.m.DeadLetters(e.ws, "d")
	if len(dls) != 1 || dls[0].Attempts != 1 || dls[0].Changes[0].Profile.ID != 7 {
		t.Fatalf("dead letters %+v: want profile 7's batch after one attempt", dls)
	}
}

func TestFiltersAndSuppression(t *testing.T) {
	e := newEnv(t)
	rc := newReceiver(t, "")
	c := webhookConfig("d", rc.srv.URL, "")
	c.Segments = []string{"seg-a", "Named B"} // one by id, one by name
	c.Changes = []string{KindEnter}
	c.Suppress = []string{"unsubscribed"}
	e.put(c)
	e.members.set("unsubscribed", 2, true)
	e.members.set("unsubscribed", 3, true)
	e.feed.add(e.ws, 1, "seg-a", "A", KindEnter)       // sent
	e.feed.add(e.ws, 2, "seg-a", "A", KindEnter)       // suppressed
	e.feed.add(e.ws, 1, "seg-b", "Named B", KindEnter) // sent
	e.feed.add(e.ws, 1, "seg-c", "C", KindEnter)       // other segment
	e.feed.add(e.ws, 1, "seg-a", "A", KindExit)        // other kind
	e.feed.add(e.ws, 3, "seg-b", "Named B", KindEnter) // suppressed
	e.feed.add(e.ws, 999, "seg-a", "A", KindEnter)     // erased profile: sent without identifiers
	waitFor(t, "cursor at head", 5*time.Second, func() bool {
		st, _ := e.m.Status(t.Context(), e.ws, "d")
		return st.Cursor == 7
	})
	// Suppression is evaluated at delivery time: profile 2 leaves the list.
	e.members.set("unsubscribed", 2, false)
	e.feed.add(e.ws, 2, "seg-b", "Named B", KindEnter) // sent now
	waitFor(t, "cursor at head", 5*time.Second, func() bool {
		st, _ := e.m.Status(t.Context(), e.ws, "d")
		return st.Cursor == 8
	})
	var got []uint64
	for _, d := range rc.received() {
		got = append(got, d.Seq)
		if d.Profile.ID == 3 {
			t.Errorf("suppressed profile 3 was sent: %+v", d)
		}
		if d.Profile.ID == 999 && d.Profile.Identifiers != nil {
			t.Errorf("erased profile has identifiers: %+v", d.Profile)
		}
	}
	if want := []uint64{1, 3, 7, 8}; !equalSeqs(got, want) {
		t.Fatalf("delivered seqs %v, want %v", got, want)
	}
}

func equalSeqs(a, b []uint64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestPauseResumeAndStartLatest(t *testing.T) {
	e := newEnv(t)
	rc := newReceiver(t, "")
	e.feed.add(e.ws, 1, "s", "seg", KindEnter) // before the destination exists
	c := webhookConfig("d", rc.srv.URL, "")
	c.Start = "latest"
	e.put(c)
	e.feed.add(e.ws, 1, "s", "seg", KindExit)
	waitFor(t, "first change", 5*time.Second, func() bool { return len(rc.received()) == 1 })
	if rc.received()[0].Seq != 2 {
		t.Fatalf("start latest delivered seq %d, want 2", rc.received()[0].Seq)
	}
	if err := e.m.SetPaused(e.ws, "d", true); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 5; i++ {
		e.feed.add(e.ws, 2, "s", "seg", KindEnter)
	}
	time.Sleep(200 * time.Millisecond)
	if n := len(rc.received()); n != 1 {
		t.Fatalf("%d changes received while paused, want 1", n)
	}
	// Pause is durable.
	e.restart()
	time.Sleep(100 * time.Millisecond)
	if st, _ := e.m.Status(t.Context(), e.ws, "d"); st.State != "paused" || st.LagChanges != 5 {
		t.Fatalf("after restart: %+v, want paused with 5 behind", st)
	}
	if err := e.m.SetPaused(e.ws, "d", false); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "resumed delivery", 5*time.Second, func() bool { return len(rc.received()) == 6 })
}

func TestHTTPAndMetrics(t *testing.T) {
	feed := newMemFeed()
	e := &env{t: t, feed: feed, members: &fakeMembers{}}
	e.st, e.ws = openStore(t, store.Options{Dir: t.TempDir()})
	defer e.st.Close()
	reg := prometheus.NewRegistry()
	m, err := New(Options{Store: e.st, Feed: feed, Profiles: fakeProfiles{}, Registerer: reg,
		AllowPrivate: func(uint32) bool { return true }})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	if err := m.Start(); err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	for _, rt := range m.Routes() {
		h := rt.Handler
		mux.HandleFunc(rt.Pattern, func(w http.ResponseWriter, r *http.Request) { h(w, r, e.ws) })
	}
	srv := httptest.NewServer(mux)
	defer srv.Close()
	rc := newReceiver(t, "topsecret")
	call := func(method, path, body string) (int, map[string]any) {
		t.Helper()
		req, _ := http.NewRequest(method, srv.URL+path, bytes.NewBufferString(body))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var v map[string]any
		json.NewDecoder(resp.Body).Decode(&v)
		return resp.StatusCode, v
	}
	errPath := func(v map[string]any) string {
		e, _ := v["error"].(map[string]any)
		p, _ := e["path"].(string)
		return p
	}
	bad := func(body, wantPath string) {
		t.Helper()
		code, v := call("POST", "/api/v1/destinations", body)
		if code != 400 || errPath(v) != wantPath {
			t.Errorf("POST %s = %d %v, want 400 at %q", body, code, v, wantPath)
		}
	}
	bad(`{"id":"x","kind":"webhook","webhook":{"url":"http://h","secrt":"s"}}`, "webhook.secrt")
	bad(`{"id":"x","kind":"webhook","webhok":{}}`, "webhok")
	bad(`{"id":"x","kind":"webhook","webhook":{"url":"ftp://h"}}`, "webhook.url")
	bad(`{"id":"x","kind":"smtp"}`, "kind")
	bad(`{"id":"x","kind":"webhook","changes":["enter","leave"],"webhook":{"url":"http://h"}}`, "changes[1]")
	bad(`{"id":"x","kind":"webhook","linger":5,"webhook":{"url":"http://h"}}`, "linger")
	bad(`{"id":"x","kind":"webhook","webhook":{"url":"http://h","timeout":"soon"}}`, "webhook.timeout")
	bad(`{"id":"x","kind":"webhook","batch_size":"10","webhook":{"url":"http://h"}}`, "batch_size")
	bad(`{"id":"a b","kind":"webhook","webhook":{"url":"http://h"}}`, "id")
	bad(`{"id":"x","kind":"file","file":{"dir":"/tmp","format":"xml"}}`, "file.format")
	bad(`{"id":"x","kind":"nats","nats":{"subject":"a.*"}}`, "nats.subject")

	body := `{"id":"hook","kind":"webhook","traits":["plan"],"linger":"1ms","webhook":{"url":"` + rc.srv.URL + `","secret":"topsecret"}}`
	if code, v := call("POST", "/api/v1/destinations", body); code != 201 || v["id"] != "hook" || v["batch_size"] != float64(DefaultBatchSize) {
		t.Fatalf("create = %d %v", code, v)
	}
	if code, _ := call("POST", "/api/v1/destinations", body); code != 409 {
		t.Errorf("second create = %d, want 409", code)
	}
	feed.add(e.ws, 1, "s", "seg", KindEnter)
	waitFor(t, "delivery", 5*time.Second, func() bool { return len(rc.received()) == 1 })
	code, v := call("GET", "/api/v1/destinations/hook", "")
	st, _ := v["status"].(map[string]any)
	wh, _ := v["webhook"].(map[string]any)
	if code != 200 || st == nil || wh["secret"] != redacted {
		t.Fatalf("GET = %d %v: want status and a redacted secret", code, v)
	}
	waitFor(t, "status delivered", 5*time.Second, func() bool {
		_, v := call("GET", "/api/v1/destinations/hook", "")
		st, _ := v["status"].(map[string]any)
		return st["delivered"] == float64(1) && st["cursor"] == float64(1)
	})
	// PUT with the redacted secret keeps it: the receiver still verifies the signature.
	wh["secret"] = redacted
	v["paused"] = true
	delete(v, "status")
	b, _ := json.Marshal(v)
	if code, v := call("PUT", "/api/v1/destinations/hook", string(b)); code != 200 || v["paused"] != true {
		t.Fatalf("PUT = %d %v", code, v)
	}
	feed.add(e.ws, 1, "s", "seg", KindExit)
	time.Sleep(50 * time.Millisecond)
	if code, v := call("POST", "/api/v1/destinations/hook/resume", ""); code != 200 || v["paused"] == true {
		t.Fatalf("resume = %d %v", code, v)
	}
	waitFor(t, "delivery after resume", 5*time.Second, func() bool { return len(rc.received()) == 2 })
	rc.mu.Lock()
	badSig := rc.badSig
	rc.mu.Unlock()
	if badSig != 0 {
		t.Fatalf("%d bad signatures after PUT with the redacted secret", badSig)
	}
	if code, v := call("GET", "/api/v1/destinations", ""); code != 200 || len(v["destinations"].([]any)) != 1 {
		t.Errorf("list = %d %v", code, v)
	}
	if code, v := call("GET", "/api/v1/destinations/hook/dead-letters", ""); code != 200 || len(v["dead_letters"].([]any)) != 0 {
		t.Errorf("dead letters = %d %v", code, v)
	}
	if code, v := call("POST", "/api/v1/destinations/hook/replay", ""); code != 200 || v["replayed"] != float64(0) {
		t.Errorf("replay = %d %v", code, v)
	}
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	found := map[string]float64{}
	for _, mf := range mfs {
		for _, mt := range mf.GetMetric() {
			if mt.Counter != nil {
				found[mf.GetName()] = mt.Counter.GetValue()
			} else {
				found[mf.GetName()] = mt.Gauge.GetValue()
			}
		}
	}
	if found["segd_destination_delivered_total"] != 2 {
		t.Errorf("metrics %v: want 2 delivered", found)
	}
	if _, ok := found["segd_destination_lag_changes"]; !ok {
		t.Errorf("metrics %v: no lag", found)
	}
	if code, _ := call("DELETE", "/api/v1/destinations/hook", ""); code != 204 {
		t.Errorf("delete = %d", code)
	}
	if code, _ := call("GET", "/api/v1/destinations/hook", ""); code != 404 {
		t.Errorf("GET after delete = %d, want 404", code)
	}
}

func TestChannelConsent(t *testing.T) {
	e := newEnv(t)
	e.consent = map[uint32]bool{1: true}
	rc := newReceiver(t, "")
	c := webhookConfig("mail", rc.srv.URL, "")
	c.Channel = "email"
	e.put(c)
	e.feed.add(e.ws, 1, "s", "S", KindEnter) // consented: sent
	e.feed.add(e.ws, 2, "s", "S", KindEnter) // no consent: never sent
	waitFor(t, "cursor at head", 5*time.Second, func() bool {
		st, _ := e.m.Status(t.Context(), e.ws, "mail")
		return st.Cursor == 2
	})
	for _, d := range rc.received() {
		if d.Profile.ID != 1 {
			t.Fatalf("profile %d without email consent reached an email destination", d.Profile.ID)
		}
	}
	if len(rc.received()) != 1 {
		t.Fatalf("%d deliveries, want 1", len(rc.received()))
	}
}
