package httpapi

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/segd/segd/internal/audit"
	"github.com/segd/segd/internal/ratelimit"
	"github.com/segd/segd/internal/store"
)

// Protection configures the server's defences: per-key rate limits, query time limits, the
// audit log and online backups. The zero value limits nothing (tests); DefaultProtection is
// what segd serve uses.
type Protection struct {
	// RateLimit is the per-key token bucket: Rate requests per second with bursts of Burst,
	// for every key (write, read or admin) and, for requests without credentials, per client
	// address. Rate 0 disables limiting.
	RateLimit ratelimit.Options
	// QueryTimeout bounds the handling of TimedRoutes; a query still running then is
	// cancelled and answered 503 query_timeout. 0 means no limit.
	QueryTimeout time.Duration
	// TimedRoutes are the route patterns QueryTimeout applies to; nil means DefaultTimedRoutes.
	TimedRoutes []string
	// NoAudit turns the audit log off (only for benchmarks).
	NoAudit bool
	// BackupRoot, when set, is the only directory online backups may be written under
	// (POST /api/v1/backup with a relative or contained dir); empty allows any absolute path
	// on the server, which any workspace's admin can then fill: set it in production.
	BackupRoot string
	// Backup takes the checkpoint; default Store.Checkpoint.
	Backup func(dir string) error
}

// DefaultTimedRoutes are the routes that evaluate segments.
var DefaultTimedRoutes = []string{
	"POST /api/v1/query",
	"GET /api/v1/segments",
	"POST /api/v1/segments",
	"GET /api/v1/segments/{id}",
	"PUT /api/v1/segments/{id}",
	"GET /api/v1/segments/{id}/members",
	"POST /api/v1/segments/{id}/snapshot",
}

// DefaultProtection is generous: 2000 requests/s per key with bursts of 10000 (a batch is one
// request), and a 60 s query limit.
func DefaultProtection() Protection {
	return Protection{RateLimit: ratelimit.Options{Rate: 2000, Burst: 10000}, QueryTimeout: time.Minute}
}

// protection is the running state of Protection.
type protection struct {
	limiter *ratelimit.Limiter
	audit   *audit.Log
	timed   map[string]bool
}

func (s *Server) initProtection() error {
	p := &s.opts.Protect
	l, err := ratelimit.New(p.RateLimit)
	if err != nil {
		return fmt.Errorf("httpapi: rate limit: %w", err)
	}
	if p.QueryTimeout < 0 {
		return errors.New("httpapi: negative query timeout")
	}
	s.prot.limiter = l
	if s.prot.audit, err = audit.New(s.opts.Store); err != nil {
		return err
	}
	routes := p.TimedRoutes
	if routes == nil {
		routes = DefaultTimedRoutes
	}
	s.prot.timed = map[string]bool{}
	for _, r := range routes {
		s.prot.timed[r] = true
	}
	if p.Backup == nil {
		p.Backup = s.opts.Store.Checkpoint
	}
	return nil
}

// handle registers a route without authentication and remembers its pattern.
func (s *Server) handle(pattern string, h http.Handler) {
	s.patterns = append(s.patterns, pattern)
	s.mux.Handle(pattern, h)
}

func (s *Server) handleFunc(pattern string, h func(http.ResponseWriter, *http.Request)) {
	s.handle(pattern, http.HandlerFunc(h))
}

// Patterns returns every route pattern the server registered, in registration order; the
// isolation tests use it so that a new route without a test fails.
func (s *Server) Patterns() []string { return slices.Clone(s.patterns) }

// unlimitedPaths are never rate limited: probes and scrapes.
var unlimitedPaths = map[string]bool{"/healthz": true, "/readyz": true, "/metrics": true}

// admit runs before routing. When the store has failed (a disk fault Pebble cannot survive)
// /healthz and /readyz answer 503 with the reason, so that a supervisor restarts segd. Then it
// applies the per-key rate limit. The bucket is chosen by the presented
// credential (hashed, so a guessed prefix cannot drain another key's bucket) or, without one,
// by the client address. It writes 429 with Retry-After and returns false when over the limit.
func (s *Server) admit(w http.ResponseWriter, r *http.Request) bool {
	if r.URL.Path == "/healthz" || r.URL.Path == "/readyz" {
		if err := s.opts.Store.Failed(); err != nil {
			writeJSON(w, 503, map[string]any{"status": "storage_failed", "error": err.Error()})
			return false
		}
	}
	if !s.prot.limiter.Enabled() || unlimitedPaths[r.URL.Path] {
		return true
	}
	ok, wait := s.prot.limiter.Allow(limitKey(r))
	if ok {
		return true
	}
	secs := int(math.Ceil(wait.Seconds()))
	if secs < 1 {
		secs = 1
	}
	w.Header().Set("Retry-After", strconv.Itoa(secs))
	writeError(w, 429, "rate_limited", fmt.Sprintf("too many requests for this key (limit %g/s, burst %d); retry after %d s",
		s.prot.limiter.Rate(), s.prot.limiter.Burst(), secs), "")
	return false
}

func limitKey(r *http.Request) string {
	secret := ""
	if u, _, ok := r.BasicAuth(); ok {
		secret = u
	} else if h := r.Header.Get("Authorization"); strings.HasPrefix(h, "Bearer ") {
		secret = strings.TrimSpace(h[len("Bearer "):])
	} else if k := r.URL.Query().Get("key"); k != "" {
		secret = k
	}
	if secret != "" {
		h := sha256.Sum256([]byte(secret))
		return "k:" + hex.EncodeToString(h[:12])
	}
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	return "a:" + host
}

