package ingest

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"reflect"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/segd/segd/internal/message"
	"github.com/segd/segd/internal/store"
	"github.com/segd/segd/internal/store/storetest"
)

type fixture struct {
	t       *testing.T
	st      *store.Store
	p       *Pipeline
	ws      uint32
	mu      sync.Mutex
	changes []Change
	n       int
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	st, err := store.Open(store.Options{Dir: "/data", FS: vfs.NewMem()})
	if err != nil {
		t.Fatal(err)
	}
	w, _, err := st.CreateWorkspace("default", store.Keys{})
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{t: t, st: st, ws: w.ID}
	f.p, err = NewPipeline(Options{Store: st, OnCommit: func(cs []Change) {
		f.mu.Lock()
		f.changes = append(f.changes, cs...)
		f.mu.Unlock()
	}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.p.Close(); st.Close() })
	return f
}

var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// send appends one message built from the fields and returns its outcome.
func (f *fixture) send(typ message.Type, userID, anonID string, traits map[string]any) Outcome {
	f.t.Helper()
	f.n++
	m := message.Message{Type: typ, MessageID: fmt.Sprintf("m%d", f.n), UserID: userID, AnonymousID: anonID,
		Traits: traits, Timestamp: t0.Add(time.Duration(f.n) * time.Minute), ReceivedAt: t0}
	if typ == message.Track {
		m.Event = "Clicked"
	}
	out, err := f.p.Append(context.Background(), f.ws, []message.Message{m})
	if err != nil {
		f.t.Fatal(err)
	}
	return out[0]
}

func (f *fixture) profileOf(typ, value string) *store.Profile {
	f.t.Helper()
	pid, err := f.st.Lookup(f.ws, typ, value)
	if err != nil {
		f.t.Fatalf("lookup %s=%s: %v", typ, value, err)
	}
	p, err := f.st.Profile(f.ws, pid)
	if err != nil {
		f.t.Fatal(err)
	}
	return p
}

func TestAnonymousThenIdentifyIsOneProfile(t *testing.T) {
	f := newFixture(t)
	a := f.send(message.Track, "", "anon-1", nil)
	f.send(message.Page, "", "anon-1", nil)
	b := f.send(message.Identify, "u1", "anon-1", map[string]any{"email": "Ann@Example.org", "plan": "pro"})
	c := f.send(message.Track, "u1", "", nil)
	if a.Profile != b.Profile || b.Profile != c.Profile {
		t.Fatalf("profiles %d %d %d, want one", a.Profile, b.Profile, c.Profile)
	}
	p := f.profileOf("email", "ann@example.org")
	if p.Events != 4 || p.Traits["plan"].V != "pro" || len(p.Identifiers) != 3 {
		t.Fatalf("profile = %+v", p)
	}
}

func TestAliasLinksPreviousID(t *testing.T) {
	f := newFixture(t)
	a := f.send(message.Track, "", "anon-9", nil)
	f.n++
	out, err := f.p.Append(context.Background(), f.ws, []message.Message{{Type: message.Alias, MessageID: "alias-1",
		PreviousID: "anon-9", UserID: "u9", Timestamp: t0, ReceivedAt: t0}})
	if err != nil {
		t.Fatal(err)
	}
	c := f.send(message.Track, "u9", "", nil)
	if out[0].Profile != a.Profile || c.Profile != a.Profile {
		t.Fatalf("alias did not link: %d %d %d", a.Profile, out[0].Profile, c.Profile)
	}
}

func TestSharedEmailMergesWithLog(t *testing.T) {
	f := newFixture(t)
	a := f.send(message.Identify, "", "anon-a", map[string]any{"email": "kim@shop.vn", "city": "Hanoi"})
	b := f.send(message.Identify, "u2", "", map[string]any{"city": "Saigon"})
	if a.Profile == b.Profile {
		t.Fatal("two different people share a profile before the link")
	}
	c := f.send(message.Track, "u2", "", map[string]any{"email": "kim@shop.vn"}) // track traits don't set traits but link
	_ = c
	d := f.send(message.Identify, "u2", "", map[string]any{"email": "KIM@shop.vn"})
	p := f.profileOf("anonymousId", "anon-a")
	if d.Profile != p.ID || f.profileOf("userId", "u2").ID != p.ID {
		t.Fatalf("not merged: %d vs %d", d.Profile, p.ID)
	}
	if p.Events != 4 {
		t.Fatalf("survivor has %d events, want 4", p.Events)
	}
	merges, err := f.st.AllMerges(f.ws)
	if err != nil || len(merges) != 1 {
		t.Fatalf("merges = %v %v", merges, err)
	}
	if m := merges[0]; m.Into != p.ID || m.MovedEvents == 0 || m.MessageID == "" {
		t.Fatalf("merge log entry = %+v", m)
	}
	evs, _ := f.st.Events(f.ws, p.ID, time.Time{}, 0)
	if len(evs) != 4 {
		t.Fatalf("timeline has %d events, want 4", len(evs))
	}
}

