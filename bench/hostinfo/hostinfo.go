// Package hostinfo describes the machine a benchmark runs on, for its report: figures from
// different hosts, or from one host with transparent huge pages on or off, differ by more
// than most changes being measured.
package hostinfo

import (
	"fmt"
	"os"
	"runtime"
	"strings"
)

// THP returns the kernel's transparent huge page mode (always, madvise or never), "" when
// unknown. Go's heap gets huge pages only under "always": under "madvise" no Go program asks.
func THP() string {
	b, err := os.ReadFile("/sys/kernel/mm/transparent_hugepage/enabled")
	if err != nil {
		return ""
	}
	_, rest, ok := strings.Cut(string(b), "[")
	mode, _, ok2 := strings.Cut(rest, "]")
	if !ok || !ok2 {
		return ""
	}
	return mode
}

// Line is a one-line description of the host: processors and huge page mode.
func Line() string {
	thp := THP()
	if thp == "" {
		thp = "unknown"
	}
	return fmt.Sprintf("host: %d CPUs, transparent huge pages %s", runtime.NumCPU(), thp)
}
