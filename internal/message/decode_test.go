package message

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"
)

var recv = time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)

func TestDecodeCallErrors(t *testing.T) {
	big := `{"userId":"u","event":"e","properties":{"x":"` + strings.Repeat("a", 33<<10) + `"}}`
	cases := []struct {
		typ        Type
		body, code string
		path       string
	}{
		{Track, `{"userId":`, CodeInvalidJSON, ""},
		{Track, `not json`, CodeInvalidJSON, ""},
		{Track, `[1,2]`, CodeInvalidJSON, ""},
		{Track, `"str"`, CodeInvalidJSON, ""},
		{Track, `null`, CodeInvalidJSON, ""},
		{Track, big, CodeMessageTooLarge, ""},
		{Track, `{"event":"e"}`, CodeMissingIdentity, "userId"},
		{Track, `{"event":"e","userId":"","anonymousId":null}`, CodeMissingIdentity, "userId"},
		{Identify, `{"traits":{"email":"a@b.c"}}`, CodeMissingIdentity, "userId"},
		{Track, `{"userId":"u"}`, CodeMissingField, "event"},
		{Track, `{"userId":"u","event":""}`, CodeMissingField, "event"},
		{Alias, `{"userId":"u"}`, CodeMissingField, "previousId"},
		{Alias, `{"previousId":"p"}`, CodeMissingField, "userId"},
		{Alias, `{"previousId":"p","anonymousId":"a"}`, CodeMissingField, "userId"},
		{Group, `{"userId":"u"}`, CodeMissingField, "groupId"},
		{Track, `{"userId":"u","event":"e","properties":[1]}`, CodeInvalidType, "properties"},
		{Track, `{"userId":"u","event":"e","properties":"x"}`, CodeInvalidType, "properties"},
		{Identify, `{"userId":"u","traits":5}`, CodeInvalidType, "traits"},
		{Identify, `{"userId":"u","context":true}`, CodeInvalidType, "context"},
		{Identify, `{"userId":"u","integrations":"all"}`, CodeInvalidType, "integrations"},
		{Track, `{"userId":"u","event":5}`, CodeInvalidType, "event"},
		{Page, `{"userId":"u","name":{}}`, CodeInvalidType, "name"},
		{Page, `{"userId":"u","category":[]}`, CodeInvalidType, "category"},
		{Track, `{"userId":true,"event":"e"}`, CodeInvalidType, "userId"},
		{Track, `{"userId":{"a":1},"event":"e"}`, CodeInvalidType, "userId"},
		{Track, `{"anonymousId":["a"],"event":"e"}`, CodeInvalidType, "anonymousId"},
		{Track, `{"userId":"u","event":"e","messageId":{}}`, CodeInvalidType, "messageId"},
		{Track, `{"userId":"u","event":"e","timestamp":"yesterday"}`, CodeInvalidType, "timestamp"},
		{Track, `{"userId":"u","event":"e","timestamp":1714564800}`, CodeInvalidType, "timestamp"},
		{Track, `{"userId":"u","event":"e","timestamp":"2024-13-01T00:00:00Z"}`, CodeInvalidType, "timestamp"},
		{Track, `{"userId":"u","event":"e","timestamp":"2023-02-29T00:00:00Z"}`, CodeInvalidType, "timestamp"},
		{Track, `{"userId":"u","event":"e","sentAt":"2024-05-01T25:00:00Z"}`, CodeInvalidType, "sentAt"},
		{Track, `{"userId":"u","event":"e","originalTimestamp":"2024-05-01T00:00:00+2500"}`, CodeInvalidType, "originalTimestamp"},
		{Track, `{"userId":"u","event":"e","originalTimestamp":"0002-01-01T00:00:00Z","sentAt":"9999-01-01T00:00:00Z"}`, CodeInvalidType, "originalTimestamp"},
		{Track, `{"userId":"u","event":"e","writeKey":7}`, CodeInvalidType, "writeKey"},
		{Type("bogus"), `{"userId":"u"}`, CodeUnknownType, "type"},
	}
	for _, c := range cases {
		_, err := DecodeCall(c.typ, []byte(c.body), recv, DefaultLimits())
		checkErr(t, fmt.Sprintf("%s %.60s", c.typ, c.body), err, c.code, c.path)
	}
}

