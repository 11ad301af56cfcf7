package main

import (
	"bytes"
	"context"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/segd/segd/internal/ingest"
	"github.com/segd/segd/internal/message"
	"github.com/segd/segd/internal/store"
)

// TestAnalyzeCommand writes orders into a data directory through the pipeline, closes it and
// prints every analysis offline.
func TestAnalyzeCommand(t *testing.T) {
	dir := t.TempDir()
	st, err := store.Open(store.Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	w, _, err := st.CreateWorkspace("default", store.Keys{})
	if err != nil {
		t.Fatal(err)
	}
	p, err := ingest.NewPipeline(ingest.Options{Store: st})
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2024, 6, 1, 0, 0, 0, 0, time.UTC)
	cats := []string{"books", "music", "toys"}
	var msgs []message.Message
	for c := range 60 {
		for k := range 1 + c%4 {
			ts := at.AddDate(0, 0, -3*c-20*k-1)
			items := []any{
				map[string]any{"category": cats[c%3], "price": 10.0, "quantity": 1.0},
				map[string]any{"category": cats[(c+k)%3], "price": 5.0, "quantity": 2.0},
			}
			msgs = append(msgs, message.Message{Type: message.Track, MessageID: fmt.Sprintf("m%d-%d", c, k), UserID: fmt.Sprintf("u%d", c),
				Event: "Order Completed", Timestamp: ts, ReceivedAt: ts,
				Properties: map[string]any{"revenue": float64(10 + c + 7*k), "products": items}})
		}
	}
	if _, err := p.Append(context.Background(), w.ID, msgs); err != nil {
		t.Fatal(err)
	}
	p.Close()
	st.Close()

	for _, c := range []struct {
		what string
		want string // regexp
	}{
		{"rfm", `60 customers, 150 orders[\s\S]*Champions\s+\d+`},
		{"clv", `BG/NBD: r=[\d.]+ alpha=[\d.]+[\s\S]*churn probability`},
		{"clusters", `cluster\s+customers\s+share\s+description\n\s*1\s+\d+`},
		{"affinity", `if bought\s+then also[\s\S]*(books|music|toys)\s+(books|music|toys)\s+\d+`},
	} {
		var out bytes.Buffer
		if err := runAnalyze(context.Background(), &out, analyzeFlags{dataDir: dir, workspace: "default", at: "2024-06-01"}, c.what); err != nil {
			t.Fatalf("%s: %v", c.what, err)
		}
		if !regexp.MustCompile(c.want).MatchString(out.String()) {
			t.Errorf("%s: output does not match %q:\n%s", c.what, c.want, out.String())
		}
		if strings.Contains(out.String(), "NaN") {
			t.Errorf("%s: NaN in output:\n%s", c.what, out.String())
		}
	}
	if err := runAnalyze(context.Background(), &bytes.Buffer{}, analyzeFlags{dataDir: dir, workspace: "nope"}, "rfm"); err == nil {
		t.Error("unknown workspace: no error")
	}
}
