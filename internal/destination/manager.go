package destination

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/segd/segd/internal/store"
)

// Store document kinds owned by this package.
const (
	DocKind       = "destination"        // id: destination id; value: Config
	CursorDocKind = "destination-cursor" // id: destination id; value: cursor
	DLQDocKind    = "destination-dlq"    // id: "<destination id>/<first seq, 20 digits>"; value: DeadLetter
)

// Sentinel errors.
var (
	ErrNotFound = errors.New("destination: not found")
	ErrExists   = errors.New("destination: already exists")
	ErrStopped  = errors.New("destination: manager stopped")
)

// Docs is the document storage the manager needs; *store.Store satisfies it. Doc returns an
// error wrapping store.ErrNotFound for a missing document.
type Docs interface {
	Doc(ws uint32, kind, id string) ([]byte, error)
	Docs(ws uint32, kind string, fn func(id string, v []byte) error) error
	PutDoc(ws uint32, kind, id string, v []byte) error
	PutDocLazy(ws uint32, kind, id string, v []byte) error
	DeleteDoc(ws uint32, kind, id string) error
	Workspaces() ([]store.Workspace, error)
}

// Options configure a Manager.
type Options struct {
	Store    Docs
	Feed     Feed
	Profiles Profiles
	// Members answers suppression lists; nil means no profile is suppressed.
	Members Members
	// Consent reports whether a profile consented to a channel; destinations with a Channel
	// send only profiles for which it is true. nil means every profile consented.
	Consent func(ws, pid uint32, channel string) bool
	// AllowPrivate reports whether a workspace's webhooks may target loopback, link-local and
	// private addresses; nil means none may (a guard against server-side request forgery).
	AllowPrivate func(ws uint32) bool
	// Registerer receives the destination metrics; nil registers nothing.
	Registerer prometheus.Registerer
	Logger     *slog.Logger
	// ReplayTimeout bounds how long a replay request waits for the delivery goroutine.
	ReplayTimeout time.Duration
}

func (o *Options) setDefaults() {
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.ReplayTimeout == 0 {
		o.ReplayTimeout = time.Minute
	}
}

// Validate reports a configuration error.
func (o *Options) Validate() error {
	if o.Store == nil || o.Feed == nil || o.Profiles == nil {
		return errors.New("destination: Options.Store, Feed and Profiles are required")
	}
	return nil
}

type key struct {
	ws uint32
	id string
}

// Manager owns the delivery goroutines, one per destination. Lock order: Manager.mu before
// runner.mu; a runner never takes Manager.mu.
type Manager struct {
	opts    Options
	metrics *metrics

	mu      sync.Mutex
	runners map[key]*runner
	ctx     context.Context // parent of every runner; cancelled by Close
	cancel  context.CancelFunc
	closed  bool
}

// New builds a Manager; Start loads the stored destinations and starts delivering.
func New(opts Options) (*Manager, error) {
	opts.setDefaults()
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	m := &Manager{opts: opts, runners: map[key]*runner{}}
	m.ctx, m.cancel = context.WithCancel(context.Background())
	m.metrics = newMetrics(m)
	if opts.Registerer != nil {
		if err := opts.Registerer.Register(m.metrics); err != nil {
			return nil, fmt.Errorf("destination: register metrics: %w", err)
		}
	}
	return m, nil
}

// Start starts a delivery goroutine for every stored destination of every workspace.
func (m *Manager) Start() error {
	wss, err := m.opts.Store.Workspaces()
	if err != nil {
		return fmt.Errorf("destination: list workspaces: %w", err)
	}
	for _, w := range wss {
		var cfgs []Config
		err := m.opts.Store.Docs(w.ID, DocKind, func(id string, v []byte) error {
			var c Config
			if err := json.Unmarshal(v, &c); err != nil {
				return fmt.Errorf("destination %q: stored config: %w", id, err)
			}
			c.SetDefaults()
			cfgs = append(cfgs, c)
			return nil
		})
		if err != nil {
			return fmt.Errorf("destination: load workspace %d: %w", w.ID, err)
		}
		for _, c := range cfgs {
			if err := m.start(w.ID, c); err != nil {
				return err
			}
		}
	}
	return nil
}

// Close stops every delivery goroutine and waits for them. Undelivered changes stay behind the
// durable cursors.
func (m *Manager) Close() error {
	m.mu.Lock()
	m.closed = true
	m.cancel()
	rs := make([]*runner, 0, len(m.runners))
	for _, r := range m.runners {
		rs = append(rs, r)
	}
	m.mu.Unlock()
	for _, r := range rs {
		<-r.done
	}
	return nil
}

