package main

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	analytics "github.com/segmentio/analytics-go/v3"
)

const (
	testWriteKey = "test-write-key"
	testAdmin    = "test-admin-token"
)

// testServer is a real segd on a loopback port, in process.
type testServer struct {
	t    *testing.T
	url  string
	app  *app
	stop context.CancelFunc
	done chan error
}

func startServerB(b *testing.B) string {
	b.Setenv("SEGD_WRITE_KEY", testWriteKey)
	b.Setenv("SEGD_ADMIN_TOKEN", testAdmin)
	a, err := openApp(appOptions{DataDir: b.TempDir(), Addr: "127.0.0.1:0", DedupeWindow: time.Hour,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Out: io.Discard})
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.serve(ctx) }()
	for !a.ready.Load() { // ready is set after ln, so ln is safe to read once ready is seen
		time.Sleep(5 * time.Millisecond)
	}
	b.Cleanup(func() { cancel(); <-done; a.close() })
	return "http://" + a.ln.Addr().String()
}

func startServer(t *testing.T, dir string) *testServer {
	t.Helper()
	t.Setenv("SEGD_WRITE_KEY", testWriteKey)
	t.Setenv("SEGD_ADMIN_TOKEN", testAdmin)
	t.Setenv("SEGD_READ_KEY", "test-read-key")
	a, err := openApp(appOptions{DataDir: dir, Addr: "127.0.0.1:0", DedupeWindow: 7 * 24 * time.Hour,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Out: io.Discard})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	ts := &testServer{t: t, app: a, stop: cancel, done: make(chan error, 1)}
	go func() { ts.done <- a.serve(ctx) }()
	deadline := time.Now().Add(10 * time.Second)
	for !a.ready.Load() { // ready is set after ln, so ln is safe to read once ready is seen
		if time.Now().After(deadline) {
			t.Fatal("server did not become ready")
		}
		time.Sleep(5 * time.Millisecond)
	}
	ts.url = "http://" + a.ln.Addr().String()
	t.Cleanup(ts.close)
	return ts
}

func (ts *testServer) close() {
	if ts.stop == nil {
		return
	}
	ts.stop()
	<-ts.done
	ts.app.close()
	ts.stop = nil
}

// do sends a request and decodes a JSON answer into out (if non-nil); it returns the status.
func (ts *testServer) do(method, path, auth string, body []byte, hdr map[string]string, out any) int {
	ts.t.Helper()
	req, _ := http.NewRequest(method, ts.url+path, bytes.NewReader(body))
	if auth != "" {
		if strings.HasPrefix(auth, "basic:") {
			req.SetBasicAuth(strings.TrimPrefix(auth, "basic:"), "")
		} else {
			req.Header.Set("Authorization", "Bearer "+auth)
		}
	}
	req.Header.Set("Content-Type", "application/json")
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		ts.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			ts.t.Fatalf("%s %s: decode %q: %v", method, path, b, err)
		}
	}
	return resp.StatusCode
}

type profileAnswer struct {
	ID          uint32 `json:"id"`
	Identifiers []struct {
		Type, Value string
	} `json:"identifiers"`
	Traits     map[string]any `json:"traits"`
	EventCount int64          `json:"eventCount"`
	Merges     []any          `json:"merges"`
}

func (ts *testServer) profile(query string) (profileAnswer, int) {
	var p profileAnswer
	code := ts.do("GET", "/api/v1/profiles?"+query, testAdmin, nil, nil, &p)
	return p, code
}

type countingCallback struct {
	mu       sync.Mutex
	ok, fail int
}

func (c *countingCallback) Success(analytics.Message) { c.mu.Lock(); c.ok++; c.mu.Unlock() }
func (c *countingCallback) Failure(_ analytics.Message, err error) {
	c.mu.Lock()
	c.fail++
	c.mu.Unlock()
}

