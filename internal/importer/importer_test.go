package importer

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/segd/segd/internal/message"
)

// dedupSink stands in for the store: it keeps one message per messageId.
type dedupSink struct {
	mu      sync.Mutex
	byID    map[string]message.Message
	order   []string
	appends int
	fail    error
}

func (s *dedupSink) Append(_ context.Context, msgs []message.Message) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.fail != nil {
		return s.fail
	}
	if s.byID == nil {
		s.byID = map[string]message.Message{}
	}
	s.appends++
	for _, m := range msgs {
		if _, ok := s.byID[m.MessageID]; !ok {
			s.order = append(s.order, m.MessageID)
		}
		s.byID[m.MessageID] = m
	}
	return nil
}

type recordSink struct {
	byKey map[string]Record
}

func (s *recordSink) UpsertRecords(_ context.Context, typ string, recs []Record) error {
	if s.byKey == nil {
		s.byKey = map[string]Record{}
	}
	for _, r := range recs {
		s.byKey[typ+"/"+r.ID] = r
	}
	return nil
}

var fixedNow = func() time.Time { return time.Date(2024, 6, 1, 0, 0, 0, 0, time.UTC) }

func open(t *testing.T, name string) *os.File {
	t.Helper()
	f, err := os.Open("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

func errorLines(r Report) []int {
	var out []int
	for _, e := range r.Errors {
		out = append(out, e.Line)
	}
	return out
}

func checkReport(t *testing.T, r Report, lines, imported int, badLines []int, reasons []string) {
	t.Helper()
	if r.Lines != int64(lines) || r.Imported != int64(imported) || r.Skipped != int64(len(badLines)) {
		t.Errorf("report: lines %d imported %d skipped %d, want %d %d %d", r.Lines, r.Imported, r.Skipped, lines, imported, len(badLines))
	}
	got := errorLines(r)
	if len(got) != len(badLines) {
		t.Fatalf("bad lines %v, want %v (%v)", got, badLines, r.Errors)
	}
	for i := range got {
		if got[i] != badLines[i] {
			t.Errorf("bad lines %v, want %v", got, badLines)
			break
		}
		if !strings.Contains(r.Errors[i].Reason, reasons[i]) {
			t.Errorf("line %d: reason %q does not mention %q", got[i], r.Errors[i].Reason, reasons[i])
		}
	}
}

func TestEventsJSONL(t *testing.T) {
	sink := &dedupSink{}
	var errs bytes.Buffer
	var progress []int64
	st, _ := open(t, "events.jsonl").Stat()
	opts := Options{BatchSize: 2, Now: fixedNow, ErrorsWriter: &errs, Size: st.Size(), ProgressEvery: time.Nanosecond,
		Progress: func(done, total int64) { progress = append(progress, done) }}
	r, err := Events(context.Background(), open(t, "events.jsonl"), sink, opts)
	if err != nil {
		t.Fatal(err)
	}
	checkReport(t, r, 12, 6, []int{3, 5, 6, 8, 10, 13},
		[]string{"invalid_json", "missing_field at event", "missing_identity at userId", "unknown_type at type", "invalid_type at properties", "invalid_type at timestamp"})
	if len(sink.byID) != 6 {
		t.Fatalf("sink holds %d messages, want 6", len(sink.byID))
	}
	// File order is kept across the parallel decoders.
	var types []string
	for _, id := range sink.order {
		types = append(types, string(sink.byID[id].Type))
	}
	if got := strings.Join(types, ","); got != "identify,track,page,alias,screen,group" {
		t.Errorf("order %s", got)
	}
	if m := sink.byID["m-2"]; m.Event != "Order Completed" || !m.Timestamp.Equal(time.Date(2024, 1, 6, 10, 0, 0, 0, time.UTC)) {
		t.Errorf("explicit messageId/timestamp lost: %+v", m)
	}
	// The errors file has one line<TAB>reason per bad line.
	lines := strings.Split(strings.TrimSpace(errs.String()), "\n")
	if len(lines) != 6 || !strings.HasPrefix(lines[0], "3\tinvalid_json") || !strings.HasPrefix(lines[5], "13\t") {
		t.Errorf("errors file:\n%s", errs.String())
	}
	if len(progress) == 0 || progress[len(progress)-1] != st.Size() {
		t.Errorf("progress %v, want to end at %d", progress, st.Size())
	}
	for i := 1; i < len(progress); i++ {
		if progress[i] < progress[i-1] {
			t.Errorf("progress goes backwards: %v", progress)
		}
	}

	// A second run adds nothing: every message has the same id as before.
	r2, err := Events(context.Background(), open(t, "events.jsonl"), sink, Options{Now: func() time.Time { return fixedNow().Add(time.Hour) }})
	if err != nil {
		t.Fatal(err)
	}
	if r2.Imported != 6 || len(sink.byID) != 6 {
		t.Errorf("second run: imported %d, sink now holds %d, want 6", r2.Imported, len(sink.byID))
	}
}

func TestEventsLongLinesAndBOM(t *testing.T) {
	long := `{"type":"track","userId":"u","event":"e","properties":{"x":"` + strings.Repeat("a", 200<<10) + `"}}`
	in := "\xef\xbb\xbf" + `{"type":"identify","userId":"u"}` + "\n" + long + "\n" + `{"type":"track","userId":"u","event":"after"}`
	sink := &dedupSink{}
	r, err := Events(context.Background(), strings.NewReader(in), sink, Options{})
	if err != nil {
		t.Fatal(err)
	}
	checkReport(t, r, 3, 2, []int{2}, []string{"message_too_large"})
}

func TestEventsSinkError(t *testing.T) {
	boom := errors.New("disk full")
	_, err := Events(context.Background(), open(t, "events.jsonl"), &dedupSink{fail: boom}, Options{BatchSize: 1})
	if !errors.Is(err, boom) {
		t.Fatalf("err %v, want %v", err, boom)
	}
}

func TestEventsCanceled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	var sb strings.Builder
	for range 5000 {
		sb.WriteString(`{"type":"identify","userId":"u"}` + "\n")
	}
	_, err := Events(ctx, strings.NewReader(sb.String()), &dedupSink{}, Options{BatchSize: 10})
	if !errors.Is(err, ErrCanceled) || !errors.Is(err, context.Canceled) {
		t.Fatalf("err %v, want ErrCanceled wrapping context.Canceled", err)
	}
}

func TestProfilesCSV(t *testing.T) {
	sink := &dedupSink{}
	var errs bytes.Buffer
	opts := Options{Now: fixedNow, ErrorsWriter: &errs, IDColumns: map[string]string{"customer_id": "userId", "email": "email"}}
	r, err := Profiles(context.Background(), open(t, "profiles.csv"), sink, opts)
	if err != nil {
		t.Fatal(err)
	}
	checkReport(t, r, 7, 4, []int{4, 5, 9}, []string{"wrong number of columns: 7", "no identifier", "malformed CSV"})
	byUser := map[string]message.Message{}
	for _, m := range sink.byID {
		if m.Type != message.Identify || !strings.HasPrefix(m.MessageID, "p-") {
			t.Errorf("not an identify with a row id: %+v", m)
		}
		key := m.UserID
		if key == "" {
			key = m.Traits["email"].(string)
		}
		byUser[key] = m
	}
	ann := byUser["c-1"]
	want := map[string]any{"email": "ann@example.com", "first_name": "Ann", "age": 34.0, "vip": true,
		"signup": "2023-04-01T00:00:00Z", "score": 9.5, "zip": "01234", "notes": "likes shoes"}
	if len(ann.Traits) != len(want) {
		t.Errorf("c-1 traits %v, want %v", ann.Traits, want)
	}
	for k, v := range want {
		if ann.Traits[k] != v {
			t.Errorf("c-1 trait %s = %#v, want %#v", k, ann.Traits[k], v)
		}
	}
	if _, ok := ann.Traits["customer_id"]; ok {
		t.Error("the userId column must not become a trait")
	}
	bob := byUser["c-2"]
	if bob.Traits["vip"] != false || bob.Traits["signup"] != "2023-05-02T06:30:00Z" {
		t.Errorf("c-2 traits %v", bob.Traits)
	}
	if _, ok := bob.Traits["score"]; ok {
		t.Error("an empty cell must be absent")
	}
	dee := byUser["dee@example.com"]
	if !strings.HasPrefix(dee.AnonymousID, "imp-") || dee.Traits["notes"] != "multi\nline note" {
		t.Errorf("email-only row: %+v", dee)
	}

	// A re-run adds nothing, and neither does the same data with its columns reordered.
	n := len(sink.byID)
	if _, err := Profiles(context.Background(), open(t, "profiles.csv"), sink, opts); err != nil {
		t.Fatal(err)
	}
	reordered := "email,customer_id,notes,zip,score,signup,vip,age,first_name\nann@example.com,c-1,likes shoes,01234,9.5,2023-04-01,true,34,Ann\n"
	if _, err := Profiles(context.Background(), strings.NewReader(reordered), sink, opts); err != nil {
		t.Fatal(err)
	}
	if len(sink.byID) != n {
		t.Errorf("re-run grew the sink from %d to %d messages", n, len(sink.byID))
	}
}

func TestProfilesExternalIDsAndTimestamp(t *testing.T) {
	sink := &dedupSink{}
	in := "crm,phone,timestamp,plan\nCRM-9,+4930123,2024-03-01T10:00:00Z,gold\n"
	r, err := Profiles(context.Background(), strings.NewReader(in), sink,
		Options{Now: fixedNow, IDColumns: map[string]string{"crm": "crm_id", "phone": "phone"}})
	if err != nil || r.Imported != 1 {
		t.Fatal(err, r)
	}
	m := sink.byID[sink.order[0]]
	ext, _ := m.Context["externalIds"].([]any)
	if len(ext) != 1 || ext[0].(map[string]any)["type"] != "crm_id" || ext[0].(map[string]any)["id"] != "CRM-9" {
		t.Errorf("externalIds %v", m.Context["externalIds"])
	}
	if m.Traits["phone"] != "+4930123" || m.Traits["plan"] != "gold" || m.Traits["timestamp"] != nil {
		t.Errorf("traits %v", m.Traits)
	}
	if !m.Timestamp.Equal(time.Date(2024, 3, 1, 10, 0, 0, 0, time.UTC)) {
		t.Errorf("timestamp %v", m.Timestamp)
	}
}

func TestProfilesHeaderErrors(t *testing.T) {
	cases := []struct {
		in   string
		ids  map[string]string
		want string
	}{
		{"", nil, "empty"},
		{"a,b\n1,2\n", nil, "no identifier column"},
		{"email,email\nx,y\n", nil, "twice"},
		{"email,\nx,y\n", nil, "no name"},
		{"email,name\nx,y\n", map[string]string{"mail": "email"}, `id column "mail" is not in the header`},
	}
	for _, c := range cases {
		_, err := Profiles(context.Background(), strings.NewReader(c.in), &dedupSink{}, Options{IDColumns: c.ids})
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: err %v, want %q", c.in, err, c.want)
		}
	}
}