// start starts (or restarts) the runner of a destination.
func (m *Manager) start(ws uint32, c Config) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return ErrStopped
	}
	k := key{ws, c.ID}
	if old := m.runners[k]; old != nil {
		old.stop()
	}
	r, err := newRunner(m, ws, c)
	if err != nil {
		return err
	}
	m.runners[k] = r
	go r.run()
	return nil
}

func (m *Manager) runner(ws uint32, id string) *runner {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.runners[key{ws, id}]
}

// Put creates or replaces a destination and (re)starts its delivery from its cursor. A new
// destination with Start "latest" begins at the feed head. It reports whether it was created.
func (m *Manager) Put(ws uint32, c Config) (created bool, err error) {
	c.SetDefaults()
	if err := c.Validate(); err != nil {
		return false, err
	}
	_, err = m.opts.Store.Doc(ws, DocKind, c.ID)
	switch {
	case errors.Is(err, store.ErrNotFound):
		created = true
	case err != nil:
		return false, fmt.Errorf("destination: read %q: %w", c.ID, err)
	}
	if created {
		var cur cursorDoc
		if c.Start == "latest" {
			if cur.Seq, err = feedHead(context.Background(), m.opts.Feed, ws, 0); err != nil {
				return false, fmt.Errorf("destination: find the feed head for start \"latest\": %w", err)
			}
		}
		// A fresh cursor, also replacing any leftover of a deleted destination of that id.
		if err := m.putCursor(ws, c.ID, cur, false); err != nil {
			return false, err
		}
	}
	b, _ := json.Marshal(c)
	if err := m.opts.Store.PutDoc(ws, DocKind, c.ID, b); err != nil {
		return false, fmt.Errorf("destination: store %q: %w", c.ID, err)
	}
	return created, m.start(ws, c)
}

// Create is Put that fails with ErrExists when the id is taken.
func (m *Manager) Create(ws uint32, c Config) error {
	if _, err := m.Config(ws, c.ID); err == nil {
		return fmt.Errorf("%w: %q", ErrExists, c.ID)
	}
	_, err := m.Put(ws, c)
	return err
}

// Config returns the stored configuration of a destination.
func (m *Manager) Config(ws uint32, id string) (Config, error) {
	var c Config
	b, err := m.opts.Store.Doc(ws, DocKind, id)
	if errors.Is(err, store.ErrNotFound) {
		return c, fmt.Errorf("%w: %q", ErrNotFound, id)
	}
	if err != nil {
		return c, err
	}
	if err := json.Unmarshal(b, &c); err != nil {
		return c, fmt.Errorf("destination %q: stored config: %w", id, err)
	}
	c.SetDefaults()
	return c, nil
}

// List returns the workspace's destinations in id order.
func (m *Manager) List(ws uint32) ([]Config, error) {
	var out []Config
	err := m.opts.Store.Docs(ws, DocKind, func(id string, v []byte) error {
		var c Config
		if err := json.Unmarshal(v, &c); err != nil {
			return fmt.Errorf("destination %q: stored config: %w", id, err)
		}
		c.SetDefaults()
		out = append(out, c)
		return nil
	})
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out, err
}

// Delete stops a destination and removes its configuration, cursor and dead letters.
func (m *Manager) Delete(ws uint32, id string) error {
	if _, err := m.Config(ws, id); err != nil {
		return err
	}
	m.mu.Lock()
	if r := m.runners[key{ws, id}]; r != nil {
		r.stop()
		delete(m.runners, key{ws, id})
	}
	m.mu.Unlock()
	if err := m.opts.Store.DeleteDoc(ws, DocKind, id); err != nil {
		return fmt.Errorf("destination: delete %q: %w", id, err)
	}
	m.opts.Store.DeleteDoc(ws, CursorDocKind, id)
	dls, err := m.DeadLetters(ws, id)
	if err != nil {
		return err
	}
	for _, d := range dls {
		if err := m.opts.Store.DeleteDoc(ws, DLQDocKind, d.Key); err != nil {
			return fmt.Errorf("destination: delete dead letter %s: %w", d.Key, err)
		}
	}
	return nil
}

// SetPaused pauses or resumes a destination durably. A paused destination sends nothing; its
// cursor stays where it is, so resuming delivers everything recorded meanwhile.
func (m *Manager) SetPaused(ws uint32, id string, paused bool) error {
	c, err := m.Config(ws, id)
	if err != nil {
		return err
	}
	c.Paused = paused
	_, err = m.Put(ws, c)
	return err
}