func TestBlockedValueLinksNothing(t *testing.T) {
	f := newFixture(t)
	a := f.send(message.Identify, "ua", "", map[string]any{"email": "test@test.com"})
	b := f.send(message.Identify, "ub", "", map[string]any{"email": "test@test.com"})
	c := f.send(message.Identify, "uc", "", map[string]any{"email": "null"})
	if a.Profile == b.Profile || b.Profile == c.Profile {
		t.Fatal("a blocked email linked two profiles")
	}
	if _, err := f.st.Lookup(f.ws, "email", "test@test.com"); err == nil {
		t.Fatal("blocked email was stored as an identifier")
	}
}

func TestSecondUserIDOverLimitDoesNotMerge(t *testing.T) {
	f := newFixture(t)
	a := f.send(message.Identify, "first", "device-1", nil)
	b := f.send(message.Identify, "second", "device-1", nil) // shared device, a different person
	if a.Profile == b.Profile {
		t.Fatal("second userId joined the first user's profile")
	}
	if n := f.profileOf("userId", "first").CountType("userId"); n != 1 {
		t.Fatalf("first profile has %d userIds", n)
	}
	// and an explicit link between the two users' profiles does not merge them either
	f.send(message.Identify, "second", "", map[string]any{"email": "x@y.org"})
	f.send(message.Identify, "first", "", map[string]any{"email": "x@y.org"})
	if f.profileOf("userId", "first").ID == f.profileOf("userId", "second").ID {
		t.Fatal("profiles with different userIds merged")
	}
}

func TestDuplicateMessageIDStoredOnce(t *testing.T) {
	f := newFixture(t)
	m := message.Message{Type: message.Track, Event: "X", MessageID: "dup", UserID: "u", Timestamp: t0, ReceivedAt: t0}
	for i := 0; i < 3; i++ {
		out, err := f.p.Append(context.Background(), f.ws, []message.Message{m, m})
		if err != nil {
			t.Fatal(err)
		}
		if i == 0 && (out[0].Status != Accepted || out[1].Status != Duplicate) {
			t.Fatalf("outcomes %v", out)
		}
	}
	if p := f.profileOf("userId", "u"); p.Events != 1 {
		t.Fatalf("%d events stored, want 1", p.Events)
	}
}

func TestEraseWithSuppression(t *testing.T) {
	f := newFixture(t)
	a := f.send(message.Identify, "gone", "", map[string]any{"email": "gone@x.org"})
	if _, err := f.p.UpsertRecords(context.Background(), f.ws, []RecordInput{{Type: "tickets", ID: "t1", Identity: map[string]string{"email": "gone@x.org"}, Attributes: map[string]any{"status": "open"}}}); err != nil {
		t.Fatal(err)
	}
	if err := f.p.Erase(context.Background(), f.ws, a.Profile, true); err != nil {
		t.Fatal(err)
	}
	if _, err := f.st.Profile(f.ws, a.Profile); err == nil {
		t.Fatal("profile still there")
	}
	if evs, _ := f.st.Events(f.ws, a.Profile, time.Time{}, 0); len(evs) != 0 {
		t.Fatal("events still there")
	}
	if out := f.send(message.Track, "", "", map[string]any{"email": "gone@x.org"}); out.Status != Suppressed {
		// anonymous with only an email in traits: identified by email, which is suppressed
		t.Fatalf("suppressed identifier collected again: %v", out.Status)
	}
	n := 0
	f.st.ScanRecords(f.ws, func(*store.Record) error { n++; return nil })
	if n != 0 {
		t.Fatal("records survived erasure")
	}
}

