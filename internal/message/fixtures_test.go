package message

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"
)

const fixtureDir = "../../../shared/data/segment-fixtures"

func fixtureFiles(tb testing.TB) []string {
	tb.Helper()
	files, err := filepath.Glob(filepath.Join(fixtureDir, "*.json"))
	if err != nil {
		tb.Fatal(err)
	}
	if len(files) == 0 {
		tb.Skipf("no Segment fixtures in %s", fixtureDir)
	}
	return files
}

// TestFixturesDecode decodes every request body analytics-go v3.3.0 sends and checks that each
// field of each element survives: the Message re-encoded in wire form holds every key of the
// element with the same value (times compared as instants), and the batch context is merged in.
func TestFixturesDecode(t *testing.T) {
	received := time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)
	for _, f := range fixtureFiles(t) {
		t.Run(filepath.Base(f), func(t *testing.T) {
			body, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			b, err := DecodeBatch(body, received, DefaultLimits())
			if err != nil {
				t.Fatalf("DecodeBatch: %v", err)
			}
			var doc struct {
				Batch   []map[string]any `json:"batch"`
				Context map[string]any   `json:"context"`
			}
			if err := json.Unmarshal(body, &doc); err != nil {
				t.Fatal(err)
			}
			if len(b.Rejections) != 0 {
				t.Fatalf("rejections: %+v", b.Rejections[0].Err)
			}
			if len(b.Messages) != len(doc.Batch) {
				t.Fatalf("got %d messages, want %d", len(b.Messages), len(doc.Batch))
			}
			for i, want := range doc.Batch {
				m := b.Messages[i]
				wire, err := m.WireJSON()
				if err != nil {
					t.Fatal(err)
				}
				var got map[string]any
				if err := json.Unmarshal(wire, &got); err != nil {
					t.Fatal(err)
				}
				for k, wv := range want {
					gv, ok := got[k]
					if !ok {
						t.Errorf("batch[%d].%s lost", i, k)
						continue
					}
					if k == "context" {
						for ck, cv := range wv.(map[string]any) {
							if !reflect.DeepEqual(gv.(map[string]any)[ck], cv) {
								t.Errorf("batch[%d].context.%s = %v, want %v", i, ck, gv.(map[string]any)[ck], cv)
							}
						}
						continue
					}
					if ws, ok := wv.(string); ok && isTimeKey(k) {
						wt, _ := time.Parse(time.RFC3339Nano, ws)
						gt, _ := time.Parse(time.RFC3339Nano, gv.(string))
						if !wt.Equal(gt) {
							t.Errorf("batch[%d].%s = %v, want %v", i, k, gt, wt)
						}
						continue
					}
					if !reflect.DeepEqual(gv, wv) {
						t.Errorf("batch[%d].%s = %#v, want %#v", i, k, gv, wv)
					}
				}
				// The batch context is merged under the message's own.
				for ck, cv := range doc.Context {
					if !reflect.DeepEqual(m.Context[ck], cv) {
						t.Errorf("batch[%d]: batch context %s = %v not merged (got %v)", i, ck, cv, m.Context[ck])
					}
				}
				if !m.ReceivedAt.Equal(received) {
					t.Errorf("receivedAt = %v", m.ReceivedAt)
				}
			}
		})
	}
}

func isTimeKey(k string) bool {
	return k == "timestamp" || k == "originalTimestamp" || k == "sentAt"
}