// ReplayResult is the outcome of a replay.
type ReplayResult struct {
	Replayed  int    `json:"replayed"`  // dead-letter batches delivered and removed
	Changes   int    `json:"changes"`   // changes in them
	Remaining int    `json:"remaining"` // dead-letter batches still listed
	Error     string `json:"error,omitempty"`
}

// Replay sends the destination's dead letters again, oldest first, one attempt each; delivered
// ones are removed, and it stops at the first failure. It runs on the destination's delivery
// goroutine (between batches or while waiting), also when the destination is paused.
func (m *Manager) Replay(ctx context.Context, ws uint32, id string) (ReplayResult, error) {
	r := m.runner(ws, id)
	if r == nil {
		return ReplayResult{}, fmt.Errorf("%w: %q", ErrNotFound, id)
	}
	ctx, cancel := context.WithTimeout(ctx, m.opts.ReplayTimeout)
	defer cancel()
	req := replayReq{reply: make(chan ReplayResult, 1)}
	select {
	case r.replay <- req:
	case <-r.done:
		return ReplayResult{}, ErrStopped
	case <-ctx.Done():
		return ReplayResult{}, fmt.Errorf("destination: replay %q: waiting for the delivery goroutine: %w", id, ctx.Err())
	}
	select {
	case res := <-req.reply:
		return res, nil
	case <-ctx.Done():
		return ReplayResult{}, fmt.Errorf("destination: replay %q: %w", id, ctx.Err())
	}
}

// DeadLetter is a batch that failed max_attempts times or permanently.
type DeadLetter struct {
	Key         string     `json:"key"`
	Destination string     `json:"destination"`
	FirstSeq    uint64     `json:"first_seq"`
	LastSeq     uint64     `json:"last_seq"`
	Attempts    int        `json:"attempts"`
	Error       string     `json:"error"`
	At          time.Time  `json:"at"`
	Changes     []Delivery `json:"changes"`
}

// DeadLetters lists a destination's dead letters, oldest first.
func (m *Manager) DeadLetters(ws uint32, id string) ([]DeadLetter, error) {
	var out []DeadLetter
	prefix := id + "/"
	err := m.opts.Store.Docs(ws, DLQDocKind, func(k string, v []byte) error {
		if !strings.HasPrefix(k, prefix) {
			return nil
		}
		var d DeadLetter
		if err := json.Unmarshal(v, &d); err != nil {
			return fmt.Errorf("dead letter %s: %w", k, err)
		}
		d.Key = k
		out = append(out, d)
		return nil
	})
	return out, err
}

func dlqKey(id string, firstSeq uint64) string { return fmt.Sprintf("%s/%020d", id, firstSeq) }

// cursorDoc is the durable position of a destination in the feed.
type cursorDoc struct {
	Seq       uint64 `json:"seq"`       // every change with Seq <= this was delivered or dead-lettered
	Delivered uint64 `json:"delivered"` // changes delivered since creation
}

func (m *Manager) cursor(ws uint32, id string) (cursorDoc, error) {
	var c cursorDoc
	b, err := m.opts.Store.Doc(ws, CursorDocKind, id)
	if errors.Is(err, store.ErrNotFound) {
		return c, nil
	}
	if err != nil {
		return c, fmt.Errorf("destination %q: read cursor: %w", id, err)
	}
	if err := json.Unmarshal(b, &c); err != nil {
		return c, fmt.Errorf("destination %q: cursor: %w", id, err)
	}
	return c, nil
}

func (m *Manager) putCursor(ws uint32, id string, c cursorDoc, lazy bool) error {
	b, _ := json.Marshal(c)
	put := m.opts.Store.PutDoc
	if lazy {
		put = m.opts.Store.PutDocLazy
	}
	if err := put(ws, CursorDocKind, id, b); err != nil {
		return fmt.Errorf("destination %q: save cursor: %w", id, err)
	}
	return nil
}

// Status returns a destination's delivery figures.
func (m *Manager) Status(ctx context.Context, ws uint32, id string) (Status, error) {
	r := m.runner(ws, id)
	if r == nil {
		return Status{}, fmt.Errorf("%w: %q", ErrNotFound, id)
	}
	return r.status(ctx), nil
}

// feedHead returns the last sequence number of the workspace's feed, reading forward from
// after when the feed cannot tell it directly.
func feedHead(ctx context.Context, f Feed, ws uint32, after uint64) (uint64, error) {
	if h, ok := f.(FeedHead); ok {
		return h.Head(ws)
	}
	for {
		chs, err := f.Read(ctx, ws, after, 10000)
		if err != nil {
			return 0, err
		}
		if len(chs) == 0 {
			return after, nil
		}
		after = chs[len(chs)-1].Seq
	}
}
