package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"testing"
	"time"
)

// realtimeHook adds a real-time segment and a webhook destination to the chaos run. After
// every restart the segment's live membership (the enter/exit log replayed from the start)
// must equal a full recomputation by the batch engine, and every change in the log must reach
// the webhook receiver (at least once), resuming from the destination's durable cursor.
type realtimeHook struct {
	segID    string
	recv     *httptest.Server
	mu       sync.Mutex
	got      map[string]int // change id → deliveries
	verified int
}

func (h *realtimeHook) Name() string { return "realtime" }
func (h *realtimeHook) String() string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return fmt.Sprintf("%d distinct changes delivered, %d verifications", len(h.got), h.verified)
}

func (h *realtimeHook) Setup(t *testing.T, url string) bool {
	h.got = map[string]int{}
	h.recv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var b struct {
			Changes []struct {
				ID string `json:"id"`
			} `json:"changes"`
		}
		body, _ := io.ReadAll(r.Body)
		if json.Unmarshal(body, &b) != nil {
			w.WriteHeader(400)
			return
		}
		h.mu.Lock()
		for _, c := range b.Changes {
			h.got[c.ID]++
		}
		h.mu.Unlock()
	}))
	t.Cleanup(h.recv.Close)
	var seg struct {
		ID string `json:"id"`
	}
	ctx := context.Background()
	if code := send(ctx, "POST", url+"/api/v1/segments", testAdmin, false,
		map[string]any{"name": "chaos-live", "query": `plan = "pro" and count("Tick") >= 3`, "mode": "realtime"}, &seg); code != 201 && code != 200 {
		return false
	}
	h.segID = seg.ID
	dest := map[string]any{"id": "chaos-webhook", "kind": "webhook", "segments": []string{seg.ID},
		"batch_size": 200, "linger": "5ms", "backoff_initial": "5ms", "backoff_max": "200ms", "max_attempts": 100000,
		"webhook": map[string]any{"url": h.recv.URL, "secret": "chaos", "timeout": "2s"}}
	code := send(ctx, "POST", url+"/api/v1/destinations", testAdmin, false, dest, nil)
	return code == 201 || code == 200
}

func (h *realtimeHook) Load(ctx context.Context, w int, url func() string) {} // events come from messagesHook

// liveMembers replays the segment's change log.
func (h *realtimeHook) liveMembers(url string) (map[uint32]bool, []uint64, bool) {
	in := map[uint32]bool{}
	var seqs []uint64
	var after uint64
	for {
		var page struct {
			Changes []struct {
				Seq     uint64 `json:"seq"`
				Profile uint32 `json:"profile"`
				Kind    string `json:"kind"`
			} `json:"changes"`
			Next uint64 `json:"next"`
		}
		if send(context.Background(), "GET", fmt.Sprintf("%s/api/v1/segments/%s/changes?after=%d&limit=1000", url, h.segID, after), testAdmin, false, nil, &page) != 200 {
			return nil, nil, false
		}
		for _, c := range page.Changes {
			in[c.Profile] = c.Kind == "enter"
			seqs = append(seqs, c.Seq)
		}
		if len(page.Changes) == 0 || page.Next == after {
			break
		}
		after = page.Next
	}
	for p, ok := range in {
		if !ok {
			delete(in, p)
		}
	}
	return in, seqs, true
}

// batchMembers evaluates the segment's definition now.
func (h *realtimeHook) batchMembers(url string) (map[uint32]bool, bool) {
	out := map[uint32]bool{}
	cursor := ""
	for {
		var page struct {
			Members []struct {
				ID uint32 `json:"id"`
			} `json:"members"`
			Next string `json:"next_cursor"`
		}
		if send(context.Background(), "GET", fmt.Sprintf("%s/api/v1/segments/%s/members?limit=10000&cursor=%s", url, h.segID, cursor), testAdmin, false, nil, &page) != 200 {
			return nil, false
		}
		for _, m := range page.Members {
			out[m.ID] = true
		}
		if page.Next == "" || len(page.Members) == 0 {
			return out, true
		}
		cursor = page.Next
	}
}

func (h *realtimeHook) Verify(t *testing.T, url string) {
	var live, batch map[uint32]bool
	var seqs []uint64
	deadline := time.Now().Add(15 * time.Second)
	for {
		var ok1, ok2 bool
		live, seqs, ok1 = h.liveMembers(url)
		batch, ok2 = h.batchMembers(url)
		if ok1 && ok2 && sameSet(live, batch) {
			break
		}
		if time.Now().After(deadline) {
			t.Errorf("real-time segment: live membership (%d) differs from a full recomputation (%d)", len(live), len(batch))
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	for {
		h.mu.Lock()
		missing := slices.IndexFunc(seqs, func(s uint64) bool { return h.got[fmt.Sprintf("1-%d", s)] == 0 })
		h.mu.Unlock()
		if missing < 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Errorf("destination: change seq %d (and maybe more) of %d never delivered", seqs[missing], len(seqs))
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	h.mu.Lock()
	h.verified++
	h.mu.Unlock()
}

func sameSet(a, b map[uint32]bool) bool {
	if len(a) != len(b) {
		return false
	}
	for k := range a {
		if !b[k] {
			return false
		}
	}
	return true
}
