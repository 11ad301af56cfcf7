package segment

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/segd/segd/internal/message"
	"github.com/segd/segd/internal/store"
)

var t0 = time.Date(2025, 3, 5, 12, 0, 0, 0, time.UTC)

// people: u1..u6 with country and age; u1, u2 and u4 ordered.
func smallWorld(t *testing.T) *world {
	w := newWorld(t, t0)
	who := []struct {
		id, country string
		age         float64
	}{{"u1", "VN", 30}, {"u2", "TH", 41}, {"u3", "VN", 19}, {"u4", "US", 52}, {"u5", "SG", 27}, {"u6", "VN", 26}}
	var msgs []message.Message
	for i, p := range who {
		msgs = append(msgs, message.Message{Type: message.Identify, MessageID: "id-" + p.id, UserID: p.id, Timestamp: t0.Add(-30 * 24 * time.Hour),
			Traits: map[string]any{"country": p.country, "age": p.age, "email": p.id + "@example.com"}})
		_ = i
	}
	order := func(user string, daysAgo int, revenue float64) message.Message {
		return message.Message{Type: message.Track, MessageID: fmt.Sprintf("o-%s-%d", user, daysAgo), UserID: user, Event: "Order Completed",
			Timestamp: t0.Add(-time.Duration(daysAgo) * 24 * time.Hour), Properties: map[string]any{"revenue": revenue}}
	}
	msgs = append(msgs, order("u1", 2, 120), order("u1", 10, 80), order("u2", 3, 40), order("u4", 90, 500))
	w.send(t, msgs...)
	return w
}

type client struct {
	t   *testing.T
	url string
}

func (c client) do(method, path, body string) (int, map[string]any) {
	c.t.Helper()
	code, b := c.raw(method, path, body)
	var v map[string]any
	if len(b) > 0 {
		if err := json.Unmarshal(b, &v); err != nil {
			c.t.Fatalf("%s %s: %v: %s", method, path, err, b)
		}
	}
	return code, v
}

