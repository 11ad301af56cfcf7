package compute

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/segd/segd/internal/engine"
	"github.com/segd/segd/internal/index"
)

// Indexes gives access to the per-workspace index; cmd/segd's views implement it.
type Indexes interface {
	Index(ws uint32) *index.Index
	Location(ws uint32) *time.Location
}

// ConfigStore keeps the per-workspace configuration document; *store.Store implements it.
type ConfigStore interface {
	Doc(ws uint32, kind, id string) ([]byte, error)
	PutDoc(ws uint32, kind, id string, v []byte) error
}

// ConfigKind and ConfigID name the configuration document.
const (
	ConfigKind = "analytics-config"
	ConfigID   = "config"
)

// RunnerOptions wire a Runner.
type RunnerOptions struct {
	Indexes Indexes
	Writer  TraitWriter
	Log     StageLog
	Configs ConfigStore
	// Workspaces lists the workspaces the schedule recomputes.
	Workspaces func() []uint32
	// Every is the schedule: refit and recompute every workspace this often (default 6h;
	// negative: on demand only).
	Every time.Duration
	// Segments, SizeHistory: optional, for the segment endpoints (drivers, overlap, report,
	// trends, saving a cluster).
	Segments    Segments
	SizeHistory SizeHistory
	Now         func() time.Time
	Logger      *slog.Logger
}

// Validate fills defaults and reports missing parts.
func (o *RunnerOptions) Validate() error {
	if o.Indexes == nil || o.Writer == nil || o.Log == nil {
		return errors.New("compute: RunnerOptions needs Indexes, Writer and Log")
	}
	if o.Every == 0 {
		o.Every = 6 * time.Hour
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.Workspaces == nil {
		o.Workspaces = func() []uint32 { return nil }
	}
	return nil
}

// Progress is what a workspace's recompute is doing.
type Progress struct {
	Running bool      `json:"running"`
	Phase   string    `json:"phase,omitempty"`
	Started time.Time `json:"started,omitzero"`
}

type wsState struct {
	mu       sync.Mutex // serialises recomputes of the workspace
	last     atomic.Pointer[Result]
	progress Progress
}

// Runner recomputes the computed traits of workspaces on a schedule and on demand, and keeps
// the last result of each for the endpoints.
type Runner struct {
	o    RunnerOptions
	mu   sync.Mutex
	ws   map[uint32]*wsState
	stop context.CancelFunc
	done chan struct{}
}

// NewRunner returns a stopped Runner.
func NewRunner(o RunnerOptions) (*Runner, error) {
	if err := o.Validate(); err != nil {
		return nil, err
	}
	return &Runner{o: o, ws: map[uint32]*wsState{}}, nil
}

func (r *Runner) state(ws uint32) *wsState {
	r.mu.Lock()
	defer r.mu.Unlock()
	s := r.ws[ws]
	if s == nil {
		s = &wsState{}
		r.ws[ws] = s
	}
	return s
}

// Start runs the schedule in a goroutine until Stop; the first pass runs after Every (the
// lead may call Recompute at start instead).
func (r *Runner) Start() {
	if r.o.Every < 0 || r.stop != nil {
		return
	}
	ctx, cancel := context.WithCancel(context.Background())
	r.stop, r.done = cancel, make(chan struct{})
	go func() {
		defer close(r.done)
		t := time.NewTicker(r.o.Every)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				for _, ws := range r.o.Workspaces() {
					if _, err := r.Recompute(ctx, ws); err != nil && ctx.Err() == nil {
						r.o.Logger.Error("analytics recompute failed", "workspace", ws, "err", err)
					}
				}
			}
		}
	}()
}

// Stop ends the schedule and waits for a running pass to notice.
func (r *Runner) Stop() {
	if r.stop == nil {
		return
	}
	r.stop()
	<-r.done
	r.stop = nil
}

// Config returns the workspace's configuration with defaults filled.
func (r *Runner) Config(ws uint32) (Config, error) {
	var c Config
	if r.o.Configs != nil {
		b, err := r.o.Configs.Doc(ws, ConfigKind, ConfigID)
		if err == nil {
			if err := json.Unmarshal(b, &c); err != nil {
				return c, fmt.Errorf("compute: workspace %d analytics config: %w", ws, err)
			}
		}
	}
	err := c.Validate()
	return c, err
}

