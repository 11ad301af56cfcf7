package ratelimit

import (
	"testing"
	"time"
)

type fakeClock struct{ t time.Time }

func (c *fakeClock) now() time.Time      { return c.t }
func (c *fakeClock) add(d time.Duration) { c.t = c.t.Add(d) }
func newClock() *fakeClock               { return &fakeClock{t: time.Unix(1000, 0)} }
func mustNew(t *testing.T, o Options) *Limiter {
	t.Helper()
	l, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func TestBurstThenRate(t *testing.T) {
	c := newClock()
	l := mustNew(t, Options{Rate: 10, Burst: 5, Now: c.now})
	for i := 0; i < 5; i++ {
		if ok, _ := l.Allow("k"); !ok {
			t.Fatalf("request %d of the burst refused", i)
		}
	}
	ok, wait := l.Allow("k")
	if ok || wait <= 0 || wait > 100*time.Millisecond {
		t.Fatalf("6th request: ok=%v wait=%s, want refused with wait ≤ 100ms", ok, wait)
	}
	// other keys are independent
	if ok, _ := l.Allow("other"); !ok {
		t.Fatal("another key was limited by k's usage")
	}
	c.add(wait)
	if ok, _ := l.Allow("k"); !ok {
		t.Fatal("refused after waiting the advertised time")
	}
	if ok, _ := l.Allow("k"); ok {
		t.Fatal("allowed a second request right after the refill of one token")
	}
	// idle for long: refills to burst, not beyond
	c.add(time.Hour)
	n := 0
	for {
		if ok, _ := l.Allow("k"); !ok {
			break
		}
		n++
	}
	if n != 5 {
		t.Fatalf("after idling %d requests allowed, want the burst 5", n)
	}
}

func TestDisabledAndValidate(t *testing.T) {
	l := mustNew(t, Options{})
	for i := 0; i < 1000; i++ {
		if ok, _ := l.Allow("k"); !ok {
			t.Fatal("a disabled limiter refused")
		}
	}
	if l.Enabled() || l.Len() != 0 {
		t.Fatal("disabled limiter tracks keys")
	}
	for _, o := range []Options{{Rate: -1}, {Rate: 1, Burst: -1}} {
		if _, err := New(o); err == nil {
			t.Errorf("%+v accepted", o)
		}
	}
}

func TestMaxKeysBoundsMemory(t *testing.T) {
	c := newClock()
	l := mustNew(t, Options{Rate: 1, Burst: 1, MaxKeys: 100, Now: c.now})
	for i := 0; i < 1000; i++ {
		l.Allow(string(rune('a'+i%26)) + time.Duration(i).String())
		c.add(2 * time.Second)
	}
	if n := l.Len(); n > 100 {
		t.Fatalf("%d keys tracked, limit 100", n)
	}
}