func (c client) raw(method, path, body string) (int, []byte) {
	c.t.Helper()
	var r io.Reader
	if body != "" {
		r = strings.NewReader(body)
	}
	req, _ := http.NewRequest(method, c.url+path, r)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

func (c client) want(code int, method, path, body string) map[string]any {
	c.t.Helper()
	got, v := c.do(method, path, body)
	if got != code {
		c.t.Fatalf("%s %s %s: status %d, want %d: %v", method, path, body, got, code, v)
	}
	return v
}

func ids(v any) []string {
	var out []string
	for _, m := range v.([]any) {
		out = append(out, fmt.Sprint(m.(map[string]any)["name"]))
	}
	return out
}

func TestSegmentLifecycle(t *testing.T) {
	w := smallWorld(t)
	var changes []string
	w.svc.opts.OnChange = func(ws uint32, old, new *Segment) {
		switch {
		case old == nil:
			changes = append(changes, "create "+new.Name)
		case new == nil:
			changes = append(changes, "delete "+old.Name)
		default:
			changes = append(changes, fmt.Sprintf("update %s v%d", new.Name, new.Version))
		}
	}
	c := client{t, w.server(t).URL}

	v := c.want(201, "POST", "/api/v1/segments", `{"name":"vn adults","query":"country = \"VN\"  and age>=25","description":"d","tags":["geo"]}`)
	id := v["id"].(string)
	if !strings.HasPrefix(id, "seg_") || v["query"] != `country = "VN" and age >= 25` || v["version"] != 1.0 || v["mode"] != "realtime" {
		t.Fatalf("create answer %v", v)
	}
	if tr, ok := v["tree"].(map[string]any); !ok || tr["and"] == nil {
		t.Fatalf("create answer has no JSON tree: %v", v["tree"])
	}
	c.want(201, "POST", "/api/v1/segments", `{"name":"buyers","tree":{"count":{"event":"Order Completed"},"op":">=","value":1}}`)

	// list with sizes: vn adults = u1, u6; buyers = u1, u2, u4
	list := c.want(200, "GET", "/api/v1/segments", "")["segments"].([]any)
	if got := ids(list); !slices.Equal(got, []string{"buyers", "vn adults"}) {
		t.Fatalf("list = %v", got)
	}
	sizes := map[string]float64{}
	for _, s := range list {
		m := s.(map[string]any)
		sizes[m["name"].(string)] = m["size"].(float64)
	}
	if sizes["vn adults"] != 2 || sizes["buyers"] != 3 {
		t.Fatalf("sizes = %v", sizes)
	}

	// get by id and by name (path-escaped)
	if g := c.want(200, "GET", "/api/v1/segments/"+id, ""); g["name"] != "vn adults" || g["size"] != 2.0 {
		t.Fatalf("get by id = %v", g)
	}
	if g := c.want(200, "GET", "/api/v1/segments/vn%20adults", ""); g["id"] != id {
		t.Fatalf("get by name = %v", g)
	}

	// put → version 2 with a new query; description kept
	p := c.want(200, "PUT", "/api/v1/segments/"+id, `{"query":"country in [\"VN\", \"TH\"] and age >= 25"}`)
	if p["version"] != 2.0 || p["description"] != "d" || p["query"] != `country in ["VN", "TH"] and age >= 25` {
		t.Fatalf("put answer %v", p)
	}
	if g := c.want(200, "GET", "/api/v1/segments/"+id, ""); g["size"] != 3.0 {
		t.Fatalf("size after put = %v, want 3 (u1, u2, u6)", g["size"])
	}
	vs := c.want(200, "GET", "/api/v1/segments/"+id+"/versions", "")["versions"].([]any)
	if len(vs) != 2 || vs[0].(map[string]any)["query"] != `country = "VN" and age >= 25` || vs[1].(map[string]any)["version"] != 2.0 {
		t.Fatalf("versions = %v", vs)
	}

	// names are unique, on create and on rename
	if e := c.want(409, "POST", "/api/v1/segments", `{"name":"buyers","query":"age > 1"}`); e["error"].(map[string]any)["code"] != "name_taken" {
		t.Fatalf("duplicate name: %v", e)
	}
	c.want(409, "PUT", "/api/v1/segments/"+id, `{"name":"buyers"}`)

	// unknown fields and bad modes are 400 with the field
	if e := c.want(400, "POST", "/api/v1/segments", `{"name":"x","query":"age > 1","colour":"red"}`); !strings.Contains(fmt.Sprint(e["error"]), "colour") {
		t.Fatalf("unknown field: %v", e)
	}
	if e := c.want(400, "POST", "/api/v1/segments", `{"name":"x","query":"age > 1","mode":"hourly"}`); e["error"].(map[string]any)["path"] != "mode" {
		t.Fatalf("bad mode: %v", e)
	}
	c.want(400, "POST", "/api/v1/segments", `{"name":"x"}`)
	c.want(400, "POST", "/api/v1/segments", `{"name":"x","query":"age > 1","tree":{"trait":"age","op":"exists"}}`)

	// segments of segments; cycles rejected; a used segment cannot be deleted or renamed
	c.want(201, "POST", "/api/v1/segments", `{"name":"vn buyers","query":"in segment \"buyers\" and in segment \"vn adults\""}`)
	if g := c.want(200, "GET", "/api/v1/segments/vn%20buyers", ""); g["size"] != 2.0 {
		t.Fatalf("vn buyers size = %v, want 2 (u1, u2)", g["size"])
	}
	e := c.want(400, "PUT", "/api/v1/segments/buyers", `{"query":"in segment \"vn buyers\""}`)
	if errs := e["errors"].([]any); len(errs) != 1 || errs[0].(map[string]any)["code"] != "SegmentCycle" {
		t.Fatalf("cycle: %v", e)
	}
	c.want(400, "PUT", "/api/v1/segments/buyers", `{"query":"in segment \"buyers\""}`)
	c.want(409, "DELETE", "/api/v1/segments/buyers", "")
	c.want(409, "PUT", "/api/v1/segments/buyers", `{"name":"shoppers"}`)

	// delete
	c.want(204, "DELETE", "/api/v1/segments/vn%20buyers", "")
	c.want(404, "GET", "/api/v1/segments/vn%20buyers", "")
	c.want(404, "DELETE", "/api/v1/segments/vn%20buyers", "")
	c.want(204, "DELETE", "/api/v1/segments/buyers", "")

	want := []string{"create vn adults", "create buyers", "update vn adults v2", "create vn buyers", "delete vn buyers", "delete buyers"}
	if !slices.Equal(changes, want) {
		t.Fatalf("OnChange calls %q, want %q", changes, want)
	}
	// durable: a new service over the same store sees the definitions
	svc2, err := New(Options{Store: w.st, Indexes: w})
	if err != nil {
		t.Fatal(err)
	}
	segs, _ := svc2.List(w.ws)
	if len(segs) != 1 || segs[0].Name != "vn adults" || segs[0].Version != 2 {
		t.Fatalf("reopened list = %+v", segs)
	}
}

func TestQueryAPI(t *testing.T) {
	w := smallWorld(t)
	c := client{t, w.server(t).URL}

	v := c.want(200, "POST", "/api/v1/query", `{"query":"sum(revenue of \"Order Completed\" in last 7 days) >= 100 or country = \"SG\"","explain":true,"limit":1}`)
	if v["count"] != 2.0 || len(v["sample"].([]any)) != 1 || v["took_ms"] == nil {
		t.Fatalf("query answer %v", v)
	}
	plan := v["plan"].(map[string]any)
	if plan["kept"] != 2.0 || len(plan["children"].([]any)) != 2 {
		t.Fatalf("plan %v", plan)
	}
	// at: 80 days earlier u4's order was within the window and u1's orders did not exist
	v = c.want(200, "POST", "/api/v1/query", `{"query":"did \"Order Completed\" in last 7 days","at":"2024-12-08T12:00:00Z"}`)
	if v["count"] != 1.0 {
		t.Fatalf("query at the past: %v", v)
	}
	// the JSON tree is accepted and the answer carries both forms
	v = c.want(200, "POST", "/api/v1/query", `{"tree":{"trait":"age","op":">","value":40}}`)
	if v["count"] != 2.0 || v["query"] != "age > 40" {
		t.Fatalf("tree query: %v", v)
	}
	// without explain there is no plan
	if v["plan"] != nil {
		t.Fatalf("plan without explain: %v", v["plan"])
	}

	// every checker error, with positions, code and suggestion
	e := c.want(400, "POST", "/api/v1/query", `{"query":"contry = \"VN\" and\nage = \"old\" and count(\"Order Complted\") > 1"}`)
	errs := e["errors"].([]any)
	if len(errs) != 3 {
		t.Fatalf("errors = %v", errs)
	}
	first := errs[0].(map[string]any)
	if first["code"] != "UnknownTrait" || first["line"] != 1.0 || first["column"] != 1.0 || first["offset"] != 0.0 ||
		first["end_offset"] != 6.0 || first["suggestion"] != "country" || first["text"] != `1:1: unknown trait "contry" (did you mean "country"?)` {
		t.Fatalf("first error = %v", first)
	}
	if second := errs[1].(map[string]any); second["code"] != "TypeMismatch" || second["line"] != 2.0 {
		t.Fatalf("second error = %v", second)
	}
	if third := errs[2].(map[string]any); third["code"] != "UnknownEvent" || third["suggestion"] != "Order Completed" {
		t.Fatalf("third error = %v", third)
	}
	if e["error"].(map[string]any)["code"] != "invalid_query" {
		t.Fatalf("error body %v", e["error"])
	}
	// syntax errors too
	e = c.want(400, "POST", "/api/v1/query", `{"query":"age >"}`)
	if errs := e["errors"].([]any); len(errs) == 0 || errs[0].(map[string]any)["code"] != "Syntax" {
		t.Fatalf("syntax errors: %v", e)
	}
	// warnings come back with a 200
	v = c.want(200, "POST", "/api/v1/query", `{"query":"did \"Webinar Attended\""}`)
	if ws := v["warnings"].([]any); len(ws) != 1 || ws[0].(map[string]any)["code"] != "UnverifiedEvent" || v["count"] != 0.0 {
		t.Fatalf("warning answer: %v", v)
	}
	c.want(400, "POST", "/api/v1/query", `{"query":"age > 1","limitt":3}`)
	c.want(400, "POST", "/api/v1/query", `{"query":"age > 1","limit":-1}`)
	c.want(400, "POST", "/api/v1/query", `{"tree":{"trait":"age","op":"~","value":1}}`)
}

func TestEditorEndpoints(t *testing.T) {
	w := smallWorld(t)
	c := client{t, w.server(t).URL}
	v := c.want(200, "POST", "/api/v1/segql/format", `{"query":"AGE>1 AND country='VN'"}`)
	if v["ok"] != false {
		// single quotes are not SegQL strings: expect errors
		t.Fatalf("format of bad text: %v", v)
	}
	v = c.want(200, "POST", "/api/v1/segql/format", `{"query":"(age>1)and   country=\"VN\""}`)
	if v["ok"] != true || v["query"] != `age > 1 and country = "VN"` || v["tree"] == nil {
		t.Fatalf("format: %v", v)
	}
	v = c.want(200, "POST", "/api/v1/segql/check", `{"query":"contry = \"VN\""}`)
	if v["ok"] != false || v["errors"].([]any)[0].(map[string]any)["suggestion"] != "country" {
		t.Fatalf("check: %v", v)
	}
	v = c.want(200, "POST", "/api/v1/segql/check", `{"query":"country = \"VN\""}`)
	if v["ok"] != true || len(v["errors"].([]any)) != 0 {
		t.Fatalf("check ok: %v", v)
	}
}

func TestMembersAndSnapshot(t *testing.T) {
	w := smallWorld(t)
	c := client{t, w.server(t).URL}
	c.want(201, "POST", "/api/v1/segments", `{"name":"vn","query":"country = \"VN\""}`)

	// paging: 3 members, pages of 2
	var got []float64
	cursor := ""
	for pages := 0; ; pages++ {
		if pages > 3 {
			t.Fatal("paging does not end")
		}
		v := c.want(200, "GET", "/api/v1/segments/vn/members?limit=2&cursor="+cursor, "")
		if v["count"] != 3.0 {
			t.Fatalf("count %v", v["count"])
		}
		for _, m := range v["members"].([]any) {
			mm := m.(map[string]any)
			got = append(got, mm["id"].(float64))
			idents := fmt.Sprint(mm["identifiers"])
			if !strings.Contains(idents, "userId") || !strings.Contains(idents, "@example.com") {
				t.Fatalf("member identifiers %v", idents)
			}
		}
		cursor = v["next_cursor"].(string)
		if cursor == "" {
			break
		}
	}
	if len(got) != 3 || !slices.IsSorted(got) {
		t.Fatalf("paged members %v", got)
	}
	var vnUsers []string
	for _, pid := range got {
		p, err := w.st.Profile(w.ws, uint32(pid))
		if err != nil {
			t.Fatal(err)
		}
		vnUsers = append(vnUsers, first(p, "userId"))
	}
	slices.Sort(vnUsers)
	if !slices.Equal(vnUsers, []string{"u1", "u3", "u6"}) {
		t.Fatalf("members %v", vnUsers)
	}

	// CSV
	code, body := c.raw("GET", "/api/v1/segments/vn/members?format=csv", "")
	rows, err := csv.NewReader(bytes.NewReader(body)).ReadAll()
	if code != 200 || err != nil || len(rows) != 4 || rows[0][1] != "user_id" {
		t.Fatalf("csv %d %v %q", code, err, body)
	}
	var csvUsers []string
	for _, r := range rows[1:] {
		csvUsers = append(csvUsers, r[1])
		if r[3] != r[1]+"@example.com" {
			t.Fatalf("csv row %v", r)
		}
	}
	slices.Sort(csvUsers)
	if !slices.Equal(csvUsers, vnUsers) {
		t.Fatalf("csv members %v", csvUsers)
	}

	// snapshot: frozen while data changes
	s := c.want(201, "POST", "/api/v1/segments/vn/snapshot", `{"name":"vn march"}`)
	if s["mode"] != "snapshot" || s["snapshot"].(map[string]any)["members"] != 3.0 {
		t.Fatalf("snapshot answer %v", s)
	}
	c.want(201, "POST", "/api/v1/segments", `{"name":"in vn march","query":"in segment \"vn march\""}`)
	w.send(t, message.Message{Type: message.Identify, MessageID: "move-u3", UserID: "u3", Timestamp: t0, Traits: map[string]any{"country": "TH"}},
		message.Message{Type: message.Identify, MessageID: "new-u7", UserID: "u7", Timestamp: t0, Traits: map[string]any{"country": "VN"}},
		message.Message{Type: message.Identify, MessageID: "new-u8", UserID: "u8", Timestamp: t0, Traits: map[string]any{"country": "VN"}})
	size := func(name string) float64 {
		return c.want(200, "GET", "/api/v1/segments/"+strings.ReplaceAll(name, " ", "%20"), "")["size"].(float64)
	}
	if size("vn") != 4 || size("vn march") != 3 || size("in vn march") != 3 {
		t.Fatalf("after changes: vn %v, snapshot %v, in snapshot %v; want 4, 3, 3", size("vn"), size("vn march"), size("in vn march"))
	}
	code, body = c.raw("GET", "/api/v1/segments/vn%20march/members?format=csv", "")
	if code != 200 || !strings.Contains(string(body), ",u3,") || strings.Contains(string(body), "u7") {
		t.Fatalf("snapshot members %s", body)
	}
	// a snapshot-mode segment created directly is frozen too
	c.want(201, "POST", "/api/v1/segments", `{"name":"th now","query":"country = \"TH\"","mode":"snapshot"}`)
	w.send(t, message.Message{Type: message.Identify, MessageID: "th-u9", UserID: "u9", Timestamp: t0, Traits: map[string]any{"country": "TH"}})
	if size("th now") != 2 {
		t.Fatalf("th snapshot size %v, want 2 (u2, u3)", size("th now"))
	}
	c.want(404, "GET", "/api/v1/segments/nope/members", "")
	c.want(400, "GET", "/api/v1/segments/vn/members?limit=0", "")
}

// The store documents are the durable contract; check the version ids sort numerically.
func TestVersionIDsSort(t *testing.T) {
	if !(versionID("seg_a", 9) < versionID("seg_a", 10)) {
		t.Fatal("version ids must sort in version order")
	}
	_ = store.ErrNotFound
}