// TestAnalyticsGoClientEndToEnd drives the server with the official Segment Go client.
func TestAnalyticsGoClientEndToEnd(t *testing.T) {
	ts := startServer(t, t.TempDir())
	cb := &countingCallback{}
	client, err := analytics.NewWithConfig(testWriteKey, analytics.Config{Endpoint: ts.url, BatchSize: 50,
		Interval: 50 * time.Millisecond, Callback: cb, Logger: quietLogger{}})
	if err != nil {
		t.Fatal(err)
	}
	msgs := []analytics.Message{
		analytics.Page{AnonymousId: "anon-42", Name: "Pricing", Properties: analytics.NewProperties().SetURL("https://shop.example/pricing?utm_source=google")},
		analytics.Track{AnonymousId: "anon-42", Event: "Product Viewed", Properties: analytics.NewProperties().Set("category", "shoes")},
		analytics.Identify{UserId: "user-42", AnonymousId: "anon-42", Traits: analytics.NewTraits().SetEmail("Lan@Example.VN").SetName("Lan").Set("plan", "gold")},
		analytics.Track{UserId: "user-42", Event: "Order Completed", Properties: analytics.NewProperties().SetRevenue(99.5)},
		analytics.Screen{UserId: "user-42", Name: "Home"},
		analytics.Group{UserId: "user-42", GroupId: "acme", Traits: analytics.NewTraits().SetName("Acme")},
		analytics.Alias{PreviousId: "legacy-7", UserId: "user-42"},
	}
	for _, m := range msgs {
		if err := client.Enqueue(m); err != nil {
			t.Fatal(err)
		}
	}
	if err := client.Close(); err != nil {
		t.Fatal(err)
	}
	if cb.ok != len(msgs) || cb.fail != 0 {
		t.Fatalf("client callbacks: %d ok, %d failed; want %d ok", cb.ok, cb.fail, len(msgs))
	}
	p, code := ts.profile("userId=user-42")
	if code != 200 {
		t.Fatalf("lookup: %d", code)
	}
	want := map[string]string{"userId": "user-42", "anonymousId": "legacy-7", "email": "lan@example.vn"}
	got := map[string]bool{}
	for _, id := range p.Identifiers {
		got[id.Type+"="+id.Value] = true
	}
	for typ, v := range want {
		if !got[typ+"="+v] {
			t.Errorf("identifier %s=%s missing: %+v", typ, v, p.Identifiers)
		}
	}
	if !got["anonymousId=anon-42"] {
		t.Errorf("anonymous browsing not linked: %+v", p.Identifiers)
	}
	if p.EventCount != int64(len(msgs)) {
		t.Errorf("eventCount = %d, want %d", p.EventCount, len(msgs))
	}
	if p.Traits["plan"] != "gold" || p.Traits["name"] != "Lan" {
		t.Errorf("traits = %v", p.Traits)
	}
	var evs struct {
		Events []struct {
			Type     string            `json:"type"`
			Event    string            `json:"event"`
			Enriched map[string]string `json:"enriched"`
		} `json:"events"`
	}
	ts.do("GET", fmt.Sprintf("/api/v1/profiles/%d/events?limit=100", p.ID), testAdmin, nil, nil, &evs)
	types := map[string]int{}
	for _, e := range evs.Events {
		types[e.Type]++
	}
	for _, typ := range []string{"page", "track", "identify", "screen", "group", "alias"} {
		if types[typ] == 0 {
			t.Errorf("no %s call in the timeline: %v", typ, types)
		}
	}

	// the operator's view: /metrics counts the applied messages and the index's memory
	resp, err := http.Get(ts.url + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []*regexp.Regexp{
		regexp.MustCompile(`(?m)^segd_messages_applied_total\{outcome="accepted"\} ` + strconv.Itoa(len(msgs)) + `$`),
		regexp.MustCompile(`(?m)^segd_index_bytes [1-9][0-9.e+]*$`),
		regexp.MustCompile(`(?m)^segd_store_memtable_bytes [1-9][0-9.e+]*$`),
		regexp.MustCompile(`(?m)^segd_store_disk_bytes [1-9][0-9.e+]*$`),
		regexp.MustCompile(`(?m)^segd_store_written_bytes_total [1-9][0-9.e+]*$`),
		regexp.MustCompile(`(?m)^segd_store_compactions_running [0-9]+$`),
		regexp.MustCompile(`(?m)^segd_store_compaction_debt_bytes [0-9][0-9.e+]*$`),
		regexp.MustCompile(`(?m)^segd_live_skipped_evaluations_total [0-9][0-9.e+]*$`),
		regexp.MustCompile(`(?m)^segd_live_timer_writes_total [0-9][0-9.e+]*$`),
		regexp.MustCompile(`(?m)^segd_store_dedupe_reads_saved_total [0-9][0-9.e+]*$`),
		regexp.MustCompile(`(?m)^segd_store_write_stalls_total [0-9][0-9.e+]*$`),
		// the messages' commits waited for WAL syncs
		regexp.MustCompile(`(?m)^segd_store_wal_sync_seconds_count [1-9][0-9.e+]*$`),
		regexp.MustCompile(`(?m)^segd_store_wal_sync_seconds_bucket\{le="0.005"\} [0-9][0-9.e+]*$`),
		// the Segment client's context.library is stored once
		regexp.MustCompile(`(?m)^segd_store_shared_texts [1-9][0-9.e+]*$`),
		regexp.MustCompile(`(?m)^segd_store_full_text_dictionaries 0$`),
	} {
		if !want.Match(body) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
}

type quietLogger struct{}

func (quietLogger) Logf(string, ...any)   {}
func (quietLogger) Errorf(string, ...any) {}

// TestSegmentFixturesAccepted posts every request body the official client sends in its own
// tests and checks each message is stored with its fields as sent.
func TestSegmentFixturesAccepted(t *testing.T) {
	ts := startServer(t, t.TempDir())
	files, _ := filepath.Glob("../../../shared/data/segment-fixtures/*.json")
	if len(files) == 0 {
		files, _ = filepath.Glob(filepath.Join(os.Getenv("SEGD_SHARED"), "data/segment-fixtures/*.json"))
	}
	if len(files) < 10 {
		t.Fatalf("segment fixtures not found (%d files); expected ../shared/data beside the repository", len(files))
	}
	for i, f := range files {
		// Every fixture uses the messageId "I'm unique", so each goes to a workspace of its own;
		// within one body, repeats of a messageId are retries and are stored once.
		wk, admin := fmt.Sprintf("fx-write-%d", i), fmt.Sprintf("fx-admin-%d", i)
		if _, _, err := ts.app.store.CreateWorkspace(fmt.Sprintf("fixture%d", i), storeKeys(wk, admin)); err != nil {
			t.Fatal(err)
		}
		body, _ := os.ReadFile(f)
		var ans struct {
			Success  bool  `json:"success"`
			Accepted int   `json:"accepted"`
			Rejected []any `json:"rejected"`
		}
		if code := ts.do("POST", "/v1/batch", "basic:"+wk, body, nil, &ans); code != 200 || !ans.Success || len(ans.Rejected) > 0 {
			t.Errorf("%s: status %d, answer %+v", filepath.Base(f), code, ans)
			continue
		}
		var sent struct {
			Batch []map[string]any `json:"batch"`
		}
		json.Unmarshal(body, &sent)
		seen := map[any]bool{}
		for _, m := range sent.Batch {
			if seen[m["messageId"]] {
				continue
			}
			seen[m["messageId"]] = true
			id, _ := m["userId"].(string)
			typ := "userId"
			if id == "" {
				id, _ = m["anonymousId"].(string)
				typ = "anonymousId"
			}
			var p profileAnswer
			if code := ts.do("GET", "/api/v1/profiles?"+typ+"="+id, admin, nil, nil, &p); code != 200 {
				t.Errorf("%s: profile for %s=%s: %d", filepath.Base(f), typ, id, code)
				continue
			}
			var evs struct {
				Events []map[string]any `json:"events"`
			}
			ts.do("GET", fmt.Sprintf("/api/v1/profiles/%d/events?limit=1000", p.ID), admin, nil, nil, &evs)
			found := false
			for _, e := range evs.Events {
				if e["messageId"] != m["messageId"] {
					continue
				}
				found = true
				for _, field := range []string{"properties", "traits", "integrations", "event", "name", "groupId", "previousId", "userId", "anonymousId", "type"} {
					if want, ok := m[field]; ok {
						if got := e[field]; !jsonEqual(got, want) {
							t.Errorf("%s: %s: stored %v, sent %v", filepath.Base(f), field, got, want)
						}
					}
				}
				// context is kept as sent, with the batch's context merged under it
				if want, ok := m["context"].(map[string]any); ok {
					got, _ := e["context"].(map[string]any)
					for k, v := range want {
						if !jsonEqual(got[k], v) {
							t.Errorf("%s: context.%s: stored %v, sent %v", filepath.Base(f), k, got[k], v)
						}
					}
				}
				if want, ok := m["timestamp"].(string); ok {
					wt, _ := time.Parse(time.RFC3339, want)
					gt, _ := time.Parse(time.RFC3339Nano, e["timestamp"].(string))
					if !wt.Equal(gt) {
						t.Errorf("%s: timestamp stored %v, sent %v", filepath.Base(f), gt, wt)
					}
				}
			}
			if !found {
				t.Errorf("%s: message %v not stored", filepath.Base(f), m["messageId"])
			}
		}
	}
}

func jsonEqual(a, b any) bool {
	x, _ := json.Marshal(a)
	y, _ := json.Marshal(b)
	return bytes.Equal(x, y)
}

func gz(b []byte) []byte {
	var buf bytes.Buffer
	w := gzip.NewWriter(&buf)
	w.Write(b)
	w.Close()
	return buf.Bytes()
}

// TestBadInputStoresNothing checks each kind of bad request gets its documented status and
// error code and leaves the store unchanged.
func TestBadInputStoresNothing(t *testing.T) {
	ts := startServer(t, t.TempDir())
	other, _, err := ts.app.store.CreateWorkspace("other", storeKeys("other-write", "other-admin"))
	if err != nil {
		t.Fatal(err)
	}
	_ = other
	big := `{"userId":"u","event":"E","properties":{"pad":"` + strings.Repeat("x", 33<<10) + `"}}`
	var many strings.Builder
	many.WriteString(`{"batch":[`)
	for i := 0; i < 2501; i++ {
		if i > 0 {
			many.WriteString(",")
		}
		fmt.Fprintf(&many, `{"type":"track","userId":"u","event":"E","messageId":"m%d"}`, i)
	}
	many.WriteString(`]}`)
	hugeBatch := `{"batch":[{"type":"track","userId":"u","event":"E","properties":{"pad":"` + strings.Repeat("y", 510<<10) + `"}}]}`
	cases := []struct {
		name, path, auth, body string
		hdr                    map[string]string
		status                 int
		code, errPath          string
	}{
		{"invalid json", "/v1/track", "basic:" + testWriteKey, `{"userId": "u", "event": `, nil, 400, "invalid_json", ""},
		{"oversize message", "/v1/track", "basic:" + testWriteKey, big, nil, 400, "message_too_large", ""},
		{"oversize batch", "/v1/batch", "basic:" + testWriteKey, hugeBatch, nil, 400, "batch_too_large", ""},
		{"too many messages", "/v1/batch", "basic:" + testWriteKey, many.String(), nil, 400, "too_many_messages", "batch"},
		{"missing identity", "/v1/track", "basic:" + testWriteKey, `{"event":"E"}`, nil, 400, "missing_identity", "userId"},
		{"missing identity in batch", "/v1/batch", "basic:" + testWriteKey, `{"batch":[{"type":"track","event":"E"}]}`, nil, 400, "missing_identity", "batch[0].userId"},
		{"no key", "/v1/track", "", `{"userId":"u","event":"E"}`, nil, 401, "unauthorized", ""},
		{"wrong key", "/v1/track", "basic:nope", `{"userId":"u","event":"E"}`, nil, 401, "unauthorized", ""},
		{"admin token is not for another workspace", "/api/v1/profiles?userId=u", "other-admin", "", nil, 404, "not_found", "userId"},
		{"bad gzip", "/v1/track", "basic:" + testWriteKey, "not gzip at all", map[string]string{"Content-Encoding": "gzip"}, 400, "invalid_encoding", ""},
		{"read key cannot write", "/v1/track", "basic:test-read-key", `{"userId":"u","event":"E"}`, nil, 401, "unauthorized", ""},
		{"write key cannot read profiles", "/api/v1/profiles?userId=u", testWriteKey, "", nil, 401, "unauthorized", ""},
	}
	// a profile "u" exists in the default workspace only
	if code := ts.do("POST", "/v1/track", "basic:"+testWriteKey, []byte(`{"userId":"u","event":"Seed","messageId":"seed"}`), nil, nil); code != 200 {
		t.Fatalf("seed: %d", code)
	}
	before, _ := ts.app.store.CountEvents(1)
	for _, c := range cases {
		method := "POST"
		if c.body == "" {
			method = "GET"
		}
		var ans struct {
			Error struct{ Code, Message, Path string } `json:"error"`
		}
		code := ts.do(method, c.path, c.auth, []byte(c.body), c.hdr, &ans)
		if code != c.status || ans.Error.Code != c.code || ans.Error.Path != c.errPath || ans.Error.Message == "" {
			t.Errorf("%s: got %d %+v, want %d code %q path %q", c.name, code, ans.Error, c.status, c.code, c.errPath)
		}
	}
	after, _ := ts.app.store.CountEvents(1)
	if after != before {
		t.Fatalf("bad input changed the store: %d events before, %d after", before, after)
	}
	n, _ := ts.app.store.CountEvents(other.ID)
	if n != 0 {
		t.Fatalf("other workspace has %d events", n)
	}
	// gzip that is valid is accepted; a batch with one bad message keeps the good one
	body := gz([]byte(`{"batch":[{"type":"track","userId":"g","event":"Zipped"},{"type":"track","event":"NoOne"}]}`))
	var ans struct {
		Accepted int `json:"accepted"`
		Rejected []struct {
			Index int `json:"index"`
			Error struct{ Code, Path string }
		} `json:"rejected"`
	}
	if code := ts.do("POST", "/v1/batch", "basic:"+testWriteKey, body, map[string]string{"Content-Encoding": "gzip"}, &ans); code != 200 {
		t.Fatalf("gzip batch: %d", code)
	}
	if ans.Accepted != 1 || len(ans.Rejected) != 1 || ans.Rejected[0].Index != 1 || ans.Rejected[0].Error.Path != "batch[1].userId" {
		t.Fatalf("partial batch answer %+v", ans)
	}
}
