// Package httpapi owns segd's HTTP surface: the Segment-compatible tracking API under /v1, the
// management REST API under /api/v1, and /healthz, /readyz and /metrics. It authenticates keys,
// turns bad input into 4xx answers with a code, message and field path, and calls the services it
// is given through interfaces it declares; it holds no data of its own.
//
// httpapi must not import store internals beyond the key and profile types, nor live or engine
// internals: cmd/segd wires the concrete services in.
package httpapi

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/segd/segd/internal/ingest"
	"github.com/segd/segd/internal/message"
	"github.com/segd/segd/internal/store"
)

// Options configure a Server.
type Options struct {
	Store *store.Store
	Log   ingest.Log
	// Limits of the tracking API.
	Limits message.Limits
	// Ready reports whether indexes are loaded (/readyz).
	Ready func() bool
	// Gatherer and Registerer for /metrics; nil means a fresh registry.
	Registry *prometheus.Registry
	Logger   *slog.Logger
	// Now is the clock for receivedAt.
	Now func() time.Time
	// MaxAPIBody caps management request bodies.
	MaxAPIBody int
	// Extra routes registered by other components (segments, query, destinations, UI).
	Extra []Route
	// Fallback serves every path no route matches (the web UI); nil means 404.
	Fallback http.Handler
	// Protect configures rate limits, query time limits, the audit log and backups (limits.go).
	Protect Protection
}

// Route is a handler that other packages contribute, with the scope it requires ("" for none).
type Route struct {
	Pattern string // ServeMux pattern, e.g. "POST /api/v1/query"
	Scope   store.Scope
	Handler func(w http.ResponseWriter, r *http.Request, ws uint32)
}

func (o *Options) setDefaults() {
	o.Limits = o.Limits.WithDefaults()
	if o.Ready == nil {
		o.Ready = func() bool { return true }
	}
	if o.Registry == nil {
		o.Registry = prometheus.NewRegistry()
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.MaxAPIBody == 0 {
		o.MaxAPIBody = 8 << 20
	}
}

// Validate reports a configuration error.
func (o *Options) Validate() error {
	if o.Store == nil || o.Log == nil {
		return errors.New("httpapi: Store and Log are required")
	}
	return o.Limits.Validate()
}

// Server is the HTTP handler.
type Server struct {
	opts     Options
	mux      *http.ServeMux
	metrics  *metrics
	prot     protection
	patterns []string
}

// New builds the handler.
func New(opts Options) (*Server, error) {
	opts.setDefaults()
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	s := &Server{opts: opts, mux: http.NewServeMux(), metrics: newMetrics(opts.Registry)}
	if err := s.initProtection(); err != nil {
		return nil, err
	}
	s.routes()
	return s, nil
}

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	sw := &statusWriter{ResponseWriter: w, code: 200}
	if s.admit(sw, r) {
		s.mux.ServeHTTP(sw, r)
	}
	_, pattern := s.mux.Handler(r)
	if pattern == "" {
		pattern = "unmatched"
	}
	s.metrics.requests.WithLabelValues(pattern, strconv.Itoa(sw.code)).Inc()
	s.metrics.latency.WithLabelValues(pattern).Observe(time.Since(start).Seconds())
}

type statusWriter struct {
	http.ResponseWriter
	code int
}

func (w *statusWriter) WriteHeader(code int) { w.code = code; w.ResponseWriter.WriteHeader(code) }

// Flush lets Server-Sent Events through the wrapper.
func (w *statusWriter) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

func (s *Server) routes() {
	for _, typ := range []message.Type{message.Identify, message.Track, message.Page, message.Screen, message.Group, message.Alias} {
		s.handleFunc("POST /v1/"+string(typ), s.handleCall(typ))
	}
	s.handleFunc("POST /v1/batch", s.handleBatch)
	s.handleFunc("POST /v1/import", s.handleBatch) // Segment's alias of batch
	s.handleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) { writeJSON(w, 200, map[string]any{"status": "ok"}) })
	s.handleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		if !s.opts.Ready() {
			writeJSON(w, 503, map[string]any{"status": "loading"})
			return
		}
		writeJSON(w, 200, map[string]any{"status": "ready"})
	})
	s.handle("GET /metrics", promhttp.HandlerFor(s.opts.Registry, promhttp.HandlerOpts{}))

	s.admin("GET /api/v1/profiles", s.handleProfileLookup)
	s.admin("GET /api/v1/profiles/{id}", s.handleProfile)
	s.admin("GET /api/v1/profiles/{id}/events", s.handleProfileEvents)
	s.admin("GET /api/v1/profiles/{id}/records", s.handleProfileRecords)
	s.admin("DELETE /api/v1/profiles/{id}", s.handleProfileErase)
	s.admin("POST /api/v1/records/{type}", s.handleRecordsUpsert)
	s.admin("DELETE /api/v1/records/{type}/{id}", s.handleRecordDelete)
	s.admin("GET /api/v1/merges", s.handleMerges)
	s.protectionRoutes()
	if s.opts.Fallback != nil {
		s.handle("/", s.opts.Fallback)
	}
	for _, rt := range s.opts.Extra {
		s.scoped(rt.Pattern, rt.Scope, rt.Handler)
	}
}

