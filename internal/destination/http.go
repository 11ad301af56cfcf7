package destination

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"io"
	"net/http"

	"github.com/segd/segd/internal/httpapi"
	"github.com/segd/segd/internal/store"
)

// redacted stands for a stored webhook secret in answers; a PUT carrying it keeps the secret.
const redacted = "********"

// View is a destination as the API answers it: its configuration and its delivery status.
type View struct {
	Config
	Status *Status `json:"status,omitempty"`
}

// Routes are the /api/v1/destinations routes, all with the admin scope.
func (m *Manager) Routes() []httpapi.Route {
	admin := func(p string, h func(http.ResponseWriter, *http.Request, uint32)) httpapi.Route {
		return httpapi.Route{Pattern: p, Scope: store.ScopeAdmin, Handler: h}
	}
	return []httpapi.Route{
		admin("GET /api/v1/destinations", m.handleList),
		admin("POST /api/v1/destinations", m.handleCreate),
		admin("GET /api/v1/destinations/{id}", m.handleGet),
		admin("PUT /api/v1/destinations/{id}", m.handlePut),
		admin("DELETE /api/v1/destinations/{id}", m.handleDelete),
		admin("POST /api/v1/destinations/{id}/pause", m.handlePause(true)),
		admin("POST /api/v1/destinations/{id}/resume", m.handlePause(false)),
		admin("POST /api/v1/destinations/{id}/replay", m.handleReplay),
		admin("GET /api/v1/destinations/{id}/dead-letters", m.handleDeadLetters),
	}
}

func (m *Manager) view(r *http.Request, ws uint32, c Config) View {
	if c.Webhook != nil && c.Webhook.Secret != "" {
		w := *c.Webhook
		w.Secret = redacted
		c.Webhook = &w
	}
	v := View{Config: c}
	if st, err := m.Status(r.Context(), ws, c.ID); err == nil {
		v.Status = &st
	}
	return v
}

func (m *Manager) handleList(w http.ResponseWriter, r *http.Request, ws uint32) {
	cs, err := m.List(ws)
	if err != nil {
		writeErr(w, err)
		return
	}
	out := make([]View, 0, len(cs))
	for _, c := range cs {
		out = append(out, m.view(r, ws, c))
	}
	httpapi.WriteJSON(w, http.StatusOK, map[string]any{"destinations": out})
}

// readConfig decodes, defaults and validates a request body; id "" takes pathID or a new id.
func readConfig(w http.ResponseWriter, r *http.Request, pathID string) (Config, bool) {
	b, err := io.ReadAll(r.Body)
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			httpapi.WriteError(w, http.StatusRequestEntityTooLarge, "body_too_large", "request body is larger than the limit", "")
		} else {
			httpapi.WriteError(w, http.StatusBadRequest, "invalid_body", err.Error(), "")
		}
		return Config{}, false
	}
	c, err := DecodeConfig(b)
	if err == nil {
		switch {
		case c.ID == "" && pathID != "":
			c.ID = pathID
		case c.ID == "":
			var rnd [6]byte
			rand.Read(rnd[:])
			c.ID = hex.EncodeToString(rnd[:])
		case pathID != "" && c.ID != pathID:
			err = cfgErr("id", "is %q but the URL names %q", c.ID, pathID)
		}
	}
	if err == nil {
		c.SetDefaults()
		err = c.Validate()
	}
	if err != nil {
		writeErr(w, err)
		return c, false
	}
	return c, true
}

func (m *Manager) handleCreate(w http.ResponseWriter, r *http.Request, ws uint32) {
	c, ok := readConfig(w, r, "")
	if !ok {
		return
	}
	if err := m.Create(ws, c); err != nil {
		writeErr(w, err)
		return
	}
	httpapi.WriteJSON(w, http.StatusCreated, m.view(r, ws, c))
}

func (m *Manager) handleGet(w http.ResponseWriter, r *http.Request, ws uint32) {
	c, err := m.Config(ws, r.PathValue("id"))
	if err != nil {
		writeErr(w, err)
		return
	}
	httpapi.WriteJSON(w, http.StatusOK, m.view(r, ws, c))
}

func (m *Manager) handlePut(w http.ResponseWriter, r *http.Request, ws uint32) {
	id := r.PathValue("id")
	c, ok := readConfig(w, r, id)
	if !ok {
		return
	}
	if c.Webhook != nil && c.Webhook.Secret == redacted {
		old, err := m.Config(ws, id)
		if err != nil || old.Webhook == nil {
			writeErr(w, cfgErr("webhook.secret", "%q keeps the stored secret, but there is none", redacted))
			return
		}
		c.Webhook.Secret = old.Webhook.Secret
	}
	created, err := m.Put(ws, c)
	if err != nil {
		writeErr(w, err)
		return
	}
	status := http.StatusOK
	if created {
		status = http.StatusCreated
	}
	httpapi.WriteJSON(w, status, m.view(r, ws, c))
}

func (m *Manager) handleDelete(w http.ResponseWriter, r *http.Request, ws uint32) {
	if err := m.Delete(ws, r.PathValue("id")); err != nil {
		writeErr(w, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (m *Manager) handlePause(paused bool) func(http.ResponseWriter, *http.Request, uint32) {
	return func(w http.ResponseWriter, r *http.Request, ws uint32) {
		id := r.PathValue("id")
		if err := m.SetPaused(ws, id, paused); err != nil {
			writeErr(w, err)
			return
		}
		c, err := m.Config(ws, id)
		if err != nil {
			writeErr(w, err)
			return
		}
		httpapi.WriteJSON(w, http.StatusOK, m.view(r, ws, c))
	}
}

func (m *Manager) handleReplay(w http.ResponseWriter, r *http.Request, ws uint32) {
	res, err := m.Replay(r.Context(), ws, r.PathValue("id"))
	if err != nil {
		writeErr(w, err)
		return
	}
	httpapi.WriteJSON(w, http.StatusOK, res)
}

func (m *Manager) handleDeadLetters(w http.ResponseWriter, r *http.Request, ws uint32) {
	id := r.PathValue("id")
	if _, err := m.Config(ws, id); err != nil {
		writeErr(w, err)
		return
	}
	dls, err := m.DeadLetters(ws, id)
	if err != nil {
		writeErr(w, err)
		return
	}
	if dls == nil {
		dls = []DeadLetter{}
	}
	httpapi.WriteJSON(w, http.StatusOK, map[string]any{"dead_letters": dls})
}

func writeErr(w http.ResponseWriter, err error) {
	var ce *ConfigError
	switch {
	case errors.As(err, &ce):
		httpapi.WriteError(w, http.StatusBadRequest, "invalid_destination", ce.Msg, ce.Path)
	case errors.Is(err, ErrNotFound):
		httpapi.WriteError(w, http.StatusNotFound, "not_found", err.Error(), "")
	case errors.Is(err, ErrExists):
		httpapi.WriteError(w, http.StatusConflict, "exists", err.Error()+"; use PUT /api/v1/destinations/{id} to replace it", "id")
	case errors.Is(err, ErrStopped):
		httpapi.WriteError(w, http.StatusServiceUnavailable, "unavailable", err.Error(), "")
	default:
		httpapi.WriteError(w, http.StatusInternalServerError, "internal", err.Error(), "")
	}
}
