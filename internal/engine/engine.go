// Package engine evaluates a checked SegQL tree into the set of member profiles at an
// explicit evaluation time: it plans the tree (cheap, selective conditions first; and, or and
// not as bitmap algebra over the live profiles), scans the in-memory columns with plain loops
// split into chunks over the available cores, and can explain the plan with the number of
// profiles each step keeps and its time.
//
// It reads data only through Source, which *index.Index satisfies; it must not import the
// store, the parser, the checker or any HTTP package. It uses index's read-only column types.
// Membership at time at is a pure function of the data and at; the reference evaluator in
// engine/reference is the oracle it is tested against.
package engine

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"time"

	"github.com/RoaringBitmap/roaring/v2"

	"github.com/segd/segd/internal/index"
	"github.com/segd/segd/internal/segql/ast"
)

// Source is what the engine reads: a consistent, time-ordered view of one workspace's index.
// The engine releases the snapshot before Evaluate returns.
type Source interface {
	Acquire() *index.Snapshot
}

// SegmentsFunc returns the current members of the named segment (for "in segment").
type SegmentsFunc func(name string) (*roaring.Bitmap, error)

// Options are the parameters of one evaluation.
type Options struct {
	// At is the evaluation time; zero means now.
	At time.Time
	// Location is the workspace time zone for calendar windows ("this week"), date-only
	// literals and anniversaries; nil means UTC.
	Location *time.Location
	// Segment is the name of the segment being evaluated, the seed of sample(p%).
	Segment string
	// Segments resolves "in segment"; nil makes such conditions an error.
	Segments SegmentsFunc
	// Explain asks for the plan with per-step counts and times.
	Explain bool
	// Workers bounds parallel scans; 0 means GOMAXPROCS.
	Workers int
}

// ErrNoSegments is returned when a tree uses "in segment" but Options.Segments is nil.
var ErrNoSegments = errors.New("engine: in segment needs Options.Segments")

// WithDefaults returns o with zero fields replaced by their defaults.
func (o Options) WithDefaults() Options {
	if o.At.IsZero() {
		o.At = time.Now()
	}
	if o.Location == nil {
		o.Location = time.UTC
	}
	if o.Workers == 0 {
		o.Workers = runtime.GOMAXPROCS(0)
	}
	return o
}

// Validate reports options that cannot be used.
func (o Options) Validate() error {
	if o.Workers < 0 {
		return fmt.Errorf("engine: workers must be >= 0, got %d", o.Workers)
	}
	return nil
}

// Plan is one step of an evaluation: what it computed, how many profiles it kept and how
// long it took. Children are in the order they were evaluated (cheapest first for and/or).
type Plan struct {
	Step     string        `json:"step"`
	Kept     uint64        `json:"kept"`
	Took     time.Duration `json:"took_ns"`
	Skipped  bool          `json:"skipped,omitempty"` // not evaluated: an earlier and-operand was empty
	Children []*Plan       `json:"children,omitempty"`
}

// Engine evaluates trees against a Source.
type Engine struct {
	src Source
}

// New returns an engine reading from src.
func New(src Source) *Engine { return &Engine{src: src} }

// Evaluate returns the profiles for which tree holds at opts.At, and the plan when
// opts.Explain is set. Cancellation of ctx stops the scan at the next chunk and returns an
// error naming the phase.
func (e *Engine) Evaluate(ctx context.Context, tree ast.Expr, opts Options) (*roaring.Bitmap, *Plan, error) {
	opts = opts.WithDefaults()
	if err := opts.Validate(); err != nil {
		return nil, nil, err
	}
	snap := e.src.Acquire()
	defer snap.Release()
	ev := &evaluator{
		ctx:     ctx,
		snap:    snap,
		opts:    opts,
		clock:   newClock(opts.At, opts.Location),
		workers: opts.Workers,
	}
	if err := ctx.Err(); err != nil {
		return nil, nil, fmt.Errorf("engine: plan: %w", err)
	}
	universe := snap.Live().Clone()
	bm, plan, err := ev.eval(tree, universe)
	if err != nil {
		return nil, nil, err
	}
	if !opts.Explain {
		plan = nil
	}
	return bm, plan, nil
}

// evaluator holds the state of one Evaluate call.
type evaluator struct {
	ctx     context.Context
	snap    *index.Snapshot
	opts    Options
	clock   clock
	workers int
}

