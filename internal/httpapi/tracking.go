package httpapi

import (
	"errors"
	"net/http"
	"strings"

	"github.com/segd/segd/internal/message"
	"github.com/segd/segd/internal/store"
)

// writeKey returns the key from HTTP Basic auth (the Segment way: key as user, empty password)
// or a Bearer header; "" if neither is present.
func writeKey(r *http.Request) string {
	if u, _, ok := r.BasicAuth(); ok {
		return u
	}
	if h := r.Header.Get("Authorization"); strings.HasPrefix(h, "Bearer ") {
		return strings.TrimSpace(h[len("Bearer "):])
	}
	return ""
}

// authWrite resolves a write key to its workspace, writing 401 on failure.
func (s *Server) authWrite(w http.ResponseWriter, key string) (uint32, bool) {
	if key == "" {
		s.metrics.rejected.WithLabelValues("unauthorized").Inc()
		writeError(w, 401, "unauthorized", "missing write key: send it as the HTTP Basic user name or as \"writeKey\" in the body", "")
		return 0, false
	}
	k, err := s.opts.Store.Authenticate(key)
	if err != nil {
		s.metrics.rejected.WithLabelValues("unauthorized").Inc()
		if errors.Is(err, store.ErrUnauthorized) {
			writeError(w, 401, "unauthorized", "unknown or revoked write key", "")
		} else {
			writeError(w, 503, "unavailable", "cannot check the key: "+err.Error(), "")
		}
		return 0, false
	}
	if k.Scope != store.ScopeWrite && k.Scope != store.ScopeAdmin {
		s.metrics.rejected.WithLabelValues("unauthorized").Inc()
		writeError(w, 401, "unauthorized", "this key has scope "+string(k.Scope)+"; the tracking API needs a write key", "")
		return 0, false
	}
	return k.Workspace, true
}

// authBodyKey authenticates with the body's "writeKey" (Segment allows the key there instead
// of Basic auth).
func (s *Server) authBodyKey(w http.ResponseWriter, body []byte) (uint32, bool) {
	var env struct {
		WriteKey string `json:"writeKey"`
	}
	_ = jsonUnmarshalLoose(body, &env)
	return s.authWrite(w, env.WriteKey)
}

func (s *Server) rejectMessageError(w http.ResponseWriter, err error) {
	var me *message.Error
	if errors.As(err, &me) {
		s.metrics.rejected.WithLabelValues(me.Code).Inc()
		status := 400
		if me.Code == message.CodeMessageTooLarge || me.Code == message.CodeBatchTooLarge {
			status = 400 // Segment answers 400 for oversize; clients must not retry
		}
		writeError(w, status, me.Code, me.Message, me.Path)
		return
	}
	s.metrics.rejected.WithLabelValues("read_error").Inc()
	writeError(w, 400, "read_error", "cannot read the request body: "+err.Error(), "")
}

func (s *Server) handleCall(typ message.Type) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		key := writeKey(r)
		var ws uint32
		if key != "" {
			var ok bool
			if ws, ok = s.authWrite(w, key); !ok {
				return
			}
		}
		body, err := message.ReadBody(r.Body, r.Header.Get("Content-Encoding"), r.ContentLength, s.opts.Limits.MaxMessageBytes, message.CodeMessageTooLarge)
		if err != nil {
			s.rejectMessageError(w, err)
			return
		}
		if key == "" {
			var ok bool
			if ws, ok = s.authBodyKey(w, body); !ok {
				return
			}
		}
		m, err := message.DecodeCall(typ, body, s.opts.Now().UTC(), s.opts.Limits)
		if err != nil {
			s.rejectMessageError(w, err)
			return
		}
		s.metrics.received.Inc()
		if _, err := s.opts.Log.Append(r.Context(), ws, []message.Message{m}); err != nil {
			writeLogError(w, err)
			return
		}
		writeJSON(w, 200, map[string]any{"success": true})
	}
}

// batchAnswer is the /v1/batch response: Segment's {"success": true} plus the rejected
// messages, each with its index in "batch" and the reason.
type batchAnswer struct {
	Success  bool                `json:"success"`
	Accepted int                 `json:"accepted"`
	Rejected []message.Rejection `json:"rejected,omitempty"`
}

func (s *Server) handleBatch(w http.ResponseWriter, r *http.Request) {
	key := writeKey(r)
	var ws uint32
	if key != "" {
		var ok bool
		if ws, ok = s.authWrite(w, key); !ok {
			return
		}
	}
	body, err := message.ReadBody(r.Body, r.Header.Get("Content-Encoding"), r.ContentLength, s.opts.Limits.MaxBatchBytes, message.CodeBatchTooLarge)
	if err != nil {
		s.rejectMessageError(w, err)
		return
	}
	if key == "" {
		// authenticate before decoding the messages so an unauthenticated caller learns nothing
		var ok bool
		if ws, ok = s.authBodyKey(w, body); !ok {
			return
		}
	}
	b, err := message.DecodeBatch(body, s.opts.Now().UTC(), s.opts.Limits)
	if err != nil {
		s.rejectMessageError(w, err)
		return
	}
	for _, rj := range b.Rejections {
		s.metrics.rejected.WithLabelValues(rj.Err.Code).Inc()
	}
	if len(b.Messages) == 0 && len(b.Rejections) > 0 {
		first := b.Rejections[0].Err
		w.Header().Set("Content-Type", "application/json")
		writeJSON(w, 400, map[string]any{"error": first, "rejected": b.Rejections})
		return
	}
	s.metrics.received.Add(float64(len(b.Messages)))
	if len(b.Messages) > 0 {
		if _, err := s.opts.Log.Append(r.Context(), ws, b.Messages); err != nil {
			writeLogError(w, err)
			return
		}
	}
	writeJSON(w, 200, batchAnswer{Success: true, Accepted: len(b.Messages), Rejected: b.Rejections})
}