func TestConcurrentAppendsGroupCommit(t *testing.T) {
	f := newFixture(t)
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 50; i++ {
				batch := make([]message.Message, 10)
				for j := range batch {
					batch[j] = message.Message{Type: message.Track, Event: "E", MessageID: fmt.Sprintf("%d-%d-%d", g, i, j),
						UserID: fmt.Sprintf("u%d", j), Timestamp: t0, ReceivedAt: t0}
				}
				if _, err := f.p.Append(context.Background(), f.ws, batch); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	n, _ := f.st.CountEvents(f.ws)
	if n != 8*50*10 {
		t.Fatalf("%d events, want %d", n, 8*50*10)
	}
}

func TestExternalIDsLinkProfiles(t *testing.T) {
	f := newFixture(t)
	ctx := map[string]any{"externalIds": []any{map[string]any{"id": "C-77", "type": "customer_id", "collection": "users"}}}
	m1 := message.Message{Type: message.Identify, MessageID: "x1", AnonymousID: "a1", Context: ctx, Timestamp: t0, ReceivedAt: t0}
	m2 := message.Message{Type: message.Identify, MessageID: "x2", AnonymousID: "a2", Context: ctx, Timestamp: t0, ReceivedAt: t0}
	out, err := f.p.Append(context.Background(), f.ws, []message.Message{m1, m2})
	if err != nil {
		t.Fatal(err)
	}
	if out[0].Profile != out[1].Profile {
		t.Fatalf("shared external id did not link: %v", out)
	}
	if f.profileOf("customer_id", "C-77").ID != out[0].Profile {
		t.Fatal("external id not stored")
	}
}

// Traits of a later identify of a known profile (no new identifier) reach the stored record,
// not only the write path's in-memory copy.
func TestIdentifyTraitsOfKnownProfileAreStored(t *testing.T) {
	f := newFixture(t)
	f.send(message.Identify, "u1", "", map[string]any{"plan": "free"})
	f.send(message.Identify, "u1", "", map[string]any{"plan": "pro", "age": 31.0})
	p := f.profileOf("userId", "u1")
	if p.Traits["plan"].V != "pro" || p.Traits["age"].V != 31.0 {
		t.Fatalf("stored traits %v, want plan=pro age=31", p.TraitMap())
	}
}

// TestProfileTraitsEqualsRecord checks the store's traits-only read against the full record:
// for every profile id, merged-away ones included, it resolves to the same live profile and
// returns the same trait values (every JSON kind, escapes), or only the selected ones.
func TestProfileTraitsEqualsRecord(t *testing.T) {
	f := newFixture(t)
	f.send(message.Identify, "", "anon-a", map[string]any{"email": "kim@shop.vn", "city": "Hà Nội \"old\"", "age": 31.5,
		"vip": true, "gone": nil, "tags": []any{"a", 2.0}, "address": map[string]any{"zip": "100000"}})
	f.send(message.Identify, "u2", "", map[string]any{"city": "Saigon", "plan": "pro"})
	f.send(message.Identify, "u3", "", map[string]any{"plan": "free"})
	f.send(message.Identify, "u2", "", map[string]any{"email": "kim@shop.vn"}) // merges anon-a and u2
	keepCity := func(k string) bool { return k == "city" || k == "tags" }
	merged := 0
	for pid := uint32(1); pid <= 3; pid++ {
		rec, err := f.st.ProfileRecord(f.ws, pid)
		if err != nil {
			t.Fatal(err)
		}
		if rec.ID != pid {
			merged++
		}
		id, traits, err := f.st.ProfileTraits(f.ws, pid, nil)
		if err != nil {
			t.Fatal(err)
		}
		if id != rec.ID || !reflect.DeepEqual(traits, rec.TraitMap()) {
			t.Fatalf("profile %d: ProfileTraits %d %v, record %d %v", pid, id, traits, rec.ID, rec.TraitMap())
		}
		_, some, err := f.st.ProfileTraits(f.ws, pid, keepCity)
		if err != nil {
			t.Fatal(err)
		}
		want := map[string]any{}
		for k, v := range rec.TraitMap() {
			if keepCity(k) {
				want[k] = v
			}
		}
		if !reflect.DeepEqual(some, want) {
			t.Fatalf("profile %d filtered: %v, want %v", pid, some, want)
		}
	}
	if merged != 1 {
		t.Fatalf("%d merged-away profiles, want 1", merged)
	}
	if _, _, err := f.st.ProfileTraits(f.ws, 99, nil); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("missing profile: %v", err)
	}
}

