package httpapi

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/segd/segd/internal/ingest"
	"github.com/segd/segd/internal/ratelimit"
	"github.com/segd/segd/internal/store"
)

type testEnv struct {
	st   *store.Store
	srv  *Server
	url  string
	keys map[string]store.Keys // workspace name → keys
}

func newEnv(t *testing.T, st *store.Store, p Protection, extra ...Route) *testEnv {
	t.Helper()
	if st == nil {
		var err error
		if st, err = store.Open(store.Options{Dir: "/d", FS: vfs.NewMem()}); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
	}
	e := &testEnv{st: st, keys: map[string]store.Keys{}}
	for _, name := range []string{"a", "b"} {
		_, k, err := st.CreateWorkspace(name, store.Keys{})
		if err != nil {
			t.Fatal(err)
		}
		e.keys[name] = k
	}
	pl, err := ingest.NewPipeline(ingest.Options{Store: st})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pl.Close() })
	e.srv, err = New(Options{Store: st, Log: pl, Protect: p, Extra: extra})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(e.srv)
	t.Cleanup(hs.Close)
	e.url = hs.URL
	return e
}

// do sends a request with a bearer secret and decodes the JSON answer into out (if not nil).
func (e *testEnv) do(t *testing.T, method, path, secret, body string, out any) *http.Response {
	t.Helper()
	req, _ := http.NewRequest(method, e.url+path, strings.NewReader(body))
	if secret != "" {
		req.Header.Set("Authorization", "Bearer "+secret)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			t.Fatalf("%s %s: %d %s: %v", method, path, resp.StatusCode, b, err)
		}
	}
	return resp
}

func TestRateLimit429WithRetryAfter(t *testing.T) {
	e := newEnv(t, nil, Protection{RateLimit: ratelimit.Options{Rate: 1, Burst: 3}})
	a, b := e.keys["a"], e.keys["b"]
	n := 0
	batch := func() string {
		n++
		return fmt.Sprintf(`{"batch":[{"type":"track","event":"x","userId":"u1","messageId":"m%d"}]}`, n)
	}
	for i := 0; i < 3; i++ {
		if r := e.do(t, "POST", "/v1/batch", a.WriteKey, batch(), nil); r.StatusCode != 200 {
			t.Fatalf("request %d within the burst: %d", i, r.StatusCode)
		}
	}
	var eb ErrorBody
	r := e.do(t, "POST", "/v1/batch", a.WriteKey, batch(), &eb)
	if r.StatusCode != 429 || eb.Error.Code != "rate_limited" {
		t.Fatalf("over the limit: %d %+v", r.StatusCode, eb)
	}
	if ra, err := strconv.Atoi(r.Header.Get("Retry-After")); err != nil || ra < 1 || ra > 2 {
		t.Fatalf("Retry-After %q", r.Header.Get("Retry-After"))
	}
	// limits are per key: b and a's admin token still work; probes are never limited
	if r := e.do(t, "POST", "/v1/batch", b.WriteKey, batch(), nil); r.StatusCode != 200 {
		t.Fatalf("another workspace's key limited: %d", r.StatusCode)
	}
	if r := e.do(t, "GET", "/api/v1/merges", a.AdminToken, "", nil); r.StatusCode != 200 {
		t.Fatalf("a's admin token limited by its write key's usage: %d", r.StatusCode)
	}
	for i := 0; i < 10; i++ {
		if r := e.do(t, "GET", "/healthz", "", "", nil); r.StatusCode != 200 {
			t.Fatalf("/healthz limited: %d", r.StatusCode)
		}
	}
	// the rejected batch was not stored: one user, three events
	pid, err := e.st.Lookup(1, "userId", "u1")
	if err != nil {
		t.Fatal(err)
	}
	if n, _ := e.st.CountEvents(1); n != 3 {
		t.Fatalf("workspace a has %d events (profile %d), want 3", n, pid)
	}
}

func TestRateLimitOffByDefault(t *testing.T) {
	e := newEnv(t, nil, Protection{})
	for i := 0; i < 50; i++ {
		if r := e.do(t, "GET", "/api/v1/merges", e.keys["a"].AdminToken, "", nil); r.StatusCode != 200 {
			t.Fatalf("request %d: %d", i, r.StatusCode)
		}
	}
	if d := DefaultProtection(); d.RateLimit.Rate < 100 || d.QueryTimeout <= 0 {
		t.Fatalf("default protection not generous or no query limit: %+v", d)
	}
}

func TestQueryTimeoutCancelsWithClearError(t *testing.T) {
	var cancelled atomic.Bool
	slow := func(w http.ResponseWriter, r *http.Request, ws uint32) {
		// a pathological evaluation: checks ctx per chunk like the engine does
		for i := 0; i < 1000; i++ {
			if err := r.Context().Err(); err != nil {
				cancelled.Store(true)
				WriteError(w, 500, "internal", fmt.Errorf("engine: evaluate: %w", err).Error(), "")
				return
			}
			time.Sleep(5 * time.Millisecond)
		}
		WriteJSON(w, 200, map[string]any{"count": 1})
	}
	fast := func(w http.ResponseWriter, r *http.Request, ws uint32) {
		w.Header().Set("X-Test", "kept")
		WriteJSON(w, 201, map[string]any{"ok": true})
	}
	e := newEnv(t, nil, Protection{QueryTimeout: 100 * time.Millisecond},
		Route{Pattern: "POST /api/v1/query", Scope: store.ScopeAdmin, Handler: slow},
		Route{Pattern: "POST /api/v1/segments", Scope: store.ScopeAdmin, Handler: fast})
	start := time.Now()
	var eb ErrorBody
	r := e.do(t, "POST", "/api/v1/query", e.keys["a"].AdminToken, `{}`, &eb)
	took := time.Since(start)
	if r.StatusCode != 503 || eb.Error.Code != "query_timeout" || !strings.Contains(eb.Error.Message, "100ms") {
		t.Fatalf("slow query: %d %+v", r.StatusCode, eb)
	}
	if !cancelled.Load() || took > 2*time.Second {
		t.Fatalf("query not cancelled (cancelled=%v, took %s)", cancelled.Load(), took)
	}
	var ok map[string]any
	r = e.do(t, "POST", "/api/v1/segments", e.keys["a"].AdminToken, `{}`, &ok)
	if r.StatusCode != 201 || ok["ok"] != true || r.Header.Get("X-Test") != "kept" {
		t.Fatalf("fast timed route mangled: %d %v %v", r.StatusCode, ok, r.Header)
	}
}

