package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/segd/segd/internal/store"
)

// The chaos harness runs the real segd binary under continuous load (tracking batches with
// identity merges, record upserts, segment creates and edits) and SIGKILLs it at random
// moments, at least 20 times. After every restart it checks everything acknowledged so far:
// every acknowledged message stored exactly once, eventCount equal to the stored events,
// no stored message that was never sent, every acknowledged record and segment version
// present. Each kind of load is a chaosHook; real-time segments and destinations add theirs
// to chaosHooks (their Verify compares live membership with a full recomputation and checks
// destination cursors).

// chaosHook is one kind of load with its check.
type chaosHook interface {
	// Name labels the hook in logs.
	Name() string
	// Setup runs once against the first server; a hook that is not available (route 404)
	// returns false and is skipped for the run.
	Setup(t *testing.T, url string) bool
	// Load sends requests until ctx ends, recording what was acknowledged. url() is the
	// server's current address (it changes at every restart).
	Load(ctx context.Context, worker int, url func() string)
	// Verify checks everything acknowledged so far against the restarted server, with no
	// load running.
	Verify(t *testing.T, url string)
}

// chaosHooks lists the load of the harness; add real-time segment and destination hooks here.
func chaosHooks() []chaosHook {
	return []chaosHook{&messagesHook{users: 24}, &recordsHook{}, &segmentsHook{}, &realtimeHook{}}
}

func TestChaosKillNine(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the segd binary")
	}
	const kills = 20
	start := time.Now()
	bin := segdBinary(t)
	dir := t.TempDir()
	p := startProc(t, bin, dir)
	var url atomic.Value
	url.Store(p.url)
	cur := func() string { return url.Load().(string) }

	var hooks []chaosHook
	for _, h := range chaosHooks() {
		if h.Setup(t, p.url) {
			hooks = append(hooks, h)
		} else {
			t.Logf("hook %s not available on this server; skipped", h.Name())
		}
	}
	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 7))
	var restartTotal time.Duration
	for k := 0; k < kills; k++ {
		ctx, cancel := context.WithCancel(context.Background())
		var wg sync.WaitGroup
		for _, h := range hooks {
			workers := 1
			if _, ok := h.(*messagesHook); ok {
				workers = 4
			}
			for w := 0; w < workers; w++ {
				wg.Add(1)
				go func(h chaosHook, w int) {
					defer wg.Done()
					h.Load(ctx, w, cur)
				}(h, w)
			}
		}
		// kill at a random moment, including right after start and mid-commit
		time.Sleep(time.Duration(50+rng.IntN(700)) * time.Millisecond)
		p.kill()
		cancel()
		wg.Wait()

		t0 := time.Now()
		p = startProc(t, bin, dir)
		restartTotal += time.Since(t0)
		url.Store(p.url)
		for _, h := range hooks {
			h.Verify(t, p.url)
		}
		if t.Failed() {
			p.kill()
			t.Fatalf("after kill %d", k+1)
		}
	}
	p.kill()
	for _, h := range hooks {
		if s, ok := h.(fmt.Stringer); ok {
			t.Logf("%s: %s", h.Name(), s)
		}
	}
	t.Logf("survived %d kills in %s (mean restart to ready %s)", kills, time.Since(start).Round(time.Millisecond), (restartTotal / kills).Round(time.Millisecond))
}

// chaosClient has a short timeout: a request to a killed server must not hang the harness.
var chaosClient = &http.Client{Timeout: 3 * time.Second}

// send posts JSON and reports the status (0 when the server did not answer).
func send(ctx context.Context, method, url, auth string, basic bool, body any, out any) int {
	var r io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		r = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, url, r)
	if err != nil {
		return 0
	}
	if basic {
		req.SetBasicAuth(auth, "")
	} else {
		req.Header.Set("Authorization", "Bearer "+auth)
	}
	resp, err := chaosClient.Do(req)
	if err != nil {
		return 0
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0 // the answer was cut: not an acknowledgement
	}
	if out != nil {
		json.Unmarshal(b, out)
	}
	return resp.StatusCode
}

