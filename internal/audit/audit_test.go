package audit

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/segd/segd/internal/store"
)

func openStore(t *testing.T) *store.Store {
	t.Helper()
	st, err := store.Open(store.Options{Dir: "/d", FS: vfs.NewMem()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

func TestLogAppendRecentIsolated(t *testing.T) {
	st := openStore(t)
	l, err := New(st)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for i := 0; i < 20; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			ws := uint32(1 + i%2)
			if _, err := l.Append(ws, Entry{Key: "at_abcd", Method: "DELETE", Route: "DELETE /api/v1/profiles/{id}",
				Path: fmt.Sprintf("/api/v1/profiles/%d", i), IDs: map[string]string{"id": fmt.Sprint(i)}, Status: 204}); err != nil {
				t.Error(err)
			}
		}(i)
	}
	wg.Wait()
	for ws := uint32(1); ws <= 2; ws++ {
		got, err := l.Recent(ws, 0, 0)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 10 {
			t.Fatalf("ws %d: %d entries, want 10 (concurrent appends lost or mixed)", ws, len(got))
		}
		seen := map[string]bool{}
		for i, e := range got {
			if i > 0 && e.Seq >= got[i-1].Seq {
				t.Fatalf("not newest first: %d after %d", e.Seq, got[i-1].Seq)
			}
			var n int
			fmt.Sscan(e.IDs["id"], &n)
			if uint32(1+n%2) != ws {
				t.Fatalf("ws %d holds the entry of id %d", ws, n)
			}
			if e.At.IsZero() || time.Since(e.At) > time.Minute || e.Status != 204 {
				t.Fatalf("bad entry %+v", e)
			}
			seen[e.Path] = true
		}
		if len(seen) != 10 {
			t.Fatalf("duplicate entries: %v", seen)
		}
		page, _ := l.Recent(ws, 3, got[2].Seq)
		if len(page) != 3 || page[0].Seq != got[3].Seq {
			t.Fatalf("paging before %d: %+v", got[2].Seq, page)
		}
		old, _ := l.Since(ws, got[len(got)-1].Seq, 2)
		if len(old) != 2 || old[0].Seq != got[len(got)-1].Seq {
			t.Fatalf("Since: %+v", old)
		}
	}
}

func TestConsent(t *testing.T) {
	m := func(kv ...any) map[string]any {
		out := map[string]any{}
		for i := 0; i < len(kv); i += 2 {
			out[kv[i].(string)] = kv[i+1]
		}
		return out
	}
	cases := []struct {
		traits map[string]any
		ch     Channel
		want   bool
	}{
		{m(), Email, false},
		{m("consent_email", true), Email, true},
		{m("consent_email", true), SMS, false},
		{m("email_opt_in", true), Email, true},
		{m("email_opt_in", "yes"), Email, true},
		{m("email_opt_in", "no"), Email, false},
		{m("consent_sms", 1.0), SMS, true},
		{m("consent_sms", 0.0), SMS, false},
		{m("consent_email", false, "email_opt_in", true), Email, false},
		{m("consent_email", nil, "email_opt_in", true), Email, true},
		{m("consent_email", true, "unsubscribed", true), Email, false},
		{m("consent_email", true, "email_unsubscribed", "true"), Email, false},
		{m("consent_email", true, "sms_unsubscribed", true), Email, true},
		{m("consent_push", "Granted"), Push, true},
		{m("consent_email", true), "", false},
		{m("consent_email", "maybe"), Email, false},
	}
	for _, c := range cases {
		if got := Consent(c.traits, c.ch); got != c.want {
			t.Errorf("Consent(%v, %q) = %v, want %v", c.traits, c.ch, got, c.want)
		}
	}
}
