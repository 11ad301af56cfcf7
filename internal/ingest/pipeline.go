// Package ingest owns the write path: decoded messages, record upserts and erasures enter
// through a Log, are applied in order (identity resolution, traits, events, records) and are
// acknowledged only once durable. The single-node Log is Pipeline: it groups concurrent requests
// into one synced store transaction (group commit), so one fsync acknowledges many requests.
// A replicated log (NATS JetStream) will be another implementation of the same interface.
//
// After each commit the applied changes go, in commit order, to the OnCommit subscriber (the
// in-memory index and the live evaluator, wired in cmd/segd) as soon as the store shows them,
// while their fsync is still in flight; callers are acknowledged once it completes. ingest must
// not import live, engine or httpapi.
package ingest

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/segd/segd/internal/identity"
	"github.com/segd/segd/internal/message"
	"github.com/segd/segd/internal/store"
	"golang.org/x/sync/errgroup"
)

// Log is the write path as its callers see it. Implementations return only after the writes
// are durable; a nil error means every Outcome is final.
type Log interface {
	Append(ctx context.Context, ws uint32, msgs []message.Message) ([]Outcome, error)
	UpsertRecords(ctx context.Context, ws uint32, recs []RecordInput) ([]uint32, error)
	DeleteRecord(ctx context.Context, ws uint32, typ, id string) error
	Erase(ctx context.Context, ws uint32, pid uint32, suppress bool) error
}

// Status is what happened to one message.
type Status uint8

// Message outcomes.
const (
	Accepted   Status = iota
	Duplicate         // messageId seen within the dedupe window: acknowledged, stored once
	Suppressed        // an identifier is on the erasure block-list: acknowledged, not stored
)

func (s Status) String() string {
	return [...]string{"accepted", "duplicate", "suppressed"}[s]
}

// Outcome is the result for one message.
type Outcome struct {
	Status  Status
	Profile uint32
	Seq     uint64
}

// RecordInput is a related record to upsert, with the identifiers of its profile.
type RecordInput struct {
	Type       string
	ID         string
	Identity   map[string]string // identifier type → value
	Attributes map[string]any
	Timestamp  time.Time
}

// ErrUnavailable wraps store failures: nothing of the failed group was acknowledged.
var ErrUnavailable = errors.New("store unavailable")

// ErrStopped is returned after Close.
var ErrStopped = errors.New("write pipeline stopped")

// Options configure a Pipeline.
type Options struct {
	Store *store.Store
	// Rules returns the identity rules of a workspace.
	Rules func(ws uint32) identity.Rules
	// OnCommit receives the changes of each commit, in order, once the store shows them (reads
	// see the writes) and before callers are acknowledged. The commit's fsync may still be in
	// flight: a slow disk then delays the acknowledgements but not what the subscriber derives
	// from the writes. Anything the subscriber writes to the store is ordered after them in the
	// WAL, so it is durable only if they are. It must be fast; it runs on one goroutine, in
	// parallel with the application of the next groups.
	OnCommit func([]Change)
	// MaxGroup caps the messages applied in one transaction.
	MaxGroup int
	// Now is the clock (tests replace it).
	Now func() time.Time
	// Registerer receives the pipeline's metrics; nil means none.
	Registerer prometheus.Registerer
	Logger     *slog.Logger
}

