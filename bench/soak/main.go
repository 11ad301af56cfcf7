// Command soak runs segd under steady ingestion with real-time segments for a long time and
// reports memory over time: the resident set (from /proc) and the Go heap (from /metrics) every
// -sample, with the growth after warm-up. It is a benchmark-style program, not a CI test.
//
//	go run ./bench/soak                          # 10 minutes at 10k events/s, 50 segments
//	go run ./bench/soak -duration 1m -sample 10s # a short check
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
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

const (
	writeKey = "soak-write-key"
	admin    = "soak-admin-token"
)

func main() {
	var (
		duration = flag.Duration("duration", 10*time.Minute, "how long to run")
		rate     = flag.Int("rate", 10000, "events per second to send")
		batch    = flag.Int("batch", 250, "events per request")
		segments = flag.Int("segments", 50, "real-time segments to create")
		users    = flag.Int("users", 20000, "distinct users")
		sample   = flag.Duration("sample", 10*time.Second, "sampling interval")
		warmup   = flag.Duration("warmup", 0, "warm-up excluded from the growth figure (default the longest window plus two minutes, at least a third of -duration)")
		bin      = flag.String("bin", "", "segd binary (default: go build ./cmd/segd)")
		debug    = flag.String("debug-addr", "", "pass --debug-addr to segd (pprof during the soak)")
		window   = flag.Duration("max-window", 3*time.Minute, "the longest window of the segments (they spread from half of it to all of it); the working set grows until the windows are full")
	)
	flag.Parse()
	if *warmup == 0 {
		// the working set is full once the longest window is (plus the real-time cache's
		// minute of slack and a minute of margin)
		*warmup = max(*duration/3, *window+2*time.Minute)
	}
	if *bin == "" {
		*bin = build()
	}
	dir, err := os.MkdirTemp("", "segd-soak")
	check(err)
	defer os.RemoveAll(dir)
	cmd, url := start(*bin, dir, *debug)
	defer func() { cmd.Process.Kill(); cmd.Wait() }()

	created := 0
	for i := 0; i < *segments; i++ {
		body := map[string]any{"name": fmt.Sprintf("soak-%02d", i), "query": segmentQuery(i, *window), "mode": "realtime"}
		if code, msg := post(url+"/api/v1/segments", admin, body); code == 201 {
			created++
		} else {
			fmt.Fprintf(os.Stderr, "segment %d: %d %s\n", i, code, msg)
		}
	}
	fmt.Printf("segd pid %d, %d real-time segments (windows up to %s), sending %d events/s in batches of %d for %s\n", cmd.Process.Pid, created, *window, *rate, *batch, *duration)

	var sent, failed atomic.Int64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	// pacing: batches are released so that rate × elapsed time have been released (a late tick
	// releases the batches it owes, so a busy machine delaying this goroutine costs nothing);
	// a batch no worker is free to send is dropped and the shortfall shows in the sent rate
	tokens := make(chan struct{}, 64)
	var dropped atomic.Int64
	go func() {
		t := time.NewTicker(5 * time.Millisecond)
		defer t.Stop()
		start, released := time.Now(), int64(0)
		for {
			select {
			case <-stop:
				close(tokens)
				return
			case now := <-t.C:
				owed := int64(now.Sub(start).Seconds()*float64(*rate)) / int64(*batch)
				for ; released < owed; released++ {
					select {
					case tokens <- struct{}{}:
					default:
						dropped.Add(1)
					}
				}
			}
		}
	}()
	for w := 0; w < 16; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			r := rand.New(rand.NewPCG(uint64(w), 42))
			client := &http.Client{Timeout: 30 * time.Second}
			n := 0
			var b []byte
			for range tokens {
				now := time.Now().UTC()
				b = append(b[:0], `{"batch":[`...)
				for i := 0; i < *batch; i++ {
					if i > 0 {
						b = append(b, ',')
					}
					n++
					b = appendEvent(b, r, *users, w, n, now)
				}
				b = append(b, "]}"...)
				req, _ := http.NewRequest("POST", url+"/v1/batch", bytes.NewReader(b))
				req.SetBasicAuth(writeKey, "")
				resp, err := client.Do(req)
				if err != nil {
					failed.Add(int64(*batch))
					continue
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode == 200 {
					sent.Add(int64(*batch))
				} else {
					failed.Add(int64(*batch))
				}
			}
		}(w)
	}

	type point struct {
		at        time.Duration
		rss, heap float64 // MiB; heap: marked live by the last GC
		index     float64 // MiB: the in-memory event index, which holds every stored event by design
		store     float64 // MiB: the store's block cache (fills to its size) and memtables, on the Go heap
		cache     float64 // MiB: the real-time cache's estimate of its events (bounded; fills with the windows)
		events    int64
	}
	var curve []point
	begin := time.Now()
	fmt.Printf("%8s %12s %10s %10s %10s %10s %10s %10s %10s %10s %10s %12s\n", "time", "events", "events/s", "RSS MiB", "heap MiB", "live MiB", "index MiB", "store MiB", "other MiB", "cache MiB", "live queue", "live delay")
	tick := time.NewTicker(*sample)
	var lastEvents int64
	var last map[string]float64
	lastAt := begin
	for now := range tick.C {
		m := metrics(url, "go_memstats_heap_inuse_bytes", "go_gc_heap_live_bytes", "segd_index_bytes", "segd_live_cache_bytes", "segd_live_queue", "segd_live_delay_seconds_sum", "segd_live_delay_seconds_count",
			"segd_store_block_cache_bytes", "segd_store_memtable_bytes")
		p := point{at: now.Sub(begin).Round(time.Second), rss: rssMiB(cmd.Process.Pid), heap: m["go_gc_heap_live_bytes"] / (1 << 20),
			index: m["segd_index_bytes"] / (1 << 20), store: (m["segd_store_block_cache_bytes"] + m["segd_store_memtable_bytes"]) / (1 << 20),
			cache: m["segd_live_cache_bytes"] / (1 << 20), events: sent.Load()}
		curve = append(curve, p)
		// mean time from a commit reaching the real-time evaluator to its changes being durable
		delay := "-"
		if n := m["segd_live_delay_seconds_count"] - last["segd_live_delay_seconds_count"]; n > 0 {
			delay = fmt.Sprintf("%.1f ms", 1e3*(m["segd_live_delay_seconds_sum"]-last["segd_live_delay_seconds_sum"])/n)
		}
		fmt.Printf("%8s %12d %10.0f %10.1f %10.1f %10.1f %10.1f %10.1f %10.1f %10.1f %10.0f %12s\n", p.at, p.events, float64(p.events-lastEvents)/now.Sub(lastAt).Seconds(), p.rss,
			m["go_memstats_heap_inuse_bytes"]/(1<<20), p.heap, p.index, p.store, p.heap-p.index-p.store, m["segd_live_cache_bytes"]/(1<<20), m["segd_live_queue"], delay)
		lastEvents, lastAt, last = p.events, now, m
		if now.Sub(begin) >= *duration {
			break
		}
	}
	tick.Stop()
	close(stop)
	wg.Wait()

	// growth after warm-up: least-squares slope of heap, index, store, the rest and RSS over the
	// points after it
	var xs, hs, os_, is, ss, cs, rs, es []float64
	for _, p := range curve {
		if p.at >= *warmup {
			xs, hs, rs = append(xs, p.at.Minutes()), append(hs, p.heap), append(rs, p.rss)
			os_, is, ss, es = append(os_, p.heap-p.index-p.store), append(is, p.index), append(ss, p.store), append(es, float64(p.events))
			cs = append(cs, p.cache)
		}
	}
	fmt.Printf("\nsent %d events (%.0f/s), %d failed, %d batches not sent (all %d senders busy)\n", sent.Load(), float64(sent.Load())/time.Since(begin).Seconds(), failed.Load(), dropped.Load(), 16)
	if len(xs) >= 2 {
		evPerMin := slope(xs, es)
		fmt.Printf("after warm-up (%s), per minute: live heap %+.1f MiB, of which the index %+.1f MiB (%.0f bytes per event stored), "+
			"the store's block cache and memtables %+.1f MiB and everything else %+.1f MiB (the real-time cache's estimate of its events %+.1f MiB); RSS %+.1f MiB\n",
			*warmup, slope(xs, hs), slope(xs, is), slope(xs, is)*(1<<20)/evPerMin, slope(xs, ss), slope(xs, os_), slope(xs, cs), slope(xs, rs))
	} else {
		fmt.Println("too few samples after warm-up for a growth figure; run longer or sample more often")
	}
}