// TestConcurrentRetriesStoredOnce: clients retrying the same messages at once, in small
// batches so that the dedupe reads made before queuing (prepare) and the commits interleave:
// each messageId is accepted exactly once and stored once.
func TestConcurrentRetriesStoredOnce(t *testing.T) {
	f := newFixture(t)
	const ids, clients = 600, 8
	accepted := make([]atomic.Int32, ids)
	var wg sync.WaitGroup
	for c := 0; c < clients; c++ {
		wg.Add(1)
		go func(c int) {
			defer wg.Done()
			order := rand.New(rand.NewPCG(uint64(c), 9)).Perm(ids)
			for len(order) > 0 {
				n := min(len(order), 1+len(order)%7)
				batch := make([]message.Message, n)
				for j, id := range order[:n] {
					batch[j] = message.Message{Type: message.Track, Event: "E", MessageID: fmt.Sprintf("m-%d", id),
						UserID: fmt.Sprintf("u%d", id%13), Timestamp: t0, ReceivedAt: t0}
				}
				out, err := f.p.Append(context.Background(), f.ws, batch)
				if err != nil {
					t.Error(err)
					return
				}
				for j, o := range out {
					if o.Status == Accepted {
						accepted[order[j]].Add(1)
					}
				}
				order = order[n:]
			}
		}(c)
	}
	wg.Wait()
	for id := range accepted {
		if n := accepted[id].Load(); n != 1 {
			t.Errorf("message m-%d accepted %d times", id, n)
		}
	}
	if n, _ := f.st.CountEvents(f.ws); n != ids {
		t.Fatalf("%d events stored, want %d", n, ids)
	}
}

// TestPublishesBeforeFsync: while the WAL's fsync hangs, the writes of later commits still
// reach OnCommit (so what is derived from them is not delayed by a slow disk), but no caller is
// acknowledged until the fsync of its commit completes; then every one is.
func TestPublishesBeforeFsync(t *testing.T) {
	gate := storetest.NewSyncGate()
	st, err := store.Open(store.Options{Dir: "/data", FS: gate.FS})
	if err != nil {
		t.Fatal(err)
	}
	w, _, err := st.CreateWorkspace("default", store.Keys{})
	if err != nil {
		t.Fatal(err)
	}
	published := make(chan []Change, 64)
	p, err := NewPipeline(Options{Store: st, OnCommit: func(cs []Change) { published <- cs }})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	defer p.Close()
	defer gate.Release() // before Close, which waits for the acknowledgements
	gate.Hold()
	const n = 5
	acked := make(chan int, n)
	for i := 0; i < n; i++ {
		m := message.Message{Type: message.Track, Event: "Clicked", MessageID: fmt.Sprint("slow", i), UserID: fmt.Sprint("u", i),
			Timestamp: t0, ReceivedAt: t0}
		wait, err := p.AppendAsync(context.Background(), w.ID, []message.Message{m})
		if err != nil {
			t.Fatal(err)
		}
		go func() {
			if _, err := wait(); err != nil {
				t.Error(err)
			}
			acked <- i
		}()
		// every commit is published while the first fsync still hangs
		select {
		case cs := <-published:
			if cs[len(cs)-1].Kind != EventAdded || cs[len(cs)-1].Event.UserID != fmt.Sprint("u", i) {
				t.Fatalf("published %+v for message %d", cs[len(cs)-1], i)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("message %d was not published while the fsync hangs", i)
		}
	}
	for deadline := time.Now().Add(5 * time.Second); gate.Held() == 0; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("no fsync was held")
		}
	}
	select {
	case i := <-acked:
		t.Fatalf("message %d acknowledged before its fsync completed", i)
	case <-time.After(100 * time.Millisecond):
	}
	gate.Release()
	for want := 0; want < n; want++ {
		select {
		case <-acked:
		case <-time.After(5 * time.Second):
			t.Fatalf("only %d of %d acknowledged after the fsync completed", want, n)
		}
	}
}
