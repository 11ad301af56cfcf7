package destination

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"time"
)

// Status is a destination's delivery state as GET /api/v1/destinations/{id} reports it.
type Status struct {
	State       string    `json:"state"`  // running, waiting, retrying, paused or stopped
	Cursor      uint64    `json:"cursor"` // changes up to this seq are delivered or dead-lettered
	Head        uint64    `json:"head"`   // last seq in the feed
	LagChanges  uint64    `json:"lag_changes"`
	LagSeconds  float64   `json:"lag_seconds"` // age of the oldest change after the cursor
	Delivered   uint64    `json:"delivered"`
	Failures    uint64    `json:"failures"` // failed attempts since start
	Attempts    int       `json:"attempts"` // failed attempts of the batch being sent now
	DeadLetters int       `json:"dead_letters"`
	LastError   string    `json:"last_error,omitempty"`
	LastErrorAt time.Time `json:"last_error_at,omitzero"`
	LastSentAt  time.Time `json:"last_delivered_at,omitzero"`
}

type replayReq struct{ reply chan ReplayResult }

// runner is the delivery goroutine of one destination: the only code that reads its cursor
// forward, sends to its sink and writes its dead letters.
type runner struct {
	m      *Manager
	ws     uint32
	cfg    Config
	sink   sink
	ctx    context.Context
	cancel context.CancelFunc
	done   chan struct{}
	replay chan replayReq

	// status, guarded by mu
	mu sync.Mutex
	st Status

	// the cursor's durability, touched only by the run loop (see advance)
	cursorSyncedAt time.Time
	cursorUnsynced bool
}

// cursorSyncEvery bounds how long a delivered batch may stay out of the durable cursor.
const cursorSyncEvery = time.Second

func newRunner(m *Manager, ws uint32, c Config) (*runner, error) {
	cur, err := m.cursor(ws, c.ID)
	if err != nil {
		return nil, err
	}
	dls, err := m.DeadLetters(ws, c.ID)
	if err != nil {
		return nil, fmt.Errorf("destination %q: list dead letters: %w", c.ID, err)
	}
	allow := m.opts.AllowPrivate != nil && m.opts.AllowPrivate(ws)
	s, err := newSink(&c, allow)
	if err != nil {
		return nil, err
	}
	r := &runner{m: m, ws: ws, cfg: c, sink: s, done: make(chan struct{}), replay: make(chan replayReq)}
	r.ctx, r.cancel = context.WithCancel(m.ctx)
	r.st = Status{State: "running", Cursor: cur.Seq, Delivered: cur.Delivered, DeadLetters: len(dls)}
	if c.Paused {
		r.st.State = "paused"
	}
	return r, nil
}

func (r *runner) stop() {
	r.cancel()
	<-r.done
}

func (r *runner) setState(s string) {
	r.mu.Lock()
	r.st.State = s
	r.mu.Unlock()
}

func (r *runner) fail(err error) {
	r.mu.Lock()
	r.st.Failures++
	r.st.Attempts++
	r.st.LastError = err.Error()
	r.st.LastErrorAt = time.Now()
	r.mu.Unlock()
	r.m.metrics.failures.WithLabelValues(wsLabel(r.ws), r.cfg.ID).Inc()
}

func (r *runner) run() {
	defer close(r.done)
	defer r.sink.Close()
	defer r.setState("stopped")
	ctx := r.ctx
	if r.cfg.Paused {
		for {
			select {
			case <-ctx.Done():
				return
			case req := <-r.replay:
				req.reply <- r.doReplay(ctx)
			}
		}
	}
	r.mu.Lock()
	readSeq, delivered := r.st.Cursor, r.st.Delivered
	r.mu.Unlock()
	var pending []Change
	var lingerUntil time.Time
	drained := false
	readErrs := 0
	for ctx.Err() == nil {
		if len(pending) < r.cfg.BatchSize && !drained {
			want := r.cfg.BatchSize - len(pending)
			chs, err := r.m.opts.Feed.Read(ctx, r.ws, readSeq, want)
			if err != nil {
				if ctx.Err() != nil {
					return
				}
				readErrs++
				r.fail(fmt.Errorf("read feed: %w", err))
				r.sleep(ctx, r.backoff(readErrs, 0))
				continue
			}
			readErrs = 0
			drained = len(chs) < want
			for _, c := range chs {
				if c.Seq <= readSeq {
					panic(fmt.Sprintf("destination: feed returned seq %d after %d: the feed must be ordered", c.Seq, readSeq))
				}
				readSeq = c.Seq
				if !r.cfg.wantsKind(c.Kind) || !r.cfg.wantsSegment(c.SegmentID, c.Segment) {
					continue
				}
				if len(pending) == 0 {
					lingerUntil = time.Now().Add(r.cfg.Linger.D())
				}
				pending = append(pending, c)
			}
			if len(pending) == 0 && len(chs) > 0 {
				// Everything read was filtered out: move the cursor past it.
				r.advance(readSeq, delivered)
				continue
			}
		}
		if len(pending) >= r.cfg.BatchSize || (len(pending) > 0 && (drained && !time.Now().Before(lingerUntil))) {
			n, ok := r.deliver(ctx, pending, readSeq)
			if !ok {
				return // stopped mid-batch: the cursor did not move, the batch is sent again
			}
			delivered += uint64(n)
			r.advance(readSeq, delivered)
			pending = pending[:0]
			continue
		}
		if !drained {
			continue
		}
		// Nothing more to read now: wait for the feed, the linger deadline or a replay request.
		r.setState("waiting")
		wctx, cancel := context.WithCancel(ctx)
		switch {
		case len(pending) > 0:
			wctx, cancel = context.WithDeadline(ctx, lingerUntil)
		case r.cursorUnsynced:
			wctx, cancel = context.WithDeadline(ctx, r.cursorSyncedAt.Add(cursorSyncEvery))
		}
		waited := make(chan error, 1)
		go func() { waited <- r.m.opts.Feed.Wait(wctx, r.ws, readSeq) }()
		select {
		case <-waited:
		case req := <-r.replay:
			cancel()
			<-waited
			req.reply <- r.doReplay(ctx)
		}
		cancel()
		if r.cursorUnsynced && len(pending) == 0 && time.Since(r.cursorSyncedAt) >= cursorSyncEvery {
			r.advance(readSeq, delivered) // idle: make the cursor durable now
		}
		r.setState("running")
		drained = false
	}
}