// SetConfig validates and stores the workspace's configuration (rules are checked on the
// next recompute).
func (r *Runner) SetConfig(ws uint32, c Config) error {
	if r.o.Configs == nil {
		return errors.New("compute: no configuration store")
	}
	check := c
	if err := check.Validate(); err != nil {
		return err
	}
	b, err := json.Marshal(c)
	if err != nil {
		return err
	}
	return r.o.Configs.PutDoc(ws, ConfigKind, ConfigID, b)
}

// Last returns the workspace's last result, nil before the first recompute.
func (r *Runner) Last(ws uint32) *Result {
	return r.state(ws).last.Load() // never waits for a running recompute
}

// Progress reports whether a recompute of ws is running and in which phase.
func (r *Runner) Progress(ws uint32) Progress {
	r.mu.Lock()
	defer r.mu.Unlock()
	if s := r.ws[ws]; s != nil {
		return s.progress
	}
	return Progress{}
}

func (r *Runner) phase(ws uint32, p string) {
	r.mu.Lock()
	if s := r.ws[ws]; s != nil {
		s.progress.Phase = p
	}
	r.mu.Unlock()
}

// Recompute refits the models of ws, recomputes every computed trait and writes the changed
// ones, then evaluates the stage rules and writes and logs stage changes.
func (r *Runner) Recompute(ctx context.Context, ws uint32) (*Report, error) {
	s := r.state(ws)
	s.mu.Lock()
	defer s.mu.Unlock()
	now := r.o.Now()
	r.mu.Lock()
	s.progress = Progress{Running: true, Phase: "models", Started: now}
	r.mu.Unlock()
	defer func() {
		r.mu.Lock()
		s.progress = Progress{}
		r.mu.Unlock()
	}()
	res, err := r.recompute(ctx, ws, now)
	if err != nil {
		return nil, err
	}
	s.last.Store(res)
	return &res.Report, nil
}

func (r *Runner) recompute(ctx context.Context, ws uint32, now time.Time) (*Result, error) {
	cfg, err := r.Config(ws)
	if err != nil {
		return nil, err
	}
	ix := r.o.Indexes.Index(ws)
	if ix == nil {
		return nil, fmt.Errorf("compute: workspace %d has no index", ws)
	}
	loc := r.o.Indexes.Location(ws)
	start := time.Now()
	res, err := Compute(ctx, ix, Options{At: now, Location: loc, Config: cfg})
	if err != nil {
		return nil, err
	}
	r.phase(ws, "writing traits")
	t0 := time.Now()
	for lo := 0; ; lo += writeBatch {
		hi := min(lo+writeBatch, len(res.Profiles))
		snap := ix.Acquire()
		ups := Diff(snap, res, lo, hi)
		snap.Release()
		if err := writeUpdates(ctx, r.o.Writer, ws, now, ups); err != nil {
			return nil, err
		}
		res.Report.Changed += len(ups)
		if hi == len(res.Profiles) {
			break
		}
	}
	res.Report.Timings["write"] = since(t0)

	r.phase(ws, "stages")
	t0 = time.Now()
	schema := CheckSchema(ix.Schema())
	eo := engine.Options{At: now, Location: loc}
	var changes []StageChange
	for _, st := range []struct {
		trait string
		rules []StageRule
	}{{TraitLifecycle, cfg.Lifecycle}, {TraitFunnel, cfg.Funnel}} {
		sets, err := Stages(ctx, ix, st.rules, schema, eo)
		if err != nil {
			return nil, err
		}
		snap := ix.Acquire()
		ups, chs := StageDiff(snap, st.trait, st.rules, sets, now)
		snap.Release()
		if err := writeUpdates(ctx, r.o.Writer, ws, now, ups); err != nil {
			return nil, err
		}
		changes = append(changes, chs...)
	}
	if err := logStages(r.o.Log, ws, changes); err != nil {
		return nil, err
	}
	res.Report.StageChanges = len(changes)
	res.Report.Timings["stages"] = since(t0)
	res.Report.Took = since(start)
	return res, nil
}
