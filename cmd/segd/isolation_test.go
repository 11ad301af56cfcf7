package main

import (
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/segd/segd/internal/store"
)

// isolationRoute says how to call one route against workspace B's objects.
type isolationRoute struct {
	// path with B's ids substituted: {pid}, {seg}, {dest}, {key}
	path string
	body string
	// object: the route addresses one of B's objects by id, so A's admin token must not get
	// a 2xx answer (it gets 404, or 400 for input A cannot express for an object it lacks).
	object bool
	// upsert: PUT creates an object of A at the given id (A's namespace, B's object untouched);
	// it runs last so that the object routes see no A object at that id.
	upsert bool
}

// isolationTable lists EVERY route segd serves. TestIsolation fails when the server registers a
// route missing here: add the new route with a request that targets workspace B's data.
var isolationTable = map[string]isolationRoute{
	// tracking API: A's keys write into A only
	"POST /v1/identify": {path: "/v1/identify", body: `{"userId":"b-secret-user","traits":{"x":1}}`},
	"POST /v1/track":    {path: "/v1/track", body: `{"userId":"b-secret-user","event":"Probe"}`},
	"POST /v1/page":     {path: "/v1/page", body: `{"userId":"b-secret-user","name":"p"}`},
	"POST /v1/screen":   {path: "/v1/screen", body: `{"userId":"b-secret-user","name":"s"}`},
	"POST /v1/group":    {path: "/v1/group", body: `{"userId":"b-secret-user","groupId":"g"}`},
	"POST /v1/alias":    {path: "/v1/alias", body: `{"userId":"b-secret-user","previousId":"b-anon"}`},
	"POST /v1/batch":    {path: "/v1/batch", body: `{"batch":[{"type":"track","userId":"b-secret-user","event":"Probe"}]}`},
	"POST /v1/import":   {path: "/v1/import", body: `{"batch":[{"type":"track","userId":"b-secret-user","event":"Probe"}]}`},
	// the web UI (Options.Fallback), if registered through the server's handle
	"/": {path: "/"},
	// probes
	"GET /healthz": {path: "/healthz"},
	"GET /readyz":  {path: "/readyz"},
	"GET /metrics": {path: "/metrics"},
	// profiles and records
	"GET /api/v1/profiles":                       {path: "/api/v1/profiles?userId=b-secret-user", object: true},
	"GET /api/v1/profiles/{id}":                  {path: "/api/v1/profiles/{pid}", object: true},
	"GET /api/v1/profiles/{id}/events":           {path: "/api/v1/profiles/{pid}/events", object: true},
	"GET /api/v1/profiles/{id}/records":          {path: "/api/v1/profiles/{pid}/records", object: true},
	"DELETE /api/v1/profiles/{id}":               {path: "/api/v1/profiles/{pid}", object: true},
	"POST /api/v1/records/{type}":                {path: "/api/v1/records/ticket", body: `{"records":[{"id":"a-ticket-1","profile":{"userId":"b-secret-user"},"attributes":{"status":"hijacked"}}]}`},
	"DELETE /api/v1/records/{type}/{id}":         {path: "/api/v1/records/ticket/b-ticket-77", object: true},
	"GET /api/v1/merges":                         {path: "/api/v1/merges"},
	"GET /api/v1/schema":                         {path: "/api/v1/schema"},
	"GET /api/v1/profiles/{id}/segments":         {path: "/api/v1/profiles/{pid}/segments", object: true},
	"GET /api/v1/profiles/{id}/segment-history":  {path: "/api/v1/profiles/{pid}/segment-history", object: true},
	"GET /v1/profiles/segments":                  {path: "/v1/profiles/segments?userId=b-secret-user"}, // unknown users get an empty list
	"POST /api/v1/query":                         {path: "/api/v1/query", body: `{"query":"in segment \"b-seg-name\""}`, object: true},
	"POST /api/v1/segql/check":                   {path: "/api/v1/segql/check", body: `{"query":"in segment \"b-seg-name\""}`},
	"POST /api/v1/segql/format":                  {path: "/api/v1/segql/format", body: `{"query":"in segment \"b-seg-name\""}`},
	"POST /api/v1/segments":                      {path: "/api/v1/segments", body: `{"name":"a-probe","query":"in segment \"b-seg-name\""}`, object: true},
	"GET /api/v1/segments":                       {path: "/api/v1/segments"},
	"GET /api/v1/segments/{id}":                  {path: "/api/v1/segments/{seg}", object: true},
	"PUT /api/v1/segments/{id}":                  {path: "/api/v1/segments/{seg}", body: `{"query":"plan = \"hijacked\""}`, object: true},
	"DELETE /api/v1/segments/{id}":               {path: "/api/v1/segments/{seg}", object: true},
	"GET /api/v1/segments/{id}/versions":         {path: "/api/v1/segments/{seg}/versions", object: true},
	"GET /api/v1/segments/{id}/members":          {path: "/api/v1/segments/{seg}/members", object: true},
	"POST /api/v1/segments/{id}/snapshot":        {path: "/api/v1/segments/{seg}/snapshot", body: `{"name":"a-snap"}`, object: true},
	"GET /api/v1/segments/{id}/changes":          {path: "/api/v1/segments/{seg}/changes", object: true},
	"GET /api/v1/segments/{id}/history":          {path: "/api/v1/segments/{seg}/history", object: true},
	"GET /api/v1/segments/{id}/stream":           {path: "/api/v1/segments/{seg}/stream", object: true},
	"GET /api/v1/destinations":                   {path: "/api/v1/destinations"},
	"POST /api/v1/destinations":                  {path: "/api/v1/destinations", body: `{"name":"a-probe","kind":"file","segments":["b-seg-name"],"file":{"dir":"/tmp/segd-isolation-probe"}}`},
	"GET /api/v1/destinations/{id}":              {path: "/api/v1/destinations/{dest}", object: true},
	"PUT /api/v1/destinations/{id}":              {path: "/api/v1/destinations/{dest}", body: `{"name":"hijacked","kind":"file","file":{"dir":"/tmp/segd-isolation-probe"}}`, upsert: true},
	"DELETE /api/v1/destinations/{id}":           {path: "/api/v1/destinations/{dest}", object: true},
	"POST /api/v1/destinations/{id}/pause":       {path: "/api/v1/destinations/{dest}/pause", object: true},
	"POST /api/v1/destinations/{id}/resume":      {path: "/api/v1/destinations/{dest}/resume", object: true},
	"POST /api/v1/destinations/{id}/replay":      {path: "/api/v1/destinations/{dest}/replay", body: `{}`, object: true},
	"GET /api/v1/destinations/{id}/dead-letters": {path: "/api/v1/destinations/{dest}/dead-letters", object: true},
	"GET /api/v1/keys":                           {path: "/api/v1/keys"},
	"POST /api/v1/keys":                          {path: "/api/v1/keys", body: `{"scope":"read"}`},
	"DELETE /api/v1/keys/{prefix}":               {path: "/api/v1/keys/{key}", object: true},
	"GET /api/v1/audit":                          {path: "/api/v1/audit"},
	"POST /api/v1/backup":                        {path: "/api/v1/backup", body: `{"dir":"relative-is-refused"}`},
	// analytics (computed traits), once wired
	"GET /api/v1/analytics/report":                {path: "/api/v1/analytics/report"},
	"GET /api/v1/analytics/config":                {path: "/api/v1/analytics/config"},
	"PUT /api/v1/analytics/config":                {path: "/api/v1/analytics/config", body: `{}`},
	"POST /api/v1/analytics/recompute":            {path: "/api/v1/analytics/recompute", body: `{}`},
	"GET /api/v1/analytics/rfm":                   {path: "/api/v1/analytics/rfm"},
	"GET /api/v1/analytics/clv":                   {path: "/api/v1/analytics/clv"},
	"GET /api/v1/analytics/lifecycle":             {path: "/api/v1/analytics/lifecycle"},
	"GET /api/v1/analytics/funnel":                {path: "/api/v1/analytics/funnel"},
	"GET /api/v1/analytics/price-sensitivity":     {path: "/api/v1/analytics/price-sensitivity"},
	"GET /api/v1/analytics/affinity":              {path: "/api/v1/analytics/affinity"},
	"GET /api/v1/analytics/clusters":              {path: "/api/v1/analytics/clusters"},
	"POST /api/v1/analytics/clusters/{n}/segment": {path: "/api/v1/analytics/clusters/1/segment", body: `{"name":"b-seg-name"}`},
	"GET /api/v1/analytics/segments/{id}/drivers": {path: "/api/v1/analytics/segments/{seg}/drivers", object: true},
	"GET /api/v1/analytics/segments/{id}/report":  {path: "/api/v1/analytics/segments/{seg}/report", object: true},
	"GET /api/v1/analytics/trends":                {path: "/api/v1/analytics/trends"},
	"GET /api/v1/analytics/overlap":               {path: "/api/v1/analytics/overlap?segments=b-seg-name", object: true},
}

