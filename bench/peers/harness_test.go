package main

import (
	"bytes"
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/segd/segd/internal/demodata"
	"github.com/segd/segd/internal/segql/parser"
)

const testDSN = "postgres://postgres@127.0.0.1:5432/test"

func TestSegmentsParseAndCoverFamilies(t *testing.T) {
	if len(Segments) < 12 {
		t.Fatalf("%d canonical segments, want at least 12", len(Segments))
	}
	names := map[string]bool{}
	text := ""
	for _, s := range Segments {
		if names[s.Name] {
			t.Errorf("duplicate segment name %q", s.Name)
		}
		names[s.Name] = true
		if _, err := parser.ParseExpr(s.SegQL); err != nil {
			t.Errorf("%s: %v", s.Name, err)
		}
		if !strings.Contains(strings.ToUpper(s.Duck), "SELECT") {
			t.Errorf("%s: no DuckDB SQL", s.Name)
		}
		text += s.SegQL + "\n"
	}
	// Every construct family of SegQL appears in some segment.
	for _, kw := range []string{" in [", "exists", "is missing", "starts with", "matches", "in last", "anniversary", "within",
		"count(", "sum(", "avg(", "distinct(", "this week", "between", "last_seen(", "first_seen(", " then ", "then not",
		"record ", "has record", "in segment", "sample("} {
		if !strings.Contains(text, kw) {
			t.Errorf("no canonical segment uses %q", kw)
		}
	}
}

// pgAvailable reports whether the local PostgreSQL answers; with SEGD_REQUIRE_SERVICES=1 a
// missing server fails the test instead.
func pgAvailable(t *testing.T) bool {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, testDSN)
	if err != nil {
		if os.Getenv("SEGD_REQUIRE_SERVICES") == "1" {
			t.Fatalf("PostgreSQL required (SEGD_REQUIRE_SERVICES=1) but unreachable at %s: %v", testDSN, err)
		}
		return false
	}
	conn.Close(ctx)
	return true
}

// TestEnginesAgree loads generated data into segd, DuckDB and PostgreSQL and requires the
// same members from all three for every canonical segment. -short uses fewer customers.
func TestEnginesAgree(t *testing.T) {
	data := demodata.Small(end)
	data.Customers = 3000
	if testing.Short() {
		data.Customers = 1200
	}
	dsn := testDSN
	withPG := pgAvailable(t)
	if !withPG {
		dsn = ""
	}
	var out bytes.Buffer
	cfg := Config{Data: data, At: at, Runs: 1, Segments: Segments, Out: &out}
	rep, sd, err := loadAndEvaluate(context.Background(), cfg, dsn, "segd_bench_test")
	if err != nil {
		t.Fatal(err)
	}
	rep.Print(&out, Segments)
	t.Log("\n" + out.String())
	for _, m := range rep.Mismatches {
		t.Error("engines disagree:", m)
	}
	if withPG && len(rep.Engines) != 3 {
		t.Fatalf("engines %v, want segd, duckdb and postgres", rep.Engines)
	}
	// The comparison only means something when segments are neither empty nor everyone.
	for _, s := range Segments {
		n := rep.Results[s.Name]["segd"].Members.GetCardinality()
		if n == 0 || n >= uint64(data.Customers) {
			t.Errorf("%s has %d of %d customers: the data does not exercise it", s.Name, n, data.Customers)
		}
	}
	if sd.events == 0 || sd.heapBytes == 0 {
		t.Errorf("segd build figures not measured: %d events, %d bytes", sd.events, sd.heapBytes)
	}
	if !withPG {
		t.Skip("PostgreSQL not reachable at " + testDSN + ": compared segd with DuckDB only (set SEGD_REQUIRE_SERVICES=1 to fail instead)")
	}
}

// TestMismatchDetected makes sure a wrong member set is reported, not silently accepted.
func TestMismatchDetected(t *testing.T) {
	data := demodata.Small(end)
	data.Customers = 300
	sd := newSegd(at)
	ctx := context.Background()
	if _, err := sd.Load(ctx, data); err != nil {
		t.Fatal(err)
	}
	duck, err := openDuck(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer duck.Close()
	if _, err := duck.Load(ctx, data); err != nil {
		t.Fatal(err)
	}
	wrong := Segments[0]
	wrong.Duck = strings.Replace(wrong.Duck, "IN ('VN', 'TH')", "IN ('VN')", 1)
	rep, err := Evaluate(ctx, Config{At: at, Runs: 1, Segments: []Segment{wrong}}, []engineRunner{sd, duck})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Mismatches) != 1 || !strings.Contains(rep.Mismatches[0], "only in segd") {
		t.Fatalf("mismatches %q, want one naming the extra segd members", rep.Mismatches)
	}
}