func TestRecordsCSV(t *testing.T) {
	sink := &recordSink{}
	r, err := Records(context.Background(), open(t, "records.csv"), "tickets", sink, Options{BatchSize: 2})
	if err != nil {
		t.Fatal(err)
	}
	checkReport(t, r, 7, 3, []int{4, 5, 6, 7}, []string{"no profile identifier", "empty id", "timestamp \"yesterday\"", "wrong number of columns"})
	t1 := sink.byKey["tickets/t-1"]
	if t1.Profile["userId"] != "u1" || len(t1.Profile) != 1 || t1.Attributes["priority"] != 2.0 || t1.Attributes["open"] != true ||
		t1.Attributes["subject"] != "Broken zip" || !t1.Timestamp.Equal(time.Date(2024, 2, 1, 9, 0, 0, 0, time.UTC)) {
		t.Errorf("t-1 %+v", t1)
	}
	if _, ok := t1.Attributes["id"]; ok {
		t.Error("id must not be an attribute")
	}
	if sink.byKey["tickets/t-2"].Profile["email"] != "bob@example.com" || !sink.byKey["tickets/t-7"].Timestamp.IsZero() {
		t.Errorf("t-2/t-7: %+v %+v", sink.byKey["tickets/t-2"], sink.byKey["tickets/t-7"])
	}
	if _, err := Records(context.Background(), open(t, "records.csv"), "tickets", sink, Options{}); err != nil || len(sink.byKey) != 3 {
		t.Errorf("re-run: %v, %d records", err, len(sink.byKey))
	}
	if _, err := Records(context.Background(), strings.NewReader("ticket,email\n1,a@b.c\n"), "tickets", sink, Options{}); err == nil || !strings.Contains(err.Error(), "no id column") {
		t.Errorf("missing id column: %v", err)
	}
}