// patterned is what the running handler exposes (httpapi.Server.Patterns).
type patterned interface{ Patterns() []string }

// TestIsolation: for every route, workspace A's write key, read key and admin token never see,
// change or delete workspace B's data, and every answer is free of B's markers.
func TestIsolation(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a full server")
	}
	ts := startServer(t, t.TempDir())
	st := ts.app.store
	// A is "default" (test keys); B is created with its own keys
	_, bKeys, err := st.CreateWorkspace("b", store.Keys{})
	if err != nil {
		t.Fatal(err)
	}
	aKeys := map[string]string{"write": testWriteKey, "read": "test-read-key", "admin": testAdmin}

	// data in A: two profiles
	for i := 0; i < 2; i++ {
		ts.do("POST", "/v1/identify", "basic:"+testWriteKey, []byte(fmt.Sprintf(`{"userId":"a-user-%d","traits":{"plan":"pro"}}`, i)), nil, nil)
	}
	// data in B: five profiles (so B's marked profile id does not exist in A), the marked
	// user last, a record, a segment, a destination, an extra key
	for i := 0; i < 4; i++ {
		ts.do("POST", "/v1/identify", "basic:"+bKeys.WriteKey, []byte(fmt.Sprintf(`{"userId":"b-filler-%d","traits":{"plan":"pro"}}`, i)), nil, nil)
	}
	if c := ts.do("POST", "/v1/identify", "basic:"+bKeys.WriteKey, []byte(`{"userId":"b-secret-user","traits":{"plan":"pro","email":"b-secret@example.com","bmarker":"b-trait-secret"}}`), nil, nil); c != 200 {
		t.Fatalf("identify in B: %d", c)
	}
	ts.do("POST", "/v1/track", "basic:"+bKeys.WriteKey, []byte(`{"userId":"b-secret-user","event":"B Secret Event"}`), nil, nil)
	if c := ts.do("POST", "/api/v1/records/ticket", bKeys.AdminToken, []byte(`{"records":[{"id":"b-ticket-77","profile":{"userId":"b-secret-user"},"attributes":{"subject":"b-record-secret"}}]}`), nil, nil); c/100 != 2 {
		t.Fatalf("record in B: %d", c)
	}
	var bProfile profileAnswer
	ts.do("GET", "/api/v1/profiles?userId=b-secret-user", bKeys.AdminToken, nil, nil, &bProfile)
	var seg struct{ ID string }
	if c := ts.do("POST", "/api/v1/segments", bKeys.AdminToken, []byte(`{"name":"b-seg-name","query":"plan = \"pro\""}`), nil, &seg); c != 201 {
		t.Fatalf("segment in B: %d", c)
	}
	var dest struct{ ID string }
	destBody := fmt.Sprintf(`{"name":"b-dest-name","kind":"file","file":{"dir":%q}}`, filepath.Join(t.TempDir(), "b-dest"))
	if c := ts.do("POST", "/api/v1/destinations", bKeys.AdminToken, []byte(destBody), nil, &dest); c/100 != 2 {
		t.Logf("destination in B not created (%d); destination routes use a made-up id", c)
		dest.ID = "dst_doesnotexist"
	}
	var bKey struct{ ID, Prefix, Secret string }
	if c := ts.do("POST", "/api/v1/keys", bKeys.AdminToken, []byte(`{"scope":"read"}`), nil, &bKey); c != 201 {
		t.Fatalf("key in B: %d", c)
	}
	ts.do("DELETE", "/api/v1/records/ticket/b-nothing", bKeys.AdminToken, nil, nil, nil) // an audit entry in B
	if bProfile.ID <= 2 {
		t.Fatalf("B's marked profile has id %d, which A also has", bProfile.ID)
	}
	markers := []string{"b-secret-user", "b-secret@example.com", "b-trait-secret", "B Secret Event", "b-ticket-77", "b-record-secret",
		seg.ID, "b-seg-name", "b-dest-name", bKey.ID, bKey.Secret, bKeys.WriteKey, bKeys.ReadKey, bKeys.AdminToken, "b-filler"}
	bState := func() string {
		var b strings.Builder
		for _, p := range []string{"/api/v1/profiles/{pid}", "/api/v1/profiles/{pid}/events", "/api/v1/profiles/{pid}/records",
			"/api/v1/segments/{seg}?sizes=false", "/api/v1/destinations/{dest}", "/api/v1/keys"} {
			var v any
			c := ts.do("GET", subst(p, bProfile.ID, seg.ID, dest.ID, bKey.ID), bKeys.AdminToken, nil, nil, &v)
			fmt.Fprintf(&b, "%s %d %v\n", p, c, scrubVolatile(v))
		}
		return b.String()
	}
	before := bState()
	bEvents, _ := st.CountEvents(2)

	srv, ok := ts.app.srv.Handler.(patterned)
	if !ok {
		t.Fatalf("the server's handler %T does not expose Patterns()", ts.app.srv.Handler)
	}
	patterns := srv.Patterns()
	var missing []string
	for _, p := range patterns {
		if _, ok := isolationTable[p]; !ok {
			missing = append(missing, p)
		}
	}
	if len(missing) > 0 {
		t.Fatalf("routes without an isolation case (add them to isolationTable): %v", missing)
	}
	// mutating routes last, so that reads see B's objects intact
	slices.SortStableFunc(patterns, func(x, y string) int { return strings.Compare(methodRank(x), methodRank(y)) })
	checked := 0
	for _, p := range patterns {
		rt := isolationTable[p]
		method := "GET" // a pattern without a method ("/", the web UI) matches every method
		if i := strings.IndexByte(p, ' '); i > 0 {
			method = p[:i]
		}
		path := subst(rt.path, bProfile.ID, seg.ID, dest.ID, bKey.ID)
		for _, scope := range []string{"write", "read", "admin"} {
			for _, auth := range []string{"bearer", "basic"} {
				code, body := rawRequest(t, ts.url, method, path, scope, aKeys[scope], auth, rt.body)
				checked++
				if code >= 500 {
					t.Errorf("%s with A's %s key (%s): %d %s", p, scope, auth, code, trim(body))
				}
				for _, m := range markers {
					// an error may quote the id the caller sent; anything else of B is a leak
					if m != "" && strings.Contains(body, m) && !strings.Contains(path+rt.body, m) {
						t.Errorf("%s with A's %s key (%s) shows B's %q: %s", p, scope, auth, m, trim(body))
					}
				}
				if rt.object && code/100 == 2 {
					t.Errorf("%s with A's %s key (%s) got %d for B's object: %s", p, scope, auth, code, trim(body))
				}
			}
		}
	}
	if after := bState(); after != before {
		t.Errorf("B's data changed through A's keys:\nbefore:\n%s\nafter:\n%s", before, after)
	}
	if n, _ := st.CountEvents(2); n != bEvents {
		t.Errorf("B has %d events after A's requests, had %d", n, bEvents)
	}
	t.Logf("%d routes × 3 keys × 2 auth styles = %d requests; every route of the server is in the table", len(patterns), checked)
}