// ---- messages: batches of track and identify calls, with anonymous visitors that identify
// later (merges) ----

type messagesHook struct {
	users int
	mu    sync.Mutex
	sent  map[string]bool
	acked map[string]bool
	n     atomic.Int64
	// checked counts acknowledged messages verified, over all restarts
	checked, stored int
}

func (h *messagesHook) Name() string { return "messages" }
func (h *messagesHook) String() string {
	return fmt.Sprintf("%d messages acknowledged, %d acknowledged-message checks over all restarts", len(h.acked), h.checked)
}

func (h *messagesHook) Setup(t *testing.T, url string) bool {
	h.sent, h.acked = map[string]bool{}, map[string]bool{}
	return true
}

func (h *messagesHook) Load(ctx context.Context, w int, url func() string) {
	rng := rand.New(rand.NewPCG(uint64(w), uint64(time.Now().UnixNano())))
	for ctx.Err() == nil {
		b := h.n.Add(1)
		var batch []map[string]any
		ids := make([]string, 0, 20)
		for j := 0; j < 20; j++ {
			id := fmt.Sprintf("m%d-%d", b, j)
			u := rng.IntN(h.users)
			var m map[string]any
			switch rng.IntN(10) {
			case 0: // the visitor identifies: merges anon-u into user-u
				plan := []string{"pro", "free"}[rng.IntN(2)]
				m = map[string]any{"type": "identify", "userId": fmt.Sprintf("user-%d", u), "anonymousId": fmt.Sprintf("anon-%d", u),
					"traits": map[string]any{"plan": plan, "email": fmt.Sprintf("u%d@example.com", u)}}
			case 1, 2, 3: // anonymous browsing
				m = map[string]any{"type": "page", "name": "Home", "anonymousId": fmt.Sprintf("anon-%d", u)}
			default:
				m = map[string]any{"type": "track", "event": "Tick", "userId": fmt.Sprintf("user-%d", u), "properties": map[string]any{"n": j}}
			}
			m["messageId"] = id
			batch = append(batch, m)
			ids = append(ids, id)
		}
		h.mu.Lock()
		for _, id := range ids {
			h.sent[id] = true
		}
		h.mu.Unlock()
		if send(ctx, "POST", url()+"/v1/batch", testWriteKey, true, map[string]any{"batch": batch}, nil) == 200 {
			h.mu.Lock()
			for _, id := range ids {
				h.acked[id] = true
			}
			h.mu.Unlock()
		} else {
			time.Sleep(20 * time.Millisecond)
		}
	}
}