// advance saves the cursor. A failed save is reported and retried with the next batch; the
// worst outcome is that changes are sent again after a restart.
func (r *runner) advance(seq, delivered uint64) {
	// A synced write per delivered batch put a disk flush between every two deliveries. The
	// cursor is synced at most once a second (and when the runner falls idle with an unsynced
	// one); in between it is written without waiting for the disk, which the next synced
	// write anywhere in the store, or closing it, makes durable. A cursor lost in a crash
	// only sends the changes after the last durable one again, which at-least-once delivery
	// allows (each carries its stable id).
	lazy := time.Since(r.cursorSyncedAt) < cursorSyncEvery
	err := r.m.putCursor(r.ws, r.cfg.ID, cursorDoc{Seq: seq, Delivered: delivered}, lazy)
	if err == nil {
		r.cursorUnsynced = lazy
		if !lazy {
			r.cursorSyncedAt = time.Now()
		}
	}
	r.mu.Lock()
	r.st.Cursor, r.st.Delivered = seq, delivered
	if err != nil {
		r.st.LastError, r.st.LastErrorAt = err.Error(), time.Now()
	}
	r.mu.Unlock()
}

// deliver sends one batch until it succeeds, fails permanently or runs out of attempts (then it
// becomes a dead letter). It reports the number of changes delivered, and false when ctx ended
// first.
func (r *runner) deliver(ctx context.Context, pending []Change, lastSeq uint64) (int, bool) {
	var b *Batch
	var err error
	for attempt := 1; ; attempt++ {
		if b == nil {
			b, err = r.render(pending)
		}
		if b != nil {
			if len(b.Changes) == 0 {
				return 0, true // every change was suppressed
			}
			err = r.sink.Send(ctx, b)
		}
		if ctx.Err() != nil {
			return 0, false
		}
		if err == nil {
			r.mu.Lock()
			r.st.Attempts = 0
			r.st.LastSentAt = time.Now()
			r.mu.Unlock()
			r.m.metrics.delivered.WithLabelValues(wsLabel(r.ws), r.cfg.ID).Add(float64(len(b.Changes)))
			return len(b.Changes), true
		}
		r.fail(err)
		if b != nil && (isPermanent(err) || attempt >= r.cfg.MaxAttempts) {
			if !r.deadLetter(b, pending[0].Seq, lastSeq, attempt, err) {
				return 0, false
			}
			r.mu.Lock()
			r.st.Attempts = 0
			r.mu.Unlock()
			return 0, true
		}
		var ra *RetryAfterError
		min := time.Duration(0)
		if errors.As(err, &ra) {
			min = ra.After
		}
		r.setState("retrying")
		if !r.sleep(ctx, r.backoff(attempt, min)) {
			return 0, false
		}
		r.setState("running")
	}
}

// render applies the suppression list and describes the profiles, at delivery time.
func (r *runner) render(pending []Change) (*Batch, error) {
	type desc struct {
		ids    map[string][]string
		traits map[string]any
	}
	cache := map[uint32]desc{}
	b := &Batch{Destination: r.cfg.ID, Changes: make([]Delivery, 0, len(pending))}
	for _, c := range pending {
		if r.suppressed(c.Profile) || !r.consented(c.Profile) {
			continue
		}
		d, ok := cache[c.Profile]
		if !ok {
			ids, traits, err := r.m.opts.Profiles.Describe(r.ws, c.Profile, r.cfg.Traits)
			if err != nil && !errors.Is(err, ErrNoProfile) {
				return nil, fmt.Errorf("describe profile %d: %w", c.Profile, err)
			}
			d = desc{ids, traits}
			cache[c.Profile] = d
		}
		b.Changes = append(b.Changes, Delivery{
			ID: ChangeID(r.ws, c.Seq), Seq: c.Seq, Segment: SegmentRef{ID: c.SegmentID, Name: c.Segment},
			Kind: c.Kind, Profile: ProfileRef{ID: c.Profile, Identifiers: d.ids, Traits: d.traits},
			EventTime: c.EventTime, At: c.At, Reason: c.Reason,
		})
	}
	return b, nil
}

