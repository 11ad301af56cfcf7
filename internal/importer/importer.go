// Package importer owns bulk import of files into segd: Segment messages as JSON Lines,
// profiles as CSV (identifier columns plus traits with inferred types) and related records as
// CSV. It reads, validates through package message, batches, reports bad rows by line number
// without stopping, and shows progress. Re-running an import adds nothing: every message gets a
// deterministic messageId and records are upserted by id.
//
// It writes through the Sink and RecordSink interfaces it declares; cmd/segd connects them to
// the store (offline import) or to a running server. It must not import the store, identity,
// ingest or any HTTP package.
package importer

import (
	"context"
	"errors"
	"fmt"
	"io"
	"runtime"
	"strings"
	"time"

	"github.com/segd/segd/internal/message"
)

// Sink receives decoded messages in file order. A nil error means they are durable. The store
// deduplicates by messageId, which is what makes a re-run import nothing twice.
type Sink interface {
	Append(ctx context.Context, msgs []message.Message) error
}

// AsyncSink is a Sink that takes the next batch before the previous one is durable. Batches
// given by one goroutine are applied in the order given; wait (called once per batch, in
// order) returns when the batch is durable. The local data directory's sink is one: the store
// applies a batch while the previous one's fsync runs.
type AsyncSink interface {
	Sink
	AppendAsync(ctx context.Context, msgs []message.Message) (wait func() error, err error)
}

// inFlight is how many batches an import keeps queued on an AsyncSink.
const inFlight = 32

// syncSink is a plain Sink seen as an AsyncSink: its batches are durable when Append returns.
type syncSink struct{ Sink }

func (s syncSink) AppendAsync(ctx context.Context, msgs []message.Message) (func() error, error) {
	if err := s.Append(ctx, msgs); err != nil {
		return nil, err
	}
	return func() error { return nil }, nil
}

// RecordSink upserts related records of one type by id.
type RecordSink interface {
	UpsertRecords(ctx context.Context, typ string, recs []Record) error
}

// Record is one related record (a ticket, an account, a card ...) linked to a profile.
type Record struct {
	ID string
	// Profile maps identifier type to value: userId, email, phone, anonymousId or an external
	// id type configured for the workspace.
	Profile    map[string]string
	Attributes map[string]any
	Timestamp  time.Time
}

// Report sums up an import. Lines counts data lines (blank lines and the CSV header are not
// counted); every one of them was either Imported or Skipped.
type Report struct {
	Lines    int64
	Imported int64
	Skipped  int64
	// Errors lists the skipped lines, at most Options.MaxErrors of them (all of them go to
	// Options.ErrorsWriter).
	Errors []LineError
}

// LineError is a skipped line and why.
type LineError struct {
	Line   int    `json:"line"`
	Reason string `json:"reason"`
}

func (e LineError) String() string { return fmt.Sprintf("line %d: %s", e.Line, e.Reason) }

// Options control an import. The zero value is usable: WithDefaults fills it in.
type Options struct {
	// BatchSize is how many messages or records go to the sink at once (default 1000).
	BatchSize int
	// IDColumns maps a CSV column to the identifier type it holds: {"email": "email",
	// "customer_id": "userId"}. When empty, columns named userId, user_id, email, phone,
	// anonymousId or anonymous_id are taken as those identifiers.
	IDColumns map[string]string
	// ErrorsWriter, when set, receives "line<TAB>reason\n" for every skipped line.
	ErrorsWriter io.Writer
	// MaxErrors bounds Report.Errors (default 1000); the count in Report.Skipped is exact.
	MaxErrors int
	// Progress, when set, is called with bytes made durable so far and Size, at most every
	// ProgressEvery and once at the end.
	Progress      func(done, total int64)
	Size          int64
	ProgressEvery time.Duration // default 200ms
	// Limits are the message limits (default message.DefaultLimits()): a JSON line longer than
	// MaxMessageBytes is skipped like any other bad line.
	Limits message.Limits
	// Now gives the receipt time stamped on imported messages (default time.Now).
	Now func() time.Time
	// Workers decode JSON lines in parallel (default GOMAXPROCS).
	Workers int
}