func (s *Server) admin(pattern string, h func(http.ResponseWriter, *http.Request, uint32)) {
	s.scoped(pattern, store.ScopeAdmin, h)
}

func (s *Server) scoped(pattern string, scope store.Scope, h func(http.ResponseWriter, *http.Request, uint32)) {
	if scope == "" {
		s.handleFunc(pattern, func(w http.ResponseWriter, r *http.Request) { h(w, r, 0) })
		return
	}
	s.handleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
		ws, ok := s.authenticate(w, r, scope)
		if !ok {
			return
		}
		if r.Body != nil {
			r.Body = http.MaxBytesReader(w, r.Body, int64(s.opts.MaxAPIBody))
		}
		s.protect(pattern, scope, w, r, ws, h)
	})
}

// authenticate accepts "Authorization: Bearer SECRET" or Basic with the secret as user.
func (s *Server) authenticate(w http.ResponseWriter, r *http.Request, scope store.Scope) (uint32, bool) {
	secret := ""
	if h := r.Header.Get("Authorization"); strings.HasPrefix(h, "Bearer ") {
		secret = strings.TrimSpace(h[len("Bearer "):])
	} else if u, _, ok := r.BasicAuth(); ok {
		secret = u
	} else if scope == store.ScopeRead {
		secret = r.URL.Query().Get("key")
	}
	if secret == "" {
		writeError(w, 401, "unauthorized", "missing key: send Authorization: Bearer <token>", "")
		return 0, false
	}
	k, err := s.opts.Store.Authenticate(secret)
	if err != nil {
		if errors.Is(err, store.ErrUnauthorized) {
			writeError(w, 401, "unauthorized", "unknown or revoked key", "")
		} else {
			writeError(w, 503, "unavailable", "cannot check the key: "+err.Error(), "")
		}
		return 0, false
	}
	if k.Scope != scope && k.Scope != store.ScopeAdmin {
		writeError(w, 401, "unauthorized", "this key has scope "+string(k.Scope)+"; this endpoint needs "+string(scope), "")
		return 0, false
	}
	return k.Workspace, true
}

// ErrorBody is the JSON shape of every error answer.
type ErrorBody struct {
	Error struct {
		Code    string `json:"code"`
		Message string `json:"message"`
		Path    string `json:"path,omitempty"`
	} `json:"error"`
}

func writeError(w http.ResponseWriter, status int, code, msg, path string) {
	var b ErrorBody
	b.Error.Code, b.Error.Message, b.Error.Path = code, msg, path
	writeJSON(w, status, b)
}

// WriteError writes the standard error body; other packages' routes use it.
func WriteError(w http.ResponseWriter, status int, code, msg, path string) {
	writeError(w, status, code, msg, path)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	enc.Encode(v)
}

// WriteJSON writes v as JSON with the status.
func WriteJSON(w http.ResponseWriter, status int, v any) { writeJSON(w, status, v) }

// DecodeJSON strictly decodes a management request body (unknown fields rejected) and writes
// a 400 on failure.
func DecodeJSON(w http.ResponseWriter, r *http.Request, v any) bool {
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			writeError(w, 413, "body_too_large", "request body is larger than the limit", "")
			return false
		}
		writeError(w, 400, "invalid_json", "request body: "+err.Error(), jsonPath(err))
		return false
	}
	return true
}

func jsonPath(err error) string {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		return te.Field
	}
	if s := err.Error(); strings.HasPrefix(s, "json: unknown field ") {
		return strings.Trim(strings.TrimPrefix(s, "json: unknown field "), `"`)
	}
	return ""
}

// statusFor maps write-path errors to HTTP answers.
func writeLogError(w http.ResponseWriter, err error) {
	switch {
	case errors.Is(err, ingest.ErrUnavailable), errors.Is(err, ingest.ErrStopped):
		w.Header().Set("Retry-After", "1")
		writeError(w, 503, "unavailable", "the write was not stored and may be retried: "+err.Error(), "")
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		writeError(w, 503, "unavailable", "request cancelled before the write was queued", "")
	case errors.Is(err, store.ErrNotFound):
		writeError(w, 404, "not_found", err.Error(), "")
	default:
		writeError(w, 500, "internal", err.Error(), "")
	}
}