func TestDecodeMessageErrors(t *testing.T) {
	cases := []struct{ body, code, path string }{
		{`{"userId":"u"}`, CodeMissingField, "type"},
		{`{"type":null,"userId":"u"}`, CodeMissingField, "type"},
		{`{"type":"purchase","userId":"u"}`, CodeUnknownType, "type"},
		{`{"type":"Track","userId":"u","event":"e"}`, CodeUnknownType, "type"},
		{`{"type":3,"userId":"u"}`, CodeInvalidType, "type"},
		{`{"type":"track","userId":"u"}`, CodeMissingField, "event"},
		{`{"type":"identify"}`, CodeMissingIdentity, "userId"},
	}
	for _, c := range cases {
		_, err := DecodeMessage([]byte(c.body), recv, DefaultLimits())
		checkErr(t, c.body, err, c.code, c.path)
	}
}

func TestDecodeBatchErrors(t *testing.T) {
	lim := Limits{MaxMessageBytes: 200, MaxBatchBytes: 1000, MaxBatchMessages: 3}
	msg := `{"type":"track","userId":"u","event":"e"}`
	cases := []struct{ body, code, path string }{
		{`{"batch":[`, CodeInvalidJSON, ""},
		{`[]`, CodeInvalidJSON, ""},
		{`{}`, CodeMissingField, "batch"},
		{`{"batch":null}`, CodeMissingField, "batch"},
		{`{"batch":{}}`, CodeInvalidType, "batch"},
		{`{"batch":"x"}`, CodeInvalidType, "batch"},
		{`{"batch":[],"context":[]}`, CodeInvalidType, "context"},
		{`{"batch":[],"integrations":1}`, CodeInvalidType, "integrations"},
		{`{"batch":[],"sentAt":"soon"}`, CodeInvalidType, "sentAt"},
		{`{"batch":[],"sentAt":5}`, CodeInvalidType, "sentAt"},
		{`{"batch":[],"writeKey":5}`, CodeInvalidType, "writeKey"},
		{`{"batch":[` + strings.Repeat(msg+",", 3) + msg + `]}`, CodeTooManyMessages, "batch"},
		{`{"batch":[` + strings.Repeat(msg+",", 30) + msg + `]}`, CodeBatchTooLarge, ""},
	}
	for _, c := range cases {
		_, err := DecodeBatch([]byte(c.body), recv, lim)
		checkErr(t, c.body, err, c.code, c.path)
	}
}

