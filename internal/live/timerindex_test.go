package live

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// TestTimerIndexEqualsMap: random puts, gets and deletes give what one plain map of every key
// gives, including after a profile's last timer is deleted and the profile comes back (the
// remembered last profile must not outlive it); whether any timer of a profile is due by a
// time (dueBy) is what a look at all of them says, as timers move earlier, later and go.
func TestTimerIndexEqualsMap(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	x := newTimerIndex()
	model := map[timerKey]timerState{}
	var keys []timerKey
	for ws := uint32(1); ws <= 2; ws++ {
		for pid := uint32(1); pid <= 5; pid++ {
			for s := 0; s < 4; s++ {
				keys = append(keys, newTimerKey(ws, fmt.Sprintf("seg-%d", s), pid))
			}
		}
	}
	for i := 0; i < 20000; i++ {
		// runs on one profile, as evaluations do, then a jump
		k := keys[r.IntN(len(keys))]
		switch r.IntN(3) {
		case 0:
			st := timerState{due: r.Int64N(1000), stored: int64(i - 1)}
			x.put(k, st)
			model[k] = st
		case 1:
			x.del(k)
			delete(model, k)
		}
		got, ok := x.get(k)
		want, wok := model[k]
		if ok != wok || got != want {
			t.Fatalf("step %d: get(%v) = %v %v, want %v %v", i, k, got, ok, want, wok)
		}
		if x.len() != len(model) {
			t.Fatalf("step %d: len %d, want %d", i, x.len(), len(model))
		}
		now := r.Int64N(1000)
		due := false
		for mk, st := range model {
			due = due || (mk.ws == k.ws && mk.pid == k.pid && st.due <= now)
		}
		if got := x.dueBy(k.ws, k.pid, now); got != due {
			t.Fatalf("step %d: dueBy(%d, %d, %d) = %v, want %v", i, k.ws, k.pid, now, got, due)
		}
	}
	seen := 0
	x.each(func(k timerKey, st timerState) {
		seen++
		if model[k] != st {
			t.Errorf("each: %v = %v, want %v", k, st, model[k])
		}
	})
	if seen != len(model) {
		t.Fatalf("each visited %d, want %d", seen, len(model))
	}
}
