package main

import (
	"context"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/RoaringBitmap/roaring/v2"

	"github.com/segd/segd/internal/demodata"
)

// engineRunner is one engine under test.
type engineRunner interface {
	Name() string
	Load(ctx context.Context, opts demodata.Options) (time.Duration, error)
	Run(ctx context.Context, s Segment, at string) (*roaring.Bitmap, error)
	Close() error
}

// Config is one harness run.
type Config struct {
	Data     demodata.Options
	At       time.Time // evaluation time of every segment
	Runs     int       // timed runs per segment and engine; the median is reported
	Segments []Segment
	Out      io.Writer
}

// Result is one segment on one engine.
type Result struct {
	Members *roaring.Bitmap
	Times   []time.Duration
	Err     error
}

// Median returns the median of the timed runs.
func (r Result) Median() time.Duration {
	if len(r.Times) == 0 {
		return 0
	}
	t := slices.Clone(r.Times)
	slices.Sort(t)
	return t[len(t)/2]
}

// Report is what a harness run found.
type Report struct {
	Engines    []string
	Results    map[string]map[string]Result // segment → engine → result
	Mismatches []string                     // one line per segment where engines disagree
}

func sqlTime(t time.Time) string {
	return "TIMESTAMP '" + t.UTC().Format("2006-01-02 15:04:05.000000") + "'"
}

// Evaluate runs every segment on every (already loaded) engine and compares member sets.
// The first engine is the reference the others are compared with.
func Evaluate(ctx context.Context, cfg Config, engines []engineRunner) (*Report, error) {
	rep := &Report{Results: map[string]map[string]Result{}}
	for _, e := range engines {
		rep.Engines = append(rep.Engines, e.Name())
	}
	at := sqlTime(cfg.At)
	for _, s := range cfg.Segments {
		rep.Results[s.Name] = map[string]Result{}
		for _, e := range engines {
			var res Result
			for i := 0; i < max(cfg.Runs, 1); i++ {
				start := time.Now()
				bm, err := e.Run(ctx, s, at)
				d := time.Since(start)
				if err != nil {
					res.Err = fmt.Errorf("%s on %s: %w", s.Name, e.Name(), err)
					break
				}
				res.Members = bm
				res.Times = append(res.Times, d)
			}
			rep.Results[s.Name][e.Name()] = res
			if err := ctx.Err(); err != nil {
				return rep, err
			}
		}
		ref := rep.Results[s.Name][engines[0].Name()]
		for _, e := range engines[1:] {
			got := rep.Results[s.Name][e.Name()]
			switch {
			case ref.Err != nil || got.Err != nil:
				rep.Mismatches = append(rep.Mismatches, fmt.Sprintf("%s: error: %v %v", s.Name, ref.Err, got.Err))
			case !ref.Members.Equals(got.Members):
				rep.Mismatches = append(rep.Mismatches, fmt.Sprintf("%s: %s has %d members, %s has %d; %d only in %s, %d only in %s",
					s.Name, engines[0].Name(), ref.Members.GetCardinality(), e.Name(), got.Members.GetCardinality(),
					roaring.AndNot(ref.Members, got.Members).GetCardinality(), engines[0].Name(),
					roaring.AndNot(got.Members, ref.Members).GetCardinality(), e.Name()))
			}
		}
	}
	return rep, nil
}

// Print writes one line per segment: members, median ms per engine and the ratios of each
// peer to segd.
func (rep *Report) Print(w io.Writer, segments []Segment) {
	var hdr strings.Builder
	fmt.Fprintf(&hdr, "%-22s %9s", "segment", "members")
	for _, e := range rep.Engines {
		fmt.Fprintf(&hdr, " %11s", e+" ms")
	}
	for _, e := range rep.Engines {
		if e != "segd" && slices.Contains(rep.Engines, "segd") {
			fmt.Fprintf(&hdr, " %13s", e+"/segd")
		}
	}
	fmt.Fprintln(w, hdr.String())
	for _, s := range segments {
		res := rep.Results[s.Name]
		var members uint64
		if r, ok := res[rep.Engines[0]]; ok && r.Members != nil {
			members = r.Members.GetCardinality()
		}
		fmt.Fprintf(w, "%-22s %9d", s.Name, members)
		for _, e := range rep.Engines {
			fmt.Fprintf(w, " %11s", ms(res[e]))
		}
		if sg, ok := res["segd"]; ok {
			for _, e := range rep.Engines {
				if e == "segd" {
					continue
				}
				r := res[e]
				if r.Err != nil || sg.Err != nil || sg.Median() == 0 {
					fmt.Fprintf(w, " %13s", "-")
					continue
				}
				fmt.Fprintf(w, " %12.1fx", float64(r.Median())/float64(sg.Median()))
			}
		}
		fmt.Fprintln(w)
	}
}

func ms(r Result) string {
	if r.Err != nil {
		return "error"
	}
	return fmt.Sprintf("%.2f", float64(r.Median().Microseconds())/1000)
}