func (o *Options) setDefaults() {
	if o.MaxGroup == 0 {
		o.MaxGroup = 20000
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Rules == nil {
		o.Rules = func(uint32) identity.Rules { return identity.DefaultRules() }
	}
	if o.OnCommit == nil {
		o.OnCommit = func([]Change) {}
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
}

// Validate reports a configuration error.
func (o *Options) Validate() error {
	if o.Store == nil {
		return errors.New("ingest: Options.Store is nil")
	}
	if o.MaxGroup < 1 {
		return errors.New("ingest: MaxGroup must be positive")
	}
	return nil
}

type request struct {
	ws    uint32
	n     int // messages, for group sizing
	apply func(tx *store.Txn, a *applier) error
	done  chan error
}

// Pipeline is the single-node Log: a group-committing writer over the store.
type Pipeline struct {
	opts    Options
	reqs    chan *request
	stop    chan struct{}
	stopped sync.WaitGroup
	metrics *metrics
	once    sync.Once
}

// NewPipeline starts the commit goroutine; Close stops it.
func NewPipeline(opts Options) (*Pipeline, error) {
	opts.setDefaults()
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	p := &Pipeline{opts: opts, reqs: make(chan *request, 1024), stop: make(chan struct{}), metrics: newMetrics(opts.Registerer)}
	p.stopped.Add(1)
	go p.run()
	return p, nil
}

// Close stops accepting writes, finishes the ones queued and returns.
func (p *Pipeline) Close() error {
	p.once.Do(func() { close(p.stop) })
	p.stopped.Wait()
	return nil
}

func (p *Pipeline) submit(ctx context.Context, r *request) error {
	if err := p.enqueue(ctx, r); err != nil {
		return err
	}
	// Once queued the write will be applied; wait for its outcome even if ctx ends, so that
	// a caller never reports failure for a write that became durable.
	return <-r.done
}

// enqueue queues r; requests queued by one goroutine are applied in the order queued.
func (p *Pipeline) enqueue(ctx context.Context, r *request) error {
	r.done = make(chan error, 1)
	select {
	case p.reqs <- r:
		return nil
	case <-p.stop:
		return ErrStopped
	case <-ctx.Done():
		return ctx.Err()
	}
}

// inFlight bounds the published groups waiting for their fsync (the acker's queue): while the
// disk is slow, up to this many more groups are applied and published to OnCommit.
const inFlight = 64

// run is the commit goroutine. Groups are applied one at a time, in order; while one group's
// WAL fsync is in flight the next groups are already being applied. The publisher goroutine
// hands each applied group's changes to OnCommit without waiting for its fsync; the acker
// goroutine then waits for the fsync and answers the group's requests, in order.
func (p *Pipeline) run() {
	defer p.stopped.Done()
	applied := make(chan pendingGroup, 2)
	acks := make(chan pendingGroup, inFlight)
	ackDone := make(chan struct{})
	go p.publish(applied, acks)
	go p.ack(acks, ackDone)
	defer func() {
		close(applied)
		<-ackDone
	}()
	for {
		var first *request
		select {
		case first = <-p.reqs:
		case <-p.stop:
			// drain what was queued before stop
			for {
				select {
				case r := <-p.reqs:
					p.commit([]*request{r}, applied)
				default:
					return
				}
			}
		}
		group := []*request{first}
		n := first.n
	fill:
		for n < p.opts.MaxGroup {
			select {
			case r := <-p.reqs:
				group = append(group, r)
				n += r.n
			default:
				break fill
			}
		}
		p.commit(group, applied)
	}
}

// pendingGroup is a group applied to the store whose fsync may still be in flight.
type pendingGroup struct {
	group   []*request
	errs    []error
	changes []Change
	merges  int
	wait    func() error
	start   time.Time
}

// publish hands each applied group's changes to OnCommit, in order, then passes the group on
// to the acker. It does not wait for fsyncs: the store already shows the writes to readers, and
// a failed fsync stops the store from taking writes until segd restarts and replays its WAL,
// which rebuilds everything OnCommit's subscriber holds in memory.
func (p *Pipeline) publish(applied <-chan pendingGroup, acks chan<- pendingGroup) {
	defer close(acks)
	for g := range applied {
		if len(g.changes) > 0 {
			p.opts.OnCommit(g.changes)
		}
		acks <- g
	}
}

func (p *Pipeline) ack(acks <-chan pendingGroup, done chan<- struct{}) {
	defer close(done)
	failed := false
	for g := range acks {
		err := g.wait()
		if err == nil && failed {
			err = errors.New("an earlier commit failed")
		}
		if err != nil {
			// the WAL is written in order: nothing after a failed sync is acknowledged
			failed = true
			p.failAll(g.group, fmt.Errorf("%w: %v", ErrUnavailable, err))
			continue
		}
		p.metrics.commitSeconds.Observe(time.Since(g.start).Seconds())
		p.metrics.groupSize.Observe(float64(len(g.group)))
		p.metrics.merges.Add(float64(g.merges))
		for i, r := range g.group {
			r.done <- g.errs[i]
		}
	}
}

func (p *Pipeline) commit(group []*request, applied chan<- pendingGroup) {
	start := time.Now()
	tx := p.opts.Store.Begin()
	n := 0
	for _, r := range group {
		n += r.n
	}
	tx.Reserve(n)
	// about one change per message: grown by doubling, the slice was copied a dozen times
	a := &applier{opts: &p.opts, now: p.opts.Now().UTC(), resolvers: map[uint32]*identity.Resolver{}, changes: make([]Change, 0, n)}
	errs := make([]error, len(group))
	for i, r := range group {
		mark := len(a.changes)
		if err := r.apply(tx, a); err != nil {
			// A request whose apply fails leaves the Txn in an unknown state: fail the group.
			if !isInputError(err) {
				tx.Discard()
				p.failAll(group, fmt.Errorf("%w: %v", ErrUnavailable, err))
				return
			}
			errs[i] = err
			a.changes = a.changes[:mark]
		}
	}
	wait, err := tx.CommitNoWait()
	if err != nil {
		p.failAll(group, fmt.Errorf("%w: %v", ErrUnavailable, err))
		return
	}
	applied <- pendingGroup{group: group, errs: errs, changes: a.changes, merges: a.merges, wait: wait, start: start}
}

func (p *Pipeline) failAll(group []*request, err error) {
	p.opts.Logger.Error("commit failed; nothing in the group was acknowledged", "requests", len(group), "err", err)
	p.metrics.commitFailures.Inc()
	for _, r := range group {
		r.done <- err
	}
}

// inputError marks a request-level failure that leaves the transaction untouched.
type inputError struct{ err error }

func (e inputError) Error() string { return e.err.Error() }
func (e inputError) Unwrap() error { return e.err }

func isInputError(err error) bool {
	var ie inputError
	return errors.As(err, &ie)
}

// Append applies messages in order and returns one Outcome per message.
func (p *Pipeline) Append(ctx context.Context, ws uint32, msgs []message.Message) ([]Outcome, error) {
	wait, err := p.AppendAsync(ctx, ws, msgs)
	if err != nil {
		return nil, err
	}
	return wait()
}

// AppendAsync queues messages like Append and returns without waiting for them to be durable;
// wait (called exactly once) blocks until they are and returns their outcomes. Batches queued
// by one goroutine are applied in the order queued, so a bulk writer can keep several in flight
// (the next one is applied while the previous one's fsync runs) without reordering them.
func (p *Pipeline) AppendAsync(ctx context.Context, ws uint32, msgs []message.Message) (wait func() ([]Outcome, error), err error) {
	out := make([]Outcome, len(msgs))
	prep, err := p.prepare(ws, msgs)
	if err != nil {
		return nil, err
	}
	r := &request{ws: ws, n: len(msgs), apply: func(tx *store.Txn, a *applier) error {
		for i := range msgs {
			o, err := a.message(tx, ws, &msgs[i], &prep[i])
			if err != nil {
				return err
			}
			out[i] = o
		}
		return nil
	}}
	if err := p.enqueue(ctx, r); err != nil {
		return nil, err
	}
	return func() ([]Outcome, error) {
		// once queued the write will be applied: wait for its outcome even if ctx ends, so
		// that a caller never reports failure for a write that became durable
		if err := <-r.done; err != nil {
			return nil, err
		}
		for _, o := range out {
			p.metrics.messages.WithLabelValues(o.Status.String()).Inc()
		}
		return out, nil
	}, nil
}

// prepare does on the caller's goroutine what applying msgs needs but the writer's state does
// not decide: encoding the stored events and reading the dedupe window (which the writer then
// completes with the commits made since), so the single writer has less to do per message.
func (p *Pipeline) prepare(ws uint32, msgs []message.Message) ([]prepared, error) {
	prep := make([]prepared, len(msgs))
	// a bulk caller (an import) sends large batches from one goroutine: spread them over the
	// processors; HTTP requests are already spread by their handlers
	parts := 1
	if len(msgs) >= 512 {
		parts = runtime.GOMAXPROCS(0)
	}
	if parts == 1 {
		return prep, p.preparePart(ws, msgs, prep)
	}
	var g errgroup.Group
	size := (len(msgs) + parts - 1) / parts
	for lo := 0; lo < len(msgs); lo += size {
		hi := min(lo+size, len(msgs))
		g.Go(func() error { return p.preparePart(ws, msgs[lo:hi], prep[lo:hi]) })
	}
	return prep, g.Wait()
}

func (p *Pipeline) preparePart(ws uint32, msgs []message.Message, prep []prepared) error {
	ids := make([]string, len(msgs))
	// The values go into shared chunks, a new one when little room is left (one growing
	// buffer copied itself at every doubling: 13% of the bytes allocated under load).
	const chunk, room = 64 << 10, 4 << 10
	var buf []byte
	for i := range msgs {
		ids[i] = msgs[i].MessageID
		if cap(buf)-len(buf) < room {
			buf = make([]byte, 0, chunk)
		}
		start := len(buf)
		var err error
		if buf, err = p.opts.Store.AppendEvent(buf, ws, &msgs[i]); err != nil {
			return fmt.Errorf("%w: %v", ErrUnavailable, err)
		}
		prep[i].value = buf[start:len(buf):len(buf)]
	}
	check, err := p.opts.Store.SeenBefore(ws, ids)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrUnavailable, err)
	}
	for i := range prep {
		prep[i].seen, prep[i].gen = check.Seen[i], check.Gen
	}
	return nil
}