// TestDecodeBatchRejections shows that a bad element rejects only itself, with its index and a
// path into the batch.
func TestDecodeBatchRejections(t *testing.T) {
	lim := Limits{MaxMessageBytes: 200, MaxBatchBytes: 10000, MaxBatchMessages: 100}
	elems := []struct {
		json, code, path string // code "" means accepted
	}{
		{`{"type":"track","userId":"u1","event":"a"}`, "", ""},
		{`{"type":"track","event":"a"}`, CodeMissingIdentity, "batch[1].userId"},
		{`{"type":"identify","anonymousId":"x"}`, "", ""},
		{`{"type":"track","userId":"u","event":"a","properties":7}`, CodeInvalidType, "batch[3].properties"},
		{`{"type":"track","userId":"u","event":"a","timestamp":"never"}`, CodeInvalidType, "batch[4].timestamp"},
		{`{"type":"alias","userId":"u"}`, CodeMissingField, "batch[5].previousId"},
		{`{"type":"group","userId":"u"}`, CodeMissingField, "batch[6].groupId"},
		{`{"type":"explode","userId":"u"}`, CodeUnknownType, "batch[7].type"},
		{`{"userId":"u"}`, CodeMissingField, "batch[8].type"},
		{`"just a string"`, CodeInvalidType, "batch[9]"},
		{`null`, CodeInvalidType, "batch[10]"},
		{`{"type":"track","userId":"u","event":"` + strings.Repeat("x", 200) + `"}`, CodeMessageTooLarge, "batch[11]"},
		{`{"type":"page","userId":42,"name":"Home"}`, "", ""},
		{`{"type":"alias","previousId":"a","userId":"b"}`, "", ""},
	}
	var parts []string
	for _, e := range elems {
		parts = append(parts, e.json)
	}
	b, err := DecodeBatch([]byte(`{"batch":[`+strings.Join(parts, ",")+`],"writeKey":"wk1"}`), recv, lim)
	if err != nil {
		t.Fatal(err)
	}
	if b.WriteKey != "wk1" {
		t.Errorf("WriteKey = %q", b.WriteKey)
	}
	rej := map[int]*Error{}
	for _, r := range b.Rejections {
		rej[r.Index] = r.Err
	}
	accepted := 0
	for i, e := range elems {
		got := rej[i]
		switch {
		case e.code == "" && got != nil:
			t.Errorf("batch[%d] rejected: %v", i, got)
		case e.code == "":
			accepted++
		case got == nil:
			t.Errorf("batch[%d] accepted, want %s", i, e.code)
		case got.Code != e.code || got.Path != e.path:
			t.Errorf("batch[%d] = %s at %s, want %s at %s", i, got.Code, got.Path, e.code, e.path)
		}
	}
	if len(b.Messages) != accepted {
		t.Fatalf("%d messages, want %d", len(b.Messages), accepted)
	}
	if b.Messages[2].UserID != "42" || b.Messages[2].Type != Page {
		t.Errorf("numeric userId: %+v", b.Messages[2])
	}
}

func checkErr(t *testing.T, name string, err error, code, path string) {
	t.Helper()
	if err == nil {
		t.Errorf("%s: no error, want %s", name, code)
		return
	}
	var e *Error
	if !errors.As(err, &e) {
		t.Errorf("%s: error %T is not *Error", name, err)
		return
	}
	if e.Code != code || e.Path != path {
		t.Errorf("%s: got %s at %q (%s), want %s at %q", name, e.Code, e.Path, e.Message, code, path)
	}
	if e.Message == "" || strings.ToUpper(e.Message[:1]) == e.Message[:1] && e.Message[:1] != strings.ToLower(e.Message[:1]) {
		t.Errorf("%s: message %q must be non-empty and start lower-case", name, e.Message)
	}
}

func TestDecodeCallFields(t *testing.T) {
	body := `{"type":"screen","userId":12345,"anonymousId":"anon-1","event":"ignored?","name":"Home",
		"properties":{"n":1.5,"ok":true,"list":[1,"a"]},"context":{"ip":"10.0.0.1","traits":{"email":"x@y.z"}},
		"traits":{"plan":"pro"},"integrations":{"All":false},"version":2,"channel":"server","writeKey":"secret"}`
	m, err := DecodeCall(Screen, []byte(body), recv, DefaultLimits())
	if err != nil {
		t.Fatal(err)
	}
	if m.Type != Screen || m.UserID != "12345" || m.AnonymousID != "anon-1" || m.Name != "Home" {
		t.Errorf("ids: %+v", m)
	}
	if m.Properties["n"] != 1.5 || m.Properties["ok"] != true || len(m.Properties["list"].([]any)) != 2 {
		t.Errorf("properties: %v", m.Properties)
	}
	if m.Extra["version"] != float64(2) || m.Extra["channel"] != "server" || len(m.Extra) != 2 {
		t.Errorf("extra: %v", m.Extra)
	}
	if m.WriteKey != "secret" {
		t.Errorf("write key %q must be exposed", m.WriteKey)
	}
	if wire, _ := m.WireJSON(); bytes.Contains(wire, []byte("secret")) {
		t.Errorf("the write key must stay out of the message's wire form %s", wire)
	}
	if !m.Timestamp.Equal(recv) || !m.ReceivedAt.Equal(recv) {
		t.Errorf("times: %v %v", m.Timestamp, m.ReceivedAt)
	}
	if m.Enriched.Get(EnrichIP) != "10.0.0.1" {
		t.Errorf("enriched: %v", m.Enriched)
	}
	it := m.IdentityTraits()
	if it["email"] != "x@y.z" || it["plan"] != "pro" {
		t.Errorf("identity traits: %v", it)
	}
	if _, ok := m.Context["traits"]; !ok {
		t.Error("context.traits must stay in context")
	}
}

