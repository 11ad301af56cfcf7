package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/spf13/cobra"

	"github.com/segd/segd/internal/index"
	"github.com/segd/segd/internal/ingest"
	"github.com/segd/segd/internal/message"
	"github.com/segd/segd/internal/segment"
	"github.com/segd/segd/internal/store"
)

type segCLIIndexes struct{ ix *index.Index }

func (s segCLIIndexes) Index(uint32) *index.Index      { return s.ix }
func (s segCLIIndexes) Location(uint32) *time.Location { return time.UTC }

// segCLIServer serves the segment routes over a store holding profiles u1..u4 (u1, u3 in VN),
// requiring the bearer token "tok".
func segCLIServer(t *testing.T) (*httptest.Server, *segment.Service, uint32) {
	t.Helper()
	st, err := store.Open(store.Options{Dir: "/d", FS: vfs.NewMem()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	w, _, err := st.CreateWorkspace("w", store.Keys{})
	if err != nil {
		t.Fatal(err)
	}
	ix := index.New()
	p, err := ingest.NewPipeline(ingest.Options{Store: st, OnCommit: func(cs []ingest.Change) {
		for _, c := range cs {
			if c.Kind == ingest.TraitsSet || c.Kind == ingest.ProfileCreated {
				ix.SetTraits(c.Profile, c.Traits)
			}
		}
	}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	now := time.Now().UTC()
	var msgs []message.Message
	for i, c := range []string{"VN", "TH", "VN", "US"} {
		id := "u" + string(rune('1'+i))
		msgs = append(msgs, message.Message{Type: message.Identify, MessageID: "m" + id, UserID: id, Timestamp: now, ReceivedAt: now,
			Traits: map[string]any{"country": c, "email": id + "@example.com"}})
	}
	if _, err := p.Append(context.Background(), w.ID, msgs); err != nil {
		t.Fatal(err)
	}
	svc, err := segment.New(segment.Options{Store: st, Indexes: segCLIIndexes{ix}, SizeTTL: -1, SchemaTTL: -1})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	for _, rt := range svc.Routes() {
		h := rt.Handler
		mux.HandleFunc(rt.Pattern, func(rw http.ResponseWriter, r *http.Request) {
			if r.Header.Get("Authorization") != "Bearer tok" {
				http.Error(rw, `{"error":{"code":"unauthorized","message":"bad token"}}`, http.StatusUnauthorized)
				return
			}
			h(rw, r, w.ID)
		})
	}
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv, svc, w.ID
}

func runSegCmd(t *testing.T, cmd *cobra.Command, args ...string) (string, string, error) {
	t.Helper()
	var out, errOut bytes.Buffer
	cmd.SetOut(&out)
	cmd.SetErr(&errOut)
	cmd.SetArgs(args)
	cmd.SilenceUsage, cmd.SilenceErrors = true, true
	err := cmd.ExecuteContext(context.Background())
	return out.String(), errOut.String(), err
}

func writeFiles(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for name, body := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func TestApplyIsIdempotent(t *testing.T) {
	srv, svc, ws := segCLIServer(t)
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{
		// "both" refers to the others: apply must create it last although its file sorts first
		"a-both.yaml": "name: both\nquery: in segment \"vn\" and in segment \"has email\"\n",
		"vn.yaml":     "name: vn\ndescription: Vietnam\nquery: |\n  country   =  \"VN\"\ntags: [geo]\n",
		"email.json":  `{"name": "has email", "query": "email exists", "mode": "scheduled", "schedule": "30m"}`,
	})
	flags := []string{"--url", srv.URL, "--token", "tok", "-f", dir}

	out, _, err := runSegCmd(t, newApplyCmd(), append(flags, "--dry-run")...)
	if err != nil || !strings.Contains(out, "plan: 3 to create, 0 to change, 0 to delete, 0 unchanged") || !strings.Contains(out, "nothing changed") {
		t.Fatalf("dry run: %v\n%s", err, out)
	}
	if segs, _ := svc.List(ws); len(segs) != 0 {
		t.Fatalf("dry run created %d segments", len(segs))
	}
	out, _, err = runSegCmd(t, newApplyCmd(), flags...)
	if err != nil || !strings.Contains(out, "plan: 3 to create") {
		t.Fatalf("first apply: %v\n%s", err, out)
	}
	segs, _ := svc.List(ws)
	if len(segs) != 3 || segs[2].Name != "vn" || segs[2].Query != `country = "VN"` || segs[1].Schedule != "30m" {
		t.Fatalf("after apply: %+v", segs)
	}
	out, _, err = runSegCmd(t, newApplyCmd(), flags...)
	if err != nil || !strings.Contains(out, "plan: 0 to create, 0 to change, 0 to delete, 3 unchanged") || strings.Contains(out, "applied") {
		t.Fatalf("second apply is not a no-op: %v\n%s", err, out)
	}
	if seg, _ := svc.Get(ws, "vn"); seg.Version != 1 {
		t.Fatalf("second apply wrote version %d", seg.Version)
	}

	// change one, remove one from the directory: change, then delete only with --prune
	writeFiles(t, dir, map[string]string{"vn.yaml": "name: vn\ndescription: Vietnam\nquery: country in [\"VN\", \"TH\"]\ntags: [geo]\n"})
	os.Remove(filepath.Join(dir, "a-both.yaml"))
	out, _, err = runSegCmd(t, newApplyCmd(), flags...)
	if err != nil || !strings.Contains(out, `change    "vn" (query)`) || !strings.Contains(out, "0 to delete") {
		t.Fatalf("change apply: %v\n%s", err, out)
	}
	out, _, err = runSegCmd(t, newApplyCmd(), append(flags, "--prune")...)
	if err != nil || !strings.Contains(out, `delete    "both"`) || !strings.Contains(out, "2 unchanged") {
		t.Fatalf("prune apply: %v\n%s", err, out)
	}
	if segs, _ := svc.List(ws); len(segs) != 2 {
		t.Fatalf("after prune: %+v", segs)
	}
	if seg, _ := svc.Get(ws, "vn"); seg.Version != 2 {
		t.Fatalf("vn version %d, want 2", seg.Version)
	}

	// a query error names the file and position; nothing is applied
	writeFiles(t, dir, map[string]string{"bad.yaml": "name: bad\nquery: country = \n"})
	if _, _, err := runSegCmd(t, newApplyCmd(), flags...); err == nil || !strings.Contains(err.Error(), "bad.yaml") {
		t.Fatalf("bad file: %v", err)
	}
	// unknown fields are rejected
	os.Remove(filepath.Join(dir, "bad.yaml"))
	writeFiles(t, dir, map[string]string{"odd.yaml": "name: odd\nquery: email exists\ncolour: red\n"})
	if _, _, err := runSegCmd(t, newApplyCmd(), flags...); err == nil || !strings.Contains(err.Error(), "colour") {
		t.Fatalf("unknown field: %v", err)
	}
}

func TestFmtGolden(t *testing.T) {
	cases := []struct{ in, want string }{
		{"country in [\"VN\",\"TH\"]   and age>=25", "country in [\"VN\", \"TH\"] and age >= 25\n"},
		{"(a = 1 or b = 2) and (c = 3)", "(a = 1 or b = 2) and c = 3\n"},
		{"count(\"Order Completed\" in last 1 day)>=1 and count(\"Order Completed\" in last 1 days) = 0", "count(\"Order Completed\" in last 1 day) >= 1 and count(\"Order Completed\" in last 1 day) = 0\n"},
		{"did \"Email Opened\"\n  in last 14 days", "did \"Email Opened\" in last 14 days\n"},
		{"not  in segment \"vip\"", "not in segment \"vip\"\n"},
	}
	dir := t.TempDir()
	for i, c := range cases {
		path := filepath.Join(dir, "q.segql")
		writeFiles(t, dir, map[string]string{"q.segql": c.in})
		out, _, err := runSegCmd(t, newFmtCmd(), path)
		if err != nil {
			t.Fatalf("case %d: %v", i, err)
		}
		// the golden text is what a second fmt leaves unchanged, and parses to the same text
		if out != c.want {
			again, _ := formatSegQL("", out)
			t.Errorf("case %d: fmt %q = %q, want %q (fmt of output: %q)", i, c.in, out, c.want, again)
		}
		if _, _, err := runSegCmd(t, newFmtCmd(), "-w", path); err != nil {
			t.Fatal(err)
		}
		if b, _ := os.ReadFile(path); string(b) != out {
			t.Errorf("case %d: -w wrote %q, want %q", i, b, out)
		}
	}
	// errors: file:line:col, nonzero exit
	writeFiles(t, dir, map[string]string{"bad.segql": "age > 1 and\ncountry = "})
	_, errOut, err := runSegCmd(t, newFmtCmd(), filepath.Join(dir, "bad.segql"))
	if err == nil || !strings.Contains(errOut, "bad.segql:2:") {
		t.Fatalf("fmt of a bad file: err %v, stderr %q", err, errOut)
	}
}

func TestQueryAndExportCommands(t *testing.T) {
	srv, svc, ws := segCLIServer(t)
	flags := []string{"--url", srv.URL, "--token", "tok"}
	out, _, err := runSegCmd(t, newQueryCmd(), append(flags, `country = "VN"`, "--explain")...)
	if err != nil || !strings.Contains(out, "count:  2\n") || !strings.Contains(out, "plan:\n") || !strings.Contains(out, "kept 2") {
		t.Fatalf("query: %v\n%s", err, out)
	}
	_, _, err = runSegCmd(t, newQueryCmd(), append(flags, `contry = "VN"`)...)
	if err == nil || !strings.Contains(err.Error(), `1:1: unknown trait "contry" (did you mean "country"?)`) {
		t.Fatalf("query error: %v", err)
	}
	if _, _, err := runSegCmd(t, newQueryCmd(), "--url", srv.URL, "--token", "wrong", "age > 1"); err == nil || !strings.Contains(err.Error(), "401") {
		t.Fatalf("bad token: %v", err)
	}

	if _, _, err := svc.Create(context.Background(), ws, segment.Input{Name: "vn", Query: `country = "VN"`}); err != nil {
		t.Fatal(err)
	}
	out, _, err = runSegCmd(t, newExportCmd(), append([]string{"segment", "vn", "--format", "csv"}, flags...)...)
	if err != nil || strings.Count(out, "\n") != 3 || !strings.Contains(out, ",u1,") || !strings.Contains(out, ",u3,") {
		t.Fatalf("export csv: %v\n%s", err, out)
	}
	file := filepath.Join(t.TempDir(), "vn.jsonl")
	_, _, err = runSegCmd(t, newExportCmd(), append([]string{"segment", "vn", "--format", "jsonl", "-o", file}, flags...)...)
	b, _ := os.ReadFile(file)
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if err != nil || len(lines) != 2 {
		t.Fatalf("export jsonl: %v\n%s", err, b)
	}
	var m segment.Member
	if err := json.Unmarshal([]byte(lines[0]), &m); err != nil || len(m.Identifiers) == 0 {
		t.Fatalf("jsonl line %q: %v", lines[0], err)
	}
	if _, _, err := runSegCmd(t, newExportCmd(), append([]string{"segment", "nope"}, flags...)...); err == nil || !strings.Contains(err.Error(), "404") {
		t.Fatalf("export of a missing segment: %v", err)
	}
}