// UpsertRecords stores related records, resolving (or creating) their profiles.
func (p *Pipeline) UpsertRecords(ctx context.Context, ws uint32, recs []RecordInput) ([]uint32, error) {
	pids := make([]uint32, len(recs))
	err := p.submit(ctx, &request{ws: ws, n: len(recs), apply: func(tx *store.Txn, a *applier) error {
		for i := range recs {
			pid, err := a.record(tx, ws, &recs[i])
			if err != nil {
				return err
			}
			pids[i] = pid
		}
		return nil
	}})
	return pids, err
}

// DeleteRecord removes a related record.
func (p *Pipeline) DeleteRecord(ctx context.Context, ws uint32, typ, id string) error {
	return p.submit(ctx, &request{ws: ws, n: 1, apply: func(tx *store.Txn, a *applier) error {
		r, err := tx.DeleteRecord(ws, typ, id)
		if errors.Is(err, store.ErrNotFound) {
			return inputError{fmt.Errorf("record %s/%s: %w", typ, id, store.ErrNotFound)}
		}
		if err != nil {
			return err
		}
		a.changes = append(a.changes, Change{WS: ws, Kind: RecordDeleted, Profile: r.Profile, Record: r})
		return nil
	}})
}

// Erase removes a profile with its events, records and identifiers; with suppress, its
// identifiers' hashes are kept so they are never collected again.
func (p *Pipeline) Erase(ctx context.Context, ws uint32, pid uint32, suppress bool) error {
	return p.submit(ctx, &request{ws: ws, n: 1, apply: func(tx *store.Txn, a *applier) error {
		return a.erase(tx, ws, pid, suppress)
	}})
}