// canceled maps a done context to an error that names the phase.
func (ev *evaluator) canceled(phase string) error {
	if err := ev.ctx.Err(); err != nil {
		return fmt.Errorf("engine: %s: %w", phase, err)
	}
	return nil
}

// eval returns the members of x among cand (always a subset of cand; cand is not modified).
func (ev *evaluator) eval(x ast.Expr, cand *roaring.Bitmap) (*roaring.Bitmap, *Plan, error) {
	start := time.Now()
	plan := &Plan{Step: describe(x)}
	var out *roaring.Bitmap
	var err error
	switch n := x.(type) {
	case *ast.Paren:
		return ev.eval(n.X, cand)
	case *ast.And:
		out, err = ev.evalAnd(n.List, cand, plan)
	case *ast.Or:
		out, err = ev.evalOr(n.List, cand, plan)
	case *ast.Not:
		var inner *roaring.Bitmap
		var child *Plan
		inner, child, err = ev.eval(n.X, cand)
		if err == nil {
			plan.Children = []*Plan{child}
			out = roaring.AndNot(cand, inner)
		}
	case *ast.Compare, *ast.In, *ast.Exists, *ast.TextMatch, *ast.TimeCond, *ast.Anniversary, *ast.Geo:
		out, err = ev.evalTrait(n, cand)
	case *ast.Aggregate:
		if rt, ok := n.Target.(*ast.RecordTarget); ok {
			out, err = ev.evalRecordAgg(n.Func, n.Of, rt, n.Where, n.Op, n.Value.Float(), cand)
		} else {
			out, err = ev.evalEventAgg(n.Func, n.Of, n.Target.(*ast.EventTarget), n.Where, n.Window, n.Op, n.Value.Float(), cand)
		}
	case *ast.Did:
		out, err = ev.evalEventAgg(ast.Count, nil, n.Event, n.Where, n.Window, ast.Ge, 1, cand)
	case *ast.HasRecord:
		out, err = ev.evalRecordAgg(ast.Count, nil, n.Record, n.Where, ast.Ge, 1, cand)
	case *ast.Seen:
		out, err = ev.evalSeen(n, cand)
	case *ast.Sequence:
		out, err = ev.evalSequence(n, cand)
	case *ast.InSegment:
		out, err = ev.evalInSegment(n, cand)
	case *ast.Sample:
		out = ev.evalSample(n, cand)
	case nil:
		err = errors.New("engine: empty tree")
	default:
		err = fmt.Errorf("engine: unsupported condition %T", x)
	}
	if err != nil {
		return nil, nil, err
	}
	plan.Kept = out.GetCardinality()
	plan.Took = time.Since(start)
	return out, plan, nil
}

func (ev *evaluator) evalAnd(list []ast.Expr, cand *roaring.Bitmap, plan *Plan) (*roaring.Bitmap, error) {
	order := planOrder(list, ev.snap)
	cur := cand
	for i, idx := range order {
		if cur.IsEmpty() {
			for _, rest := range order[i:] {
				plan.Children = append(plan.Children, &Plan{Step: describe(list[rest]), Skipped: true})
			}
			break
		}
		bm, child, err := ev.eval(list[idx], cur)
		if err != nil {
			return nil, err
		}
		plan.Children = append(plan.Children, child)
		cur = bm
	}
	if cur == cand {
		cur = cand.Clone()
	}
	return cur, nil
}

func (ev *evaluator) evalOr(list []ast.Expr, cand *roaring.Bitmap, plan *Plan) (*roaring.Bitmap, error) {
	order := planOrder(list, ev.snap)
	out := roaring.New()
	rest := cand
	for _, idx := range order {
		// Profiles already in the result need not be tested again.
		bm, child, err := ev.eval(list[idx], rest)
		if err != nil {
			return nil, err
		}
		plan.Children = append(plan.Children, child)
		out.Or(bm)
		rest = roaring.AndNot(rest, bm)
	}
	return out, nil
}

func (ev *evaluator) evalInSegment(n *ast.InSegment, cand *roaring.Bitmap) (*roaring.Bitmap, error) {
	if ev.opts.Segments == nil {
		return nil, ErrNoSegments
	}
	bm, err := ev.opts.Segments(n.Segment.Value)
	if err != nil {
		return nil, fmt.Errorf("engine: in segment %q: %w", n.Segment.Value, err)
	}
	if bm == nil {
		return roaring.New(), nil
	}
	return roaring.And(cand, bm), nil
}