func (h *messagesHook) Verify(t *testing.T, url string) {
	ctx := context.Background()
	pids := map[uint32]bool{}
	for u := 0; u < h.users; u++ {
		for _, q := range []string{"userId=user-", "anonymousId=anon-"} {
			var p profileAnswer
			code := send(ctx, "GET", fmt.Sprintf("%s/api/v1/profiles?%s%d", url, q, u), testAdmin, false, nil, &p)
			if code == 200 {
				pids[p.ID] = true
			} else if code != 404 {
				t.Errorf("profile %s%d: %d", q, u, code)
			}
		}
	}
	counts := map[string]int{}
	for pid := range pids {
		var p profileAnswer
		if code := send(ctx, "GET", fmt.Sprintf("%s/api/v1/profiles/%d", url, pid), testAdmin, false, nil, &p); code != 200 {
			t.Errorf("profile %d: %d", pid, code)
			continue
		}
		var evs struct {
			Events []struct {
				MessageID string `json:"messageId"`
			} `json:"events"`
		}
		if code := send(ctx, "GET", fmt.Sprintf("%s/api/v1/profiles/%d/events?limit=10000", url, pid), testAdmin, false, nil, &evs); code != 200 {
			t.Errorf("events of profile %d: %d", pid, code)
		}
		for _, e := range evs.Events {
			counts[e.MessageID]++
		}
		if int64(len(evs.Events)) != p.EventCount {
			t.Errorf("profile %d: eventCount %d but %d events stored", pid, p.EventCount, len(evs.Events))
		}
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	lost := 0
	for id := range h.acked {
		if counts[id] == 0 {
			lost++
		}
	}
	for id, n := range counts {
		if n > 1 {
			t.Errorf("message %s stored %d times", id, n)
		}
		if !h.sent[id] {
			t.Errorf("stored message %s was never sent", id)
		}
	}
	if lost > 0 {
		t.Errorf("%d of %d acknowledged messages lost", lost, len(h.acked))
	}
	h.checked += len(h.acked)
	h.stored = len(counts)
}

// ---- records: upserts of tickets whose "version" attribute only grows ----

type recordsHook struct {
	mu      sync.Mutex
	acked   map[string]float64 // record id → highest acknowledged version
	sent    map[string]float64 // record id → highest sent version
	version atomic.Int64
}

func (h *recordsHook) Name() string { return "records" }
func (h *recordsHook) String() string {
	return fmt.Sprintf("%d records with acknowledged upserts", len(h.acked))
}

func (h *recordsHook) Setup(t *testing.T, url string) bool {
	h.acked, h.sent = map[string]float64{}, map[string]float64{}
	return true
}

func (h *recordsHook) Load(ctx context.Context, w int, url func() string) {
	for ctx.Err() == nil {
		v := float64(h.version.Add(1))
		id := fmt.Sprintf("t%d", int(v)%10)
		h.mu.Lock()
		h.sent[id] = max(h.sent[id], v)
		h.mu.Unlock()
		body := map[string]any{"records": []map[string]any{{"id": id, "profile": map[string]string{"userId": "ticket-owner"},
			"attributes": map[string]any{"version": v, "status": "open"}}}}
		if send(ctx, "POST", url()+"/api/v1/records/ticket", testAdmin, false, body, nil)/100 == 2 {
			h.mu.Lock()
			h.acked[id] = max(h.acked[id], v)
			h.mu.Unlock()
		} else {
			time.Sleep(20 * time.Millisecond)
		}
	}
}

func (h *recordsHook) Verify(t *testing.T, url string) {
	ctx := context.Background()
	h.mu.Lock()
	defer h.mu.Unlock()
	if len(h.acked) == 0 {
		return
	}
	var p profileAnswer
	if code := send(ctx, "GET", url+"/api/v1/profiles?userId=ticket-owner", testAdmin, false, nil, &p); code != 200 {
		t.Errorf("ticket owner: %d", code)
		return
	}
	var recs struct {
		Records []struct {
			ID         string         `json:"id"`
			Attributes map[string]any `json:"attributes"`
		} `json:"records"`
	}
	send(ctx, "GET", fmt.Sprintf("%s/api/v1/profiles/%d/records", url, p.ID), testAdmin, false, nil, &recs)
	got := map[string]float64{}
	for _, r := range recs.Records {
		if _, dup := got[r.ID]; dup {
			t.Errorf("record %s listed twice", r.ID)
		}
		v, _ := r.Attributes["version"].(float64)
		got[r.ID] = v
	}
	for id, v := range h.acked {
		if got[id] < v {
			t.Errorf("record %s: stored version %v older than the acknowledged %v", id, got[id], v)
		}
		if got[id] > h.sent[id] {
			t.Errorf("record %s: stored version %v was never sent", id, got[id])
		}
	}
}

// ---- segments: creates and edits through POST/PUT /api/v1/segments ----

type segmentsHook struct {
	mu      sync.Mutex
	acked   map[string]chaosSegment // id → latest acknowledged version
	n       atomic.Int64
	updates int
}

type chaosSegment struct {
	ID      string `json:"id"`
	Name    string `json:"name"`
	Query   string `json:"query"`
	Version int    `json:"version"`
}

func (h *segmentsHook) Name() string { return "segments" }
func (h *segmentsHook) String() string {
	return fmt.Sprintf("%d segments, %d acknowledged edits", len(h.acked), h.updates)
}

func (h *segmentsHook) Setup(t *testing.T, url string) bool {
	h.acked = map[string]chaosSegment{}
	var out map[string]any
	return send(context.Background(), "GET", url+"/api/v1/segments?sizes=false", testAdmin, false, nil, &out) == 200
}

func (h *segmentsHook) Load(ctx context.Context, w int, url func() string) {
	for ctx.Err() == nil {
		n := h.n.Add(1)
		h.mu.Lock()
		var target *chaosSegment
		if len(h.acked) > 0 && n%3 != 0 {
			for _, s := range h.acked {
				target = &s
				break
			}
		}
		h.mu.Unlock()
		var got chaosSegment
		var code int
		query := []string{`plan = "pro"`, `plan = "free"`, `plan in ["pro", "free"]`}[n%3]
		if target == nil {
			code = send(ctx, "POST", url()+"/api/v1/segments", testAdmin, false, map[string]any{"name": fmt.Sprintf("chaos-%d", n), "query": query}, &got)
		} else {
			code = send(ctx, "PUT", url()+"/api/v1/segments/"+target.ID, testAdmin, false, map[string]any{"query": query}, &got)
		}
		if code/100 == 2 && got.ID != "" {
			h.mu.Lock()
			if got.Version > h.acked[got.ID].Version {
				h.acked[got.ID] = got
			}
			if target != nil {
				h.updates++
			}
			h.mu.Unlock()
		} else {
			time.Sleep(30 * time.Millisecond)
		}
	}
}

func (h *segmentsHook) Verify(t *testing.T, url string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for id, want := range h.acked {
		var got chaosSegment
		if code := send(context.Background(), "GET", url+"/api/v1/segments/"+id+"?sizes=false", testAdmin, false, nil, &got); code != 200 {
			t.Errorf("acknowledged segment %s (%s): %d", id, want.Name, code)
			continue
		}
		if got.Version < want.Version || (got.Version == want.Version && got.Query != want.Query) {
			t.Errorf("segment %s: stored version %d %q, acknowledged version %d %q", id, got.Version, got.Query, want.Version, want.Query)
		}
	}
}

// TestBackupRestore takes an online backup with "segd backup DIR --url" while the server is
// under load, and a second one at rest; restores both with "segd restore" and compares the
// restored store with the original: every message acknowledged before the first backup is in
// it, and the second has the same events, profiles, records and an identical sample profile.
// It also checks the offline backup and restore's refusal of a non-empty target.
func TestBackupRestore(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the segd binary")
	}
	bin := segdBinary(t)
	root := t.TempDir()
	data := filepath.Join(root, "data")
	p := startProc(t, bin, data)
	defer func() { p.kill() }()
	msgs := &messagesHook{users: 10}
	msgs.Setup(t, p.url)
	recs := &recordsHook{}
	recs.Setup(t, p.url)
	url := func() string { return p.url }
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for w := 0; w < 3; w++ {
		wg.Add(1)
		go func(w int) { defer wg.Done(); msgs.Load(ctx, w, url) }(w)
	}
	wg.Add(1)
	go func() { defer wg.Done(); recs.Load(ctx, 0, url) }()
	time.Sleep(700 * time.Millisecond)

	segd := func(args ...string) (string, error) {
		cmd := exec.Command(bin, args...)
		cmd.Env = append(os.Environ(), "SEGD_ADMIN_TOKEN="+testAdmin)
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	msgs.mu.Lock()
	ackedBefore := maps.Clone(msgs.acked)
	msgs.mu.Unlock()
	live := filepath.Join(root, "backup-live")
	if out, err := segd("backup", live, "--url", p.url); err != nil {
		t.Fatalf("online backup under load: %v\n%s", err, out)
	}
	cancel()
	wg.Wait()
	rest := filepath.Join(root, "backup-rest")
	if out, err := segd("backup", rest, "--url", p.url); err != nil {
		t.Fatalf("online backup at rest: %v\n%s", err, out)
	}
	if out, err := segd("backup", rest, "--url", p.url); err == nil || !strings.Contains(out, "exists") {
		t.Fatalf("backup into an existing directory: %v %s", err, out)
	}
	if out, err := segd("backup", filepath.Join(root, "x"), "--url", p.url, "--token", "wrong"); err == nil || !strings.Contains(out, "401") {
		t.Fatalf("backup with a wrong token: %v %s", err, out)
	}
	p.kill()
	orig := storeSummary(t, data)

	// the backup taken under load holds everything acknowledged before it started
	restoredLive := filepath.Join(root, "restored-live")
	if out, err := segd("restore", live, "--data", restoredLive); err != nil {
		t.Fatalf("restore: %v\n%s", err, out)
	}
	st, err := store.Open(store.Options{Dir: restoredLive})
	if err != nil {
		t.Fatal(err)
	}
	missing := 0
	for id := range ackedBefore {
		if ok, err := st.HasMessage(1, id); err != nil || !ok {
			missing++
		}
	}
	st.Close()
	if missing > 0 {
		t.Fatalf("%d of %d messages acknowledged before the online backup are missing from it", missing, len(ackedBefore))
	}

	// the backup at rest equals the original
	restored := filepath.Join(root, "restored")
	if out, err := segd("restore", rest, "--data", restored); err != nil {
		t.Fatalf("restore: %v\n%s", err, out)
	}
	if got := storeSummary(t, restored); got != orig {
		t.Fatalf("restored store differs:\noriginal: %s\nrestored: %s", orig, got)
	}
	// and serves
	p = startProc(t, bin, restored)
	var prof profileAnswer
	if code := send(context.Background(), "GET", p.url+"/api/v1/profiles?userId=user-1", testAdmin, false, nil, &prof); code != 200 || prof.EventCount == 0 {
		t.Fatalf("restored server: profile user-1: %d %+v", code, prof)
	}
	p.kill()

	// restore refuses a non-empty target without --force, and moves it aside with it
	if out, err := segd("restore", rest, "--data", restored); err == nil || !strings.Contains(out, "not empty") {
		t.Fatalf("restore into a non-empty directory: %v %s", err, out)
	}
	if out, err := segd("restore", rest, "--data", restored, "--force"); err != nil || !strings.Contains(out, "moved to") {
		t.Fatalf("restore --force: %v %s", err, out)
	}
	// offline backup of a stopped server
	off := filepath.Join(root, "backup-offline")
	if out, err := segd("backup", "--data", data, off); err != nil {
		t.Fatalf("offline backup: %v\n%s", err, out)
	}
	if got := storeSummary(t, off); got != orig {
		t.Fatalf("offline backup differs:\noriginal: %s\nbackup:   %s", orig, got)
	}
	t.Logf("original and restored: %s; %d messages acknowledged before the online backup under load all present", orig, len(ackedBefore))
}

// storeSummary opens a stopped data directory and describes it: counts of events, profiles and
// records of the default workspace and the JSON of one profile.
func storeSummary(t *testing.T, dir string) string {
	t.Helper()
	st, err := store.Open(store.Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	events, err := st.CountEvents(1)
	if err != nil {
		t.Fatal(err)
	}
	profiles, records := 0, 0
	st.ScanProfiles(1, func(*store.Profile) error { profiles++; return nil })
	st.ScanRecords(1, func(*store.Record) error { records++; return nil })
	pid, err := st.Lookup(1, "userId", "user-1")
	if err != nil {
		t.Fatalf("%s: user-1: %v", dir, err)
	}
	p, err := st.Profile(1, pid)
	if err != nil {
		t.Fatal(err)
	}
	pj, _ := json.Marshal(p)
	return fmt.Sprintf("events=%d profiles=%d records=%d user-1=%s", events, profiles, records, pj)
}
