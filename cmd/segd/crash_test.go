package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// buildSegd compiles the real binary once per test run.
var buildOnce struct {
	sync.Once
	path string
	err  error
}

// TestMain removes the binary the tests built (a directory under the temp dir each run).
func TestMain(m *testing.M) {
	code := m.Run()
	if buildOnce.path != "" {
		os.RemoveAll(filepath.Dir(buildOnce.path))
	}
	os.Exit(code)
}

func segdBinary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "segd-bin")
		if err != nil {
			buildOnce.err = err
			return
		}
		buildOnce.path = filepath.Join(dir, "segd")
		cmd := exec.Command("go", "build", "-o", buildOnce.path, ".")
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		out, err := cmd.CombinedOutput()
		if err != nil {
			buildOnce.err = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildOnce.err != nil {
		t.Fatal(buildOnce.err)
	}
	return buildOnce.path
}

// proc is a segd serve subprocess.
type proc struct {
	cmd *exec.Cmd
	url string
}

func startProc(t *testing.T, bin, dir string) *proc {
	t.Helper()
	cmd := exec.Command(bin, "serve", "--data", dir, "--addr", "127.0.0.1:0", "--allow-private-destinations")
	cmd.Env = append(os.Environ(), "SEGD_WRITE_KEY="+testWriteKey, "SEGD_ADMIN_TOKEN="+testAdmin)
	stdout, _ := cmd.StdoutPipe()
	cmd.Stderr = io.Discard
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &proc{cmd: cmd}
	sc := bufio.NewScanner(stdout)
	deadline := time.AfterFunc(20*time.Second, func() { cmd.Process.Kill() })
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "segd listening on "); ok {
			p.url = strings.Fields(rest)[0]
			break
		}
	}
	deadline.Stop()
	go io.Copy(io.Discard, stdout)
	if p.url == "" {
		t.Fatal("segd serve did not print its address")
	}
	for i := 0; i < 400; i++ {
		resp, err := http.Get(p.url + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return p
			}
		}
		time.Sleep(25 * time.Millisecond)
	}
	t.Fatal("segd serve never became ready")
	return nil
}

func (p *proc) kill() {
	p.cmd.Process.Signal(syscall.SIGKILL)
	p.cmd.Wait()
}

// TestKillNineLosesNoAcknowledgedMessage sends batches concurrently, SIGKILLs the server
// mid-stream, restarts it and checks that every acknowledged message is stored exactly once.
func TestKillNineLosesNoAcknowledgedMessage(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the segd binary")
	}
	t0 := time.Now()
	bin := segdBinary(t)
	t.Logf("built in %s", time.Since(t0))
	dir := t.TempDir()
	p := startProc(t, bin, dir)

	const users = 20
	var mu sync.Mutex
	acked := map[string]string{} // messageId → userId
	sent := map[string]string{}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for w := 0; w < 6; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			client := &http.Client{Timeout: 5 * time.Second}
			for n := 0; ; n++ {
				select {
				case <-stop:
					return
				default:
				}
				var batch []map[string]any
				ids := map[string]string{}
				for j := 0; j < 25; j++ {
					id := fmt.Sprintf("w%d-b%d-m%d", w, n, j)
					user := fmt.Sprintf("user-%d", (w*31+n*7+j)%users)
					ids[id] = user
					batch = append(batch, map[string]any{"type": "track", "event": "Tick", "userId": user, "messageId": id})
				}
				mu.Lock()
				for id, u := range ids {
					sent[id] = u
				}
				mu.Unlock()
				body, _ := json.Marshal(map[string]any{"batch": batch})
				req, _ := http.NewRequest("POST", p.url+"/v1/batch", bytes.NewReader(body))
				req.SetBasicAuth(testWriteKey, "")
				resp, err := client.Do(req)
				if err != nil {
					return // server died
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode == 200 {
					mu.Lock()
					for id, u := range ids {
						acked[id] = u
					}
					mu.Unlock()
				}
			}
		}(w)
	}
	time.Sleep(1500 * time.Millisecond)
	p.kill()
	close(stop)
	wg.Wait()
	if len(acked) < 500 {
		t.Fatalf("only %d messages acknowledged before the kill; load too light to test anything", len(acked))
	}

	t.Logf("killed after %s", time.Since(t0))
	p = startProc(t, bin, dir)
	defer p.kill()
	t.Logf("restarted after %s", time.Since(t0))
	counts := map[string]int{}
	for u := 0; u < users; u++ {
		var prof profileAnswer
		if code := get(t, p.url+"/api/v1/profiles?userId="+fmt.Sprintf("user-%d", u), &prof); code != 200 {
			t.Fatalf("profile user-%d: %d", u, code)
		}
		var evs struct {
			Events []struct {
				MessageID string `json:"messageId"`
			} `json:"events"`
		}
		get(t, fmt.Sprintf("%s/api/v1/profiles/%d/events?limit=10000", p.url, prof.ID), &evs)
		for _, e := range evs.Events {
			counts[e.MessageID]++
		}
		if int64(len(evs.Events)) != prof.EventCount {
			t.Errorf("user-%d: eventCount %d but %d events stored", u, prof.EventCount, len(evs.Events))
		}
	}
	lost, dup := 0, 0
	for id := range acked {
		if counts[id] == 0 {
			lost++
		}
	}
	for id, n := range counts {
		if n > 1 {
			dup++
		}
		if _, ok := sent[id]; !ok {
			t.Errorf("stored message %s was never sent", id)
		}
	}
	t.Logf("acknowledged %d, stored %d (unacknowledged but durable: %d)", len(acked), len(counts), len(counts)-len(acked))
	if lost > 0 || dup > 0 {
		t.Fatalf("%d acknowledged messages lost, %d stored twice", lost, dup)
	}
}

func get(t *testing.T, url string, out any) int {
	t.Helper()
	req, _ := http.NewRequest("GET", url, nil)
	req.Header.Set("Authorization", "Bearer "+testAdmin)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	json.NewDecoder(resp.Body).Decode(out)
	return resp.StatusCode
}
