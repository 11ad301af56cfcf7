package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// server is a `segd serve` child process on a loopback port.
type server struct {
	cmd    *exec.Cmd
	url    string
	debug  string // segd's --debug-addr listener
	client *http.Client
}

func buildSegd() (string, error) {
	dir, err := os.MkdirTemp("", "segd-rtbench")
	if err != nil {
		return "", err
	}
	out := filepath.Join(dir, "segd")
	cmd := exec.Command("go", "build", "-o", out, "./cmd/segd")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	cmd.Stderr = os.Stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("build segd (run from the repository root): %w", err)
	}
	return out, nil
}

// startServer starts segd on dir and waits until /readyz answers 200 (indexes loaded, live
// started), at most timeout.
func startServer(bin, dir, debugAddr, logLevel string, timeout time.Duration) (*server, error) {
	// The webhook receiver is on loopback: allow private destinations (refused by default).
	args := []string{"serve", "--data", dir, "--addr", "127.0.0.1:0", "--analytics-every", "-1s", "--allow-private-destinations", "--log-level", logLevel}
	if debugAddr == "" { // the benchmark compacts the store through it between phases
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		debugAddr = ln.Addr().String()
		ln.Close()
	}
	args = append(args, "--debug-addr", debugAddr)
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), "SEGD_WRITE_KEY="+writeKey, "SEGD_ADMIN_TOKEN="+adminToken, "SEGD_READ_KEY="+readKey)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	logf, err := os.Create(filepath.Join(os.TempDir(), "rtbench-segd.log"))
	if err != nil {
		return nil, err
	}
	cmd.Stderr = logf
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	s := &server{cmd: cmd, debug: debugAddr, client: &http.Client{Timeout: 10 * time.Minute}}
	sc := bufio.NewScanner(stdout)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "segd listening on "); ok {
			s.url = strings.Fields(rest)[0]
			break
		}
	}
	go io.Copy(io.Discard, stdout)
	if s.url == "" {
		s.stop()
		return nil, fmt.Errorf("segd did not print its address (log in %s)", logf.Name())
	}
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		if r, err := http.Get(s.url + "/readyz"); err == nil {
			r.Body.Close()
			if r.StatusCode == 200 {
				return s, nil
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	s.stop()
	return nil, fmt.Errorf("segd not ready after %s (log in %s)", timeout, logf.Name())
}

func (s *server) stop() {
	if s.cmd.Process != nil {
		s.cmd.Process.Signal(os.Interrupt)
		done := make(chan struct{})
		go func() { s.cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(60 * time.Second):
			s.cmd.Process.Kill()
			<-done
		}
	}
}

// admin sends a JSON request with the admin token and decodes the answer into out (if not nil).
func (s *server) admin(method, path string, body, out any) error {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, s.url+path, rd)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+adminToken)
	req.Header.Set("Content-Type", "application/json")
	resp, err := s.client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("%s %s: %d %s", method, path, resp.StatusCode, bytes.TrimSpace(b))
	}
	if out != nil {
		return json.Unmarshal(b, out)
	}
	return nil
}

// metricLines calls line for each line of segd's /metrics until it returns false.
func (s *server) metricLines(line func(string) bool) error {
	req, _ := http.NewRequest("GET", s.url+"/metrics", nil)
	req.Header.Set("Authorization", "Bearer "+adminToken)
	resp, err := s.client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() && line(sc.Text()) {
	}
	return sc.Err()
}

// histogram returns the cumulative histogram buckets (upper bound → count) of
// segd_http_request_seconds for a route pattern, from /metrics.
func (s *server) histogram(route string) (map[float64]float64, error) {
	out := map[float64]float64{}
	want := `route="` + route + `"`
	err := s.metricLines(func(line string) bool {
		if !strings.HasPrefix(line, "segd_http_request_seconds_bucket{") || !strings.Contains(line, want) {
			return true
		}
		// segd_http_request_seconds_bucket{route="...",le="0.001"} 12
		i := strings.Index(line, `le="`)
		if i < 0 {
			return true
		}
		rest := line[i+4:]
		j := strings.IndexByte(rest, '"')
		var le, n float64
		if rest[:j] == "+Inf" {
			le = 1e9
		} else if _, err := fmt.Sscan(rest[:j], &le); err != nil {
			return true
		}
		if _, err := fmt.Sscan(strings.TrimSpace(rest[strings.LastIndexByte(rest, '}')+1:]), &n); err != nil {
			return true
		}
		out[le] = n
		return true
	})
	return out, err
}

// gauge reads one unlabelled metric from /metrics.
func (s *server) gauge(name string) (float64, error) {
	var n float64
	found := false
	var perr error
	err := s.metricLines(func(line string) bool {
		v, ok := strings.CutPrefix(line, name+" ")
		if ok {
			found = true
			_, perr = fmt.Sscan(v, &n)
		}
		return !ok
	})
	switch {
	case err != nil:
		return 0, err
	case !found:
		return 0, fmt.Errorf("no metric %s", name)
	}
	return n, perr
}