// segmentQuery gives a mix of event-count, recency, sum and property conditions; the windows
// spread from half of max to max (in seconds). With 20k users at 10k events/s a person sends
// an event every 2 s, so windows much shorter than a minute would make most segments flip on
// nearly every event (a membership-log stress test rather than a soak).
func segmentQuery(i int, max time.Duration) string {
	w := int(max.Seconds()) * (i%10 + 10) / 19
	if w < 1 {
		w = 1
	}
	top := int(max.Seconds())
	switch i % 5 {
	case 0:
		return fmt.Sprintf(`count("Product Viewed" in last %d seconds) >= %d`, w, 1+i%4)
	case 1:
		return fmt.Sprintf(`did "Order Completed" in last %d seconds`, w)
	case 2:
		return fmt.Sprintf(`sum(price of "Order Completed" in last %d seconds) > %d`, top, 50+10*i)
	case 3:
		return fmt.Sprintf(`count("Product Added" where category = "c%d" in last %d seconds) >= 1`, i%10, w)
	default:
		return fmt.Sprintf(`did "Email Opened" in last %d seconds and not did "Order Completed" in last %d seconds`, w, w)
	}
}

var eventNames = []string{"Page Viewed", "Product Viewed", "Product Added", "Order Completed", "Email Opened"}