func methodRank(p string) string {
	switch {
	case isolationTable[p].upsert:
		return "4"
	case strings.HasPrefix(p, "GET "):
		return "0"
	case strings.HasPrefix(p, "DELETE "):
		return "3"
	}
	return "1"
}

func subst(p string, pid uint32, seg, dest, key string) string {
	return strings.NewReplacer("{pid}", fmt.Sprint(pid), "{seg}", seg, "{dest}", dest, "{key}", key).Replace(p)
}

// rawRequest sends with A's key as a Bearer token or Basic user; streams are read briefly.
func rawRequest(t *testing.T, base, method, path, scope, key, auth, body string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(method, base+path, strings.NewReader(body))
	if auth == "basic" {
		req.SetBasicAuth(key, "")
	} else {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	req.Header.Set("Content-Type", "application/json")
	client := &http.Client{Timeout: 2 * 1e9}
	resp, err := client.Do(req)
	if err != nil {
		// the handler panicked or the server died: a 5xx for the check above
		return 599, err.Error()
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20)) // an SSE stream ends at the client timeout
	return resp.StatusCode, string(b)
}

func trim(s string) string {
	if len(s) > 300 {
		return s[:300] + "…"
	}
	return s
}

// scrubVolatile drops fields that change by themselves (sizes, times, cursors) from a decoded
// answer so that before/after comparisons see only data changes.
func scrubVolatile(v any) any {
	switch x := v.(type) {
	case map[string]any:
		out := map[string]any{}
		for k, val := range x {
			switch k {
			case "size", "size_at", "lastSeen", "updated", "cursor", "status", "stats", "lag", "delivered", "last_error", "last_delivery":
				continue
			}
			out[k] = scrubVolatile(val)
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i := range x {
			out[i] = scrubVolatile(x[i])
		}
		return out
	}
	return v
}
