// Command ingest is segd's ingestion benchmark: a load generator in its own process that sends
// /v1/batch requests over loopback to a segd started with durability on (every acknowledged
// batch is fsynced), and reports events/s with p50/p99 request latency. With -import it instead
// times `segd import events` of a generated JSON Lines file into a stopped data directory.
//
//	go run ./bench/ingest -duration 20s -conns 8 -batch 500
//	go run ./bench/ingest -import -events 1000000
package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/segd/segd/bench/hostinfo"
)

func main() {
	var (
		url      = flag.String("url", "", "segd to load (default: start one from -bin on a temp data dir)")
		bin      = flag.String("bin", "", "segd binary (default: go build ./cmd/segd)")
		key      = flag.String("key", "bench-write-key", "write key")
		duration = flag.Duration("duration", 15*time.Second, "how long to send")
		conns    = flag.Int("conns", 8, "concurrent connections")
		batch    = flag.Int("batch", 500, "messages per request")
		users    = flag.Int("users", 100000, "distinct userIds")
		doImport = flag.Bool("import", false, "benchmark offline JSONL import instead")
		events   = flag.Int("events", 500000, "events in the import file")
		profile  = flag.String("cpuprofile", "", "with -import: write the import's Go CPU profile to this file")
	)
	flag.Parse()
	fmt.Println(hostinfo.Line())
	if *bin == "" && (*url == "" || *doImport) {
		*bin = buildSegd()
	}
	if *doImport {
		benchImport(*bin, *events, *users, *profile)
		return
	}
	if *url == "" {
		stop := startSegd(*bin, *key)
		defer stop()
		*url = serverURL
	}
	load(*url, *key, *duration, *conns, *batch, *users)
}

func buildSegd() string {
	dir, _ := os.MkdirTemp("", "segd-bench")
	out := filepath.Join(dir, "segd")
	cmd := exec.Command("go", "build", "-o", out, "./cmd/segd")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	cmd.Stderr = os.Stderr
	if err := cmd.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "build segd (run from the repository root):", err)
		os.Exit(1)
	}
	return out
}

var (
	serverURL string
	segdPID   int // the segd this benchmark started (0: none)
)

// processCPU returns the CPU time (user + system) process pid has used, from /proc (Linux);
// ok is false when it cannot be read.
func processCPU(pid int) (time.Duration, bool) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, false
	}
	// the fields after the command name (which may hold spaces) start after the last ')'
	f := strings.Fields(string(b[bytes.LastIndexByte(b, ')')+1:]))
	if len(f) < 13 {
		return 0, false
	}
	var utime, stime int64
	if _, err := fmt.Sscan(f[11], &utime); err != nil {
		return 0, false
	}
	if _, err := fmt.Sscan(f[12], &stime); err != nil {
		return 0, false
	}
	const ticks = 100 // USER_HZ
	return time.Duration(utime+stime) * time.Second / ticks, true
}