func TestNumericIDs(t *testing.T) {
	cases := []struct{ in, want string }{
		{`42`, "42"},
		{`-7`, "-7"},
		{`1.5`, "1.5"},
		{`1e3`, "1000"},
		{`9007199254740993`, "9007199254740992"}, // as a JavaScript client would see it
		{`"0042"`, "0042"},
	}
	for _, c := range cases {
		m, err := DecodeCall(Identify, []byte(`{"userId":`+c.in+`,"groupId":`+c.in+`}`), recv, DefaultLimits())
		if err != nil {
			t.Fatalf("%s: %v", c.in, err)
		}
		if m.UserID != c.want || m.GroupID != c.want {
			t.Errorf("%s: userId %q groupId %q, want %q", c.in, m.UserID, m.GroupID, c.want)
		}
	}
}

func TestMessageIDGenerated(t *testing.T) {
	a := []byte(`{"userId":"u","event":"e"}`)
	b := []byte(`{"userId":"u", "event":"e"}`)
	m1, _ := DecodeCall(Track, a, recv, DefaultLimits())
	m2, _ := DecodeCall(Track, a, recv.Add(time.Hour), DefaultLimits())
	m3, _ := DecodeCall(Track, b, recv, DefaultLimits())
	m4, _ := DecodeCall(Track, []byte(`{"userId":"u","event":"e","messageId":"mine"}`), recv, DefaultLimits())
	if !strings.HasPrefix(m1.MessageID, IDPrefix) || len(m1.MessageID) != len(IDPrefix)+32 {
		t.Errorf("generated id %q", m1.MessageID)
	}
	if m1.MessageID != m2.MessageID {
		t.Error("same bytes must give the same messageId")
	}
	if m1.MessageID == m3.MessageID {
		t.Error("different bytes must give different messageIds")
	}
	if m4.MessageID != "mine" {
		t.Errorf("explicit messageId replaced: %q", m4.MessageID)
	}
	// In a batch the element's bytes decide, so a retried batch gives the same ids.
	body := []byte(`{"batch":[{"type":"track","userId":"u","event":"e"},{"type":"track","userId":"u","event":"f"}]}`)
	b1, _ := DecodeBatch(body, recv, DefaultLimits())
	b2, _ := DecodeBatch(body, recv.Add(time.Minute), DefaultLimits())
	if b1.Messages[0].MessageID != b2.Messages[0].MessageID || b1.Messages[0].MessageID == b1.Messages[1].MessageID {
		t.Errorf("batch ids: %q %q %q", b1.Messages[0].MessageID, b2.Messages[0].MessageID, b1.Messages[1].MessageID)
	}
	if b1.Messages[0].MessageID != GenerateID([]byte(`{"type":"track","userId":"u","event":"e"}`)) {
		t.Error("batch id is not the hash of the element's bytes")
	}
}

