package httpapi

import (
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/segd/segd/internal/store"
)

// Key administration and online backup: the routes of issue 7 that belong to the server
// itself rather than to a component.

// protectionRoutes registers keys, audit and backup routes.
func (s *Server) protectionRoutes() {
	s.admin("GET /api/v1/keys", s.handleKeysList)
	s.admin("POST /api/v1/keys", s.handleKeyCreate)
	s.admin("DELETE /api/v1/keys/{prefix}", s.handleKeyRevoke)
	s.admin("GET /api/v1/audit", s.handleAudit)
	s.admin("POST /api/v1/backup", s.handleBackup)
}

// KeyAnswer is a key as listed; Secret is only set in the answer that created it.
type KeyAnswer struct {
	ID      string      `json:"id"`
	Prefix  string      `json:"prefix"`
	Scope   store.Scope `json:"scope"`
	Created time.Time   `json:"created"`
	Revoked bool        `json:"revoked"`
	Secret  string      `json:"secret,omitempty"`
}

func keyAnswer(k store.KeyInfo) KeyAnswer {
	return KeyAnswer{ID: k.ID, Prefix: k.Prefix, Scope: k.Scope, Created: k.Created, Revoked: k.Revoked}
}

func (s *Server) handleKeysList(w http.ResponseWriter, r *http.Request, ws uint32) {
	list, err := s.opts.Store.ListKeys(ws)
	if err != nil {
		writeError(w, 503, "unavailable", "cannot list keys: "+err.Error(), "")
		return
	}
	out := make([]KeyAnswer, 0, len(list))
	for _, k := range list {
		if k.Revoked && r.URL.Query().Get("revoked") != "true" {
			continue
		}
		out = append(out, keyAnswer(k))
	}
	writeJSON(w, 200, map[string]any{"keys": out})
}

func (s *Server) handleKeyCreate(w http.ResponseWriter, r *http.Request, ws uint32) {
	var req struct {
		Scope store.Scope `json:"scope"`
	}
	if !DecodeJSON(w, r, &req) {
		return
	}
	switch req.Scope {
	case store.ScopeWrite, store.ScopeRead, store.ScopeAdmin:
	default:
		writeError(w, 400, "invalid", `scope must be "write", "read" or "admin"`, "scope")
		return
	}
	secret, err := s.opts.Store.AddKey(ws, req.Scope, "")
	if err != nil {
		writeError(w, 503, "unavailable", "the key was not stored: "+err.Error(), "")
		return
	}
	k, err := s.opts.Store.Authenticate(secret)
	if err != nil {
		writeError(w, 503, "unavailable", "the key was stored but cannot be read back: "+err.Error(), "")
		return
	}
	a := keyAnswer(store.KeyInfo{APIKey: k, ID: store.KeyID(secret)})
	a.Secret = secret
	writeJSON(w, 201, a)
}

func (s *Server) handleKeyRevoke(w http.ResponseWriter, r *http.Request, ws uint32) {
	name := r.PathValue("prefix")
	list, err := s.opts.Store.ListKeys(ws)
	if err != nil {
		writeError(w, 503, "unavailable", "cannot list keys: "+err.Error(), "")
		return
	}
	// refuse to lock the workspace out: the last active admin key stays
	admins, target := 0, 0
	for _, k := range list {
		if k.Revoked || k.Scope != store.ScopeAdmin {
			continue
		}
		admins++
		if k.ID == strings.ToLower(name) || k.Prefix == name {
			target++
		}
	}
	if target > 0 && admins-target < 1 {
		writeError(w, 409, "last_admin_key", "this is the workspace's last admin token; create another admin key before revoking it", "prefix")
		return
	}
	k, err := s.opts.Store.RevokeKeyByName(ws, name)
	switch {
	case errors.Is(err, store.ErrNotFound):
		writeError(w, 404, "not_found", "no active key of this workspace has the id or prefix "+name, "prefix")
	case errors.Is(err, store.ErrAmbiguous):
		writeError(w, 409, "ambiguous", err.Error(), "prefix")
	case err != nil:
		writeError(w, 503, "unavailable", "the key was not revoked: "+err.Error(), "")
	default:
		writeJSON(w, 200, keyAnswer(k))
	}
}

// handleBackup takes a Pebble checkpoint of the whole store (every workspace) into a new
// directory on the server while segd keeps serving.
func (s *Server) handleBackup(w http.ResponseWriter, r *http.Request, ws uint32) {
	var req struct {
		Dir string `json:"dir"`
	}
	if !DecodeJSON(w, r, &req) {
		return
	}
	dir, err := s.backupDir(req.Dir)
	if err != nil {
		writeError(w, 400, "invalid", err.Error(), "dir")
		return
	}
	if _, err := os.Stat(dir); err == nil {
		writeError(w, 409, "exists", "backup directory "+dir+" already exists; choose a new one", "dir")
		return
	}
	if err := os.MkdirAll(filepath.Dir(dir), 0o755); err != nil {
		writeError(w, 400, "invalid", "cannot create the parent of "+dir+": "+err.Error(), "dir")
		return
	}
	start := time.Now()
	if err := s.opts.Protect.Backup(dir); err != nil {
		os.RemoveAll(dir)
		writeError(w, 503, "unavailable", "backup failed (nothing was kept): "+err.Error(), "")
		return
	}
	writeJSON(w, 200, map[string]any{"dir": dir, "tookMs": time.Since(start).Milliseconds()})
}

func (s *Server) backupDir(dir string) (string, error) {
	if dir == "" {
		return "", errors.New("dir is required: the directory on the server to write the backup to")
	}
	root := s.opts.Protect.BackupRoot
	if root == "" {
		if !filepath.IsAbs(dir) {
			return "", errors.New("dir must be an absolute path on the server (or start segd with a backup root)")
		}
		return filepath.Clean(dir), nil
	}
	root = filepath.Clean(root)
	if !filepath.IsAbs(dir) {
		dir = filepath.Join(root, dir)
	}
	dir = filepath.Clean(dir)
	if rel, err := filepath.Rel(root, dir); err != nil || rel == "." || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
		return "", errors.New("dir must be inside the backup root " + root)
	}
	return dir, nil
}