func TestInfer(t *testing.T) {
	cases := []struct {
		in   string
		want any // nil: absent
	}{
		{"", nil},
		{"   ", nil},
		{"42", 42.0},
		{"-7", -7.0},
		{"0", 0.0},
		{"3.14", 3.14},
		{"-0.5", -0.5},
		{"1e3", 1000.0},
		{"2.5E-1", 0.25},
		{" 12 ", 12.0},
		{"007", "007"},
		{"01234", "01234"},
		{"+4930123", "+4930123"},
		{".5", ".5"},
		{"5.", "5."},
		{"1,000", "1,000"},
		{"0x1F", "0x1F"},
		{"NaN", "NaN"},
		{"Inf", "Inf"},
		{"1e999", "1e999"},
		{"9007199254740993", "9007199254740993"},
		{"9007199254740992", 9007199254740992.0},
		{"true", true},
		{"FALSE", false},
		{"True", true},
		{"yes", "yes"},
		{"2024-05-01", "2024-05-01T00:00:00Z"},
		{"2024-05-01T12:30:00Z", "2024-05-01T12:30:00Z"},
		{"2024-05-01T12:30:00.250+02:00", "2024-05-01T10:30:00.25Z"},
		{"2024-13-01", "2024-13-01"},
		{"2024-05", "2024-05"},
		{"hello, world", "hello, world"},
		{"  padded  ", "padded"},
	}
	for _, c := range cases {
		got, ok := Infer(c.in)
		if c.want == nil {
			if ok {
				t.Errorf("Infer(%q) = %#v, want absent", c.in, got)
			}
			continue
		}
		if !ok || got != c.want {
			t.Errorf("Infer(%q) = %#v, %v; want %#v", c.in, got, ok, c.want)
		}
	}
}

