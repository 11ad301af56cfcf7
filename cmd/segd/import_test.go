package main

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
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

// TestImportKilledMidwayThenRerunStoresEveryLineOnce SIGKILLs an offline import (its store
// runs without a WAL) once its first memtable was flushed, then runs it again: the data
// directory opens, and every line is stored exactly once, under one profile per user.
func TestImportKilledMidwayThenRerunStoresEveryLineOnce(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the segd binary")
	}
	bin := segdBinary(t)
	dir := t.TempDir()
	const lines, users = 150_000, 1000
	file := filepath.Join(t.TempDir(), "events.jsonl")
	var buf bytes.Buffer
	pad := strings.Repeat("x", 1000) // ~165 MB of lines: about three 64 MB memtables
	for i := range lines {
		fmt.Fprintf(&buf, `{"type":"track","messageId":"m%d","userId":"u%d","event":"E","timestamp":"2025-01-01T00:00:00Z","properties":{"i":%d,"pad":"%s"}}`+"\n", i, i%users, i, pad)
	}
	if err := os.WriteFile(file, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}

	cmd := exec.Command(bin, "import", "events", "--data", dir, "--log-level", "debug", file)
	cmd.Stdout = io.Discard
	stderr, _ := cmd.StderrPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// the store logs each flush once it is done (at debug level): kill the import then
	sc := bufio.NewScanner(stderr)
	killed := false
	for sc.Scan() {
		if strings.Contains(sc.Text(), "store: flush") {
			cmd.Process.Signal(syscall.SIGKILL)
			killed = true
			break
		}
	}
	go io.Copy(io.Discard, stderr)
	err := cmd.Wait()
	if !killed {
		t.Fatalf("the import logged no flush (exit: %v)", err)
	}
	before, _, _ := countAll(t, dir)
	t.Logf("killed: %d of %d events were durable", before, lines)
	if before == 0 || before >= lines {
		t.Fatalf("%d events stored by the killed import: want some of the file's %d, not none or all", before, lines)
	}

	if out, err := runCLI(t, "import", "events", "--data", dir, file); err != nil {
		t.Fatalf("re-run: %v\n%s", err, out)
	}
	events, profiles, _ := countAll(t, dir)
	if events != lines || profiles != users {
		t.Fatalf("after the re-run: %d events and %d profiles, want %d and %d", events, profiles, lines, users)
	}
}
