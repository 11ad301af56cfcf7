// Command peers benchmarks segd's segment evaluation against DuckDB and PostgreSQL on the
// same generated retail data: it loads every engine, runs each canonical segment several
// times per engine, requires identical members from all engines and prints median times and
// ratios. It lives in its own module so that the cgo DuckDB driver stays out of segd.
//
//	go run . -size small -runs 5
//	go run . -size 1m -runs 5 -pg 'postgres://postgres@127.0.0.1:5432/test'
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime"
	"strings"
	"time"

	"github.com/segd/segd/internal/demodata"
)

// end is the end of the generated data; at, the evaluation time, lies before it so that the
// queries must also leave out events after at.
var (
	end = time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	at  = time.Date(2024, 12, 20, 12, 0, 0, 0, time.UTC)
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "peers:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, out io.Writer) error {
	fs := flag.NewFlagSet("peers", flag.ContinueOnError)
	size := fs.String("size", "small", "data set: tiny, small (5k customers) or 1m (1M customers, ~50M events)")
	runs := fs.Int("runs", 5, "timed runs per segment and engine")
	dsn := fs.String("pg", "postgres://postgres@127.0.0.1:5432/test", "PostgreSQL DSN; empty skips PostgreSQL")
	only := fs.String("segments", "", "comma-separated segment names (default all)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	data, err := dataFor(*size)
	if err != nil {
		return err
	}
	// The peers' loads overlap generation with loading; segd's load generates sequentially
	// (see segdEngine.Load).
	data.Workers = runtime.GOMAXPROCS(0)
	segs := Segments
	if *only != "" {
		segs = nil
		for _, n := range strings.Split(*only, ",") {
			s, ok := segmentByName(n)
			if !ok {
				return fmt.Errorf("unknown segment %q", n)
			}
			segs = append(segs, s)
		}
	}
	cfg := Config{Data: data, At: at, Runs: *runs, Segments: segs, Out: out}
	rep, sd, err := loadAndEvaluate(ctx, cfg, *dsn, "segd_bench")
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "\nsize %s: %d customers, %d events; evaluation time %s; median of %d runs\n\n",
		*size, data.Customers, sd.events, at.Format(time.RFC3339), *runs)
	rep.Print(out, segs)
	fmt.Fprintf(out, "\nsegd index: %.1f bytes/event (Go heap held by the index incl. traits, records and property payloads: %.0f MB)\n",
		float64(sd.heapBytes)/float64(max(sd.events, 1)), float64(sd.heapBytes)/(1<<20))
	fmt.Fprintf(out, "segd build: events %.2f M events/s (%s in AddEvents + first sort); profiles %s; records %s\n",
		float64(sd.events)/sd.buildTime.Seconds()/1e6, sd.buildTime.Round(time.Millisecond),
		sd.profileTime.Round(time.Millisecond), sd.recordTime.Round(time.Millisecond))
	if len(rep.Mismatches) > 0 {
		for _, m := range rep.Mismatches {
			fmt.Fprintln(out, "MISMATCH", m)
		}
		return fmt.Errorf("%d segments where engines disagree", len(rep.Mismatches))
	}
	fmt.Fprintln(out, "all engines returned the same members for every segment")
	return nil
}

func dataFor(size string) (demodata.Options, error) {
	switch size {
	case "tiny":
		o := demodata.Small(end)
		o.Customers = 1500
		return o, nil
	case "small":
		return demodata.Small(end), nil
	case "1m":
		return demodata.OneM(end), nil
	}
	return demodata.Options{}, fmt.Errorf("unknown -size %q (want tiny, small or 1m)", size)
}

// loadAndEvaluate loads segd, DuckDB and (unless dsn is empty) PostgreSQL into schema, then
// evaluates every segment on each.
func loadAndEvaluate(ctx context.Context, cfg Config, dsn, schema string) (*Report, *segdEngine, error) {
	logf := func(format string, a ...any) {
		if cfg.Out != nil {
			fmt.Fprintf(cfg.Out, format+"\n", a...)
		}
	}
	sd := newSegd(cfg.At)
	engines := []engineRunner{sd}
	duck, err := openDuck(ctx)
	if err != nil {
		return nil, nil, err
	}
	defer duck.Close()
	engines = append(engines, duck)
	if dsn != "" {
		pg, err := openPG(ctx, dsn, schema)
		if err != nil {
			return nil, nil, err
		}
		defer pg.Close()
		engines = append(engines, pg)
	}
	for _, e := range engines {
		d, err := e.Load(ctx, cfg.Data)
		if err != nil {
			return nil, nil, fmt.Errorf("load %s: %w", e.Name(), err)
		}
		logf("loaded %-8s in %s", e.Name(), d.Round(time.Millisecond))
	}
	rep, err := Evaluate(ctx, cfg, engines)
	return rep, sd, err
}