func TestParseIDColumn(t *testing.T) {
	cases := []struct{ in, col, typ, err string }{
		{"email", "email", "email", ""},
		{"customer_id=userId", "customer_id", "userId", ""},
		{" crm = crm_id ", "crm", "crm_id", ""},
		{"uid=user_id", "uid", "userId", ""},
		{"=email", "", "", "want COLUMN"},
		{"", "", "", "want COLUMN"},
	}
	for _, c := range cases {
		col, typ, err := ParseIDColumn(c.in)
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("%q: err %v", c.in, err)
			}
			continue
		}
		if err != nil || col != c.col || typ != c.typ {
			t.Errorf("%q: %q %q %v, want %q %q", c.in, col, typ, err, c.col, c.typ)
		}
	}
}

func TestOptionsValidate(t *testing.T) {
	if err := (Options{}).WithDefaults().Validate(); err != nil {
		t.Fatal(err)
	}
	bad := []Options{{BatchSize: -1}, {Workers: -2}, {MaxErrors: -1}, {IDColumns: map[string]string{"": "email"}},
		{Limits: message.Limits{MaxMessageBytes: 10, MaxBatchBytes: 5, MaxBatchMessages: 1}}}
	for _, o := range bad {
		if o.Validate() == nil {
			t.Errorf("%+v: want an error", o)
		}
	}
}

func TestMaxErrors(t *testing.T) {
	in := strings.Repeat("{bad\n", 50)
	var errs bytes.Buffer
	r, err := Events(context.Background(), strings.NewReader(in), &dedupSink{}, Options{MaxErrors: 10, ErrorsWriter: &errs})
	if err != nil {
		t.Fatal(err)
	}
	if r.Skipped != 50 || len(r.Errors) != 10 || strings.Count(errs.String(), "\n") != 50 {
		t.Errorf("skipped %d, listed %d, written %d", r.Skipped, len(r.Errors), strings.Count(errs.String(), "\n"))
	}
}

