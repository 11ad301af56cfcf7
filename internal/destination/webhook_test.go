package destination

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestSignature(t *testing.T) {
	body := []byte(`{"destination":"d","changes":[]}`)
	now := time.Now().Unix()
	ts := strconv.FormatInt(now, 10)
	good := Sign("s3cret", now, body)
	check := func(secret, ts string, body []byte, header string, want error) {
		t.Helper()
		err := VerifySignature(secret, ts, body, header, 5*time.Minute)
		if !errors.Is(err, want) && !(want == nil && err == nil) {
			t.Errorf("VerifySignature(%q, %q, %q, %q) = %v, want %v", secret, ts, body, header, err, want)
		}
	}
	check("s3cret", ts, body, good, nil)
	check("s3cret", ts, body, "v1=00ff,"+good, nil) // rotation: any matching v1 value
	check("other", ts, body, good, ErrBadSignature)
	check("s3cret", ts, append(body, ' '), good, ErrBadSignature)
	check("s3cret", strconv.FormatInt(now+1, 10), body, good, ErrBadSignature)
	check("s3cret", ts, body, strings.TrimPrefix(good, "v1="), ErrBadSignature)
	check("s3cret", "abc", body, good, ErrBadSignature)
	old := now - 3600
	check("s3cret", strconv.FormatInt(old, 10), body, Sign("s3cret", old, body), ErrStale)
	if err := VerifySignature("s3cret", strconv.FormatInt(old, 10), body, Sign("s3cret", old, body), 0); err != nil {
		t.Errorf("tolerance 0 must skip the age check: %v", err)
	}
}

// TestWebhookChaos delivers through a receiver that fails half of the requests at random in
// three ways (503, a dropped connection, an answer slower than the client timeout after the
// batch was recorded, which makes the sender retry a batch the receiver already has), is down
// for a while, and the manager is restarted in the middle on the same on-disk store.
func TestWebhookChaos(t *testing.T) {
	e := newEnv(t)
	rc := newReceiver(t, "k")
	var mu sync.Mutex
	rng := rand.New(rand.NewPCG(1, 2))  // receiver's, guarded by mu
	prng := rand.New(rand.NewPCG(3, 4)) // producer's
	var downUntil time.Time
	var slow = map[string]bool{}
	rc.setFail(func(b *Batch) int {
		mu.Lock()
		defer mu.Unlock()
		if time.Now().Before(downUntil) {
			return 503
		}
		switch x := rng.IntN(100); {
		case x < 25:
			return 503
		case x < 45:
			return -1
		case x < 50 && !slow[b.Changes[0].ID]:
			// accept, but answer after the client gave up
			slow[b.Changes[0].ID] = true
			rc.mu.Lock()
			rc.got = append(rc.got, b.Changes...)
			rc.mu.Unlock()
			time.Sleep(400 * time.Millisecond)
			return 500
		}
		return 0
	})
	c := webhookConfig("hook", rc.srv.URL, "k")
	c.Webhook.Timeout = Duration(200 * time.Millisecond)
	c.Traits = []string{"plan"}
	e.put(c)

	const profiles, perPhase = 40, 600
	produce := func(n int) {
		for i := 0; i < n; i++ {
			pid := uint32(prng.IntN(profiles) + 1)
			kind := KindEnter
			if i%2 == 1 {
				kind = KindExit
			}
			e.feed.add(e.ws, pid, "s1", "buyers", kind)
			if i%50 == 0 {
				time.Sleep(2 * time.Millisecond)
			}
		}
	}
	produce(perPhase)
	mu.Lock()
	downUntil = time.Now().Add(300 * time.Millisecond)
	mu.Unlock()
	produce(perPhase / 2)
	// Restart: stop the manager (whatever it was doing), reopen the store from disk.
	before := len(ids(rc.received()))
	e.restart()
	produce(perPhase / 2)
	produce(perPhase)

	total := 3 * perPhase
	dbgStatus = func() string {
		st, _ := e.m.Status(t.Context(), e.ws, "hook")
		return fmt.Sprintf("%+v got %d distinct", st, len(ids(rc.received())))
	}
	waitFor(t, "every change at least once", 60*time.Second, func() bool { return len(ids(rc.received())) == total })
	got := rc.received()
	seen := map[string]Delivery{}
	lastFirst := map[uint32]uint64{}
	for _, d := range got {
		if prev, dup := seen[d.ID]; dup {
			if prev.Seq != d.Seq || prev.Profile.ID != d.Profile.ID || prev.Kind != d.Kind {
				t.Fatalf("duplicate %s differs: %+v vs %+v", d.ID, prev, d)
			}
			continue
		}
		seen[d.ID] = d
		if d.ID != ChangeID(e.ws, d.Seq) {
			t.Fatalf("id %q for seq %d", d.ID, d.Seq)
		}
		// In order per profile: a change never arrives for the first time after a later
		// change of the same profile.
		if d.Seq <= lastFirst[d.Profile.ID] {
			t.Fatalf("profile %d: seq %d first arrived after seq %d", d.Profile.ID, d.Seq, lastFirst[d.Profile.ID])
		}
		lastFirst[d.Profile.ID] = d.Seq
		if d.Profile.Identifiers["userId"][0] != fmt.Sprintf("u%d", d.Profile.ID) || d.Profile.Traits["plan"] != fmt.Sprintf("plan-of-%d", d.Profile.ID) {
			t.Fatalf("profile not described: %+v", d.Profile)
		}
		if d.Segment.ID != "s1" || d.Segment.Name != "buyers" || len(d.Reason) == 0 {
			t.Fatalf("change fields lost: %+v", d)
		}
	}
	if before == 0 || before >= 3*perPhase/2 {
		t.Errorf("%d changes delivered before the restart: the restart is not in the middle", before)
	}
	rc.mu.Lock()
	bad, reqs := rc.badSig, rc.reqs
	rc.mu.Unlock()
	if bad != 0 {
		t.Fatalf("%d of %d requests had a bad signature", bad, reqs)
	}
	if len(got) == len(seen) {
		t.Errorf("no duplicates despite slow answers: the test no longer exercises redelivery")
	}
	st, err := e.m.Status(t.Context(), e.ws, "hook")
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, "cursor at head", 5*time.Second, func() bool {
		st, _ = e.m.Status(t.Context(), e.ws, "hook")
		return st.Cursor == uint64(total)
	})
	if st.LagChanges != 0 || st.Failures == 0 || st.DeadLetters != 0 {
		t.Errorf("status %+v: want no lag, some failures, no dead letters", st)
	}
	t.Logf("%d requests, %d changes received for %d distinct, %d failed attempts", reqs, len(got), len(seen), st.Failures)
}
