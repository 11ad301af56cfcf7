package destination

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/segd/segd/internal/store"
)

// memFeed is an in-memory, ordered change feed.
type memFeed struct {
	mu      sync.Mutex
	changes map[uint32][]Change
	wake    chan struct{} // closed and replaced on every append
}

func newMemFeed() *memFeed {
	return &memFeed{changes: map[uint32][]Change{}, wake: make(chan struct{})}
}

// add appends one change per (profile, segment, kind) and returns their seqs.
func (f *memFeed) add(ws uint32, pid uint32, segID, seg, kind string) uint64 {
	f.mu.Lock()
	defer f.mu.Unlock()
	seq := uint64(len(f.changes[ws]) + 1)
	now := time.Now()
	f.changes[ws] = append(f.changes[ws], Change{Seq: seq, SegmentID: segID, Segment: seg, Profile: pid, Kind: kind,
		EventTime: now.Add(-time.Second), At: now, Reason: json.RawMessage(fmt.Sprintf(`{"event":"e%d"}`, seq))})
	close(f.wake)
	f.wake = make(chan struct{})
	return seq
}

func (f *memFeed) Read(ctx context.Context, ws uint32, after uint64, limit int) ([]Change, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	all := f.changes[ws]
	if after >= uint64(len(all)) {
		return nil, nil
	}
	end := min(len(all), int(after)+limit)
	return append([]Change(nil), all[after:end]...), nil
}

