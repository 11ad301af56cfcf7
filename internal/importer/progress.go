package importer

import (
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"
)

// ProgressPrinter draws import progress. On a terminal it redraws one line with a bar, the
// share done, the rate and the time left; elsewhere (a log, CI) it prints a plain line at most
// every Interval. Its Update method fits Options.Progress.
type ProgressPrinter struct {
	w        io.Writer
	label    string
	tty      bool
	interval time.Duration
	now      func() time.Time

	mu        sync.Mutex
	start     time.Time
	lastPrint time.Time
	lastDone  int64
	drawn     bool
}

// NewProgressPrinter prints to w under label ("events", "profiles" ...). It draws a bar when w
// is a terminal.
func NewProgressPrinter(w io.Writer, label string) *ProgressPrinter {
	return &ProgressPrinter{w: w, label: label, tty: IsTerminal(w), interval: 5 * time.Second, now: time.Now}
}

// IsTerminal reports whether w is a character device (a terminal), without cgo or x/term.
func IsTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

// Update records that done of total bytes are imported (total 0: unknown).
func (p *ProgressPrinter) Update(done, total int64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	now := p.now()
	if p.start.IsZero() {
		p.start = now
	}
	p.lastDone = done
	if !p.tty && now.Sub(p.lastPrint) < p.interval && !(total > 0 && done >= total) {
		return
	}
	p.lastPrint = now
	line := p.line(done, total, now)
	if p.tty {
		fmt.Fprintf(p.w, "\r%s\x1b[K", line)
		p.drawn = true
		return
	}
	fmt.Fprintln(p.w, line)
}

// Finish ends the progress display with a summary of the report.
func (p *ProgressPrinter) Finish(r Report) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.tty && p.drawn {
		fmt.Fprintln(p.w)
	}
	elapsed := p.now().Sub(p.start)
	rate := ""
	if elapsed > 0 && p.start != (time.Time{}) {
		rate = fmt.Sprintf(" in %s (%.0f lines/s)", elapsed.Round(time.Millisecond), float64(r.Lines)/elapsed.Seconds())
	}
	fmt.Fprintf(p.w, "import %s: %d lines, %d imported, %d skipped%s\n", p.label, r.Lines, r.Imported, r.Skipped, rate)
}

func (p *ProgressPrinter) line(done, total int64, now time.Time) string {
	elapsed := now.Sub(p.start).Seconds()
	rate := 0.0
	if elapsed > 0 {
		rate = float64(done) / elapsed
	}
	var b strings.Builder
	fmt.Fprintf(&b, "import %s: ", p.label)
	if total > 0 {
		frac := min(float64(done)/float64(total), 1)
		if p.tty {
			const width = 30
			n := int(frac * width)
			b.WriteString("[" + strings.Repeat("=", n) + strings.Repeat(" ", width-n) + "] ")
		}
		fmt.Fprintf(&b, "%5.1f%% %s of %s", frac*100, bytesText(float64(done)), bytesText(float64(total)))
	} else {
		b.WriteString(bytesText(float64(done)))
	}
	fmt.Fprintf(&b, ", %s/s", bytesText(rate))
	if total > 0 && rate > 0 && done < total {
		eta := time.Duration(float64(total-done) / rate * float64(time.Second))
		fmt.Fprintf(&b, ", ETA %s", eta.Round(time.Second))
	}
	return b.String()
}

func bytesText(n float64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.1f GB", n/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MB", n/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KB", n/(1<<10))
	}
	return fmt.Sprintf("%.0f B", n)
}
