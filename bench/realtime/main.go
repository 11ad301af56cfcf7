// Command realtime is segd's real-time benchmark (issue 4): it generates the retail data set
// through the real write pipeline, starts `segd serve` on it, defines 50 real-time segments of
// mixed constructs and a webhook destination to a receiver in this process, then sends
// events at a fixed rate and measures the time from each /v1/batch acknowledgement to the
// webhook delivering the enter it caused, the ingestion throughput with and without the
// segments, and the personalisation endpoint's latency.
//
//	go run ./bench/realtime -generate -data /tmp/rt -customers 200000
//	go run ./bench/realtime -data /tmp/rt -runs 3
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"time"
)

func main() {
	var o benchOptions
	gen := flag.Bool("generate", false, "fill -data with the generated data set and exit")
	customers := flag.Int("customers", 1_000_000, "customers in the data set: generated with -generate, picked from by the load (the 1m preset's count by default)")
	flag.StringVar(&o.Data, "data", "", "data directory (required)")
	flag.StringVar(&o.Bin, "bin", "", "segd binary (default: go build ./cmd/segd)")
	flag.StringVar(&o.DebugAddr, "debug-addr", "", "pass --debug-addr to segd (pprof while the benchmark runs)")
	flag.StringVar(&o.LogLevel, "log-level", "info", "segd's --log-level (its log goes to $TMPDIR/rtbench-segd.log)")
	flag.IntVar(&o.Runs, "runs", 3, "repetitions of each measurement (medians are reported)")
	flag.StringVar(&o.LatencyLog, "latency-log", "", "write each fixed-rate probe's acknowledgement time and latency to this CSV file")
	flag.DurationVar(&o.Duration, "duration", 20*time.Second, "length of each timed phase (the closed-loop ones too with -phase-events 0)")
	flag.IntVar(&o.PhaseEvents, "phase-events", 1_000_000, "events each closed-loop throughput phase sends (0: send for -duration, the method of the sessions before the eleventh)")
	flag.BoolVar(&o.Compact, "compact", true, "compact the store before each closed-loop phase (false: the method of the sessions before the eleventh)")
	flag.Parse()
	if o.Data == "" {
		fmt.Fprintln(os.Stderr, "realtime: -data is required")
		os.Exit(2)
	}
	o.Customers = *customers
	ctx := context.Background()
	var err error
	if *gen {
		end := time.Now().UTC()
		if err = generate(ctx, o.Data, *customers, end); err == nil {
			err = os.WriteFile(filepath.Join(o.Data, generatedFile), []byte(end.Format(time.RFC3339)), 0o644)
		}
	} else {
		err = run(ctx, o)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "realtime:", err)
		os.Exit(1)
	}
}