// protect runs an authenticated route's handler with the query time limit (TimedRoutes) and
// records admin actions in the audit log.
func (s *Server) protect(pattern string, scope store.Scope, w http.ResponseWriter, r *http.Request, ws uint32,
	h func(http.ResponseWriter, *http.Request, uint32)) {
	audited := scope == store.ScopeAdmin && !s.opts.Protect.NoAudit && r.Method != http.MethodGet && r.Method != http.MethodHead
	var sw *statusRecorder
	if audited {
		sw = &statusRecorder{ResponseWriter: w, code: 200}
		w = sw
	}
	if err := s.guarded(pattern, w, r, ws, h); err != nil {
		writeError(w, 503, "storage_failed", err.Error(), "")
	}
	if audited {
		s.record(pattern, scope, r, ws, sw.code)
	}
}

// guarded runs h (with the time limit of timed routes) and turns a storage failure that
// surfaced as a Pebble fatal panic into an error.
func (s *Server) guarded(pattern string, w http.ResponseWriter, r *http.Request, ws uint32, h func(http.ResponseWriter, *http.Request, uint32)) (err error) {
	defer s.opts.Store.RecoverFatal(&err)
	if d := s.opts.Protect.QueryTimeout; d > 0 && s.prot.timed[pattern] {
		s.timed(d, w, r, ws, h)
	} else {
		h(w, r, ws)
	}
	return nil
}

// timed runs h with a deadline. The answer is buffered so that a handler that failed because
// the deadline passed (whatever status it chose) is answered 503 query_timeout instead.
func (s *Server) timed(d time.Duration, w http.ResponseWriter, r *http.Request, ws uint32, h func(http.ResponseWriter, *http.Request, uint32)) {
	ctx, cancel := context.WithTimeout(r.Context(), d)
	defer cancel()
	bw := &bufferedWriter{header: http.Header{}, code: 200}
	h(bw, r.WithContext(ctx), ws)
	if errors.Is(ctx.Err(), context.DeadlineExceeded) && bw.code >= 500 {
		s.metrics.rejected.WithLabelValues("query_timeout").Inc()
		writeError(w, 503, "query_timeout", fmt.Sprintf("the query ran longer than the %s limit and was cancelled; narrow it (fewer or cheaper conditions, shorter windows) or raise --query-timeout", d), "")
		return
	}
	for k, v := range bw.header {
		w.Header()[k] = v
	}
	w.WriteHeader(bw.code)
	w.Write(bw.body.Bytes())
}

type bufferedWriter struct {
	header http.Header
	code   int
	wrote  bool
	body   bytes.Buffer
}

func (b *bufferedWriter) Header() http.Header { return b.header }
func (b *bufferedWriter) WriteHeader(code int) {
	if !b.wrote {
		b.code, b.wrote = code, true
	}
}
func (b *bufferedWriter) Write(p []byte) (int, error) {
	b.wrote = true
	return b.body.Write(p)
}

type statusRecorder struct {
	http.ResponseWriter
	code  int
	wrote bool
}

func (w *statusRecorder) WriteHeader(code int) {
	if !w.wrote {
		w.code, w.wrote = code, true
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusRecorder) Write(p []byte) (int, error) {
	w.wrote = true
	return w.ResponseWriter.Write(p)
}

func (w *statusRecorder) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

func (w *statusRecorder) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// HTTPServerLimits are the connection-level limits segd serve sets on its http.Server and
// listener.
type HTTPServerLimits struct {
	ReadHeaderTimeout time.Duration // slowloris defence; default 10 s
	ReadTimeout       time.Duration // whole request including body; default 2 min
	IdleTimeout       time.Duration // keep-alive; default 2 min
	MaxHeaderBytes    int           // default 64 KiB
	MaxConns          int           // concurrent connections; default 4096
}

// DefaultHTTPServerLimits returns the limits above.
func DefaultHTTPServerLimits() HTTPServerLimits {
	return HTTPServerLimits{ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 2 * time.Minute,
		IdleTimeout: 2 * time.Minute, MaxHeaderBytes: 64 << 10, MaxConns: 4096}
}

// Apply sets the limits on srv. WriteTimeout stays unset: Server-Sent Events streams are long.
func (l HTTPServerLimits) Apply(srv *http.Server) {
	srv.ReadHeaderTimeout, srv.ReadTimeout, srv.IdleTimeout, srv.MaxHeaderBytes =
		l.ReadHeaderTimeout, l.ReadTimeout, l.IdleTimeout, l.MaxHeaderBytes
}

// LimitListener returns a listener that accepts at most max connections at once; further
// clients wait in the kernel's backlog until one closes.
func LimitListener(ln net.Listener, max int) net.Listener {
	if max <= 0 {
		return ln
	}
	return &limitListener{Listener: ln, sem: make(chan struct{}, max)}
}

type limitListener struct {
	net.Listener
	sem chan struct{}
}

func (l *limitListener) Accept() (net.Conn, error) {
	l.sem <- struct{}{}
	c, err := l.Listener.Accept()
	if err != nil {
		<-l.sem
		return nil, err
	}
	return &limitConn{Conn: c, release: func() { <-l.sem }}, nil
}

type limitConn struct {
	net.Conn
	once    sync.Once
	release func()
}

func (c *limitConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(c.release)
	return err
}