func TestProgressPrinter(t *testing.T) {
	var out bytes.Buffer
	p := NewProgressPrinter(&out, "events")
	clock := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	p.now = func() time.Time { return clock }
	p.Update(0, 1000)
	clock = clock.Add(2 * time.Second)
	p.Update(100, 1000) // within the interval: not printed
	clock = clock.Add(4 * time.Second)
	p.Update(600, 1000)
	clock = clock.Add(2 * time.Second)
	p.Update(1000, 1000) // done: always printed
	p.Finish(Report{Lines: 10, Imported: 9, Skipped: 1})
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != 4 {
		t.Fatalf("got %d lines:\n%s", len(lines), out.String())
	}
	if !strings.Contains(lines[1], " 60.0%") || !strings.Contains(lines[1], "100 B/s") || !strings.Contains(lines[1], "ETA 4s") {
		t.Errorf("plain line %q", lines[1])
	}
	if !strings.Contains(lines[3], "10 lines, 9 imported, 1 skipped") {
		t.Errorf("summary %q", lines[3])
	}
	if strings.Contains(out.String(), "\r") {
		t.Error("a non-terminal must get plain lines")
	}

	out.Reset()
	p = NewProgressPrinter(&out, "events")
	p.tty = true
	p.now = func() time.Time { return clock }
	p.Update(0, 100)
	clock = clock.Add(time.Second)
	p.Update(50, 100)
	if !strings.Contains(out.String(), "\r") || !strings.Contains(out.String(), "[===============               ]") {
		t.Errorf("terminal output %q", out.String())
	}
}

// asyncSink takes batches at once and makes them durable later, in order, when the test
// releases them; the batch numbered failAt fails.
type asyncSink struct {
	dedupSink
	mu      sync.Mutex
	queued  int
	durable int // batches made durable
	failAt  int // 1-based; 0: none
}

func (s *asyncSink) AppendAsync(ctx context.Context, msgs []message.Message) (func() error, error) {
	s.mu.Lock()
	s.queued++
	n := s.queued
	s.mu.Unlock()
	return func() error {
		time.Sleep(time.Millisecond) // the fsync
		if n == s.failAt {
			return errors.New("fsync failed")
		}
		if err := s.Append(ctx, msgs); err != nil {
			return err
		}
		s.mu.Lock()
		s.durable = n
		s.mu.Unlock()
		return nil
	}, nil
}

// TestEventsAsyncSink: with a sink that takes batches before they are durable the import
// keeps file order, reports as imported (and as progress) only what is durable, and stops at
// a failed batch without reporting it or anything after it.
func TestEventsAsyncSink(t *testing.T) {
	var sb strings.Builder
	for i := range 3000 {
		fmt.Fprintf(&sb, `{"type":"track","userId":"u%d","event":"e","messageId":"m-%d"}`+"\n", i%7, i)
	}
	in := sb.String()
	sink := &asyncSink{}
	var last int64
	r, err := Events(context.Background(), strings.NewReader(in), sink, Options{BatchSize: 10, Size: int64(len(in)),
		ProgressEvery: time.Nanosecond, Progress: func(done, _ int64) {
			sink.mu.Lock()
			durable := sink.durable
			sink.mu.Unlock()
			// every reported byte belongs to a durable batch: 10 lines per batch
			if lines := strings.Count(in[:done], "\n"); lines > durable*10 {
				t.Errorf("progress at line %d while %d batches are durable", lines, durable)
			}
			last = done
		}})
	if err != nil {
		t.Fatal(err)
	}
	if r.Imported != 3000 || len(sink.order) != 3000 || last != int64(len(in)) {
		t.Fatalf("imported %d, sink holds %d, progress ended at %d of %d", r.Imported, len(sink.order), last, len(in))
	}
	for i, id := range sink.order {
		if id != fmt.Sprintf("m-%d", i) {
			t.Fatalf("message %d is %s: file order lost", i, id)
		}
	}

	failing := &asyncSink{failAt: 50}
	r, err = Events(context.Background(), strings.NewReader(in), failing, Options{BatchSize: 10})
	if err == nil || !strings.Contains(err.Error(), "fsync failed") {
		t.Fatalf("err %v, want the failed batch's error", err)
	}
	if r.Imported != 490 {
		t.Fatalf("imported %d after batch 50 failed, want the 49 batches before it (490)", r.Imported)
	}
}
