package main

import (
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/segd/segd/internal/store"
)

// The debug listener's compaction leaves no table above the bottom level and answers how
// long it took; it takes only POST.
func TestDebugCompact(t *testing.T) {
	st, err := store.Open(store.Options{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if _, _, err := st.CreateWorkspace("w", store.Keys{}); err != nil {
		t.Fatal(err)
	}
	if err := st.DB().Flush(); err != nil { // the workspace's keys in an L0 table
		t.Fatal(err)
	}
	srv := httptest.NewServer(debugMux(st, slog.New(slog.DiscardHandler)))
	defer srv.Close()

	if resp, err := http.Get(srv.URL + "/debug/store/compact"); err != nil {
		t.Fatal(err)
	} else if resp.Body.Close(); resp.StatusCode != http.StatusMethodNotAllowed {
		t.Fatalf("GET: %s, want 405", resp.Status)
	}
	resp, err := http.Post(srv.URL+"/debug/store/compact", "", nil)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	var out struct{ Seconds *float64 }
	if resp.StatusCode != http.StatusOK || json.Unmarshal(body, &out) != nil || out.Seconds == nil {
		t.Fatalf("POST: %s %s", resp.Status, body)
	}
	mt := st.DB().Metrics()
	for l := range len(mt.Levels) - 1 {
		if n := mt.Levels[l].TablesCount; n != 0 {
			t.Errorf("L%d holds %d tables after the compaction", l, n)
		}
	}
}
