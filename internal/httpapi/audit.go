package httpapi

import (
	"net/http"
	"regexp"
	"strconv"

	"github.com/segd/segd/internal/audit"
	"github.com/segd/segd/internal/store"
)

var patternWildcard = regexp.MustCompile(`\{([a-zA-Z_][a-zA-Z0-9_]*)(?:\.\.\.)?\}`)

// record appends an admin action to the workspace's audit log. The action has already
// happened, so a failing log write is reported in the server log and metrics, not to the
// client.
func (s *Server) record(pattern string, scope store.Scope, r *http.Request, ws uint32, status int) {
	e := audit.Entry{At: s.opts.Now().UTC(), Scope: string(scope), Method: r.Method, Route: pattern, Path: r.URL.Path, Status: status, Remote: r.RemoteAddr}
	if secret := requestSecret(r); secret != "" {
		if k, err := s.opts.Store.Authenticate(secret); err == nil {
			e.Key, e.Scope = k.Prefix, string(k.Scope)
		} else {
			// revoked by this very request: still name it
			e.Key = store.KeyID(secret)
		}
	}
	for _, m := range patternWildcard.FindAllStringSubmatch(pattern, -1) {
		if v := r.PathValue(m[1]); v != "" {
			if e.IDs == nil {
				e.IDs = map[string]string{}
			}
			e.IDs[m[1]] = v
		}
	}
	if err := s.opts.Store.Guard(func() error { _, err := s.prot.audit.Append(ws, e); return err }); err != nil {
		s.metrics.rejected.WithLabelValues("audit_failed").Inc()
		s.opts.Logger.Error("audit log write failed", "route", pattern, "workspace", ws, "err", err)
	}
}

func requestSecret(r *http.Request) string {
	if h := r.Header.Get("Authorization"); len(h) > 7 && h[:7] == "Bearer " {
		return h[7:]
	}
	if u, _, ok := r.BasicAuth(); ok {
		return u
	}
	return ""
}

// handleAudit lists the workspace's audit log, newest first: ?limit (default 100, max 1000)
// and ?before=SEQ to page.
func (s *Server) handleAudit(w http.ResponseWriter, r *http.Request, ws uint32) {
	limit := 100
	if v := r.URL.Query().Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 1000 {
			writeError(w, 400, "invalid", "limit must be between 1 and 1000", "limit")
			return
		}
		limit = n
	}
	var before uint64
	if v := r.URL.Query().Get("before"); v != "" {
		n, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			writeError(w, 400, "invalid", "before must be a sequence number", "before")
			return
		}
		before = n
	}
	entries, err := s.prot.audit.Recent(ws, limit, before)
	if err != nil {
		writeError(w, 503, "unavailable", "cannot read the audit log: "+err.Error(), "")
		return
	}
	writeJSON(w, 200, map[string]any{"entries": entries})
}