// WithDefaults returns o with zero fields set to their defaults.
func (o Options) WithDefaults() Options {
	if o.BatchSize == 0 {
		o.BatchSize = 1000
	}
	if o.MaxErrors == 0 {
		o.MaxErrors = 1000
	}
	if o.ProgressEvery == 0 {
		o.ProgressEvery = 200 * time.Millisecond
	}
	o.Limits = o.Limits.WithDefaults()
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Workers == 0 {
		o.Workers = runtime.GOMAXPROCS(0)
	}
	return o
}

// Validate reports options that cannot work.
func (o Options) Validate() error {
	if o.BatchSize < 0 {
		return fmt.Errorf("import options: batch size must be positive, got %d", o.BatchSize)
	}
	if o.Workers < 0 {
		return fmt.Errorf("import options: workers must be positive, got %d", o.Workers)
	}
	if o.MaxErrors < 0 {
		return fmt.Errorf("import options: max errors must not be negative, got %d", o.MaxErrors)
	}
	for col, typ := range o.IDColumns {
		if strings.TrimSpace(col) == "" || strings.TrimSpace(typ) == "" {
			return fmt.Errorf("import options: id column mapping %q=%q needs a column and an identifier type", col, typ)
		}
	}
	if err := o.Limits.WithDefaults().Validate(); err != nil {
		return fmt.Errorf("import options: %w", err)
	}
	return nil
}

// ParseIDColumn parses one --id-column flag value: "email" (the column email holds emails) or
// "customer_id=userId" (the column customer_id holds user ids).
func ParseIDColumn(s string) (column, idType string, err error) {
	col, typ, ok := strings.Cut(s, "=")
	col, typ = strings.TrimSpace(col), strings.TrimSpace(typ)
	if !ok {
		typ = col
	}
	if col == "" || typ == "" {
		return "", "", fmt.Errorf("id column %q: want COLUMN or COLUMN=TYPE, e.g. email or customer_id=userId", s)
	}
	return col, canonicalIDType(typ), nil
}

// canonicalIDType spells the standard identifier types the way the rest of segd does.
func canonicalIDType(t string) string {
	switch strings.ToLower(strings.ReplaceAll(t, "_", "")) {
	case "userid":
		return "userId"
	case "anonymousid":
		return "anonymousId"
	case "email":
		return "email"
	case "phone":
		return "phone"
	}
	return t
}

// ErrCanceled wraps the context error when an import stops because its context ended.
var ErrCanceled = errors.New("import canceled")

func canceled(ctx context.Context, phase string) error {
	return fmt.Errorf("%w while %s: %w", ErrCanceled, phase, context.Cause(ctx))
}

// reporter collects line errors and progress for one import.
type reporter struct {
	opts     Options
	rep      Report
	werr     error // first error writing ErrorsWriter
	lastProg time.Time
	done     int64
}

func (r *reporter) bad(line int, reason string) {
	r.rep.Lines++
	r.rep.Skipped++
	if len(r.rep.Errors) < r.opts.MaxErrors {
		r.rep.Errors = append(r.rep.Errors, LineError{Line: line, Reason: reason})
	}
	if r.opts.ErrorsWriter != nil && r.werr == nil {
		reason = strings.Map(func(c rune) rune {
			if c == '\t' || c == '\n' || c == '\r' {
				return ' '
			}
			return c
		}, reason)
		_, r.werr = fmt.Fprintf(r.opts.ErrorsWriter, "%d\t%s\n", line, reason)
	}
}

// progress reports r.done, the bytes whose lines are durable or reported.
func (r *reporter) progress(final bool) {
	if r.opts.Progress == nil {
		return
	}
	now := time.Now()
	if !final && now.Sub(r.lastProg) < r.opts.ProgressEvery {
		return
	}
	r.lastProg = now
	r.opts.Progress(r.done, r.opts.Size)
}

func (r *reporter) finish() (Report, error) {
	if r.werr != nil {
		return r.rep, fmt.Errorf("import: writing the errors file: %w", r.werr)
	}
	return r.rep, nil
}

// countingReader counts bytes read.
type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}
