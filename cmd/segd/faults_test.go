package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/cockroachdb/pebble/v2/vfs/errorfs"
	"github.com/segd/segd/internal/httpapi"
	"github.com/segd/segd/internal/ingest"
	"github.com/segd/segd/internal/message"
	"github.com/segd/segd/internal/store"
)

// TestStorageFaultsThroughHTTP drives the write pipeline and the HTTP server over a store whose
// filesystem starts failing writes (full disk, then an I/O error): requests get 503 with a
// message that names the fault and says to restart, /healthz fails, nothing that failed is
// acknowledged, and after the fault clears a restart has every acknowledged message and accepts
// writes again. The scenario runs in a child process, because a storage fault that is not
// turned into an error panics in the pipeline's goroutine and would take the test binary down.
func TestStorageFaultsThroughHTTP(t *testing.T) {
	for _, fault := range []syscall.Errno{syscall.ENOSPC, syscall.EIO} {
		t.Run(fault.Error(), func(t *testing.T) {
			if os.Getenv("SEGD_FAULT_CHILD") != "" {
				if os.Getenv("SEGD_FAULT_CHILD") == fault.Error() {
					storageFaultScenario(t, fault)
				}
				return
			}
			cmd := exec.Command(os.Args[0], "-test.run", "^TestStorageFaultsThroughHTTP$", "-test.v", "-test.count=1")
			cmd.Env = append(os.Environ(), "SEGD_FAULT_CHILD="+fault.Error())
			out, err := cmd.CombinedOutput()
			if err != nil {
				if strings.Contains(string(out), "pebble fatal") && strings.Contains(string(out), "goroutine") {
					t.Fatalf("segd crashed on a storage fault instead of answering 503: the write pipeline must commit through store.Guard (or defer Store.RecoverFatal in Txn.Commit)\n%s", lastLines(string(out), 40))
				}
				t.Fatalf("fault scenario failed: %v\n%s", err, lastLines(string(out), 60))
			}
			for _, l := range strings.Split(string(out), "\n") {
				if strings.Contains(l, "faults_test.go") {
					t.Log(strings.TrimSpace(l))
				}
			}
		})
	}
}

