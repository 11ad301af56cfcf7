package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"regexp"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/segd/segd/internal/analytics/compute"
	"github.com/segd/segd/internal/destination"
	"github.com/segd/segd/internal/httpapi"
	"github.com/segd/segd/internal/identity"
	"github.com/segd/segd/internal/ingest"
	"github.com/segd/segd/internal/live"
	"github.com/segd/segd/internal/membership"
	"github.com/segd/segd/internal/message"
	"github.com/segd/segd/internal/segment"
	"github.com/segd/segd/internal/store"
	"github.com/segd/segd/internal/ui"
)

// appOptions are the settings shared by serve and demo.
type appOptions struct {
	DataDir      string
	Addr         string
	DedupeWindow time.Duration
	DebugAddr    string  // pprof listener; empty: none
	LogLevel     string  // --log-level
	BackupDir    string  // the only directory online backups may be written under
	RateLimit    float64 // requests per second per key; 0: no limit
	// AllowPrivateDestinations lets every workspace's webhooks reach internal addresses.
	AllowPrivateDestinations bool
	Logger                   *slog.Logger
	Out                      io.Writer // where first-start keys and the listen address are printed
	// AnalyticsEvery is how often computed traits are refitted and recomputed (negative: only
	// on demand, POST /api/v1/analytics/recompute).
	AnalyticsEvery time.Duration
}

// app is a running segd: the store, the write pipeline, the indexes and the HTTP server.
type app struct {
	opts     appOptions
	store    *store.Store
	pipeline *ingest.Pipeline
	registry *prometheus.Registry
	ready    atomic.Bool
	started  atomic.Bool    // live and destinations started (they are closed only then)
	loading  sync.WaitGroup // the start-up goroutine (index load, live start, first analytics)
	srv      *http.Server
	ln       net.Listener
	stopBg   context.CancelFunc
	bgDone   chan struct{}
	views    *views
	segments *segment.Service
	mem      *membership.Log
	live     *live.Live
	dests    *destination.Manager
	runner   *compute.Runner
	uiData   *ui.Adapter // the UI's data; its schema cache is warmed once indexes are loaded
}

// openApp opens the store and builds every component, without serving yet.
func openApp(opts appOptions) (*app, error) {
	st, err := store.Open(store.Options{Dir: opts.DataDir, Logger: opts.Logger})
	if err != nil {
		return nil, err
	}
	a := &app{opts: opts, store: st, registry: prometheus.NewRegistry()}
	// go_gc_heap_live_bytes (the heap marked live by the last GC) besides the defaults: unlike
	// the heap in use it does not count garbage awaiting collection, so it shows growth plainly
	a.registry.MustRegister(collectors.NewGoCollector(collectors.WithGoCollectorRuntimeMetrics(
		collectors.GoRuntimeMetricsRule{Matcher: regexp.MustCompile(`^/gc/heap/live:bytes$`)})),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	if err := a.ensureDefaultWorkspace(); err != nil {
		st.Close()
		return nil, err
	}
	a.views = newViews(a)
	a.registry.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "segd_index_bytes",
		Help: "Memory of the in-memory event, trait and record indexes of all workspaces, estimated; it grows with the data by design."},
		a.views.bytes))
	a.registry.MustRegister(storeCollector{st})
	a.pipeline, err = ingest.NewPipeline(ingest.Options{
		Store:      st,
		Rules:      a.rules,
		OnCommit:   a.views.apply,
		Registerer: a.registry,
		Logger:     opts.Logger,
	})
	if err != nil {
		st.Close()
		return nil, err
	}
	a.segments, err = segment.New(segment.Options{Store: st, Indexes: a.views, OnChange: a.segmentChanged})
	if err != nil {
		st.Close()
		return nil, err
	}
	if a.mem, err = membership.Open(membership.Options{Store: st, Logger: opts.Logger}); err != nil {
		st.Close()
		return nil, err
	}
	if a.live, err = live.New(live.Options{Store: st, Membership: a.mem, Segments: a.segments, Indexes: a.views, Logger: opts.Logger}); err != nil {
		st.Close()
		return nil, err
	}
	a.registry.MustRegister(a.live)
	if a.runner, err = a.newAnalytics(); err != nil {
		st.Close()
		return nil, err
	}
	if a.dests, err = destination.New(destination.Options{Store: st, Feed: destFeed{a.mem, a.segments},
		Profiles: destProfiles{st}, Members: destMembers{a.mem, a.segments}, Consent: consent(st), AllowPrivate: a.allowPrivate,
		Registerer: a.registry, Logger: opts.Logger}); err != nil {
		st.Close()
		return nil, err
	}
	return a, nil
}