func TestReadyzFalseWhileLoading(t *testing.T) {
	st, _ := store.Open(store.Options{Dir: "/d", FS: vfs.NewMem()})
	defer st.Close()
	pl, _ := ingest.NewPipeline(ingest.Options{Store: st})
	defer pl.Close()
	var ready atomic.Bool
	srv, err := New(Options{Store: st, Log: pl, Ready: ready.Load})
	if err != nil {
		t.Fatal(err)
	}
	get := func() int {
		w := httptest.NewRecorder()
		srv.ServeHTTP(w, httptest.NewRequest("GET", "/readyz", nil))
		return w.Code
	}
	if c := get(); c != 503 {
		t.Fatalf("/readyz while loading: %d", c)
	}
	ready.Store(true)
	if c := get(); c != 200 {
		t.Fatalf("/readyz after loading: %d", c)
	}
}

func TestBodyLimitAnd413(t *testing.T) {
	e := newEnv(t, nil, Protection{})
	big := `{"scope":"` + strings.Repeat("x", 9<<20) + `"}`
	var eb ErrorBody
	r := e.do(t, "POST", "/api/v1/keys", e.keys["a"].AdminToken, big, &eb)
	if r.StatusCode != 413 {
		t.Fatalf("9 MiB management body: %d %+v", r.StatusCode, eb)
	}
}

func TestLimitListener(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	l := LimitListener(ln, 2)
	defer l.Close()
	accepted := make(chan net.Conn, 10)
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			accepted <- c
		}
	}()
	for i := 0; i < 3; i++ {
		c, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
	}
	first := []net.Conn{<-accepted, <-accepted}
	select {
	case <-accepted:
		t.Fatal("a third connection was accepted with a limit of 2")
	case <-time.After(150 * time.Millisecond):
	}
	first[0].Close()
	select {
	case c := <-accepted:
		c.Close()
	case <-time.After(2 * time.Second):
		t.Fatal("closing a connection did not let the waiting one in")
	}
	first[1].Close()
	srv := &http.Server{}
	DefaultHTTPServerLimits().Apply(srv)
	if srv.ReadHeaderTimeout == 0 || srv.MaxHeaderBytes == 0 || srv.ReadTimeout == 0 {
		t.Fatalf("limits not applied: %+v", srv)
	}
}

func TestBackupEndpoint(t *testing.T) {
	dir := t.TempDir()
	st, err := store.Open(store.Options{Dir: filepath.Join(dir, "data")})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	root := filepath.Join(dir, "backups")
	e := newEnv(t, st, Protection{BackupRoot: root})
	admin := e.keys["a"].AdminToken
	e.do(t, "POST", "/v1/batch", e.keys["a"].WriteKey, `{"batch":[{"type":"identify","userId":"u1","traits":{"email":"x@y.z"}}]}`, nil)
	cases := []struct {
		dir  string
		want int
	}{
		{"", 400},
		{"../escape", 400},
		{"/etc/segd-backup", 400},
		{"b1", 200},
		{"b1", 409},
		{filepath.Join(root, "nested", "b2"), 200},
	}
	for _, c := range cases {
		body, _ := json.Marshal(map[string]string{"dir": c.dir})
		if r := e.do(t, "POST", "/api/v1/backup", admin, string(body), nil); r.StatusCode != c.want {
			t.Errorf("backup to %q: %d, want %d", c.dir, r.StatusCode, c.want)
		}
	}
	if r := e.do(t, "POST", "/api/v1/backup", e.keys["a"].ReadKey, `{"dir":"b3"}`, nil); r.StatusCode != 401 {
		t.Errorf("backup with a read key: %d", r.StatusCode)
	}
	b, err := store.Open(store.Options{Dir: filepath.Join(root, "b1")})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if pid, err := b.Lookup(1, "userId", "u1"); err != nil || pid == 0 {
		t.Fatalf("backup lacks the profile: %d %v", pid, err)
	}
	if _, err := os.Stat(filepath.Join(root, "b3")); err == nil {
		t.Fatal("a refused backup left a directory")
	}
}

func TestPatternsListsEveryRoute(t *testing.T) {
	e := newEnv(t, nil, Protection{}, Route{Pattern: "GET /api/v1/extra", Scope: store.ScopeRead, Handler: func(http.ResponseWriter, *http.Request, uint32) {}})
	ps := e.srv.Patterns()
	for _, want := range []string{"POST /v1/batch", "GET /readyz", "GET /metrics", "GET /api/v1/keys", "DELETE /api/v1/keys/{prefix}", "GET /api/v1/audit", "POST /api/v1/backup", "GET /api/v1/extra"} {
		if !contains(ps, want) {
			t.Errorf("Patterns lacks %q: %v", want, ps)
		}
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