func lastLines(s string, n int) string {
	lines := strings.Split(s, "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

type faultServer struct {
	st  *store.Store
	pl  *ingest.Pipeline
	hs  *httptest.Server
	url string
}

func openFaultServer(t *testing.T, fs vfs.FS, keys store.Keys) *faultServer {
	st, err := store.Open(store.Options{Dir: "/data", FS: fs})
	if err != nil {
		t.Fatal(err)
	}
	if all, _ := st.Workspaces(); len(all) == 0 {
		if _, _, err := st.CreateWorkspace("default", keys); err != nil {
			t.Fatal(err)
		}
	}
	pl, err := ingest.NewPipeline(ingest.Options{Store: st})
	if err != nil {
		t.Fatal(err)
	}
	h, err := httpapi.New(httpapi.Options{Store: st, Log: pl})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(h)
	return &faultServer{st: st, pl: pl, hs: hs, url: hs.URL}
}

func (s *faultServer) close() {
	s.hs.Close()
	s.pl.Close()
	s.st.Close()
	s.st.Forget()
}

func (s *faultServer) post(t *testing.T, path, auth, body string) (int, httpapi.ErrorBody) {
	req, _ := http.NewRequest("POST", s.url+path, strings.NewReader(body))
	if strings.HasPrefix(auth, "basic:") {
		req.SetBasicAuth(auth[6:], "")
	} else {
		req.Header.Set("Authorization", "Bearer "+auth)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("POST %s: %v", path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var eb httpapi.ErrorBody
	json.Unmarshal(b, &eb)
	return resp.StatusCode, eb
}

func storageFaultScenario(t *testing.T, fault syscall.Errno) {
	var inject atomic.Bool
	mem := vfs.NewMem()
	fs := errorfs.Wrap(mem, errorfs.InjectorFunc(func(op errorfs.Op) error {
		if inject.Load() && op.Kind.ReadOrWrite() == errorfs.OpIsWrite {
			return fault
		}
		return nil
	}))
	keys := store.Keys{WriteKey: testWriteKey, AdminToken: testAdmin}
	s := openFaultServer(t, fs, keys)
	batch := func(n int) string {
		return fmt.Sprintf(`{"batch":[{"type":"track","event":"E","userId":"u","messageId":"m%d-a"},{"type":"track","event":"E","userId":"u","messageId":"m%d-b"}]}`, n, n)
	}
	for i := 0; i < 20; i++ {
		if c, eb := s.post(t, "/v1/batch", "basic:"+testWriteKey, batch(i)); c != 200 {
			t.Fatalf("batch %d before the fault: %d %+v", i, c, eb)
		}
	}
	inject.Store(true)
	c, eb := s.post(t, "/v1/batch", "basic:"+testWriteKey, batch(100))
	if c != 503 || !strings.Contains(eb.Error.Message, fault.Error()) || !strings.Contains(eb.Error.Message, "restart") {
		t.Fatalf("batch under %v: %d %+v (want 503 naming the fault and the restart)", fault, c, eb)
	}
	t.Logf("under %v the tracking API answers %d: %s", fault, c, eb.Error.Message)
	c, eb = s.post(t, "/api/v1/records/ticket", testAdmin, `{"records":[{"id":"t1","profile":{"userId":"u"},"attributes":{"a":1}}]}`)
	if c != 503 {
		t.Fatalf("record upsert under the fault: %d %+v", c, eb)
	}
	resp, err := http.Get(s.url + "/healthz")
	if err != nil || resp.StatusCode != 503 {
		t.Fatalf("/healthz with a failed store: %v %v", resp.StatusCode, err)
	}
	resp.Body.Close()
	// the fault clears, but Pebble's commit pipeline stays broken until a restart
	inject.Store(false)
	if c, _ := s.post(t, "/v1/batch", "basic:"+testWriteKey, batch(101)); c != 503 {
		t.Fatalf("batch after the fault cleared, before restart: %d", c)
	}
	s.close()

	s = openFaultServer(t, mem, keys)
	defer s.close()
	pid, err := s.st.Lookup(1, "userId", "u")
	if err != nil {
		t.Fatal(err)
	}
	evs, err := s.st.Events(1, pid, time.Time{}, 1000)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]int{}
	for _, e := range evs {
		seen[e.MessageID]++
	}
	for i := 0; i < 20; i++ {
		for _, p := range []string{"a", "b"} {
			if id := fmt.Sprintf("m%d-%s", i, p); seen[id] != 1 {
				t.Fatalf("acknowledged message %s stored %d times after restart", id, seen[id])
			}
		}
	}
	if seen["m100-a"] != seen["m100-b"] || seen["m101-a"] != 0 {
		t.Fatalf("a failed batch is half present or a refused one present: %v", seen)
	}
	if c, eb := s.post(t, "/v1/batch", "basic:"+testWriteKey, batch(200)); c != 200 {
		t.Fatalf("batch after restart: %d %+v", c, eb)
	}
	t.Logf("after restart: %d acknowledged messages present once, writes accepted again", 40)
}

// TestPathologicalQueryCancelled runs a query that takes far longer than the query time limit
// against the real segment service and engine (the app's routes behind an httpapi server with
// Protection.QueryTimeout): it is answered 503 query_timeout quickly, and the same query without
// the limit does finish (it was slow, not broken).
func TestPathologicalQueryCancelled(t *testing.T) {
	if testing.Short() {
		t.Skip("loads data")
	}
	ts := startServer(t, t.TempDir())
	a := ts.app
	var msgs []message.Message
	at := time.Now().UTC().Add(-time.Hour)
	for i := 0; i < 60000; i++ {
		msgs = append(msgs, message.Message{Type: message.Track, Event: []string{"A", "B", "C"}[i%3], UserID: fmt.Sprintf("u%d", i%3000),
			MessageID: fmt.Sprint("q", i), Timestamp: at.Add(time.Duration(i) * time.Millisecond), ReceivedAt: at,
			Properties: map[string]any{"path": fmt.Sprintf("/p/%d/%d", i%97, i), "n": float64(i)}})
		if len(msgs) == 5000 {
			if _, err := a.pipeline.Append(context.Background(), 1, msgs); err != nil {
				t.Fatal(err)
			}
			msgs = nil
		}
	}
	var cond []string
	for i := 0; i < 40; i++ {
		cond = append(cond, fmt.Sprintf(`sequence("A" where path matches "^/p/%d/.*[13579]$" then "B" where n > %d then "C" within %d minutes in last 30 days)`, i, i*7, 5+i))
	}
	query := strings.Join(cond, " or ")
	run := func(timeout time.Duration) (int, httpapi.ErrorBody, time.Duration) {
		h, err := httpapi.New(httpapi.Options{Store: a.store, Log: a.pipeline, Extra: a.routes(),
			Protect: httpapi.Protection{QueryTimeout: timeout}})
		if err != nil {
			t.Fatal(err)
		}
		hs := httptest.NewServer(h)
		defer hs.Close()
		body, _ := json.Marshal(map[string]any{"query": query})
		req, _ := http.NewRequest("POST", hs.URL+"/api/v1/query", strings.NewReader(string(body)))
		req.Header.Set("Authorization", "Bearer "+testAdmin)
		start := time.Now()
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var eb httpapi.ErrorBody
		b, _ := io.ReadAll(resp.Body)
		json.Unmarshal(b, &eb)
		return resp.StatusCode, eb, time.Since(start)
	}
	code, _, full := run(0)
	if code != 200 {
		t.Fatalf("the query without a limit: %d", code)
	}
	limit := full / 20
	if limit < time.Millisecond {
		t.Skipf("the query took only %s here; not pathological enough to test the limit", full)
	}
	code, eb, took := run(limit)
	if code != 503 || eb.Error.Code != "query_timeout" || !strings.Contains(eb.Error.Message, "cancelled") {
		t.Fatalf("query with a %s limit: %d %+v", limit, code, eb)
	}
	if took > full/2 {
		t.Fatalf("the cancelled query took %s of the full %s: not cancelled promptly", took, full)
	}
	t.Logf("query takes %s; with a %s limit answered 503 query_timeout after %s", full, limit, took)
}