func (a *app) rules(ws uint32) identity.Rules {
	w, err := a.store.Workspace(ws)
	if err != nil {
		return identity.DefaultRules()
	}
	r, err := identity.ParseRules(w.Identity)
	if err != nil {
		a.opts.Logger.Error("bad identity rules; using defaults", "workspace", w.Name, "err", err)
		return identity.DefaultRules()
	}
	return r
}

// ensureDefaultWorkspace creates the "default" workspace on first start, with the keys from
// SEGD_WRITE_KEY / SEGD_ADMIN_TOKEN / SEGD_READ_KEY or fresh ones printed once.
func (a *app) ensureDefaultWorkspace() error {
	all, err := a.store.Workspaces()
	if err != nil {
		return err
	}
	if len(all) > 0 {
		return nil
	}
	keys := store.Keys{WriteKey: os.Getenv("SEGD_WRITE_KEY"), AdminToken: os.Getenv("SEGD_ADMIN_TOKEN"), ReadKey: os.Getenv("SEGD_READ_KEY")}
	given := keys.WriteKey != "" && keys.AdminToken != ""
	_, keys, err = a.store.CreateWorkspace("default", keys)
	if err != nil {
		return err
	}
	if !given {
		fmt.Fprintf(a.opts.Out, "created workspace \"default\"; its keys are shown only this once:\n  write key:   %s\n  read key:    %s\n  admin token: %s\n",
			keys.WriteKey, keys.ReadKey, keys.AdminToken)
	} else {
		fmt.Fprintln(a.opts.Out, "created workspace \"default\" with the keys from SEGD_WRITE_KEY and SEGD_ADMIN_TOKEN")
	}
	return nil
}

// serve loads the indexes and serves HTTP until ctx ends, then shuts down gracefully.
func (a *app) serve(ctx context.Context) error {
	ln, err := net.Listen("tcp", a.opts.Addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w (choose another address with --addr)", a.opts.Addr, err)
	}
	ln = httpapi.LimitListener(ln, 4096)
	a.ln = ln
	webui, err := a.newUI()
	if err != nil {
		return err
	}
	h, err := httpapi.New(httpapi.Options{
		Fallback: webui,
		Protect:  a.protection(),
		Store:    a.store,
		Log:      a.pipeline,
		Limits:   message.DefaultLimits(),
		Ready:    a.ready.Load,
		Registry: a.registry,
		Logger:   a.opts.Logger,
		Extra:    a.routes(),
	})
	if err != nil {
		return err
	}
	a.srv = &http.Server{Handler: h}
	httpapi.DefaultHTTPServerLimits().Apply(a.srv)
	errc := make(chan error, 1)
	go func() { errc <- a.srv.Serve(ln) }()
	if a.opts.DebugAddr != "" {
		dbg := &http.Server{Addr: a.opts.DebugAddr, Handler: debugMux(a.store, a.opts.Logger), ReadHeaderTimeout: 10 * time.Second}
		go func() {
			if err := dbg.ListenAndServe(); err != nil && !errors.Is(err, http.ErrServerClosed) {
				a.opts.Logger.Error("debug listener", "err", err)
			}
		}()
		defer dbg.Close()
	}
	fmt.Fprintf(a.opts.Out, "segd listening on http://%s (data in %s)\n", ln.Addr(), a.opts.DataDir)

	bg, stop := context.WithCancel(context.Background())
	a.stopBg, a.bgDone = stop, make(chan struct{})
	go a.background(bg)
	a.loading.Add(1)
	go func() {
		defer a.loading.Done()
		start := time.Now()
		if err := a.views.load(bg); err != nil {
			a.opts.Logger.Error("loading indexes failed", "err", err)
			return
		}
		if err := a.live.Start(bg); err != nil {
			a.opts.Logger.Error("starting real-time segments failed", "err", err)
			return
		}
		if err := a.dests.Start(); err != nil {
			a.opts.Logger.Error("starting destinations failed", "err", err)
			return
		}
		a.runner.Start()
		a.started.Store(true)
		a.ready.Store(true)
		if a.uiData != nil {
			// the discovered schema takes seconds at a million profiles: compute it now, not
			// on the first visit of the data page or the segment builder
			go func() {
				all, _ := a.store.Workspaces()
				for _, w := range all {
					a.uiData.Schema(w.ID)
				}
			}()
		}
		// compute traits once at start when none were computed yet in this process
		if a.opts.AnalyticsEvery >= 0 {
			all, _ := a.store.Workspaces()
			for _, wsp := range all {
				w := wsp.ID
				if a.runner.Last(w) == nil {
					if _, err := a.runner.Recompute(bg, w); err != nil && bg.Err() == nil {
						a.opts.Logger.Warn("computing analytics traits", "workspace", w, "err", err)
					}
				}
			}
		}
		a.opts.Logger.Info("indexes loaded", "took", time.Since(start).Round(time.Millisecond))
	}()

	select {
	case <-ctx.Done():
	case err := <-errc:
		if !errors.Is(err, http.ErrServerClosed) {
			return err
		}
	}
	return nil
}