func (f *memFeed) Wait(ctx context.Context, ws uint32, after uint64) error {
	f.mu.Lock()
	if uint64(len(f.changes[ws])) > after {
		f.mu.Unlock()
		return nil
	}
	wake := f.wake
	f.mu.Unlock()
	select {
	case <-wake:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (f *memFeed) Head(ws uint32) (uint64, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return uint64(len(f.changes[ws])), nil
}

type fakeProfiles struct{}

func (fakeProfiles) Describe(ws, pid uint32, traits []string) (map[string][]string, map[string]any, error) {
	if pid == 999 {
		return nil, nil, fmt.Errorf("gone: %w", ErrNoProfile)
	}
	tv := map[string]any{}
	for _, t := range traits {
		tv[t] = fmt.Sprintf("%s-of-%d", t, pid)
	}
	return map[string][]string{"userId": {fmt.Sprintf("u%d", pid)}}, tv, nil
}

type fakeMembers struct {
	mu sync.Mutex
	m  map[string]map[uint32]bool
}

func (f *fakeMembers) set(seg string, pid uint32, in bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.m == nil {
		f.m = map[string]map[uint32]bool{}
	}
	if f.m[seg] == nil {
		f.m[seg] = map[uint32]bool{}
	}
	f.m[seg][pid] = in
}

func (f *fakeMembers) IsMember(ws uint32, seg string, pid uint32) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.m[seg][pid]
}

// openStore opens a store with opts and returns it with its workspace, created when it has none.
func openStore(t *testing.T, opts store.Options) (*store.Store, uint32) {
	t.Helper()
	opts.CacheBytes = 8 << 20
	st, err := store.Open(opts)
	if err != nil {
		t.Fatal(err)
	}
	wss, err := st.Workspaces()
	if err != nil {
		t.Fatal(err)
	}
	if len(wss) > 0 {
		return st, wss[0].ID
	}
	w, _, err := st.CreateWorkspace("w", store.Keys{})
	if err != nil {
		t.Fatal(err)
	}
	return st, w.ID
}

type env struct {
	t       *testing.T
	opts    store.Options // where the store lives
	st      *store.Store
	ws      uint32
	feed    *memFeed
	members *fakeMembers
	m       *Manager
	consent map[uint32]bool // profiles that consented to the "email" channel

	denyPrivate bool // refuse loopback webhooks, as production does by default
}

func newEnv(t *testing.T) *env {
	return newEnvOn(t, store.Options{Dir: t.TempDir()})
}

// newEnvOn is newEnv with the store at opts (an in-memory file system, say).
func newEnvOn(t *testing.T, opts store.Options) *env {
	e := &env{t: t, opts: opts, feed: newMemFeed(), members: &fakeMembers{}}
	e.st, e.ws = openStore(t, opts)
	t.Cleanup(func() { e.st.Close() })
	e.start()
	t.Cleanup(func() {
		if e.m != nil {
			e.m.Close()
		}
	})
	return e
}

func (e *env) start() {
	e.t.Helper()
	m, err := New(Options{Store: e.st, Feed: e.feed, Profiles: fakeProfiles{}, Members: e.members,
		Consent:      func(ws, pid uint32, ch string) bool { return ch == "email" && e.consent[pid] },
		AllowPrivate: func(uint32) bool { return !e.denyPrivate }, // receivers are on loopback
		Logger:       slog.New(slog.DiscardHandler)})
	if err != nil {
		e.t.Fatal(err)
	}
	if err := m.Start(); err != nil {
		e.t.Fatal(err)
	}
	e.m = m
}

// restart stops the manager, closes and reopens the store from disk and starts a new manager.
func (e *env) restart() {
	e.t.Helper()
	e.m.Close()
	if err := e.st.Close(); err != nil {
		e.t.Fatal(err)
	}
	e.st, _ = openStore(e.t, e.opts)
	e.start()
}

func (e *env) put(c Config) {
	e.t.Helper()
	if _, err := e.m.Put(e.ws, c); err != nil {
		e.t.Fatal(err)
	}
}

// receiver is an httptest webhook receiver that records the changes of every batch it
// accepted, in arrival order, and checks signatures.
type receiver struct {
	srv    *httptest.Server
	secret string
	mu     sync.Mutex
	got    []Delivery
	badSig int
	reqs   int
	// fail, if set, decides the answer before the batch is accepted: 0 means accept.
	fail func(b *Batch) int
}

func newReceiver(t *testing.T, secret string) *receiver {
	rc := &receiver{secret: secret}
	rc.srv = httptest.NewServer(http.HandlerFunc(rc.serve))
	t.Cleanup(rc.srv.Close)
	return rc
}

func (rc *receiver) serve(w http.ResponseWriter, r *http.Request) {
	body := make([]byte, 0, 4096)
	buf := make([]byte, 4096)
	for {
		n, err := r.Body.Read(buf)
		body = append(body, buf[:n]...)
		if err != nil {
			break
		}
	}
	var b Batch
	if err := json.Unmarshal(body, &b); err != nil {
		http.Error(w, err.Error(), 400)
		return
	}
	rc.mu.Lock()
	rc.reqs++
	if VerifySignature(rc.secret, r.Header.Get(HeaderTimestamp), body, r.Header.Get(HeaderSignature), time.Minute) != nil {
		rc.badSig++
	}
	fail := rc.fail
	rc.mu.Unlock()
	if fail != nil {
		if code := fail(&b); code != 0 {
			if code == -1 { // drop the connection without an answer
				if hj, ok := w.(http.Hijacker); ok {
					c, _, _ := hj.Hijack()
					c.Close()
					return
				}
			}
			w.WriteHeader(code)
			return
		}
	}
	rc.mu.Lock()
	rc.got = append(rc.got, b.Changes...)
	rc.mu.Unlock()
	w.WriteHeader(204)
}

func (rc *receiver) setFail(f func(b *Batch) int) {
	rc.mu.Lock()
	rc.fail = f
	rc.mu.Unlock()
}

func (rc *receiver) received() []Delivery {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]Delivery(nil), rc.got...)
}

// ids returns the set of change ids received.
func ids(ds []Delivery) map[string]int {
	out := map[string]int{}
	for _, d := range ds {
		out[d.ID]++
	}
	return out
}

var dbgStatus func() string

func waitFor(t *testing.T, what string, d time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			if dbgStatus != nil {
				t.Log(dbgStatus())
			}
			t.Fatalf("timed out after %s waiting for %s", d, what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func webhookConfig(id, url, secret string) Config {
	return Config{ID: id, Kind: TypeWebhook, Webhook: &WebhookConfig{URL: url, Secret: secret, Timeout: Duration(2 * time.Second)},
		BatchSize: 20, Linger: Duration(time.Millisecond), BackoffInitial: Duration(time.Millisecond),
		BackoffMax: Duration(20 * time.Millisecond), MaxAttempts: 1000}
}