func TestBatchEnvelopeMerge(t *testing.T) {
	body := `{"batch":[
		{"type":"track","userId":"u","event":"e","context":{"library":{"name":"mine"},"ip":"1.1.1.1"},"integrations":{"X":false}},
		{"type":"track","userId":"u","event":"f","sentAt":"2024-05-01T11:00:00Z","originalTimestamp":"2024-05-01T10:00:00Z"},
		{"type":"track","userId":"u","event":"g","originalTimestamp":"2024-05-01T10:00:00Z"}],
		"context":{"library":{"name":"analytics-go","version":"3"},"locale":"de-DE"},"integrations":{"All":true,"X":true},
		"sentAt":"2024-05-01T10:30:00Z"}`
	b, err := DecodeBatch([]byte(body), recv, DefaultLimits())
	if err != nil || len(b.Rejections) > 0 {
		t.Fatal(err, b.Rejections)
	}
	m0, m1, m2 := b.Messages[0], b.Messages[1], b.Messages[2]
	lib := m0.Context["library"].(map[string]any)
	if lib["name"] != "mine" || lib["version"] != "3" || m0.Context["locale"] != "de-DE" || m0.Context["ip"] != "1.1.1.1" {
		t.Errorf("context merge: %v", m0.Context)
	}
	if m0.Integrations["X"] != false || m0.Integrations["All"] != true {
		t.Errorf("integrations merge: %v", m0.Integrations)
	}
	// Messages must not share the envelope's maps.
	m1.Context["library"].(map[string]any)["name"] = "changed"
	if m2.Context["library"].(map[string]any)["name"] != "analytics-go" {
		t.Error("batch context is shared between messages")
	}
	// Own sentAt wins over the batch's: skew 1h → 12:00 − 1h.
	if want := recv.Add(-time.Hour); !m1.Timestamp.Equal(want) {
		t.Errorf("own sentAt: timestamp %v, want %v", m1.Timestamp, want)
	}
	// Batch sentAt applies: skew 30m.
	if want := recv.Add(-30 * time.Minute); !m2.Timestamp.Equal(want) || !m2.SentAt.Equal(time.Date(2024, 5, 1, 10, 30, 0, 0, time.UTC)) {
		t.Errorf("batch sentAt: timestamp %v sentAt %v, want %v", m2.Timestamp, m2.SentAt, want)
	}
}

func TestClockSkew(t *testing.T) {
	cases := []struct {
		name, fields string
		want         time.Time
	}{
		{"nothing: receipt time", ``, recv},
		{"timestamp as given", `"timestamp":"2012-12-02T00:30:08.276Z"`, time.Date(2012, 12, 2, 0, 30, 8, 276e6, time.UTC)},
		{"timestamp wins over correction", `"timestamp":"2012-12-02T00:30:08Z","originalTimestamp":"2024-05-01T09:00:00Z","sentAt":"2024-05-01T10:00:00Z"`, time.Date(2012, 12, 2, 0, 30, 8, 0, time.UTC)},
		{"client clock 2h slow", `"originalTimestamp":"2024-05-01T09:59:00Z","sentAt":"2024-05-01T10:00:00Z"`, recv.Add(-time.Minute)},
		{"client clock 3h fast, zone offset", `"originalTimestamp":"2024-05-01T15:55:00+01:00","sentAt":"2024-05-01T15:00:00Z"`, recv.Add(-5 * time.Minute)},
		{"queued offline a day", `"originalTimestamp":"2024-04-30T12:00:00.5Z","sentAt":"2024-05-01T12:00:00Z"`, recv.Add(-24*time.Hour + 500*time.Millisecond)},
		{"originalTimestamp without sentAt: receipt time", `"originalTimestamp":"2020-01-01T00:00:00Z"`, recv},
		{"sentAt alone: receipt time", `"sentAt":"2020-01-01T00:00:00Z"`, recv},
		{"nanoseconds kept", `"originalTimestamp":"2024-05-01T10:00:00.123456789Z","sentAt":"2024-05-01T10:00:00Z"`, recv.Add(123456789)},
	}
	for _, c := range cases {
		body := `{"userId":"u","event":"e"`
		if c.fields != "" {
			body += "," + c.fields
		}
		m, err := DecodeCall(Track, []byte(body+"}"), recv, DefaultLimits())
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if !m.Timestamp.Equal(c.want) || m.Timestamp.Location() != time.UTC {
			t.Errorf("%s: timestamp %v, want %v (UTC)", c.name, m.Timestamp, c.want)
		}
	}
}

