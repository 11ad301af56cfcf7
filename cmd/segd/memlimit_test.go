package main

import (
	"io"
	"log/slog"
	"math"
	"runtime/debug"
	"testing"
)

// With segd's own memory limit in place the collector runs at GOGC=200, unless GOGC is set.
func TestMemoryLimitAndGCPercent(t *testing.T) {
	if physicalMemory() <= 0 {
		t.Skip("no /proc/meminfo")
	}
	defer debug.SetMemoryLimit(debug.SetMemoryLimit(-1))
	defer debug.SetGCPercent(debug.SetGCPercent(-1))
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	for _, tc := range []struct {
		gogc string
		want int
	}{{"", 200}, {"50", 77}} {
		t.Setenv("GOMEMLIMIT", "")
		t.Setenv("GOGC", tc.gogc)
		debug.SetMemoryLimit(math.MaxInt64)
		debug.SetGCPercent(77)
		setMemoryLimit(quiet)
		if got := debug.SetMemoryLimit(-1); got != physicalMemory()/10*8 {
			t.Errorf("GOGC=%q: memory limit %d, want 80%% of %d", tc.gogc, got, physicalMemory())
		}
		if got := debug.SetGCPercent(77); got != tc.want {
			t.Errorf("GOGC=%q: GC percent %d, want %d", tc.gogc, got, tc.want)
		}
	}
}