func startSegd(bin, key string) func() {
	dir, _ := os.MkdirTemp("", "segd-bench-data")
	cmd := exec.Command(bin, "serve", "--data", dir, "--addr", "127.0.0.1:0")
	cmd.Env = append(os.Environ(), "SEGD_WRITE_KEY="+key, "SEGD_ADMIN_TOKEN=bench-admin")
	stdout, _ := cmd.StdoutPipe()
	cmd.Stderr = io.Discard
	if err := cmd.Start(); err != nil {
		panic(err)
	}
	segdPID = cmd.Process.Pid
	sc := bufio.NewScanner(stdout)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "segd listening on "); ok {
			serverURL = strings.Fields(rest)[0]
			break
		}
	}
	go io.Copy(io.Discard, stdout)
	for i := 0; i < 200; i++ {
		if r, err := http.Get(serverURL + "/readyz"); err == nil && r.StatusCode == 200 {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	return func() { cmd.Process.Kill(); cmd.Wait(); os.RemoveAll(dir) }
}

var eventNames = []string{"Page Viewed", "Product Viewed", "Product Added", "Order Completed", "Email Opened"}

// message returns one realistic track call of about 400 bytes.
func message(r *rand.Rand, users int, id string, t time.Time) map[string]any {
	return map[string]any{
		"type": "track", "messageId": id, "userId": fmt.Sprintf("user-%d", r.IntN(users)),
		"event":     eventNames[r.IntN(len(eventNames))],
		"timestamp": t.Format(time.RFC3339Nano),
		"properties": map[string]any{"product_id": fmt.Sprintf("p-%d", r.IntN(5000)), "category": "shoes",
			"price": float64(r.IntN(20000)) / 100, "path": "/products/p"},
		"context": map[string]any{"userAgent": "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1",
			"ip": "203.0.113.7", "locale": "vi-VN"},
	}
}

func load(url, key string, d time.Duration, conns, batch, users int) {
	var sent, failed atomic.Int64
	var mu sync.Mutex
	var lat []time.Duration
	deadline := time.Now().Add(d)
	var wg sync.WaitGroup
	start := time.Now()
	cpu0, cpuOK := processCPU(segdPID)
	for c := 0; c < conns; c++ {
		wg.Add(1)
		go func(c int) {
			defer wg.Done()
			r := rand.New(rand.NewPCG(uint64(c), 7))
			client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 1}}
			var local []time.Duration
			var body []byte
			for n := 0; time.Now().Before(deadline); n++ {
				// the body is built by appending to a template (not json.Marshal), so that the
				// load generator's own CPU use stays small next to the server's
				now := time.Now().UTC().Format(time.RFC3339Nano)
				body = append(body[:0], `{"batch":[`...)
				for i := 0; i < batch; i++ {
					if i > 0 {
						body = append(body, ',')
					}
					body = fmt.Appendf(body, `{"type":"track","messageId":"c%d-%d-%d","userId":"user-%d","event":%q,"timestamp":%q,`+
						`"properties":{"product_id":"p-%d","category":"shoes","price":%d.%02d,"path":"/products/p"},`+
						`"context":{"userAgent":"Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1","ip":"203.0.113.7","locale":"vi-VN"}}`,
						c, n, i, r.IntN(users), eventNames[r.IntN(len(eventNames))], now, r.IntN(5000), r.IntN(200), r.IntN(100))
				}
				body = append(body, "]}"...)
				req, _ := http.NewRequest("POST", url+"/v1/batch", bytes.NewReader(body))
				req.SetBasicAuth(key, "")
				req.Header.Set("Content-Type", "application/json")
				t0 := time.Now()
				resp, err := client.Do(req)
				if err != nil {
					failed.Add(1)
					continue
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				local = append(local, time.Since(t0))
				if resp.StatusCode == 200 {
					sent.Add(int64(batch))
				} else {
					failed.Add(1)
				}
			}
			mu.Lock()
			lat = append(lat, local...)
			mu.Unlock()
		}(c)
	}
	wg.Wait()
	el := time.Since(start)
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	pct := func(p float64) time.Duration {
		if len(lat) == 0 {
			return 0
		}
		return lat[int(p*float64(len(lat)-1))]
	}
	fmt.Printf("ingest: %d events acknowledged in %s = %.0f events/s; %d requests, p50 %s p99 %s; %d failed requests (conns=%d batch=%d)\n",
		sent.Load(), el.Round(time.Millisecond), float64(sent.Load())/el.Seconds(), len(lat), pct(0.5).Round(10*time.Microsecond), pct(0.99).Round(10*time.Microsecond), failed.Load(), conns, batch)
	// CPU time per event moves far less with a shared machine's load than events per second
	if cpu1, ok := processCPU(segdPID); ok && cpuOK && sent.Load() > 0 {
		fmt.Printf("ingest: segd used %.1f µs of CPU per event (%.0f%% of a core)\n",
			float64((cpu1-cpu0).Microseconds())/float64(sent.Load()), 100*(cpu1-cpu0).Seconds()/el.Seconds())
	}
}

func benchImport(bin string, events, users int, profile string) {
	dir, _ := os.MkdirTemp("", "segd-import")
	defer os.RemoveAll(dir)
	file := filepath.Join(dir, "events.jsonl")
	f, _ := os.Create(file)
	w := bufio.NewWriterSize(f, 1<<20)
	r := rand.New(rand.NewPCG(1, 2))
	base := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := 0; i < events; i++ {
		b, _ := json.Marshal(message(r, users, fmt.Sprintf("imp-%d", i), base.Add(time.Duration(i)*time.Second)))
		w.Write(b)
		w.WriteByte('\n')
	}
	w.Flush()
	f.Close()
	st, _ := os.Stat(file)
	data := filepath.Join(dir, "data")
	args := []string{"import", "events", "--data", data, file}
	if profile != "" {
		args = append(args, "--cpuprofile", profile)
	}
	cmd := exec.Command(bin, args...)
	// segd's warnings (a write stall, say) explain a slow run: keep them, not the progress
	var stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = io.Discard, &stderr
	t0 := time.Now()
	if err := cmd.Run(); err != nil {
		fmt.Fprintf(os.Stderr, "import failed: %v\n%s", err, stderr.Bytes())
		os.Exit(1)
	}
	el := time.Since(t0)
	for _, line := range strings.Split(stderr.String(), "\n") {
		if strings.Contains(line, "level=WARN") || strings.Contains(line, "level=ERROR") || strings.Contains(line, "stalled") {
			fmt.Println("segd:", line)
		}
	}
	fmt.Printf("import: %d events (%.0f MB JSONL) into a stopped data dir in %s = %.0f events/s\n",
		events, float64(st.Size())/1e6, el.Round(time.Millisecond), float64(events)/el.Seconds())
}