func TestParseTime(t *testing.T) {
	utc := func(y, mo, d, h, mi, s, ns int) time.Time {
		return time.Date(y, time.Month(mo), d, h, mi, s, ns, time.UTC)
	}
	cases := []struct {
		in   string
		want time.Time // zero: must fail
	}{
		{"2024-05-01T12:00:00Z", utc(2024, 5, 1, 12, 0, 0, 0)},
		{"2024-05-01T12:00:00.123Z", utc(2024, 5, 1, 12, 0, 0, 123e6)},
		{"2024-05-01T12:00:00.123456789Z", utc(2024, 5, 1, 12, 0, 0, 123456789)},
		{"2024-05-01T12:00:00.1234567891Z", utc(2024, 5, 1, 12, 0, 0, 123456789)},
		{"2024-05-01T12:00:00+02:00", utc(2024, 5, 1, 10, 0, 0, 0)},
		{"2024-05-01T12:00:00-0530", utc(2024, 5, 1, 17, 30, 0, 0)},
		{"2024-05-01T12:00:00+02", utc(2024, 5, 1, 10, 0, 0, 0)},
		{"2024-05-01 12:00:00", utc(2024, 5, 1, 12, 0, 0, 0)},
		{"2024-05-01T12:00", utc(2024, 5, 1, 12, 0, 0, 0)},
		{"2024-05-01", utc(2024, 5, 1, 0, 0, 0, 0)},
		{"2015-2-02T00:30:08.276Z", utc(2015, 2, 2, 0, 30, 8, 276e6)},
		{"2024-02-29T00:00:00z", utc(2024, 2, 29, 0, 0, 0, 0)},
		{"2016-12-31T23:59:60Z", utc(2016, 12, 31, 23, 59, 59, 999999999)},
		{"", time.Time{}},
		{"2024", time.Time{}},
		{"24-05-01", time.Time{}},
		{"2024-05-01T", time.Time{}},
		{"2024-05-01T12:00:00.Z", time.Time{}},
		{"2024-05-01T12:00:00ZZ", time.Time{}},
		{"2024-05-01T12:00:00 +02:00", time.Time{}},
		{"2024-05-32T00:00:00Z", time.Time{}},
		{"2024-00-10T00:00:00Z", time.Time{}},
		{"2024-05-01T24:00:00Z", time.Time{}},
		{"2024-05-01T12:60:00Z", time.Time{}},
		{"2024-05-01T12:00:00+24:00", time.Time{}},
		{"May 1, 2024", time.Time{}},
	}
	for _, c := range cases {
		got, err := parseTime(c.in)
		if c.want.IsZero() {
			if err == nil {
				t.Errorf("parseTime(%q) = %v, want error", c.in, got)
			}
			continue
		}
		if err != nil || !got.Equal(c.want) || got.Location() != time.UTC {
			t.Errorf("parseTime(%q) = %v, %v; want %v", c.in, got, err, c.want)
		}
	}
}

func TestLimitsValidate(t *testing.T) {
	if err := DefaultLimits().Validate(); err != nil {
		t.Fatal(err)
	}
	if got := (Limits{}).WithDefaults(); got != DefaultLimits() {
		t.Errorf("WithDefaults = %+v", got)
	}
	bad := []Limits{
		{MaxMessageBytes: -1, MaxBatchBytes: 10, MaxBatchMessages: 1},
		{MaxMessageBytes: 1, MaxBatchBytes: 0, MaxBatchMessages: 1},
		{MaxMessageBytes: 1, MaxBatchBytes: 1, MaxBatchMessages: 0},
		{MaxMessageBytes: 100, MaxBatchBytes: 10, MaxBatchMessages: 1},
	}
	for _, l := range bad {
		if l.Validate() == nil {
			t.Errorf("%+v: want an error", l)
		}
	}
}