// TraitUpdate sets computed traits of one profile (nil value removes the trait).
type TraitUpdate struct {
	Profile uint32
	Traits  map[string]any
}

// SetTraits writes computed traits (analytics) durably, as of time at. Profiles that no
// longer exist (merged away or erased) are skipped and reported as 0 in the result.
func (p *Pipeline) SetTraits(ctx context.Context, ws uint32, at time.Time, updates []TraitUpdate) ([]uint32, error) {
	done := make([]uint32, len(updates))
	err := p.submit(ctx, &request{ws: ws, n: len(updates), apply: func(tx *store.Txn, a *applier) error {
		for i, u := range updates {
			pr, err := tx.Profile(ws, u.Profile)
			if errors.Is(err, store.ErrNotFound) {
				continue
			}
			if err != nil {
				return err
			}
			if pr.MergedInto != 0 {
				continue
			}
			changed := setTraits(pr, u.Traits, at)
			for k, v := range u.Traits {
				if v == nil {
					delete(pr.Traits, k)
				}
			}
			tx.MarkDirty(ws, pr)
			if len(changed) > 0 {
				a.changes = append(a.changes, Change{WS: ws, Kind: TraitsSet, Profile: pr.ID, Traits: changed})
			}
			done[i] = pr.ID
		}
		return nil
	}})
	return done, err
}