// walSyncs reads segd's histogram of write-ahead log syncs: cumulative counts by upper bound
// (seconds), ascending.
func (s *server) walSyncs() (h syncHistogram, err error) {
	return s.latencies("segd_store_wal_sync_seconds")
}

// latencies reads one of segd's unlabelled histograms (seconds): cumulative counts by upper
// bound, ascending.
func (s *server) latencies(name string) (h syncHistogram, err error) {
	var perr error
	err = s.metricLines(func(line string) bool {
		if v, ok := strings.CutPrefix(line, name+`_bucket{le="`); ok {
			le, n, ok := strings.Cut(v, `"} `)
			if !ok || le == "+Inf" {
				return true
			}
			var b, c float64
			if _, perr = fmt.Sscan(le, &b); perr != nil {
				return false
			}
			if _, perr = fmt.Sscan(n, &c); perr != nil {
				return false
			}
			h.bounds, h.counts = append(h.bounds, b), append(h.counts, c)
		} else if v, ok := strings.CutPrefix(line, name+"_count "); ok {
			_, perr = fmt.Sscan(v, &h.count)
			return perr == nil
		}
		return true
	})
	switch {
	case err != nil:
		return h, err
	case perr != nil:
		return h, perr
	case len(h.bounds) == 0:
		return h, fmt.Errorf("no metric %s", name)
	}
	return h, nil
}

// syncHistogram is a cumulative latency histogram read from /metrics (of WAL syncs, or any
// other latency).
type syncHistogram struct {
	bounds, counts []float64
	count          float64
}

// since is the histogram of what was counted after old.
func (h syncHistogram) since(old syncHistogram) syncHistogram {
	out := syncHistogram{bounds: h.bounds, count: h.count - old.count}
	for i := range h.counts {
		c := h.counts[i]
		if i < len(old.counts) {
			c -= old.counts[i]
		}
		out.counts = append(out.counts, c)
	}
	return out
}

// quantile is the smallest bound at or under which a fraction q of the syncs fell (+Inf when
// it is above the last bound).
func (h syncHistogram) quantile(q float64) float64 {
	for i, c := range h.counts {
		if c >= q*h.count {
			return h.bounds[i]
		}
	}
	return math.Inf(1)
}

// over is the number of syncs that took longer than the largest bound at most limit, and
// that bound.
func (h syncHistogram) over(limit float64) (float64, float64) {
	at := -1
	for i, b := range h.bounds {
		if b <= limit {
			at = i
		}
	}
	if at < 0 {
		return h.count, 0
	}
	return h.count - h.counts[at], h.bounds[at]
}

// settle waits until live has no re-arm scan running and nothing queued: the state the
// latency phases measure (the warm-up after creating segments is reported on its own).
func (s *server) settle(limit time.Duration) error {
	deadline := time.Now().Add(limit)
	for {
		scan, err := s.gauge("segd_live_scanning")
		if err != nil {
			return err
		}
		queue, err := s.gauge("segd_live_queue")
		if err != nil {
			return err
		}
		if scan == 0 && queue == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("live not settled after %s (scanning %v, queue %v)", limit, scan, queue)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// compact has segd flush its store and compact everything into the bottom level
// (POST /debug/store/compact), so the next phase starts owing no compaction for the
// earlier phases' writes.
func (s *server) compact() (time.Duration, error) {
	resp, err := s.client.Post("http://"+s.debug+"/debug/store/compact", "", nil)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 1024))
		return 0, fmt.Errorf("compact: %s %s (a segd without POST /debug/store/compact needs -compact=false)", resp.Status, bytes.TrimSpace(body))
	}
	var out struct{ Seconds float64 }
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		return 0, fmt.Errorf("compact: reading the answer: %w", err)
	}
	return time.Duration(out.Seconds * float64(time.Second)), nil
}

// settleStore waits (at most limit) until the store has run no compaction for five seconds:
// the writes of earlier phases (and of a backfill) leave compaction work behind, and a
// throughput phase that starts with it pays for them. Every throughput phase starts from a
// settled store, so the phases compare their own costs. (Pebble's estimated debt does not
// reach zero at rest: compactions start when a level's score passes 1.) It returns how long
// it waited and whether the store settled.
func (s *server) settleStore(limit time.Duration) (time.Duration, bool, error) {
	t0 := time.Now()
	quiet := time.Time{}
	for {
		running, err := s.gauge("segd_store_compactions_running")
		if err != nil && strings.HasPrefix(err.Error(), "no metric") {
			return 0, true, nil // a segd from before the figure (A/B runs against older code)
		}
		if err != nil {
			return 0, false, err
		}
		switch {
		case running > 0:
			quiet = time.Time{}
		case quiet.IsZero():
			quiet = time.Now()
		case time.Since(quiet) >= 5*time.Second:
			return time.Since(t0), true, nil
		}
		if time.Since(t0) > limit {
			return time.Since(t0), false, nil
		}
		time.Sleep(500 * time.Millisecond)
	}
}