func TestReadBody(t *testing.T) {
	gz := func(s string) []byte {
		var b bytes.Buffer
		w := gzip.NewWriter(&b)
		w.Write([]byte(s))
		w.Close()
		return b.Bytes()
	}
	body, err := ReadBody(bytes.NewReader(gz(`{"a":1}`)), "gzip", -1, 100, CodeBatchTooLarge)
	if err != nil || string(body) != `{"a":1}` {
		t.Fatalf("gzip: %q %v", body, err)
	}
	body, err = ReadBody(strings.NewReader(`{"a":1}`), "", -1, 100, CodeBatchTooLarge)
	if err != nil || string(body) != `{"a":1}` {
		t.Fatalf("identity: %q %v", body, err)
	}
	cases := []struct {
		body     []byte
		encoding string
		code     string
	}{
		{[]byte("not gzip at all"), "gzip", CodeInvalidEncoding},
		{gz(`{"a":1}`)[:12], "gzip", CodeInvalidEncoding},
		{[]byte("{}"), "br", CodeInvalidEncoding},
		{[]byte(strings.Repeat("x", 101)), "", CodeBatchTooLarge},
		{gz(strings.Repeat("x", 101)), "gzip", CodeMessageTooLarge}, // the uncompressed size counts
	}
	for _, c := range cases {
		code := CodeBatchTooLarge
		if c.code == CodeMessageTooLarge {
			code = CodeMessageTooLarge
		}
		_, err := ReadBody(bytes.NewReader(c.body), c.encoding, -1, 100, code)
		checkErr(t, c.encoding+" "+string(c.body[:min(len(c.body), 10)]), err, c.code, "")
	}
	// The stated length sizes the buffer and decides nothing: a body longer or shorter than
	// it reads the same.
	for _, stated := range []int64{-1, 0, 3, 7, 50, 1 << 40} {
		body, err := ReadBody(strings.NewReader(`{"a":1}`), "", stated, 100, CodeBatchTooLarge)
		if err != nil || string(body) != `{"a":1}` {
			t.Fatalf("stated length %d: %q %v", stated, body, err)
		}
		_, err = ReadBody(strings.NewReader(strings.Repeat("x", 101)), "", stated, 100, CodeBatchTooLarge)
		checkErr(t, fmt.Sprint("too long, stated ", stated), err, CodeBatchTooLarge, "")
	}
}

// TestEnrichedJSON: the derived fields encode as the JSON object they were when a map (members
// in key order), decode back, and are found by key.
func TestEnrichedJSON(t *testing.T) {
	m := Message{Type: Track, Enriched: Enriched{{Key: EnrichOS, Value: "iOS"}, {Key: EnrichBrowser, Value: "Safari"}}}
	b, err := json.Marshal(&m)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), `"enriched":{"browser":"Safari","os":"iOS"}`) {
		t.Errorf("encoded %s", b)
	}
	var back Message
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if want := EnrichedFromMap(m.Enriched.Map()); !reflect.DeepEqual(back.Enriched, want) {
		t.Errorf("decoded %v, want %v", back.Enriched, want)
	}
	if v, ok := back.Enriched.Lookup(EnrichOS); !ok || v != "iOS" || back.Enriched.Get(EnrichIP) != "" {
		t.Errorf("lookup in %v", back.Enriched)
	}
	if b, _ := json.Marshal(Message{}); strings.Contains(string(b), "enriched") {
		t.Errorf("no fields must leave enriched out: %s", b)
	}
}
