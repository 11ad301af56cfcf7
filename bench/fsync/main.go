// Command fsync measures the disk's sync latency the way the write path sees it: append 4 KiB
// to a file and fsync, repeatedly, and print the latency percentiles. Run it on the data
// directory's disk, idle and beside a benchmark, to tell the disk's own latency from
// contention.
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"time"
)

func main() {
	dir := flag.String("dir", os.TempDir(), "directory on the disk to measure")
	duration := flag.Duration("duration", 15*time.Second, "how long to measure")
	flag.Parse()
	f, err := os.CreateTemp(*dir, "segd-fsync-*")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	defer os.Remove(filepath.Clean(f.Name()))
	defer f.Close()
	buf := make([]byte, 4096)
	var lat []time.Duration
	for end := time.Now().Add(*duration); time.Now().Before(end); {
		if _, err := f.Write(buf); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		t := time.Now()
		if err := f.Sync(); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		lat = append(lat, time.Since(t))
	}
	slices.Sort(lat)
	q := func(p float64) time.Duration { return lat[int(p*float64(len(lat)-1))] }
	fmt.Printf("%d syncs of 4 KiB appends in %s: p50 %v, p90 %v, p99 %v, max %v\n", len(lat), *duration, q(.5), q(.9), q(.99), q(1))
}
