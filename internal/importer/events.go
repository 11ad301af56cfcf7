package importer

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"

	"golang.org/x/sync/errgroup"

	"github.com/segd/segd/internal/message"
)

// Events imports JSON Lines: one Segment message per line, its type in its "type" field,
// validated exactly as the HTTP API validates a batch element. Blank lines are ignored. A bad
// line is reported with its number and skipped. A message without messageId gets one hashed
// from the line's bytes, so importing the same file again adds nothing.
//
// Lines are decoded by Options.Workers goroutines and reach the sink in file order, in batches
// of at most Options.BatchSize. The error is non-nil only when the import itself fails (read
// error, sink error, cancellation); the report then covers what was done before.
func Events(ctx context.Context, r io.Reader, sink Sink, opts Options) (Report, error) {
	opts = opts.WithDefaults()
	if err := opts.Validate(); err != nil {
		return Report{}, err
	}
	rep := &reporter{opts: opts}

	type line struct {
		no         int
		start, end int // in chunk.buf
		tooLong    bool
	}
	type chunk struct {
		buf   []byte
		lines []line
		end   int64 // bytes of the file up to the end of this chunk
		msgs  []message.Message
		errs  []LineError
		done  chan struct{}
	}

	g, gctx := errgroup.WithContext(ctx)
	work := make(chan *chunk, opts.Workers)
	ordered := make(chan *chunk, 2*opts.Workers)

	g.Go(func() error { // reader
		defer close(work)
		defer close(ordered)
		cr := &countingReader{r: r}
		br := bufio.NewReaderSize(cr, 64<<10)
		max := opts.Limits.MaxMessageBytes
		var offset int64
		no := 0
		c := &chunk{done: make(chan struct{})}
		flush := func() error {
			c.end = offset
			select {
			case ordered <- c:
			case <-gctx.Done():
				return canceled(gctx, "reading lines")
			}
			select {
			case work <- c:
			case <-gctx.Done():
				return canceled(gctx, "reading lines")
			}
			c = &chunk{done: make(chan struct{}), buf: make([]byte, 0, len(c.buf))}
			return nil
		}
		for {
			text, n, tooLong, err := readLine(br, max)
			if err != nil && !errors.Is(err, io.EOF) {
				return fmt.Errorf("import events: reading line %d: %w", no+1, err)
			}
			if n == 0 && errors.Is(err, io.EOF) {
				break
			}
			no++
			offset += int64(n)
			if no == 1 {
				text = bytes.TrimPrefix(text, []byte("\xef\xbb\xbf")) // UTF-8 byte order mark
			}
			text = bytes.TrimSpace(text)
			if len(text) > 0 || tooLong {
				start := len(c.buf)
				c.buf = append(c.buf, text...)
				c.lines = append(c.lines, line{no: no, start: start, end: len(c.buf), tooLong: tooLong})
			}
			if len(c.lines) >= opts.BatchSize {
				if err := flush(); err != nil {
					return err
				}
			}
			if errors.Is(err, io.EOF) {
				break
			}
		}
		if len(c.lines) > 0 || c.end < offset {
			return flush()
		}
		return nil
	})

	for range opts.Workers {
		g.Go(func() error { // decoders
			var dec message.Decoder
			for c := range work {
				received := opts.Now()
				c.msgs = make([]message.Message, 0, len(c.lines))
				for _, l := range c.lines {
					if l.tooLong {
						c.errs = append(c.errs, LineError{Line: l.no, Reason: fmt.Sprintf("%s: line is longer than the limit of %d bytes", message.CodeMessageTooLarge, opts.Limits.MaxMessageBytes)})
						continue
					}
					m, err := dec.Message(c.buf[l.start:l.end:l.end], received, opts.Limits)
					if err != nil {
						c.errs = append(c.errs, LineError{Line: l.no, Reason: err.Error()})
						continue
					}
					c.msgs = append(c.msgs, m)
				}
				close(c.done)
				if gctx.Err() != nil {
					return canceled(gctx, "decoding lines")
				}
			}
			return nil
		})
	}

	// The writer hands chunks to the sink in file order. A chunk is reported (its bad lines,
	// its messages as imported, progress up to its end) only once it is durable: with an
	// AsyncSink up to inFlight chunks are queued and a second goroutine waits for them in order
	// (a plain Sink is durable when Append returns).
	type queued struct {
		c    *chunk
		wait func() error
	}
	async, ok := sink.(AsyncSink)
	if !ok {
		async = syncSink{sink}
	}
	writeErr := func(c *chunk, err error) error {
		return fmt.Errorf("import events: writing lines up to %d: %w", c.lines[len(c.lines)-1].no, err)
	}
	acks := make(chan queued, inFlight)
	g.Go(func() error { // acknowledger, in file order
		for q := range acks {
			if err := q.wait(); err != nil {
				return writeErr(q.c, err) // cancels the writer; batches already queued are applied but not reported
			}
			for _, e := range q.c.errs {
				rep.bad(e.Line, e.Reason)
			}
			rep.rep.Lines += int64(len(q.c.msgs))
			rep.rep.Imported += int64(len(q.c.msgs))
			rep.done = q.c.end
			rep.progress(false)
		}
		return nil
	})
	g.Go(func() error { // writer, in file order
		defer close(acks)
		for c := range ordered {
			select {
			case <-c.done:
			case <-gctx.Done():
				return canceled(gctx, "decoding lines")
			}
			q := queued{c: c, wait: func() error { return nil }}
			if len(c.msgs) > 0 {
				wait, err := async.AppendAsync(gctx, c.msgs)
				if err != nil {
					return writeErr(c, err)
				}
				q.wait = wait
			}
			select {
			case acks <- q:
			case <-gctx.Done():
				q.wait()
				return canceled(gctx, "writing")
			}
		}
		return nil
	})

	err := g.Wait()
	if err == nil {
		rep.progress(true)
	}
	out, werr := rep.finish()
	if err != nil {
		if ctx.Err() != nil && !errors.Is(err, ErrCanceled) {
			err = canceled(ctx, "importing events")
		}
		return out, err
	}
	return out, werr
}

// readLine reads one line without its newline and returns the bytes it consumed. A line
// longer than max is consumed but not kept: tooLong is set and text is empty. The returned
// text is valid until the next call.
func readLine(br *bufio.Reader, max int) (text []byte, consumed int, tooLong bool, err error) {
	var long []byte
	for {
		frag, e := br.ReadSlice('\n')
		consumed += len(frag)
		if !tooLong {
			if long == nil && e == nil {
				return bytes.TrimSuffix(frag, []byte("\n")), consumed, false, nil
			}
			long = append(long, frag...)
			if len(bytes.TrimRight(long, "\r\n")) > max {
				tooLong, long = true, nil
			}
		}
		if e == bufio.ErrBufferFull {
			continue
		}
		if tooLong {
			return nil, consumed, true, e
		}
		return bytes.TrimSuffix(long, []byte("\n")), consumed, false, e
	}
}