func (r *runner) consented(pid uint32) bool {
	if r.cfg.Channel == "" || r.m.opts.Consent == nil {
		return true
	}
	return r.m.opts.Consent(r.ws, pid, r.cfg.Channel)
}

func (r *runner) suppressed(pid uint32) bool {
	if r.m.opts.Members == nil {
		return false
	}
	for _, s := range r.cfg.Suppress {
		if r.m.opts.Members.IsMember(r.ws, s, pid) {
			return true
		}
	}
	return false
}

// deadLetter stores the batch in the dead-letter list; false means ctx ended before it could.
func (r *runner) deadLetter(b *Batch, first, last uint64, attempts int, cause error) bool {
	d := DeadLetter{Destination: r.cfg.ID, FirstSeq: first, LastSeq: last, Attempts: attempts,
		Error: cause.Error(), At: time.Now(), Changes: b.Changes}
	v, _ := json.Marshal(d)
	k := dlqKey(r.cfg.ID, first)
	for try := 1; ; try++ {
		err := r.m.opts.Store.PutDoc(r.ws, DLQDocKind, k, v)
		if err == nil {
			break
		}
		// The cursor must not pass a batch that is neither delivered nor stored.
		r.fail(fmt.Errorf("store dead letter: %w", err))
		if !r.sleep(r.ctx, r.backoff(try, 0)) {
			return false
		}
	}
	r.mu.Lock()
	r.st.DeadLetters++
	r.mu.Unlock()
	r.m.opts.Logger.Warn("destination: batch dead-lettered", "workspace", r.ws, "destination", r.cfg.ID,
		"first_seq", first, "last_seq", last, "attempts", attempts, "error", cause)
	return true
}

// doReplay sends the dead letters, oldest first, one attempt each.
func (r *runner) doReplay(ctx context.Context) ReplayResult {
	var res ReplayResult
	dls, err := r.m.DeadLetters(r.ws, r.cfg.ID)
	if err != nil {
		res.Error = err.Error()
		return res
	}
	res.Remaining = len(dls)
	for i := range dls {
		d := &dls[i]
		b := &Batch{Destination: r.cfg.ID, Changes: d.Changes}
		if err := r.sink.Send(ctx, b); err != nil {
			res.Error = err.Error()
			d.Attempts++
			d.Error = err.Error()
			v, _ := json.Marshal(d)
			r.m.opts.Store.PutDoc(r.ws, DLQDocKind, d.Key, v)
			break
		}
		if err := r.m.opts.Store.DeleteDoc(r.ws, DLQDocKind, d.Key); err != nil {
			res.Error = err.Error()
			break
		}
		res.Replayed++
		res.Changes += len(d.Changes)
		res.Remaining--
		r.m.metrics.delivered.WithLabelValues(wsLabel(r.ws), r.cfg.ID).Add(float64(len(d.Changes)))
	}
	r.mu.Lock()
	r.st.DeadLetters = res.Remaining
	r.mu.Unlock()
	return res
}

// backoff is exponential with full jitter: a uniform wait in [0, min(max, initial*2^(n-1))],
// at least min (a receiver's Retry-After, itself capped by backoff_max).
func (r *runner) backoff(n int, min time.Duration) time.Duration {
	ceil := r.cfg.BackoffMax.D()
	if n < 40 {
		if d := r.cfg.BackoffInitial.D() << (n - 1); d > 0 && d < ceil {
			ceil = d
		}
	}
	d := time.Duration(rand.Int64N(int64(ceil) + 1))
	if min > r.cfg.BackoffMax.D() {
		min = r.cfg.BackoffMax.D()
	}
	if d < min {
		d = min
	}
	return d
}

// sleep waits d, serving replay requests meanwhile; false means ctx ended.
func (r *runner) sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return false
		case <-t.C:
			return true
		case req := <-r.replay:
			req.reply <- r.doReplay(ctx)
		}
	}
}

// status copies the figures and adds the lag, read from the feed without holding mu.
func (r *runner) status(ctx context.Context) Status {
	r.mu.Lock()
	st := r.st
	r.mu.Unlock()
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	head, err := feedHead(ctx, r.m.opts.Feed, r.ws, st.Cursor)
	if err == nil && head >= st.Cursor {
		st.Head, st.LagChanges = head, head-st.Cursor
	}
	if st.LagChanges > 0 {
		if chs, err := r.m.opts.Feed.Read(ctx, r.ws, st.Cursor, 1); err == nil && len(chs) == 1 && !chs[0].At.IsZero() {
			st.LagSeconds = time.Since(chs[0].At).Seconds()
		}
	}
	return st
}