// background runs housekeeping: the dedupe window expiry, hourly (it reads every remembered
// messageId, so a messageId is forgotten up to an hour after the window).
func (a *app) background(ctx context.Context) {
	defer close(a.bgDone)
	t := time.NewTicker(time.Hour)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			all, err := a.store.Workspaces()
			if err != nil {
				continue
			}
			for _, w := range all {
				window := time.Duration(w.DedupeWindow)
				if window == 0 {
					window = a.opts.DedupeWindow
				}
				if n, err := a.store.ExpireDedupe(ctx, w.ID, time.Now().Add(-window)); err == nil && n > 0 {
					a.opts.Logger.Info("expired messageIds from the dedupe window", "workspace", w.Name, "count", n)
				}
			}
		}
	}
}

// close stops in reverse order: HTTP (draining in-flight requests), background work, the
// write pipeline (finishing queued writes), then the store.
func (a *app) close() error {
	if a.srv != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
		a.srv.Shutdown(ctx)
		cancel()
	}
	if a.stopBg != nil {
		a.stopBg()
		<-a.bgDone
	}
	a.loading.Wait() // it checks the cancelled context between phases
	if a.started.Load() {
		a.runner.Stop()
	}
	a.pipeline.Close()
	if a.started.Load() {
		a.dests.Close()
		a.live.Close()
	}
	a.mem.Close()
	a.views.close()
	return a.store.Close()
}

// routes are the management routes contributed by the components.
func (a *app) routes() []httpapi.Route {
	var out []httpapi.Route
	out = append(out, a.views.routes()...)
	out = append(out, a.segments.Routes()...)
	out = append(out, a.live.Routes()...)
	out = append(out, a.dests.Routes()...)
	out = append(out, a.runner.Routes()...)
	return out
}

// segmentChanged is the segment service's change hook: real-time membership backfills here.
func (a *app) segmentChanged(ws uint32, old, new *segment.Segment) {
	a.live.SegmentChanged(ws, old, new)
}

// protection is the HTTP API's rate limits, query time limit and backup root.
func (a *app) protection() httpapi.Protection {
	p := httpapi.DefaultProtection()
	p.BackupRoot = a.opts.BackupDir
	p.RateLimit.Rate = a.opts.RateLimit
	p.RateLimit.Burst = int(2 * a.opts.RateLimit)
	return p
}

// allowPrivate says whether a workspace's webhooks may target internal addresses.
func (a *app) allowPrivate(ws uint32) bool {
	if a.opts.AllowPrivateDestinations {
		return true
	}
	w, err := a.store.Workspace(ws)
	return err == nil && w.AllowPrivateDestinations
}