// appendEvent appends one track call (built by appending, not json.Marshal, so that the load
// generator's own CPU use stays small next to segd's on a 2-core machine).
func appendEvent(b []byte, r *rand.Rand, users, worker, n int, t time.Time) []byte {
	price := r.IntN(20000)
	return fmt.Appendf(b, `{"type":"track","messageId":"w%d-%d","userId":"user-%d","event":%q,"timestamp":%q,`+
		`"properties":{"product_id":"p-%d","category":"c%d","price":%d.%02d}}`,
		worker, n, r.IntN(users), eventNames[r.IntN(len(eventNames))], t.Format(time.RFC3339Nano),
		r.IntN(5000), r.IntN(10), price/100, price%100)
}

func post(url, token string, body any) (int, string) {
	b, _ := json.Marshal(body)
	req, _ := http.NewRequest("POST", url, bytes.NewReader(b))
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	msg, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(msg)
}

// rssMiB reads VmRSS of pid from /proc.
func rssMiB(pid int) float64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for _, l := range strings.Split(string(b), "\n") {
		if f := strings.Fields(l); len(f) >= 2 && f[0] == "VmRSS:" {
			kb, _ := strconv.ParseFloat(f[1], 64)
			return kb / 1024
		}
	}
	return 0
}

// metrics reads unlabelled metrics from /metrics (0 for those absent).
func metrics(url string, names ...string) map[string]float64 {
	out := map[string]float64{}
	resp, err := http.Get(url + "/metrics")
	if err != nil {
		return out
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		for _, n := range names {
			if v, ok := strings.CutPrefix(sc.Text(), n+" "); ok {
				out[n], _ = strconv.ParseFloat(v, 64)
			}
		}
	}
	return out
}

func slope(xs, ys []float64) float64 {
	var mx, my float64
	for i := range xs {
		mx += xs[i]
		my += ys[i]
	}
	mx /= float64(len(xs))
	my /= float64(len(ys))
	var num, den float64
	for i := range xs {
		num += (xs[i] - mx) * (ys[i] - my)
		den += (xs[i] - mx) * (xs[i] - mx)
	}
	if den == 0 {
		return 0
	}
	return num / den
}

func build() string {
	dir, err := os.MkdirTemp("", "segd-soak-bin")
	check(err)
	out := filepath.Join(dir, "segd")
	cmd := exec.Command("go", "build", "-o", out, "./cmd/segd")
	cmd.Stderr = os.Stderr
	check(cmd.Run())
	return out
}

func start(bin, dir, debugAddr string) (*exec.Cmd, string) {
	args := []string{"serve", "--data", dir, "--addr", "127.0.0.1:0"}
	if debugAddr != "" {
		args = append(args, "--debug-addr", debugAddr)
	}
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), "SEGD_WRITE_KEY="+writeKey, "SEGD_ADMIN_TOKEN="+admin)
	stdout, err := cmd.StdoutPipe()
	check(err)
	cmd.Stderr = io.Discard
	check(cmd.Start())
	url := ""
	sc := bufio.NewScanner(stdout)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "segd listening on "); ok {
			url = strings.Fields(rest)[0]
			break
		}
	}
	go io.Copy(io.Discard, stdout)
	if url == "" {
		check(fmt.Errorf("segd did not print its address"))
	}
	for i := 0; i < 400; i++ {
		if r, err := http.Get(url + "/readyz"); err == nil {
			r.Body.Close()
			if r.StatusCode == 200 {
				return cmd, url
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	check(fmt.Errorf("segd never became ready"))
	return nil, ""
}

func check(err error) {
	if err != nil {
		fmt.Fprintln(os.Stderr, "soak:", err)
		os.Exit(1)
	}
}
