package main

import (
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/segd/segd/internal/store"
)

// runCLI runs a segd command in process and returns its stdout.
func runCLI(t *testing.T, args ...string) (string, error) {
	t.Helper()
	root := newRoot()
	var out, errOut bytes.Buffer
	root.SetOut(&out)
	root.SetErr(&errOut)
	root.SetArgs(args)
	err := root.Execute()
	return out.String(), err
}

func countAll(t *testing.T, dir string) (events int64, profiles, records int) {
	t.Helper()
	st, err := store.Open(store.Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	w, err := st.WorkspaceByName("default")
	if err != nil {
		t.Fatal(err)
	}
	events, _ = st.CountEvents(w.ID)
	st.ScanProfiles(w.ID, func(*store.Profile) error { profiles++; return nil })
	st.ScanRecords(w.ID, func(*store.Record) error { records++; return nil })
	return
}

var lineRef = regexp.MustCompile(`line (\d+): `)

// TestImportOfflineReportsBadRowsAndIsIdempotent imports files with broken rows into a stopped
// data directory twice.
func TestImportOfflineReportsBadRowsAndIsIdempotent(t *testing.T) {
	dir := t.TempDir()
	td := "../../internal/importer/testdata/"
	steps := []struct {
		args []string
		bad  bool
	}{
		{[]string{"import", "events", "--data", dir, td + "events.jsonl"}, true},
		{[]string{"import", "profiles", "--data", dir, "--id-column", "customer_id=userId", "--id-column", "email", td + "profiles.csv"}, true},
		{[]string{"import", "records", "--data", dir, "--type", "tickets", td + "records.csv"}, true},
	}
	var first [3]int64
	for round := 0; round < 2; round++ {
		for i, s := range steps {
			errFile := filepath.Join(t.TempDir(), "errors.tsv")
			out, err := runCLI(t, append(s.args, "--errors", errFile)...)
			if err != nil {
				t.Fatalf("%v: %v\n%s", s.args, err, out)
			}
			if s.bad {
				if !lineRef.MatchString(out) {
					t.Errorf("%v: output names no bad line:\n%s", s.args[1], out)
				}
				b, _ := os.ReadFile(errFile)
				if !regexp.MustCompile(`(?m)^\d+\t.+`).Match(b) {
					t.Errorf("%v: errors file has no line<TAB>reason rows: %q", s.args[1], b)
				}
			}
			_ = i
		}
		ev, pr, rc := countAll(t, dir)
		if round == 0 {
			first = [3]int64{ev, int64(pr), int64(rc)}
			if ev == 0 || pr == 0 || rc == 0 {
				t.Fatalf("first import stored events=%d profiles=%d records=%d", ev, pr, rc)
			}
			continue
		}
		if [3]int64{ev, int64(pr), int64(rc)} != first {
			t.Fatalf("second run changed counts: %v → %v", first, [3]int64{ev, int64(pr), int64(rc)})
		}
	}
}

// TestImportEventsReportsExactLines checks the line numbers of the broken JSONL rows.
func TestImportEventsReportsExactLines(t *testing.T) {
	dir := t.TempDir()
	src := strings.Join([]string{
		`{"type":"track","userId":"a","event":"Ok","messageId":"1"}`,
		`{"type":"track","userId":"a","event":`,
		`{"type":"track","event":"NoIdentity"}`,
		`{"type":"track","userId":"b","event":"Ok2","messageId":"2"}`,
		`not json`,
	}, "\n")
	f := filepath.Join(t.TempDir(), "e.jsonl")
	os.WriteFile(f, []byte(src), 0o644)
	out, err := runCLI(t, "import", "events", "--data", dir, f)
	if err != nil {
		t.Fatal(err)
	}
	var lines []string
	for _, m := range lineRef.FindAllStringSubmatch(out, -1) {
		lines = append(lines, m[1])
	}
	if strings.Join(lines, ",") != "2,3,5" {
		t.Fatalf("bad lines reported %v, want 2,3,5:\n%s", lines, out)
	}
	if ev, _, _ := countAll(t, dir); ev != 2 {
		t.Fatalf("%d events stored, want 2", ev)
	}
}
